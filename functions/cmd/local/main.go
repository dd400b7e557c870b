// Command local runs the whole chain on this machine (CONTRACT section 7): the
// four functions on the Functions Framework over loopback HTTP, Pub/Sub in
// memory (pstest) with a push relay that delivers as Eventarc does, the
// simulated web system and its mailbox, an Apps Script stand-in that signs
// and posts the code, and the BigQuery emulator in its own process.
//
//	go run ./functions/cmd/local [--tickets 5000] [--mode auto] [--json]
//
// It shows progress while it pages, then a summary, and exits non-zero when
// a session failed. The functions' own logs go to a file it names.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	_ "github.com/helpdesk-bq/tiflux-pipeline/functions" // registers the four functions
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/bqemulator"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/webmeter"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/bus"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/config"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/eventarc"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// project is the Google Cloud project of the emulators, the functions
// (GOOGLE_CLOUD_PROJECT) and the summary: GOOGLE_CLOUD_PROJECT when set,
// so that an emulator started by hand with --project=P is used as it is.
var project = projectFromEnv()

func projectFromEnv() string {
	if p := strings.TrimSpace(os.Getenv("GOOGLE_CLOUD_PROJECT")); p != "" {
		return p
	}
	return "local-project"
}

type options struct {
	tickets   int
	addr      string
	webURL    string
	otpVia    string
	mode      string
	json      bool
	rate      int
	latency   time.Duration
	faultRate float64
	churn     float64
	tokenTTL  int
	seed      int64
	sessions  int
	redeliver bool
	chunkSecs int
	apiToken  bool
	verify    bool
	order     string
	badFields float64
	forbid    int
	between   float64
	allCancel bool
	audit     bool
	dataset   string
	timeout   time.Duration
	logFile   string
	// failPublish names a topic whose first publish per session fails.
	failPublish string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.tickets, "tickets", 5000, "tickets in the simulated web system")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "where the functions listen (/StartLogin, /CompleteLogin, /ExtractLoad, /Logout)")
	fs.StringVar(&o.webURL, "web-url", "", "an outside web system instead of the simulated one (credentials from WEB_EMAIL/WEB_PASSWORD or WEB_API_TOKEN)")
	fs.StringVar(&o.otpVia, "otp-via", "", "who brings the code: simulated, webhook (an outside caller posts to /CompleteLogin, secret from OTP_WEBHOOK_SECRET) or prompt (default: simulated; prompt with --web-url on a terminal, else webhook)")
	fs.StringVar(&o.mode, "mode", "auto", "the mode asked of StartLogin: full, incremental or auto")
	fs.BoolVar(&o.json, "json", false, "end the output with one JSON summary line")
	fs.IntVar(&o.rate, "rate-limit", 0, "requests per minute: the simulated system's limit and ExtractLoad's RATE_LIMIT_PER_MINUTE (0 = none)")
	fs.DurationVar(&o.latency, "latency", 0, "simulated system: latency per request")
	fs.Float64Var(&o.faultRate, "fault-rate", 0, "simulated system: share of requests answered 500")
	fs.Float64Var(&o.churn, "churn", 0, "simulated system: per page request, the share of tickets created, updated, or closed, canceled or deleted without a new updated_at")
	fs.StringVar(&o.order, "order", websim.OrderNumberDesc, "simulated system: the list's order, one of "+strings.Join(websim.Orders, ", ")+" (jump: unstable, a changed ticket moves to the end)")
	fs.Float64Var(&o.badFields, "bad-field-rate", 0, "simulated system: share of tickets sent with one field of the wrong type")
	fs.IntVar(&o.forbid, "forbid", 0, "simulated system: answer every ticket request 403 with this error code (40301 permission, 40304 licence)")
	fs.BoolVar(&o.allCancel, "all-includes-canceled", false, "simulated system: filter_by=all lists canceled tickets too (the reference does not say; default: it does not)")
	fs.Float64Var(&o.between, "between-runs", 0, "simulated system: after each session but the last, close, cancel and delete this share of the tickets (open ones) without a new updated_at")
	fs.IntVar(&o.tokenTTL, "token-ttl-requests", 0, "simulated system: a session token dies after that many ticket requests (0 = never)")
	fs.Int64Var(&o.seed, "seed", 1, "simulated system: random seed")
	fs.IntVar(&o.sessions, "sessions", 1, "sessions to run one after the other; with more than one, the faults apply to all but the last")
	fs.BoolVar(&o.redeliver, "redeliver", false, "the push relay delivers every message twice")
	fs.IntVar(&o.chunkSecs, "chunk-seconds", 0, "ExtractLoad's EXTRACT_CHUNK_SECONDS (0 = its default)")
	fs.BoolVar(&o.apiToken, "api-token", false, "simulated system: log in with an API token (api-token mode) instead of the OTP")
	fs.BoolVar(&o.verify, "verify", false, "after the last session, compare the table with the simulated system's tickets: missing, duplicated, stale, wrong situacao")
	fs.BoolVar(&o.audit, "audit", false, "after the last session, look for every secret of the run in clear in the function logs and Pub/Sub messages")
	fs.StringVar(&o.dataset, "dataset", "", "BigQuery dataset (BQ_DATASET; default: the functions' default)")
	fs.StringVar(&o.failPublish, "fail-publish-once", "", "Pub/Sub: fail the first publish to this topic for each session (FAILED_PRECONDITION, which the publisher does not retry), e.g. load-finished")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up a session after this long")
	fs.StringVar(&o.logFile, "log-file", "", "where the functions' JSON logs go (default: a temporary file)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if _, err := chain.ParseMode(o.mode); err != nil {
		return o, err
	}
	if o.otpVia == "" {
		o.otpVia = "simulated"
		if o.webURL != "" {
			o.otpVia = "webhook"
			if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				o.otpVia = "prompt"
			}
		}
	}
	switch o.otpVia {
	case "simulated", "webhook", "prompt":
	default:
		return o, fmt.Errorf("--otp-via must be simulated, webhook or prompt")
	}
	if o.otpVia == "simulated" && o.webURL != "" {
		return o, fmt.Errorf("--otp-via simulated needs the simulated web system (no --web-url)")
	}
	if o.sessions < 1 {
		return o, fmt.Errorf("--sessions must be 1 or more")
	}
	if !slices.Contains(websim.Orders, o.order) {
		return o, fmt.Errorf("--order %q: want one of %s", o.order, strings.Join(websim.Orders, ", "))
	}
	if o.forbid != 0 && o.forbid != 40301 && o.forbid != 40304 {
		return o, fmt.Errorf("--forbid %d: want 40301, 40304 or 0", o.forbid)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"--bad-field-rate", o.badFields}, {"--between-runs", o.between}, {"--churn", o.churn}, {"--fault-rate", o.faultRate}} {
		if f.v < 0 || f.v > 1 {
			return o, fmt.Errorf("%s %v: want a share from 0 to 1", f.name, f.v)
		}
	}
	return o, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := start(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "local:", err)
		return 1
	}
	defer env.close()

	code := 0
	for i := 1; i <= o.sessions; i++ {
		if o.sessions > 1 && i == o.sessions && env.sim != nil {
			env.sim.SetFaults(0, 0, 0)
			fmt.Fprintln(stderr, "last session: faults off")
		}
		sum := env.session(ctx, o, stdin, stderr)
		if i == o.sessions && o.verify && env.sim != nil {
			v, err := env.verify(ctx)
			if err != nil {
				fmt.Fprintln(stderr, "verify:", err)
				code = 1
			}
			sum.Verify = v
			if v != nil && !v.OK() {
				code = 1
			}
		}
		if i == o.sessions && o.audit {
			leaks, err := env.audit()
			if leaks == nil {
				leaks = []string{}
			}
			if err != nil {
				fmt.Fprintln(stderr, "audit:", err)
				code = 1
			}
			sum.Leaks = &leaks
			if len(leaks) > 0 {
				code = 1
			}
		}
		printSummary(stdout, sum, o.json)
		if sum.Outcome != string(chain.OutcomeOK) || !sum.Logout {
			code = 1
		}
		if i < o.sessions && o.between > 0 && env.sim != nil {
			c, x, d := env.sim.Silent(o.between)
			fmt.Fprintf(stderr, "between sessions: %d tickets closed, %d canceled, %d deleted without a new updated_at\n", c, x, d)
		}
	}
	env.showViews(ctx, stdout, stderr)
	return code
}

// env is everything the chain runs on.
type env struct {
	o        options
	log      *slog.Logger
	logPath  string
	logOut   *os.File
	stdout   *os.File
	psrv     *pstest.Server
	ps       *pubsub.Client
	bus      *bus.Bus
	emu      *bqemulator.Emulator
	wh       *warehouse.Warehouse
	bq       *bigquery.Client
	sim      *websim.Server
	simSrv   *http.Server
	webURL   string // the web system's own base URL (the functions are given the meter's)
	meterLn  net.Listener
	mail     *mailbox
	meter    *webmeter.Meter
	cfg      settings
	funcsURL string
	secret   []byte
	cancel   context.CancelFunc
	finished chan eventarc.Delivery // load-finished messages the Logout function acked
}

func (e *env) close() {
	e.cancel()
	if e.meter != nil {
		_ = e.meter.Close()
	}
	if e.meterLn != nil {
		_ = e.meterLn.Close()
	}
	if e.simSrv != nil {
		_ = e.simSrv.Close()
	}
	if e.ps != nil {
		_ = e.ps.Close()
	}
	if e.psrv != nil {
		_ = e.psrv.Close()
	}
	if e.emu != nil {
		e.emu.Close()
	}
	if e.logOut != nil {
		os.Stdout = e.stdout
		_ = e.logOut.Close()
	}
}

// start wires the chain: each part below starts one piece, in the order
// their addresses are needed (the functions' environment names them all).
func start(parent context.Context, o options, stderr io.Writer) (_ *env, err error) {
	ctx, cancel := context.WithCancel(parent)
	e := &env{o: o, cancel: cancel, finished: make(chan eventarc.Delivery, 16),
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	steps := []func() error{
		func() error { return e.captureLogs(stderr) },
		func() error { return e.startPubSub(ctx, stderr) },
		e.startWebSystem,
		func() error { return e.startBigQuery(ctx, stderr) },
		e.setFunctionEnv,
		func() error { return e.createTopology(ctx) },
		func() error { return e.ensureTables(ctx, stderr) },
		e.startMeter,
		func() error { return e.startFunctions(ctx, stderr) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	e.startRelays(ctx)
	return e, nil
}

// captureLogs sends the functions' JSON logs (to stdout, as in the cloud) to
// a file, so that this command's own output stays readable.
func (e *env) captureLogs(stderr io.Writer) (err error) {
	e.logPath = e.o.logFile
	if e.logPath == "" {
		f, err := os.CreateTemp("", "tiflux-local-*.log")
		if err != nil {
			return err
		}
		e.logPath = f.Name()
		_ = f.Close()
	}
	if e.logOut, err = os.Create(e.logPath); err != nil {
		return err
	}
	e.stdout, os.Stdout = os.Stdout, e.logOut
	fmt.Fprintf(stderr, "function logs: %s\n", e.logPath)
	return nil
}

// startPubSub starts Pub/Sub in memory (pstest), with the publish faults
// --fail-publish-once asks for.
func (e *env) startPubSub(ctx context.Context, stderr io.Writer) error {
	var opts []pstest.ServerReactorOption
	if e.o.failPublish != "" {
		opts = append(opts, failPublishOnce(e.o.failPublish, stderr))
	}
	e.psrv = pstest.NewServer(opts...)
	conn, err := grpc.NewClient(e.psrv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	if e.bus, err = bus.New(ctx, project, option.WithGRPCConn(conn)); err != nil {
		return err
	}
	e.ps = e.bus.Client()
	return nil
}

// startWebSystem starts the simulated web system and its mailbox (unless
// --web-url names an outside one), and takes the port of the meter that
// will stand in front of it.
func (e *env) startWebSystem() (err error) {
	o := e.o
	e.webURL = o.webURL
	e.mail = newMailbox()
	if e.webURL == "" {
		e.sim = websim.New(websim.Options{Tickets: o.tickets, Seed: o.seed, Email: "analista@example.com.br",
			Password: randomString(12), APIToken: randomString(24), Latency: o.latency, RateLimit: o.rate,
			FaultRate: o.faultRate, Churn: o.churn, TokenTTLRequests: o.tokenTTL, Mailbox: e.mail,
			Order: o.order, BadFieldRate: o.badFields, Forbid: o.forbid, AllIncludesCanceled: o.allCancel})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		e.simSrv = &http.Server{Handler: e.sim, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = e.simSrv.Serve(ln) }()
		e.webURL = "http://" + ln.Addr().String()
	}
	// The functions talk to the meter over loopback and would take any
	// URL behind it: the web system's own must pass their rule.
	if err := websystem.CheckBaseURL(e.webURL); err != nil {
		return fmt.Errorf("--web-url: %w", err)
	}
	e.meterLn, err = net.Listen("tcp", "127.0.0.1:0")
	return err
}

// startBigQuery starts the BigQuery emulator (or finds the one
// BIGQUERY_EMULATOR_HOST names) and connects to it.
func (e *env) startBigQuery(ctx context.Context, stderr io.Writer) (err error) {
	if os.Getenv("BIGQUERY_EMULATOR_HOST") == "" {
		fmt.Fprintf(stderr, "starting the BigQuery emulator (project %s)\n", project)
	}
	if e.emu, err = bqemulator.Start(ctx, bqemulator.Options{Project: project, Progress: stderr}); err != nil {
		return fmt.Errorf("BigQuery emulator: %w", err)
	}
	e.bq, err = warehouse.NewClient(ctx, project, e.emu.Host)
	return err
}

// setFunctionEnv sets the functions' environment, as Terraform sets it in
// the cloud, then reads it back as the functions will (settings).
func (e *env) setFunctionEnv() error {
	o := e.o
	e.secret = []byte(randomString(32))
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	vars := map[string]string{
		"GOOGLE_CLOUD_PROJECT":   project,
		"WEB_BASE_URL":           "http://" + e.meterLn.Addr().String(),
		"OTP_WEBHOOK_SECRET":     string(e.secret),
		"TOKEN_SEAL_KEY":         base64.StdEncoding.EncodeToString(key),
		"RATE_LIMIT_PER_MINUTE":  fmt.Sprint(o.rate),
		"PUBSUB_EMULATOR_HOST":   e.psrv.Addr,
		"BIGQUERY_EMULATOR_HOST": e.emu.Host,
	}
	if o.dataset != "" {
		vars["BQ_DATASET"] = o.dataset
	}
	if o.chunkSecs > 0 {
		vars["EXTRACT_CHUNK_SECONDS"] = fmt.Sprint(o.chunkSecs)
	}
	if e.sim != nil {
		opts := e.sim.Options()
		vars["WEB_EMAIL"], vars["WEB_PASSWORD"] = opts.Email, opts.Password
		if o.apiToken {
			vars["WEB_API_TOKEN"] = opts.APIToken
		}
	}
	if o.otpVia == "webhook" {
		if s := os.Getenv("OTP_WEBHOOK_SECRET"); s != "" {
			e.secret = []byte(s)
			vars["OTP_WEBHOOK_SECRET"] = s
		}
	}
	for k, v := range vars {
		if k == "WEB_EMAIL" || k == "WEB_PASSWORD" || k == "WEB_API_TOKEN" {
			if os.Getenv(k) != "" && e.sim == nil {
				continue
			}
		}
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	var err error
	e.cfg, err = readSettings()
	return err
}

// settings are what the functions read from the environment the runner gave
// them, their configuration's defaults where it set nothing: topic and
// subscription names, web paths, tables. The runner uses them rather than
// copies, so that it wires what the functions use.
type settings struct {
	start, extract, logout *config.Config
}

func readSettings() (settings, error) {
	var s settings
	for _, c := range []struct {
		fn  config.Function
		cfg **config.Config
	}{{config.StartLogin, &s.start}, {config.ExtractLoad, &s.extract}, {config.Logout, &s.logout}} {
		cfg, err := config.Load(c.fn, os.LookupEnv)
		if err != nil {
			return s, fmt.Errorf("the functions' environment: %w", err)
		}
		*c.cfg = cfg
	}
	return s, nil
}

// createTopology creates the topics and subscriptions Terraform creates in
// the cloud; the two push subscriptions stand for the Eventarc triggers.
func (e *env) createTopology(ctx context.Context) error {
	c := e.cfg
	for _, t := range []string{c.start.TopicLoginPending, c.extract.TopicSessionReady, c.extract.TopicLoadFinished} {
		if err := e.bus.EnsureTopic(ctx, t); err != nil {
			return err
		}
	}
	for _, s := range []struct{ name, topic string }{
		{c.start.SubLoginPending, c.start.TopicLoginPending},
		{subExtractLoad, c.extract.TopicSessionReady},
		{subLogout, c.extract.TopicLoadFinished},
	} {
		if err := e.bus.EnsureSubscription(ctx, s.name, s.topic, 600*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// The push subscriptions of the local Eventarc stand-in.
const (
	subExtractLoad = "eventarc-extractload"
	subLogout      = "eventarc-logout"
)

// ensureTables creates the tables the functions write, where they write them.
func (e *env) ensureTables(ctx context.Context, stderr io.Writer) error {
	c := e.cfg.extract
	e.wh = warehouse.New(e.bq, warehouse.Config{Dataset: c.Dataset, Table: c.Table, RunsTable: c.RunsTable,
		Location: c.Location, Logger: e.log, Now: time.Now})
	if err := e.wh.EnsureTables(ctx); err != nil {
		if os.Getenv("BIGQUERY_EMULATOR_HOST") != "" {
			return fmt.Errorf("%w\n(the emulator at BIGQUERY_EMULATOR_HOST=%s must serve project %s: start it with --project=%s, or set GOOGLE_CLOUD_PROJECT to the project it serves)",
				err, e.emu.Host, project, project)
		}
		return err
	}
	fmt.Fprintf(stderr, "BigQuery emulator on %s: tables %s.%s.%s and %s.%s.%s\n", e.emu.Host,
		project, c.Dataset, c.Table, project, c.Dataset, c.RunsTable)
	return nil
}

// startMeter serves the meter in front of the web system: the functions'
// WEB_BASE_URL, so that every request they send it is counted.
func (e *env) startMeter() error {
	target, _ := url.Parse(e.webURL) // checked by startWebSystem
	e.meter = webmeter.New(target, webmeter.Paths{Tickets: e.cfg.extract.TicketsPath, Logout: e.cfg.logout.LogoutPath}, nil)
	e.meter.Serve(e.meterLn)
	e.meterLn = nil // the meter closes it
	return nil
}

// startFunctions serves the four functions on the Functions Framework.
func (e *env) startFunctions(ctx context.Context, stderr io.Writer) error {
	ln, err := net.Listen("tcp", e.o.addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	host, port, _ := net.SplitHostPort(addr)
	go func() {
		if err := funcframework.StartHostPort(host, port); err != nil {
			e.log.Error("functions framework stopped", "error", err)
		}
	}()
	e.funcsURL = "http://" + addr
	if err := waitHTTP(ctx, e.funcsURL+"/StartLogin"); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "functions on %s (/StartLogin, /CompleteLogin, /ExtractLoad, /Logout)\n", e.funcsURL)
	return nil
}

// startRelays starts Eventarc, locally: a push relay per trigger.
func (e *env) startRelays(ctx context.Context) {
	for _, r := range []*relay{
		{topic: e.cfg.extract.TopicSessionReady, sub: subExtractLoad, url: e.funcsURL + "/ExtractLoad"},
		{topic: e.cfg.extract.TopicLoadFinished, sub: subLogout, url: e.funcsURL + "/Logout",
			onDone: func(d eventarc.Delivery) { e.finished <- d }},
	} {
		r.client, r.project, r.duplicate, r.log = e.ps, project, e.o.redeliver, e.log
		r.minBackoff, r.maxBackoff = 200*time.Millisecond, 5*time.Second
		go func() {
			if err := r.run(ctx); err != nil && ctx.Err() == nil {
				e.log.Error("relay stopped", "subscription", r.sub, "error", err)
			}
		}()
	}
}

func waitHTTP(ctx context.Context, u string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("functions did not come up: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}
