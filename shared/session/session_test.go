package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
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

const email = "analista@example.com.br"

var password = testkit.Credential("password")

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

// The fast tests below (TestMem...) run the session logic against in-memory
// implementations of its seams (Publisher, Puller and Lease, Web,
// RunRecorder): no network, no Pub/Sub server. The tests above run the same
// flows over pstest and the simulated web system, and skip with -short.

const (
	pendingTopic = "login-pending"
	pendingSub   = "login-pending-complete"
	readyTopic   = "session-ready"
	goodCode     = "123456"
)

// memMsg is one message of the in-memory subscription and its lease's history.
type memMsg struct {
	id      string
	m       chain.Message
	leased  bool
	acked   bool
	nacks   int
	extends int
}

// memBus is Pub/Sub in memory: Publish records every message by topic and
// queues those on pendingTopic on the one subscription pendingSub, which Pull
// hands out at most batch at a time, as Pub/Sub may.
type memBus struct {
	mu         sync.Mutex
	batch      int
	msgs       []*memMsg
	published  map[string][]chain.Message
	publishErr map[string]error
	pullErr    error // returned by the pull after failAfter successful ones
	failAfter  int
	pulls      int
	extended   chan string // receives a message id at each extension
}

func newMemBus(batch int) *memBus {
	return &memBus{batch: batch, published: map[string][]chain.Message{}, publishErr: map[string]error{},
		extended: make(chan string, 1000)}
}

func (b *memBus) Publish(_ context.Context, topic string, m chain.Message) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.publishErr[topic]; err != nil {
		return "", err
	}
	b.published[topic] = append(b.published[topic], m)
	id := fmt.Sprintf("m%d", len(b.msgs)+1)
	if topic == pendingTopic {
		b.msgs = append(b.msgs, &memMsg{id: id, m: m})
	}
	return id, nil
}

func (b *memBus) Pull(_ context.Context, sub string, _ time.Duration) ([]session.Pulled, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sub != pendingSub {
		return nil, fmt.Errorf("no subscription %s", sub)
	}
	if b.pullErr != nil && b.pulls >= b.failAfter {
		return nil, b.pullErr
	}
	b.pulls++
	var out []session.Pulled
	for _, m := range b.msgs {
		if len(out) == b.batch {
			break
		}
		if !m.acked && !m.leased {
			m.leased = true
			out = append(out, session.Pulled{Message: m.m, ID: m.id, Lease: memLease{b, m}})
		}
	}
	return out, nil
}

type memLease struct {
	b *memBus
	m *memMsg
}

func (l memLease) Ack(context.Context) error {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	l.m.acked, l.m.leased = true, false
	return nil
}

func (l memLease) Nack(context.Context) error {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	l.m.leased = false
	l.m.nacks++
	return nil
}

func (l memLease) Extend(context.Context, time.Duration) error {
	l.b.mu.Lock()
	l.m.extends++
	l.b.mu.Unlock()
	l.b.extended <- l.m.id
	return nil
}

// state is what became of the pending login of session id.
type state struct {
	Acked, Leased bool
	Nacks         int
	Extended      bool
}

func (b *memBus) state(t *testing.T, sessionID string) state {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		p, err := chain.DecodeLoginPending(m.m)
		if err != nil {
			t.Fatal(err)
		}
		if p.SessionID == sessionID {
			return state{Acked: m.acked, Leased: m.leased, Nacks: m.nacks, Extended: m.extends > 0}
		}
	}
	t.Fatalf("no pending login %s", sessionID)
	return state{}
}

// memWeb is the web system in memory: a login's tmp is "tmp-" and its
// session id; goodCode completes it; the token is "Bearer tok-" and the tmp.
type memWeb struct {
	mu        sync.Mutex
	finishing func(ctx context.Context) error // called in FinishLogin first; an error is its answer
	finishErr error                           // FinishLogin's answer when set
	logoutErr error                           // Logout's answer when set
	finished  []string                        // the tmps FinishLogin completed
	loggedOut []string                        // the tokens Logout was called with
	started   int                             // StartLogin calls
	nextTmp   func() string
}

func (w *memWeb) StartLogin(_ context.Context, email, password string) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started++
	if email != "e@example.com" || password != "pw-of-test" {
		return "", fmt.Errorf("login: %w", websystem.ErrUnauthorized)
	}
	return w.nextTmp(), nil
}

func (w *memWeb) FinishLogin(ctx context.Context, tmp, code string) (string, error) {
	if w.finishing != nil {
		if err := w.finishing(ctx); err != nil {
			return "", err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finishErr != nil {
		return "", w.finishErr
	}
	if code != goodCode || !strings.HasPrefix(tmp, "tmp-") {
		return "", fmt.Errorf("otp: %w", websystem.ErrUnauthorized)
	}
	w.finished = append(w.finished, tmp)
	return "Bearer tok-" + tmp, nil
}

func (w *memWeb) Logout(_ context.Context, token string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.loggedOut = append(w.loggedOut, token)
	return w.logoutErr
}

// memWorld is a session's surroundings in memory, on a fixed clock.
type memWorld struct {
	bus       *memBus
	web       *memWeb
	runs      *recorded
	sealer    *seal.Sealer
	logs      *testkit.Buffer
	now       time.Time
	starter   *session.Starter
	completer *session.Completer
}

func mustMemWorld(t *testing.T, batch int) *memWorld {
	t.Helper()
	w := &memWorld{bus: newMemBus(batch), web: &memWeb{}, runs: &recorded{}, logs: &testkit.Buffer{},
		now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	var err error
	if w.sealer, err = seal.New(bytes.Repeat([]byte{5}, seal.KeySize)); err != nil {
		t.Fatal(err)
	}
	log := logging.New(w.logs, slog.LevelInfo)
	clock := func() time.Time { return w.now }
	ids := 0
	newID := func() string { ids++; return fmt.Sprintf("0190e000-0000-7000-9000-%012d", ids) }
	w.web.nextTmp = func() string { return fmt.Sprintf("tmp-%d", ids) }
	w.starter = &session.Starter{Web: w.web, Bus: w.bus, Sealer: w.sealer, Email: "e@example.com",
		Password: "pw-of-test", OTPTTL: 10 * time.Minute, TopicLoginPending: pendingTopic,
		TopicSessionReady: readyTopic, Pull: w.bus, Runs: w.runs, SubLoginPending: pendingSub,
		Now: clock, Log: log, NewID: newID}
	w.completer = &session.Completer{Web: w.web, Bus: w.bus, Pull: w.bus, Runs: w.runs, Sealer: w.sealer,
		SubLoginPending: pendingSub, TopicSessionReady: readyTopic, PullWait: 2 * time.Second,
		ClockSkew: time.Minute, Now: clock, Log: log}
	return w
}

// pend puts a pending login on the bus as StartLogin would, requested ago
// before the clock and living ttl.
func (w *memWorld) pend(t *testing.T, id string, ago, ttl time.Duration) {
	t.Helper()
	sealed, err := w.sealer.SealTmp("tmp-"+id, id)
	if err != nil {
		t.Fatal(err)
	}
	req := w.now.Add(-ago)
	m, err := chain.EncodeLoginPending(chain.LoginPending{SessionID: id, TmpSealed: sealed,
		RequestedAt: req, ExpiresAt: req.Add(ttl), Mode: chain.ModeAuto})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.bus.Publish(context.Background(), pendingTopic, m); err != nil {
		t.Fatal(err)
	}
}

func (w *memWorld) complete(code string, received time.Time) (string, error) {
	return w.completer.Complete(context.Background(), session.Code{Code: code, ReceivedAt: received, MessageID: "m", Source: "gmail"})
}

// recordedReasons maps each recorded failed login to its reason.
func (r *recorded) reasons() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for _, f := range r.runs {
		out[f.SessionID] = f.Reason
	}
	return out
}

func pid(i int) string { return fmt.Sprintf("0190e000-aaaa-7000-8000-%012d", i) }

// The newest live pending login is chosen among all that wait, drained over
// many pulls (the bus hands out 7 at a time), not one batch; the older live
// ones are superseded and the expired ones dropped, each recorded once.
func TestMemCompleteChoosesNewestOfAllPending(t *testing.T) {
	w := mustMemWorld(t, 7)
	for i := 0; i < 40; i++ { // pid(0) oldest … pid(39) newest; ten expired among them
		ttl := 10 * time.Minute
		if i%4 == 0 {
			ttl = time.Minute
		}
		w.pend(t, pid(i), time.Duration(100-i)*time.Second, ttl)
	}
	w.pend(t, pid(40), 3*time.Minute, 10*time.Minute) // older than pid(39), published last

	got, err := w.complete(goodCode, w.now)
	if err != nil || got != pid(39) {
		t.Fatalf("got %q, %v; want the newest %s", got, err, pid(39))
	}
	if w.bus.pulls < 41/7 {
		t.Errorf("got %d pulls, want the subscription drained (at least %d)", w.bus.pulls, 41/7)
	}
	reasons := w.runs.reasons()
	for i := 0; i <= 40; i++ {
		st := w.bus.state(t, pid(i))
		want := "superseded by a newer login"
		switch {
		case i == 39:
			want = ""
		case i%4 == 0 && i < 40:
			want = "the login code never arrived"
		}
		if !st.Acked || reasons[pid(i)] != want {
			t.Errorf("%s: got %+v, recorded %q; want acked, recorded %q", pid(i), st, reasons[pid(i)], want)
		}
	}
	if n := len(w.bus.published[readyTopic]); n != 1 {
		t.Fatalf("got %d session-ready messages, want 1", n)
	}
	ready, err := chain.DecodeSessionReady(w.bus.published[readyTopic][0])
	if err != nil {
		t.Fatal(err)
	}
	token, err := w.sealer.Open(ready.TokenSealed, ready.SessionID)
	if ready.SessionID != pid(39) || token != "Bearer tok-tmp-"+pid(39) || err != nil {
		t.Errorf("got session-ready for %s with token %q (%v), want %s's", ready.SessionID, token, err, pid(39))
	}
}

// Nothing pending, or only expired logins: no pending session, and the
// expired ones are dropped and recorded.
func TestMemCompleteWithoutLivePending(t *testing.T) {
	tests := []struct {
		name    string
		expired int
	}{
		{"Empty", 0},
		{"OnlyExpired", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustMemWorld(t, 2)
			for i := 0; i < tt.expired; i++ {
				w.pend(t, pid(i), time.Hour, 10*time.Minute)
			}
			_, err := w.complete(goodCode, w.now)
			if session.KindOf(err) != session.KindNoPending {
				t.Fatalf("got %v (kind %d), want KindNoPending", err, session.KindOf(err))
			}
			if got := len(w.runs.reasons()); got != tt.expired {
				t.Errorf("got %d recorded failed logins, want %d", got, tt.expired)
			}
			for i := 0; i < tt.expired; i++ {
				if st := w.bus.state(t, pid(i)); !st.Acked {
					t.Errorf("%s: got %+v, want dropped (acked)", pid(i), st)
				}
			}
		})
	}
}

// The chosen login's lease is renewed while the exchange runs, and acked
// when it is done.
func TestMemCompleteHoldsTheLeaseWhileWorking(t *testing.T) {
	w := mustMemWorld(t, 10)
	w.pend(t, pid(1), time.Minute, 10*time.Minute)
	w.completer.Lease = time.Second // renewed every 333 ms
	w.web.finishing = func(context.Context) error {
		// The exchange lasts until the lease was renewed twice after the
		// first extension (each holder renews once at the start).
		for i := 0; i < 3; i++ {
			select {
			case <-w.bus.extended:
			case <-time.After(5 * time.Second):
				t.Error("the lease was not renewed while the exchange ran")
				return nil
			}
		}
		return nil
	}
	if got, err := w.complete(goodCode, w.now); err != nil || got != pid(1) {
		t.Fatalf("got %q, %v; want %s completed", got, err, pid(1))
	}
	if st := w.bus.state(t, pid(1)); !st.Acked || !st.Extended {
		t.Errorf("got %+v, want extended and acked", st)
	}
}

// The caller of the webhook going away mid-exchange does not strand the
// login: the exchange, sealing and publishing finish on their own deadline.
func TestMemCompleteFinishesWhenTheCallerGoesAway(t *testing.T) {
	w := mustMemWorld(t, 10)
	w.pend(t, pid(1), time.Minute, 10*time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	w.web.finishing = func(wctx context.Context) error {
		cancel()
		return wctx.Err()
	}
	got, err := w.completer.Complete(ctx, session.Code{Code: goodCode, ReceivedAt: w.now, MessageID: "m", Source: "gmail"})
	if err != nil || got != pid(1) {
		t.Fatalf("got %q, %v; want %s completed", got, err, pid(1))
	}
	if st := w.bus.state(t, pid(1)); !st.Acked || len(w.bus.published[readyTopic]) != 1 {
		t.Errorf("got %+v and %d session-ready, want acked and 1", st, len(w.bus.published[readyTopic]))
	}
}

// The exchange is capped by Work: past it the completion gives up as a web
// failure (the Apps Script retries) and hands the pending login back.
func TestMemCompleteStopsAtItsWorkDeadline(t *testing.T) {
	w := mustMemWorld(t, 10)
	w.pend(t, pid(1), time.Minute, 10*time.Minute)
	w.completer.Work = 50 * time.Millisecond
	w.web.finishing = func(wctx context.Context) error {
		<-wctx.Done()
		return wctx.Err()
	}
	_, err := w.complete(goodCode, w.now)
	if session.KindOf(err) != session.KindWeb || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a web failure at the work deadline", err)
	}
	if st := w.bus.state(t, pid(1)); st.Acked || st.Leased || st.Nacks != 1 {
		t.Errorf("got %+v, want handed back", st)
	}
}

// When the chosen login cannot complete now, it is handed back (nacked) for
// the next code, and nothing is published; one that never can is dropped.
func TestMemCompleteFailures(t *testing.T) {
	tests := []struct {
		name     string
		arrange  func(w *memWorld)
		code     string
		received time.Duration // before the clock
		wantKind session.Kind
		want     state
		recorded string
		logout   bool
	}{
		{
			name: "StaleCode", code: goodCode, received: 5 * time.Minute,
			wantKind: session.KindStaleCode, want: state{Nacks: 1, Extended: true},
		},
		{
			name: "CodeRefused", code: "999999",
			wantKind: session.KindCodeRefused, want: state{Nacks: 1, Extended: true},
		},
		{
			name: "WebDown", code: goodCode,
			arrange:  func(w *memWorld) { w.web.finishErr = errors.New("503") },
			wantKind: session.KindWeb, want: state{Nacks: 1, Extended: true},
		},
		{
			name: "SealedUnderAnotherKey", code: goodCode,
			arrange: func(w *memWorld) {
				other, _ := seal.New(bytes.Repeat([]byte{6}, seal.KeySize))
				w.completer.Sealer = other
			},
			wantKind: session.KindNoPending, want: state{Acked: true, Extended: true},
			recorded: "pending session cannot be opened with TOKEN_SEAL_KEY",
		},
		{
			name: "PublishFails", code: goodCode,
			arrange:  func(w *memWorld) { w.bus.publishErr[readyTopic] = errors.New("unavailable") },
			wantKind: session.KindBus, want: state{Acked: true, Extended: true},
			recorded: "logged in but session-ready could not be published", logout: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustMemWorld(t, 10)
			w.pend(t, pid(1), time.Minute, 10*time.Minute)
			if tt.arrange != nil {
				tt.arrange(w)
			}
			_, err := w.complete(tt.code, w.now.Add(-tt.received))
			if session.KindOf(err) != tt.wantKind {
				t.Fatalf("got %v (kind %d), want kind %d", err, session.KindOf(err), tt.wantKind)
			}
			if st := w.bus.state(t, pid(1)); st != tt.want {
				t.Errorf("pending login: got %+v, want %+v", st, tt.want)
			}
			if got := w.runs.reasons()[pid(1)]; got != tt.recorded {
				t.Errorf("recorded %q, want %q", got, tt.recorded)
			}
			if n := len(w.bus.published[readyTopic]); n != 0 {
				t.Errorf("got %d session-ready messages, want none", n)
			}
			if got := len(w.web.loggedOut) > 0; got != tt.logout {
				t.Errorf("logged out: got %v, want %v", got, tt.logout)
			}
		})
	}
}

// A failed pull in the middle of the drain hands back what it had leased.
func TestMemCompletePullFailureNacksWhatItHeld(t *testing.T) {
	w := mustMemWorld(t, 2)
	for i := 0; i < 3; i++ {
		w.pend(t, pid(i), time.Minute, 10*time.Minute)
	}
	w.bus.pullErr, w.bus.failAfter = errors.New("unavailable"), 1
	_, err := w.complete(goodCode, w.now)
	if session.KindOf(err) != session.KindBus {
		t.Fatalf("got %v, want KindBus", err)
	}
	for i := 0; i < 2; i++ {
		if st := w.bus.state(t, pid(i)); st != (state{Nacks: 1}) {
			t.Errorf("%s: got %+v, want handed back", pid(i), st)
		}
	}
}

// StartLogin drains the pending logins first: the expired ones are dropped
// and recorded, the live ones handed back for CompleteLogin; then it posts
// the login and publishes the new pending one.
func TestMemStartDrainsExpiredAndHandsBackLive(t *testing.T) {
	w := mustMemWorld(t, 3)
	for i := 0; i < 8; i++ {
		ttl := 10 * time.Minute
		if i%2 == 0 {
			ttl = 30 * time.Second
		}
		w.pend(t, pid(i), time.Minute, ttl)
	}
	st, err := w.starter.Start(context.Background(), chain.ModeFull)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "pending" || st.Auth != chain.AuthOTP || st.ExpiresAt == nil || !st.ExpiresAt.Equal(w.now.Add(10*time.Minute)) {
		t.Errorf("got %+v, want pending otp expiring in 10 minutes", st)
	}
	for i := 0; i < 8; i++ {
		want := state{Nacks: 1}
		if i%2 == 0 {
			want = state{Acked: true}
		}
		if got := w.bus.state(t, pid(i)); got != want {
			t.Errorf("%s: got %+v, want %+v", pid(i), got, want)
		}
	}
	if got := len(w.runs.reasons()); got != 4 {
		t.Errorf("got %d recorded failed logins, want 4", got)
	}
	for _, f := range w.runs.runs { // by the injected clock, with the requested mode
		if !f.FinishedAt.Equal(w.now) || f.Mode != chain.ModeAuto {
			t.Errorf("recorded %+v, want finished at %v, mode auto", f, w.now)
		}
	}
	if got := w.bus.state(t, st.SessionID); got != (state{}) {
		t.Errorf("new pending login: got %+v, want waiting", got)
	}
	if !strings.Contains(w.logs.String(), `"event":"login.expired"`) {
		t.Errorf("no login.expired line:\n%s", w.logs)
	}
}

// In api-token mode StartLogin neither posts a login nor leaves anything
// pending: it publishes session-ready with the sealed token at once.
func TestMemStartAPIToken(t *testing.T) {
	w := mustMemWorld(t, 3)
	apiToken := testkit.Credential("api-token")
	w.starter.APIToken = apiToken
	st, err := w.starter.Start(context.Background(), chain.ModeIncremental)
	if err != nil || st.Status != "ready" || st.Auth != chain.AuthAPIToken {
		t.Fatalf("got %+v, %v; want ready in api-token mode", st, err)
	}
	if w.web.started != 0 || len(w.bus.published[pendingTopic]) != 0 || len(w.bus.published[readyTopic]) != 1 {
		t.Fatalf("got %d logins, %d pending, %d ready; want 0, 0, 1", w.web.started, len(w.bus.published[pendingTopic]), len(w.bus.published[readyTopic]))
	}
	ready, _ := chain.DecodeSessionReady(w.bus.published[readyTopic][0])
	if token, err := w.sealer.Open(ready.TokenSealed, st.SessionID); err != nil || token != "Bearer "+apiToken {
		t.Errorf("got token %q (%v), want the sealed bearer token", token, err)
	}
	if strings.Contains(w.logs.String(), apiToken) {
		t.Error("the API token is in the log")
	}
}

// End logs out a session once; what needs or allows no logout is not an
// error, a transient failure is (the event is retried).
func TestMemEnd(t *testing.T) {
	tests := []struct {
		name       string
		msg        func(s *seal.Sealer) chain.LoadFinished
		logoutErr  error
		wantOut    bool
		wantErr    bool
		wantLogout bool
	}{
		{"LoggedOut", sealedFinish, nil, true, false, true},
		{"AlreadyEnded", sealedFinish, fmt.Errorf("logout: %w", websystem.ErrUnauthorized), false, false, true},
		{"Transient", sealedFinish, errors.New("503"), false, true, true},
		{"APIToken", func(*seal.Sealer) chain.LoadFinished {
			return chain.LoadFinished{SessionID: pid(1), Auth: chain.AuthAPIToken}
		}, nil, false, false, false},
		{"Unopenable", func(*seal.Sealer) chain.LoadFinished {
			other, _ := seal.New(bytes.Repeat([]byte{9}, seal.KeySize))
			return sealedFinish(other)
		}, nil, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustMemWorld(t, 1)
			w.web.logoutErr = tt.logoutErr
			e := &session.Ender{Web: w.web, Sealer: w.sealer, Log: logging.New(w.logs, slog.LevelInfo)}
			out, err := e.End(context.Background(), tt.msg(w.sealer))
			if out != tt.wantOut || (err != nil) != tt.wantErr {
				t.Errorf("got %v, %v; want logged out %v, error %v", out, err, tt.wantOut, tt.wantErr)
			}
			wantTokens := []string(nil)
			if tt.wantLogout {
				wantTokens = []string{"Bearer tok"}
			}
			if !slices.Equal(w.web.loggedOut, wantTokens) {
				t.Errorf("logout calls: got %q, want %q", w.web.loggedOut, wantTokens)
			}
			if strings.Contains(w.logs.String(), "Bearer tok") {
				t.Error("the token is in the log")
			}
		})
	}
}

func sealedFinish(s *seal.Sealer) chain.LoadFinished {
	sealed, err := s.Seal("Bearer tok", pid(1))
	if err != nil {
		panic(err)
	}
	return chain.LoadFinished{SessionID: pid(1), TokenSealed: sealed, Auth: chain.AuthOTP}
}
