package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/testkit"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/bus"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/logging"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/seal"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/session"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

const (
	email    = "analista@example.com.br"
	password = "senha-de-teste-123"
)

// These tests run the session over its real adapters (BusPuller on pstest,
// the web-system client on websim); they are skipped with -short.

// world is a session's surroundings: the simulated web system over loopback
// HTTP, its client, Pub/Sub in memory (pstest) and a log capture.
type world struct {
	sim       *websim.Server
	bus       *testkit.PubSub
	sealer    *seal.Sealer
	logs      *testkit.Buffer
	log       *slog.Logger
	starter   *session.Starter
	completer *session.Completer
}

func mustWorld(t *testing.T, opts websim.Options) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("pstest and the simulated web system; memory_test.go covers the logic in -short")
	}
	opts.Email, opts.Password = email, password
	w := &world{sim: websim.New(opts), logs: &testkit.Buffer{}}
	srv := httptest.NewServer(w.sim)
	t.Cleanup(srv.Close)
	w.bus = testkit.MustBus(t, "p", "login-pending", "session-ready")
	w.bus.MustSubscription(t, "login-pending-complete", "login-pending", 60*time.Second)
	w.sealer, _ = seal.New(bytes.Repeat([]byte{3}, seal.KeySize))
	w.log = logging.New(w.logs, slog.LevelInfo)
	web := websystem.New(srv.URL, websystem.Paths{}, nil, websystem.Options{BackoffBase: 10 * time.Millisecond})
	w.starter = &session.Starter{Web: web, Bus: w.bus, Sealer: w.sealer, Email: email, Password: password,
		OTPTTL: 10 * time.Minute, TopicLoginPending: "login-pending", TopicSessionReady: "session-ready",
		Now: time.Now, Log: w.log, NewID: session.NewID}
	w.completer = &session.Completer{Web: web, Bus: w.bus, Pull: session.BusPuller{Bus: w.bus.Bus}, Sealer: w.sealer,
		SubLoginPending: "login-pending-complete", TopicSessionReady: "session-ready",
		PullWait: 2 * time.Second, ClockSkew: time.Minute, Now: time.Now, Log: w.log}
	return w
}

func (w *world) mustStart(t *testing.T) (string, string) {
	t.Helper()
	st, err := w.starter.Start(context.Background(), chain.ModeFull)
	if err != nil {
		t.Fatal(err)
	}
	code, _, _ := w.sim.LastCode()
	return st.SessionID, code
}

// publishPending puts a pending login on the bus as StartLogin would.
func (w *world) publishPending(t *testing.T, id string, requested time.Time, ttl time.Duration) {
	t.Helper()
	sealed, err := w.sealer.SealTmp("tmp-"+id, id)
	if err != nil {
		t.Fatal(err)
	}
	m, err := chain.EncodeLoginPending(chain.LoginPending{SessionID: id, TmpSealed: sealed,
		RequestedAt: requested, ExpiresAt: requested.Add(ttl), Mode: chain.ModeAuto})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.bus.Publish(context.Background(), "login-pending", m); err != nil {
		t.Fatal(err)
	}
}

// The caller of the webhook going away mid-exchange does not strand the
// login: the exchange, sealing and publishing finish on their own deadline.
func TestCompleteFinishesWhenTheCallerGoesAway(t *testing.T) {
	w := mustWorld(t, websim.Options{Latency: 300 * time.Millisecond})
	id, code := w.mustStart(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the pending session is taken and the exchange is in flight.
		for w.sim.Stats().Requests["otp"] == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	got, err := w.completer.Complete(ctx, session.Code{Code: code, ReceivedAt: time.Now(), MessageID: "m", Source: "gmail"})
	if err != nil || got != id {
		t.Fatalf("got %q, %v; want %s completed", got, err, id)
	}
	if n := w.bus.Published("session-ready"); n != 1 {
		t.Errorf("got %d session-ready messages, want 1", n)
	}
	if _, err := w.bus.Pull(context.Background(), "login-pending-complete", 0); !errors.Is(err, bus.ErrNoMessages) {
		t.Errorf("the completed pending session is still on the subscription: %v", err)
	}
}

// The newest pending login is chosen among all that wait, not among the
// first pull's batch (Pub/Sub returns at most 100 at a time, maybe fewer).
func TestCompleteChoosesNewestBeyondOnePullBatch(t *testing.T) {
	w := mustWorld(t, websim.Options{})
	old := time.Now().Add(-5 * time.Minute)
	for i := 0; i < 120; i++ {
		w.publishPending(t, fmt.Sprintf("0190e000-0000-7000-8000-%012d", i), old.Add(time.Duration(i)*time.Millisecond), 10*time.Minute)
	}
	id, code := w.mustStart(t)
	got, err := w.completer.Complete(context.Background(), session.Code{Code: code, ReceivedAt: time.Now(), MessageID: "m", Source: "gmail"})
	if err != nil || got != id {
		t.Fatalf("got %q, %v; want the newest session %s", got, err, id)
	}
	if _, err := w.bus.Pull(context.Background(), "login-pending-complete", 0); !errors.Is(err, bus.ErrNoMessages) {
		t.Errorf("superseded pending sessions left on the subscription: %v", err)
	}
}

// A session's tmp, code and token are redacted while it runs and forgotten
// once it is over: nothing is left registered, and a later line holding the
// same digits as the code is written as is.
func TestCompleteForgetsTheSessionSecretsWhenDone(t *testing.T) {
	w := mustWorld(t, websim.Options{})
	_, code := w.mustStart(t)
	if _, err := w.completer.Complete(context.Background(), session.Code{Code: code, ReceivedAt: time.Now(), MessageID: "m", Source: "gmail"}); err != nil {
		t.Fatal(err)
	}
	if n := w.log.Handler().(*logging.Handler).Registered(); n != 0 {
		t.Errorf("got %d values still registered after the session, want 0", n)
	}
	w.log.Info("later", "ticket", "ticket "+code)
	if !strings.Contains(w.logs.String(), "ticket "+code) {
		t.Error("a later line with the code's digits was blanked")
	}
}

// StartLogin drains the expired pending logins (logged as login.expired at
// ERROR) and leaves the live ones for CompleteLogin.
func TestStartDrainsExpiredPendingLogins(t *testing.T) {
	w := mustWorld(t, websim.Options{})
	const expired, live = "0190e000-dead-7000-8000-000000000001", "0190e000-1111-7000-8000-000000000002"
	w.publishPending(t, expired, time.Now().Add(-30*time.Minute), 10*time.Minute)
	w.publishPending(t, live, time.Now().Add(-time.Minute), 10*time.Minute)
	w.starter.Pull, w.starter.SubLoginPending = session.BusPuller{Bus: w.bus.Bus}, "login-pending-complete"
	started, _ := w.mustStart(t)

	left := map[string]bool{}
	got, err := w.bus.Pull(context.Background(), "login-pending-complete", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range got {
		m, _ := chain.DecodeLoginPending(l.Message)
		left[m.SessionID] = true
	}
	want := map[string]bool{live: true, started: true}
	if len(left) != len(want) || !left[live] || !left[started] {
		t.Errorf("left on the subscription: got %v, want %v", left, want)
	}
	logs := w.logs.String()
	var line string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, expired) && strings.Contains(l, `"event":"login.expired"`) {
			line = l
		}
	}
	if !strings.Contains(line, `"severity":"ERROR"`) || !strings.Contains(line, "never arrived") {
		t.Errorf("no ERROR login.expired line for %s:\n%s", expired, logs)
	}
	if strings.Contains(logs, live+`","requested_at`) && strings.Contains(logs, "login.expired\",\"session_id\":\""+live) {
		t.Errorf("the live session was expired:\n%s", logs)
	}
}

type recorded struct {
	mu   sync.Mutex
	runs []session.FailedLogin
}

func (r *recorded) RecordFailedLogin(_ context.Context, f session.FailedLogin) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, f)
	return nil
}

// A dropped login is recorded with its requested mode (the recorder resolves
// auto) and the finish time of the injected clock, not the wall clock.
func TestExpiredLoginIsRecordedByTheInjectedClock(t *testing.T) {
	w := mustWorld(t, websim.Options{})
	clock := time.Now().Add(3 * time.Hour)
	const id = "0190e000-dead-7000-8000-000000000021"
	w.publishPending(t, id, clock.Add(-time.Hour), 10*time.Minute)
	runs := &recorded{}
	w.starter.Pull, w.starter.SubLoginPending, w.starter.Runs = session.BusPuller{Bus: w.bus.Bus}, "login-pending-complete", runs
	w.starter.Now = func() time.Time { return clock }
	w.mustStart(t)
	if len(runs.runs) != 1 {
		t.Fatalf("got %d recorded runs, want 1", len(runs.runs))
	}
	got := runs.runs[0]
	if got.SessionID != id || !got.FinishedAt.Equal(clock.UTC()) || got.Mode != chain.ModeAuto {
		t.Errorf("got %+v, want %s finished at %v, mode auto", got, id, clock.UTC())
	}
}

// The exchange and its retries are capped by Work: past it the completion
// gives up as a web failure (the Apps Script retries) and hands the pending
// login back, instead of running past the function's timeout.
func TestCompleteStopsAtItsWorkDeadline(t *testing.T) {
	w := mustWorld(t, websim.Options{Latency: 200 * time.Millisecond})
	id, code := w.mustStart(t)
	w.sim.SetFaults(1, 0, 0) // every request fails: the client retries
	w.completer.Work = 500 * time.Millisecond
	_, err := w.completer.Complete(context.Background(), session.Code{Code: code, ReceivedAt: time.Now(), MessageID: "m", Source: "gmail"})
	if session.KindOf(err) != session.KindWeb || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a web failure at the work deadline", err)
	}
	got, err := w.bus.Pull(context.Background(), "login-pending-complete", time.Second)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %d pending (%v), want the login handed back", len(got), err)
	}
	if m, _ := chain.DecodeLoginPending(got[0].Message); m.SessionID != id {
		t.Errorf("got pending %s, want %s", m.SessionID, id)
	}
}
