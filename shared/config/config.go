// Package config reads the pipeline's configuration from the environment
// (CONTRACT section 5). Each function reads only the variables it needs, so a
// variable that only another function uses is never required; a missing or
// malformed value is one *Error naming the variable, never its value.
//
// Table is the one description of every variable: its meaning, default,
// bounds, readers and how a deployment sets it. Load reads by it,
// tools/deploycheck holds Terraform to it and the README's configuration
// table is generated from it.
package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the report time zone must resolve on a bare runtime

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
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

// Var is one environment variable: one entry of the table below, which is the
// only place a variable is described. Load reads it, tools/deploycheck holds
// Terraform to it and the README's configuration table is generated from it
// (TestREADMETable).
type Var struct {
	Name     string
	Doc      string // what it means, for the README
	Required bool   // a function that reads it cannot run without it
	Default  string // used when unset
	// Min and Max bound a whole number; both 0: the value is no number.
	Min, Max int
	// ReadBy lists the functions that read it. Adding a reader is adding
	// one name here.
	ReadBy []Function
	// Set says how a deployment sets it; From names where the value comes
	// from: the Terraform variable (SetByVariable, "window_days" or
	// "web_paths.login" for an attribute of an object variable), the
	// Secret Manager secret (SetBySecret) or the Terraform value
	// (SetFixed, for the README only).
	Set  Set
	From string
	// AuthMode, when set, is the only value of Terraform's auth_mode in
	// which the variable is set (the credentials of that mode).
	AuthMode chain.Auth
	// SwitchedBy, when set, is the Terraform variable that turns the
	// variable on: set while it is non-empty, unset otherwise.
	SwitchedBy string

	store func(r *reader, c *Config, v Var) // reads the value into c
}

// Set says how a deployment sets a variable.
type Set int

// How a variable is set in the cloud.
const (
	SetByVariable Set = iota + 1 // plain, from a Terraform variable
	SetBySecret                  // from Secret Manager; the value is never logged
	SetFixed                     // plain, by Terraform from what it creates (names of topics, tables)
	SetLocally                   // never in the cloud: local runs and tests only (emulator hosts)
)

// Secret reports whether the value is a secret: never logged, and in the
// cloud taken from Secret Manager.
func (v Var) Secret() bool { return v.Set == SetBySecret }

// Local reports whether the variable is for local runs and tests only.
func (v Var) Local() bool { return v.Set == SetLocally }

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

// Table is every variable, in the order Load reads them (the first malformed
// one is the error). Each entry is the whole description of its variable.
var Table = []Var{
	{Name: "GOOGLE_CLOUD_PROJECT", Doc: "project of Pub/Sub and BigQuery", Required: true, ReadBy: Functions,
		Set: SetByVariable, From: "project_id", store: text(func(c *Config, s string) { c.Project = s })},
	{Name: "WEB_BASE_URL", Doc: "the web system's API root (https; plain http only to a loopback host)", Required: true, ReadBy: Functions,
		Set: SetByVariable, From: "web_base_url", store: baseURL},
	{Name: "TOKEN_SEAL_KEY", Doc: "base64 of 32 random bytes: seals the tmp and the token on the bus", Required: true, ReadBy: Functions,
		Set: SetBySecret, From: "token-seal-key", store: key(func(c *Config, k []byte) { c.SealKey = k })},
	{Name: "TOKEN_SEAL_KEY_PREVIOUS", Doc: "the seal key before a rotation: opens older seals", ReadBy: Functions,
		Set: SetBySecret, From: "token-seal-key-previous", SwitchedBy: "token_seal_key_previous",
		store: key(func(c *Config, k []byte) { c.SealKeyPrevious = k })},
	{Name: "WEB_EMAIL", Doc: "login e-mail; required unless `WEB_API_TOKEN` is set", ReadBy: []Function{StartLogin},
		Set: SetBySecret, From: "web-email", AuthMode: chain.AuthOTP, store: text(func(c *Config, s string) { c.Email = s })},
	{Name: "WEB_PASSWORD", Doc: "login password; required unless `WEB_API_TOKEN` is set", ReadBy: []Function{StartLogin},
		Set: SetBySecret, From: "web-password", AuthMode: chain.AuthOTP, store: text(func(c *Config, s string) { c.Password = s })},
	{Name: "WEB_API_TOKEN", Doc: "official API token: set, the api-token mode (no OTP, no logout)", ReadBy: []Function{StartLogin},
		Set: SetBySecret, From: "web-api-token", AuthMode: chain.AuthAPIToken, store: text(func(c *Config, s string) { c.APIToken = s })},
	{Name: "WEB_LOGIN_PATH", Doc: "login endpoint", Default: "/login", ReadBy: []Function{StartLogin},
		Set: SetByVariable, From: "web_paths.login", store: path(func(c *Config, s string) { c.LoginPath = s })},
	{Name: "WEB_OTP_PATH", Doc: "code endpoint", Default: "/login/otp", ReadBy: []Function{CompleteLogin},
		Set: SetByVariable, From: "web_paths.otp", store: path(func(c *Config, s string) { c.OTPPath = s })},
	{Name: "WEB_TICKETS_PATH", Doc: "ticket list endpoint", Default: "/tickets", ReadBy: []Function{ExtractLoad},
		Set: SetByVariable, From: "web_paths.tickets", store: path(func(c *Config, s string) { c.TicketsPath = s })},
	{Name: "WEB_LOGOUT_PATH", Doc: "logout endpoint", Default: "/logout", ReadBy: []Function{CompleteLogin, Logout},
		Set: SetByVariable, From: "web_paths.logout", store: path(func(c *Config, s string) { c.LogoutPath = s })},
	{Name: "OTP_WEBHOOK_SECRET", Doc: "HMAC key shared with the Apps Script (at least 16 characters)", Required: true, ReadBy: []Function{CompleteLogin},
		Set: SetBySecret, From: "otp-webhook-secret", store: webhookSecret},
	{Name: "OTP_TTL_MINUTES", Doc: "how long a pending session waits for its code", Default: "10", Min: 1, Max: 24 * 60, ReadBy: []Function{StartLogin, CompleteLogin},
		Set: SetByVariable, From: "otp_ttl_minutes", store: number(func(c *Config, n int) { c.OTPTTL = time.Duration(n) * time.Minute })},
	{Name: "MAX_EVENT_AGE_MINUTES", Doc: "an event older than this is given up instead of retried", Default: "60", Min: 1, Max: 7 * 24 * 60, ReadBy: []Function{ExtractLoad, Logout},
		Set: SetByVariable, From: "max_event_age_minutes", store: number(func(c *Config, n int) { c.MaxEventAge = time.Duration(n) * time.Minute })},
	{Name: "WINDOW_DAYS", Doc: "full-pull window", Default: "180", Min: 1, Max: 3660, ReadBy: []Function{ExtractLoad},
		Set: SetByVariable, From: "window_days", store: number(func(c *Config, n int) { c.WindowDays = n })},
	{Name: "PAGE_LIMIT", Doc: "page size", Default: "200", Min: 1, Max: 200, ReadBy: []Function{ExtractLoad},
		Set: SetByVariable, From: "page_limit", store: number(func(c *Config, n int) { c.PageLimit = n })},
	{Name: "RATE_LIMIT_PER_MINUTE", Doc: "request budget toward the web system (0: no limit, for local benchmarks only)", Default: "120", Min: 0, Max: 1_000_000, ReadBy: []Function{ExtractLoad},
		Set: SetByVariable, From: "rate_limit_per_minute", store: number(func(c *Config, n int) { c.RatePerMin = n })},
	{Name: "FULL_REFRESH_HOURS", Doc: "auto mode: a full pull when the last successful one started more than this minus an hour ago", Default: "24", Min: 1, Max: 24 * 366, ReadBy: []Function{StartLogin, CompleteLogin, ExtractLoad},
		Set: SetByVariable, From: "full_refresh_hours", store: number(func(c *Config, n int) { c.FullRefresh = time.Duration(n) * time.Hour })},
	{Name: "TIMEZONE", Doc: "local time of the reports", Default: "America/Sao_Paulo", ReadBy: []Function{ExtractLoad},
		Set: SetByVariable, From: "report_time_zone", store: timeZone},
	{Name: "BQ_DATASET", Doc: "destination dataset", Default: "tiflux", ReadBy: []Function{StartLogin, CompleteLogin, ExtractLoad, Logout},
		Set: SetFixed, From: "the dataset it creates", store: ident(func(c *Config, s string) { c.Dataset = s })},
	{Name: "BQ_TABLE", Doc: "tickets table", Default: "tickets", ReadBy: []Function{ExtractLoad},
		Set: SetFixed, From: "the table it creates", store: ident(func(c *Config, s string) { c.Table = s })},
	{Name: "BQ_RUNS_TABLE", Doc: "run log table", Default: "sync_runs", ReadBy: []Function{StartLogin, CompleteLogin, ExtractLoad, Logout},
		Set: SetFixed, From: "the table it creates", store: ident(func(c *Config, s string) { c.RunsTable = s })},
	{Name: "BQ_LOCATION", Doc: "the dataset's location", Default: "US", ReadBy: []Function{StartLogin, CompleteLogin, ExtractLoad, Logout},
		Set: SetFixed, From: "the dataset's location", store: text(func(c *Config, s string) { c.Location = s })},
	{Name: "TOPIC_LOGIN_PENDING", Doc: "topic of the pending logins", Default: "login-pending", ReadBy: []Function{StartLogin},
		Set: SetFixed, From: "the topic it creates", store: text(func(c *Config, s string) { c.TopicLoginPending = s })},
	{Name: "SUB_LOGIN_PENDING", Doc: "pull subscription of the pending logins", Default: "login-pending-complete", ReadBy: []Function{StartLogin, CompleteLogin},
		Set: SetFixed, From: "the subscription it creates", store: text(func(c *Config, s string) { c.SubLoginPending = s })},
	{Name: "TOPIC_SESSION_READY", Doc: "topic of the ready sessions", Default: "session-ready", ReadBy: []Function{StartLogin, CompleteLogin, ExtractLoad},
		Set: SetFixed, From: "the topic it creates", store: text(func(c *Config, s string) { c.TopicSessionReady = s })},
	{Name: "TOPIC_LOAD_FINISHED", Doc: "topic of the finished loads", Default: "load-finished", ReadBy: []Function{ExtractLoad},
		Set: SetFixed, From: "the topic it creates", store: text(func(c *Config, s string) { c.TopicLoadFinished = s })},
	{Name: "EXTRACT_CHUNK_SECONDS", Doc: "how long one ExtractLoad invocation fetches before it merges and continues", Default: "360", Min: 1, Max: 480, ReadBy: []Function{ExtractLoad},
		Set: SetByVariable, From: "extract_chunk_seconds", store: number(func(c *Config, n int) { c.ChunkBudget = time.Duration(n) * time.Second })},
	{Name: "PUBSUB_EMULATOR_HOST", Doc: "local Pub/Sub emulator (host:port)", ReadBy: Functions,
		Set: SetLocally, store: text(func(c *Config, s string) { c.PubSubEmulatorHost = s })},
	{Name: "BIGQUERY_EMULATOR_HOST", Doc: "local BigQuery emulator (host:port)", ReadBy: []Function{StartLogin, CompleteLogin, ExtractLoad, Logout},
		Set: SetLocally, store: text(func(c *Config, s string) { c.BigQueryEmulatorHost = s })},
}

// Vars lists the variables fn reads, in the table's order; nil for an
// unknown function.
func Vars(fn Function) []Var {
	var out []Var
	for _, v := range Table {
		if slices.Contains(v.ReadBy, fn) {
			out = append(out, v)
		}
	}
	return out
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
		v.store(&r, c, v)
		if r.err != nil {
			return nil, r.err
		}
	}
	if fn == StartLogin && c.APIToken == "" {
		if c.Email == "" {
			return nil, &Error{Var: "WEB_EMAIL", Reason: "required unless WEB_API_TOKEN is set"}
		}
		if c.Password == "" {
			return nil, &Error{Var: "WEB_PASSWORD", Reason: "required unless WEB_API_TOKEN is set"}
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

// number reads a whole number from v.Min to v.Max.
func number(set func(*Config, int)) func(*reader, *Config, Var) {
	return func(r *reader, c *Config, v Var) {
		n, err := strconv.Atoi(r.value(v))
		if err != nil || n < v.Min || n > v.Max {
			r.err = &Error{Var: v.Name, Reason: fmt.Sprintf("must be a whole number from %d to %d", v.Min, v.Max)}
			n = 0
		}
		set(c, n)
	}
}

// text reads the value as it is.
func text(set func(*Config, string)) func(*reader, *Config, Var) {
	return func(r *reader, c *Config, v Var) { set(c, r.value(v)) }
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

func baseURL(r *reader, c *Config, v Var) {
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
}

func webhookSecret(r *reader, c *Config, v Var) {
	s := r.value(v)
	if r.err == nil && len(s) < 16 {
		r.err = &Error{Var: v.Name, Reason: "must be at least 16 characters"}
	}
	c.WebhookSecret = []byte(s)
}

func timeZone(r *reader, c *Config, v Var) {
	s := r.value(v)
	loc, err := time.LoadLocation(s)
	if err != nil {
		r.err = &Error{Var: v.Name, Reason: "unknown time zone " + strconv.Quote(s)}
	}
	c.TimeZone = loc
}

// key reads a seal key: standard base64 of 32 bytes; nil when optional and unset.
func key(set func(*Config, []byte)) func(*reader, *Config, Var) {
	return func(r *reader, c *Config, v Var) {
		s := r.value(v)
		if r.err != nil || s == "" {
			set(c, nil)
			return
		}
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(k) != 32 {
			r.err = &Error{Var: v.Name, Reason: "must be standard base64 of exactly 32 bytes (openssl rand -base64 32)"}
		}
		set(c, k)
	}
}

// path reads an endpoint path: it starts with /.
func path(set func(*Config, string)) func(*reader, *Config, Var) {
	return func(r *reader, c *Config, v Var) {
		s := r.value(v)
		if !strings.HasPrefix(s, "/") {
			r.err = &Error{Var: v.Name, Reason: "must start with /"}
		}
		set(c, s)
	}
}

// ident reads a BigQuery dataset or table name: letters, digits, underscores.
func ident(set func(*Config, string)) func(*reader, *Config, Var) {
	return func(r *reader, c *Config, v Var) {
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
		set(c, s)
	}
}
