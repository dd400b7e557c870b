package functions

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/bus"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/config"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/extract"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/logging"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/seal"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/session"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/webhook"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// The clients below are built on a function's first request, from the
// variables that function reads, and reused while the instance lives. A
// failed build (a configuration error names the variable) is logged and
// answered, and tried again at the next request, so a passing outage does
// not stick; it never stops the other functions from starting.
var (
	logger = logging.New(stdout{}, slog.LevelInfo)

	starter   = lazy[*session.Starter]{build: buildStarter}
	completer = lazy[*completeDeps]{build: buildCompleter}
	loader    = lazy[*extract.Loader]{build: buildLoader}
	ender     = lazy[*enderDeps]{build: buildEnder}
)

// stdout writes to whatever os.Stdout is at the time, so that the local
// runner can send the functions' logs to a file and keep the terminal.
type stdout struct{}

func (stdout) Write(p []byte) (int, error) { return os.Stdout.Write(p) }

// buildTimeout bounds one build of a function's clients; a request waits
// for a build at most this long (or until its own context ends).
const buildTimeout = 30 * time.Second

// lazy builds a function's clients once. The build runs outside the mutex
// on a deadline of its own, and every request waits for it only as long as
// its context and buildTimeout allow: a hung build cannot block the
// instance. A failed build is forgotten, so the next request tries again.
type lazy[T any] struct {
	mu       sync.Mutex
	build    func(context.Context) (T, error)
	timeout  time.Duration // 0: buildTimeout
	v        T
	built    bool
	inflight *buildRun[T]
}

type buildRun[T any] struct {
	done chan struct{}
	err  error
}

func (l *lazy[T]) get(ctx context.Context) (T, error) {
	var zero T
	l.mu.Lock()
	if l.built {
		defer l.mu.Unlock()
		return l.v, nil
	}
	timeout := l.timeout
	if timeout <= 0 {
		timeout = buildTimeout
	}
	run := l.inflight
	if run == nil {
		run = &buildRun[T]{done: make(chan struct{})}
		l.inflight = run
		go l.run(ctx, run, timeout)
	}
	l.mu.Unlock()
	wait := time.NewTimer(timeout + time.Second)
	defer wait.Stop()
	select {
	case <-run.done:
	case <-ctx.Done():
		return zero, fmt.Errorf("waiting for the function's clients: %w", ctx.Err())
	case <-wait.C:
		return zero, errors.New("building the function's clients took too long")
	}
	if run.err != nil {
		return zero, run.err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v, nil
}

// run builds on a context that outlives the request that started it but not
// the timeout.
func (l *lazy[T]) run(ctx context.Context, run *buildRun[T], timeout time.Duration) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	v, err := func() (v T, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic while building the function's clients: %s", panicText(p))
			}
		}()
		return l.build(bctx)
	}()
	l.mu.Lock()
	if err == nil {
		l.v, l.built = v, true
	} else {
		logger.ErrorContext(ctx, "function cannot start", "error", err)
	}
	run.err = err
	l.inflight = nil
	l.mu.Unlock()
	close(run.done)
}

func load(fn config.Function) (*config.Config, *seal.Sealer, error) {
	cfg, err := config.Load(fn, os.LookupEnv)
	if err != nil {
		return nil, nil, err
	}
	logging.Redact(logger, cfg.Password, cfg.APIToken, string(cfg.WebhookSecret),
		base64.StdEncoding.EncodeToString(cfg.SealKey), base64.StdEncoding.EncodeToString(cfg.SealKeyPrevious))
	s, err := seal.New(cfg.SealKey, cfg.SealKeyPrevious)
	if err != nil {
		return nil, nil, err
	}
	return cfg, s, nil
}

func webClient(cfg *config.Config, rate int) *websystem.Client {
	return websystem.New(cfg.WebBaseURL, websystem.Paths{
		Login: cfg.LoginPath, OTP: cfg.OTPPath, Tickets: cfg.TicketsPath, Logout: cfg.LogoutPath,
	}, nil, websystem.Options{RatePerMinute: rate, Logger: logger})
}

func buildStarter(ctx context.Context) (*session.Starter, error) {
	cfg, sealer, err := load(config.StartLogin)
	if err != nil {
		return nil, err
	}
	b, wh, _, err := openBusAndWarehouse(ctx, cfg)
	if err != nil {
		return nil, err
	}
	now := time.Now
	return &session.Starter{Web: webClient(cfg, 0), Bus: b, Sealer: sealer,
		Email: cfg.Email, Password: cfg.Password, APIToken: cfg.APIToken, OTPTTL: cfg.OTPTTL,
		TopicLoginPending: cfg.TopicLoginPending, TopicSessionReady: cfg.TopicSessionReady,
		Pull: session.BusPuller{Bus: b}, Runs: failedLogins{wh: wh, fullRefresh: cfg.FullRefresh, now: now}, SubLoginPending: cfg.SubLoginPending,
		Now: now, Log: logger, NewID: session.NewID}, nil
}

type completeDeps struct {
	verifier  *webhook.Verifier
	completer *session.Completer
}

func buildCompleter(ctx context.Context) (*completeDeps, error) {
	cfg, sealer, err := load(config.CompleteLogin)
	if err != nil {
		return nil, err
	}
	b, wh, _, err := openBusAndWarehouse(ctx, cfg)
	if err != nil {
		return nil, err
	}
	now := time.Now
	// The function has 120 s: 10 s waiting for a pending session, 60 s of
	// exchange, sealing and publishing (retries included: the context caps
	// them), 15 s to log out after a failed publish, the rest for the answer.
	return &completeDeps{
		verifier: &webhook.Verifier{Secret: cfg.WebhookSecret, Now: now,
			MaxSkew: 300 * time.Second, MaxBody: 64 << 10},
		completer: &session.Completer{Web: webClient(cfg, 0), Bus: b, Pull: session.BusPuller{Bus: b},
			Runs: failedLogins{wh: wh, fullRefresh: cfg.FullRefresh, now: now}, Sealer: sealer,
			SubLoginPending: cfg.SubLoginPending, TopicSessionReady: cfg.TopicSessionReady,
			PullWait: 10 * time.Second, ClockSkew: 60 * time.Second, Work: session.DefaultWork,
			Now: now, Log: logger},
	}, nil
}

// openBusAndWarehouse connects to Pub/Sub and BigQuery; on failure it
// leaves nothing open, as the build is tried again at the next request.
// The returned closeAll closes both, for a build that fails after this.
func openBusAndWarehouse(ctx context.Context, cfg *config.Config) (*bus.Bus, *warehouse.Warehouse, func(), error) {
	b, err := bus.New(ctx, cfg.Project)
	if err != nil {
		return nil, nil, nil, err
	}
	hc, conns, err := bigQueryHTTP(ctx, cfg.BigQueryEmulatorHost)
	if err != nil {
		_ = b.Close()
		return nil, nil, nil, err
	}
	client, err := warehouse.NewClient(ctx, cfg.Project, cfg.BigQueryEmulatorHost, option.WithHTTPClient(hc))
	if err != nil {
		_ = b.Close()
		return nil, nil, nil, err
	}
	closeAll := func() {
		_ = b.Close()
		_ = client.Close()
		conns.CloseIdleConnections()
	}
	return b, warehouse.New(client, warehouse.Config{Dataset: cfg.Dataset, Table: cfg.Table,
		RunsTable: cfg.RunsTable, Location: cfg.Location, StagingTTL: 24 * time.Hour,
		Logger: logger, Now: time.Now}), closeAll, nil
}

// bigQueryHTTP returns the HTTP client BigQuery is reached with, over a
// transport of its own whose connections a failed build closes:
// bigquery.Client.Close closes only the Storage Read API client, never the
// HTTP connections (cloud.google.com/go/bigquery, bigquery.go, Client.Close),
// and each client the library builds otherwise has a transport of its own
// (google.golang.org/api/transport/http, defaultBaseTransport). In the cloud
// the transport is authorized as the library would (htransport.NewTransport
// with BigQuery's scope); an emulator takes none.
func bigQueryHTTP(ctx context.Context, emulatorHost string) (*http.Client, *http.Transport, error) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	if emulatorHost != "" {
		return &http.Client{Transport: base}, base, nil
	}
	rt, err := htransport.NewTransport(ctx, base, option.WithScopes(bigquery.Scope))
	if err != nil {
		return nil, nil, fmt.Errorf("bigquery transport: %w", err)
	}
	return &http.Client{Transport: rt}, base, nil
}

// failedLogins records in sync_runs the logins whose code never came.
type failedLogins struct {
	wh          *warehouse.Warehouse
	fullRefresh time.Duration
	now         func() time.Time
}

func (f failedLogins) RecordFailedLogin(ctx context.Context, fl session.FailedLogin) error {
	finished := fl.FinishedAt
	if finished.IsZero() {
		finished = f.now()
	}
	return f.wh.RecordRun(ctx, chain.Run{SessionID: fl.SessionID, Auth: chain.AuthOTP,
		Mode: f.resolve(ctx, fl.Mode), StartedAt: fl.RequestedAt, FinishedAt: finished.UTC(),
		Totals: chain.Totals{Requests: fl.Requests}, Outcome: chain.OutcomeFailed, Error: fl.Reason})
}

// resolve gives sync_runs the mode the run would have had, by ExtractLoad's
// rule for auto (CONTRACT section 5, FULL_REFRESH_HOURS): full when no
// successful full pull started within FULL_REFRESH_HOURS minus one hour, or
// no successful pull at all; else incremental. Unreadable: auto, as asked.
func (f failedLogins) resolve(ctx context.Context, m chain.Mode) chain.Mode {
	if m != chain.ModeAuto {
		return m
	}
	lastFull, err := f.wh.LastSuccessfulRun(ctx, chain.ModeFull)
	if err != nil {
		return m
	}
	if lastFull == nil || lastFull.StartedAt.Before(f.now().Add(-(f.fullRefresh - time.Hour))) {
		return chain.ModeFull
	}
	last, err := f.wh.LastSuccessfulRun(ctx, "")
	if err != nil {
		return m
	}
	if last == nil || last.WindowTo.IsZero() {
		return chain.ModeFull
	}
	return chain.ModeIncremental
}

func buildLoader(ctx context.Context) (*extract.Loader, error) {
	cfg, sealer, err := load(config.ExtractLoad)
	if err != nil {
		return nil, err
	}
	b, wh, closeAll, err := openBusAndWarehouse(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := wh.EnsureTables(ctx); err != nil {
		// Tried again at the next event: close both clients, or each
		// failing event leaks one of each.
		closeAll()
		return nil, err
	}
	return &extract.Loader{Web: webClient(cfg, cfg.RatePerMin), Store: ticketStore{wh}, Runs: wh, Bus: b, Sealer: sealer,
		WindowDays: cfg.WindowDays, PageLimit: cfg.PageLimit, FullRefresh: cfg.FullRefresh,
		Overlap: 15 * time.Minute, MaxEventAge: cfg.MaxEventAge, ChunkBudget: cfg.ChunkBudget,
		Concurrency: 8, TimeZone: cfg.TimeZone,
		TopicSessionReady: cfg.TopicSessionReady, TopicLoadFinished: cfg.TopicLoadFinished,
		Now: time.Now, Log: logger}, nil
}

// ticketStore is the warehouse as ExtractLoad's extract.Store: each chunk
// stages in a load of its own (warehouse.StageChunk).
type ticketStore struct{ *warehouse.Warehouse }

func (t ticketStore) Stage(ctx context.Context, sessionID string, chunk int) (extract.Sink, error) {
	return t.StageChunk(ctx, sessionID, chunk)
}

type enderDeps struct {
	ender       *session.Ender
	runs        runLog // sync_runs: the logout's requests, once
	maxEventAge time.Duration
	now         func() time.Time
}

func buildEnder(ctx context.Context) (*enderDeps, error) {
	cfg, sealer, err := load(config.Logout)
	if err != nil {
		return nil, err
	}
	client, err := warehouse.NewClient(ctx, cfg.Project, cfg.BigQueryEmulatorHost)
	if err != nil {
		return nil, err
	}
	wh := warehouse.New(client, warehouse.Config{Dataset: cfg.Dataset, RunsTable: cfg.RunsTable,
		Location: cfg.Location, Logger: logger, Now: time.Now})
	return &enderDeps{ender: &session.Ender{Web: webClient(cfg, 0), Sealer: sealer, Log: logger},
		runs: wh, maxEventAge: cfg.MaxEventAge, now: time.Now}, nil
}

// respond writes a JSON answer.
func respond(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func respondError(w http.ResponseWriter, status int, msg string) {
	respond(w, status, map[string]string{"error": msg})
}
