// Package config reads the pipeline's configuration from the environment
// (CONTRACT section 5). Each function reads only the variables it needs, so a
// variable that only another function uses is never required; a missing or
// malformed value is one *Error naming the variable, never its value.
package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the report time zone must resolve on a bare runtime
)

// Function names one of the four entry points.
type Function string

// The four entry points, as registered with the Functions Framework.
const (
	StartLogin    Function = "StartLogin"
	CompleteLogin Function = "CompleteLogin"
	ExtractLoad   Function = "ExtractLoad"
	Logout        Function = "Logout"
)

// Functions lists every entry point.
var Functions = []Function{StartLogin, CompleteLogin, ExtractLoad, Logout}

// Var describes one environment variable a function reads.
type Var struct {
	Name     string
	Required bool   // the function cannot run without it
	Secret   bool   // the value is never logged; in the cloud it comes from Secret Manager
	Default  string // used when unset
	Local    bool   // only for local runs and tests (emulator hosts); never set in the cloud
}

// Error says which variable is missing or malformed. It never holds the value.
type Error struct {
	Var    string
	Reason string
}

func (e *Error) Error() string { return "config: " + e.Var + ": " + e.Reason }

// Config is what a function needs from the environment. Fields a function does
// not read stay at their zero value.
type Config struct {
	Project    string
	WebBaseURL string

	Email, Password string // login; empty in api-token mode
	APIToken        string // set: api-token mode

	LoginPath, OTPPath, TicketsPath, LogoutPath string

	WebhookSecret   []byte
	SealKey         []byte
	SealKeyPrevious []byte // the key before the last rotation; nil when unset

	OTPTTL      time.Duration
	MaxEventAge time.Duration
	WindowDays  int
	PageLimit   int
	RatePerMin  int
	FullRefresh time.Duration
	TimeZone    *time.Location

	Dataset, Table, RunsTable, Location string

	TopicLoginPending, SubLoginPending, TopicSessionReady, TopicLoadFinished string

	// ChunkBudget is how long one ExtractLoad invocation fetches before it
	// merges and continues in the next (the invocation limit is 540 s).
	ChunkBudget time.Duration

	PubSubEmulatorHost, BigQueryEmulatorHost string
}

// APITokenMode reports whether the function logs in with the official API token.
func (c *Config) APITokenMode() bool { return c.APIToken != "" }

var (
	project      = Var{Name: "GOOGLE_CLOUD_PROJECT", Required: true}
	webBaseURL   = Var{Name: "WEB_BASE_URL", Required: true}
	webEmail     = Var{Name: "WEB_EMAIL", Secret: true}
	webPassword  = Var{Name: "WEB_PASSWORD", Secret: true}
	webAPIToken  = Var{Name: "WEB_API_TOKEN", Secret: true}
	loginPath    = Var{Name: "WEB_LOGIN_PATH", Default: "/login"}
	otpPath      = Var{Name: "WEB_OTP_PATH", Default: "/login/otp"}
	ticketsPath  = Var{Name: "WEB_TICKETS_PATH", Default: "/tickets"}
	logoutPath   = Var{Name: "WEB_LOGOUT_PATH", Default: "/logout"}
	webhookKey   = Var{Name: "OTP_WEBHOOK_SECRET", Required: true, Secret: true}
	sealKey      = Var{Name: "TOKEN_SEAL_KEY", Required: true, Secret: true}
	sealKeyPrev  = Var{Name: "TOKEN_SEAL_KEY_PREVIOUS", Secret: true}
	otpTTL       = Var{Name: "OTP_TTL_MINUTES", Default: "10"}
	maxEventAge  = Var{Name: "MAX_EVENT_AGE_MINUTES", Default: "60"}
	windowDays   = Var{Name: "WINDOW_DAYS", Default: "180"}
	pageLimit    = Var{Name: "PAGE_LIMIT", Default: "200"}
	ratePerMin   = Var{Name: "RATE_LIMIT_PER_MINUTE", Default: "120"}
	fullRefresh  = Var{Name: "FULL_REFRESH_HOURS", Default: "24"}
	timeZone     = Var{Name: "TIMEZONE", Default: "America/Sao_Paulo"}
	bqDataset    = Var{Name: "BQ_DATASET", Default: "tiflux"}
	bqTable      = Var{Name: "BQ_TABLE", Default: "tickets"}
	bqRunsTable  = Var{Name: "BQ_RUNS_TABLE", Default: "sync_runs"}
	bqLocation   = Var{Name: "BQ_LOCATION", Default: "US"}
	topicPending = Var{Name: "TOPIC_LOGIN_PENDING", Default: "login-pending"}
	subPending   = Var{Name: "SUB_LOGIN_PENDING", Default: "login-pending-complete"}
	topicReady   = Var{Name: "TOPIC_SESSION_READY", Default: "session-ready"}
	topicDone    = Var{Name: "TOPIC_LOAD_FINISHED", Default: "load-finished"}
	pubsubEmu    = Var{Name: "PUBSUB_EMULATOR_HOST", Local: true}
	bigqueryEmu  = Var{Name: "BIGQUERY_EMULATOR_HOST", Local: true}
	chunkSeconds = Var{Name: "EXTRACT_CHUNK_SECONDS", Default: "360"}
)

// Vars lists the variables fn reads, in a stable order.
func Vars(fn Function) []Var {
	common := []Var{project, webBaseURL, sealKey, sealKeyPrev}
	switch fn {
	case StartLogin:
		// It drains the expired pending logins from the pending subscription
		// and records each in sync_runs (its mode resolved as ExtractLoad would).
		return append(common, webEmail, webPassword, webAPIToken, loginPath, otpTTL, topicPending, topicReady,
			subPending, fullRefresh, bqDataset, bqRunsTable, bqLocation, pubsubEmu, bigqueryEmu)
	case CompleteLogin:
		// The run log: a login whose code never came is recorded in sync_runs.
		return append(common, otpPath, logoutPath, webhookKey, otpTTL, subPending, topicReady,
			fullRefresh, bqDataset, bqRunsTable, bqLocation, pubsubEmu, bigqueryEmu)
	case ExtractLoad:
		return append(common, ticketsPath, maxEventAge, windowDays, pageLimit, ratePerMin, fullRefresh, timeZone,
			bqDataset, bqTable, bqRunsTable, bqLocation, topicReady, topicDone, chunkSeconds, pubsubEmu, bigqueryEmu)
	case Logout:
		// It adds its requests to the session's sync_runs row.
		return append(common, logoutPath, maxEventAge, bqDataset, bqRunsTable, bqLocation, pubsubEmu, bigqueryEmu)
	}
	return nil
}

// Load reads fn's variables through lookup (os.LookupEnv in production).
func Load(fn Function, lookup func(string) (string, bool)) (*Config, error) {
	vars := Vars(fn)
	if vars == nil {
		return nil, fmt.Errorf("config: unknown function %q", fn)
	}
	r := reader{lookup: lookup}
	c := &Config{}
	for _, v := range vars {
		r.read(c, v)
		if r.err != nil {
			return nil, r.err
		}
	}
	if fn == StartLogin && c.APIToken == "" {
		if c.Email == "" {
			return nil, &Error{Var: webEmail.Name, Reason: "required unless WEB_API_TOKEN is set"}
		}
		if c.Password == "" {
			return nil, &Error{Var: webPassword.Name, Reason: "required unless WEB_API_TOKEN is set"}
		}
	}
	return c, nil
}

type reader struct {
	lookup func(string) (string, bool)
	err    error
}

func (r *reader) value(v Var) string {
	s, ok := r.lookup(v.Name)
	s = strings.TrimSpace(s)
	if !ok || s == "" {
		if v.Required {
			r.err = &Error{Var: v.Name, Reason: "required but not set"}
		}
		return v.Default
	}
	return s
}

func (r *reader) positive(v Var, max int) int {
	s := r.value(v)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max || (n == 0 && v != ratePerMin) {
		lo := 1
		if v == ratePerMin {
			lo = 0
		}
		r.err = &Error{Var: v.Name, Reason: fmt.Sprintf("must be a whole number from %d to %d", lo, max)}
		return 0
	}
	return n
}

// loopback reports whether host is localhost or a loopback address
// (127.0.0.0/8, ::1).
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (r *reader) read(c *Config, v Var) {
	switch v {
	case project:
		c.Project = r.value(v)
	case webBaseURL:
		s := r.value(v)
		if r.err == nil {
			u, err := url.Parse(s)
			switch {
			case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
				r.err = &Error{Var: v.Name, Reason: "must be an absolute http(s) URL"}
			case u.Scheme == "http" && !loopback(u.Hostname()):
				// Credentials and the token cross it: plain http only where
				// nothing leaves the machine (as websystem.CheckBaseURL).
				r.err = &Error{Var: v.Name, Reason: "must use https (plain http only to a loopback host)"}
			}
		}
		c.WebBaseURL = strings.TrimRight(s, "/")
	case webEmail:
		c.Email = r.value(v)
	case webPassword:
		c.Password = r.value(v)
	case webAPIToken:
		c.APIToken = r.value(v)
	case loginPath:
		c.LoginPath = r.path(v)
	case otpPath:
		c.OTPPath = r.path(v)
	case ticketsPath:
		c.TicketsPath = r.path(v)
	case logoutPath:
		c.LogoutPath = r.path(v)
	case webhookKey:
		s := r.value(v)
		if r.err == nil && len(s) < 16 {
			r.err = &Error{Var: v.Name, Reason: "must be at least 16 characters"}
		}
		c.WebhookSecret = []byte(s)
	case sealKey:
		c.SealKey = r.key(v)
	case sealKeyPrev:
		c.SealKeyPrevious = r.key(v)
	case otpTTL:
		c.OTPTTL = time.Duration(r.positive(v, 24*60)) * time.Minute
	case maxEventAge:
		c.MaxEventAge = time.Duration(r.positive(v, 7*24*60)) * time.Minute
	case windowDays:
		c.WindowDays = r.positive(v, 3660)
	case pageLimit:
		c.PageLimit = r.positive(v, 200)
	case ratePerMin:
		c.RatePerMin = r.positive(v, 1_000_000)
	case fullRefresh:
		c.FullRefresh = time.Duration(r.positive(v, 24*366)) * time.Hour
	case timeZone:
		s := r.value(v)
		loc, err := time.LoadLocation(s)
		if err != nil {
			r.err = &Error{Var: v.Name, Reason: "unknown time zone " + strconv.Quote(s)}
		}
		c.TimeZone = loc
	case bqDataset:
		c.Dataset = r.ident(v)
	case bqTable:
		c.Table = r.ident(v)
	case bqRunsTable:
		c.RunsTable = r.ident(v)
	case bqLocation:
		c.Location = r.value(v)
	case topicPending:
		c.TopicLoginPending = r.value(v)
	case subPending:
		c.SubLoginPending = r.value(v)
	case topicReady:
		c.TopicSessionReady = r.value(v)
	case topicDone:
		c.TopicLoadFinished = r.value(v)
	case chunkSeconds:
		c.ChunkBudget = time.Duration(r.positive(v, 480)) * time.Second
	case pubsubEmu:
		c.PubSubEmulatorHost = r.value(v)
	case bigqueryEmu:
		c.BigQueryEmulatorHost = r.value(v)
	}
}

// key reads a seal key: standard base64 of 32 bytes; nil when optional and unset.
func (r *reader) key(v Var) []byte {
	s := r.value(v)
	if r.err != nil || s == "" {
		return nil
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) != 32 {
		r.err = &Error{Var: v.Name, Reason: "must be standard base64 of exactly 32 bytes (openssl rand -base64 32)"}
	}
	return key
}

func (r *reader) path(v Var) string {
	s := r.value(v)
	if !strings.HasPrefix(s, "/") {
		r.err = &Error{Var: v.Name, Reason: "must start with /"}
	}
	return s
}

// ident accepts a BigQuery dataset or table name: letters, digits, underscores.
func (r *reader) ident(v Var) string {
	s := r.value(v)
	ok := len(s) > 0 && len(s) <= 1024
	for _, c := range s {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			ok = false
		}
	}
	if !ok {
		r.err = &Error{Var: v.Name, Reason: "must be letters, digits and underscores"}
	}
	return s
}
