package functions

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/bus"
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

type lazy[T any] struct {
	mu    sync.Mutex
	build func(context.Context) (T, error)
	v     T
	built bool
}

func (l *lazy[T]) get(ctx context.Context) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.built {
		return l.v, nil
	}
	v, err := l.build(context.WithoutCancel(ctx))
	if err != nil {
		logger.ErrorContext(ctx, "function cannot start", "error", err)
		return v, err
	}
	l.v, l.built = v, true
	return v, nil
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
	b, err := bus.New(ctx, cfg.Project)
	if err != nil {
		return nil, err
	}
	return &session.Starter{Web: webClient(cfg, 0), Bus: b, Sealer: sealer,
		Email: cfg.Email, Password: cfg.Password, APIToken: cfg.APIToken, OTPTTL: cfg.OTPTTL,
		TopicLoginPending: cfg.TopicLoginPending, TopicSessionReady: cfg.TopicSessionReady,
		Now: time.Now, Log: logger, NewID: session.NewID}, nil
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
	b, wh, err := openBusAndWarehouse(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &completeDeps{
		verifier: &webhook.Verifier{Secret: cfg.WebhookSecret, Now: time.Now,
			MaxSkew: 300 * time.Second, MaxBody: 64 << 10},
		completer: &session.Completer{Web: webClient(cfg, 0), Bus: b, Pull: b,
			Runs: failedLogins{wh}, Sealer: sealer,
			SubLoginPending: cfg.SubLoginPending, TopicSessionReady: cfg.TopicSessionReady,
			PullWait: 10 * time.Second, ClockSkew: 60 * time.Second, Now: time.Now, Log: logger},
	}, nil
}

// openBusAndWarehouse connects to Pub/Sub and BigQuery; on failure it
// leaves nothing open, as the build is tried again at the next request.
func openBusAndWarehouse(ctx context.Context, cfg *config.Config) (*bus.Bus, *warehouse.Warehouse, error) {
	b, err := bus.New(ctx, cfg.Project)
	if err != nil {
		return nil, nil, err
	}
	client, err := warehouse.NewClient(ctx, cfg.Project, cfg.BigQueryEmulatorHost)
	if err != nil {
		_ = b.Close()
		return nil, nil, err
	}
	return b, warehouse.New(client, warehouse.Config{Dataset: cfg.Dataset, Table: cfg.Table,
		RunsTable: cfg.RunsTable, Location: cfg.Location, StagingTTL: 24 * time.Hour,
		Logger: logger, Now: time.Now}), nil
}

// failedLogins records in sync_runs the logins whose code never came.
type failedLogins struct{ wh *warehouse.Warehouse }

func (f failedLogins) RecordFailedLogin(ctx context.Context, fl session.FailedLogin) error {
	return f.wh.RecordRun(ctx, warehouse.Run{SessionID: fl.SessionID, Auth: "otp", Mode: string(fl.Mode),
		StartedAt: fl.RequestedAt, FinishedAt: time.Now().UTC(), Outcome: "failed", Error: fl.Reason})
}

func buildLoader(ctx context.Context) (*extract.Loader, error) {
	cfg, sealer, err := load(config.ExtractLoad)
	if err != nil {
		return nil, err
	}
	b, wh, err := openBusAndWarehouse(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := wh.EnsureTables(ctx); err != nil {
		_ = b.Close()
		return nil, err
	}
	return &extract.Loader{Web: webClient(cfg, cfg.RatePerMin), Store: wh, Bus: b, Sealer: sealer,
		WindowDays: cfg.WindowDays, PageLimit: cfg.PageLimit, FullRefresh: cfg.FullRefresh,
		Overlap: 15 * time.Minute, MaxEventAge: cfg.MaxEventAge, ChunkBudget: cfg.ChunkBudget,
		Concurrency: 8, TimeZone: cfg.TimeZone,
		TopicSessionReady: cfg.TopicSessionReady, TopicLoadFinished: cfg.TopicLoadFinished,
		Now: time.Now, Log: logger}, nil
}

type enderDeps struct {
	ender       *session.Ender
	maxEventAge time.Duration
}

func buildEnder(ctx context.Context) (*enderDeps, error) {
	cfg, sealer, err := load(config.Logout)
	if err != nil {
		return nil, err
	}
	return &enderDeps{ender: &session.Ender{Web: webClient(cfg, 0), Sealer: sealer, Log: logger},
		maxEventAge: cfg.MaxEventAge}, nil
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
