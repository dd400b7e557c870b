package extract_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/testkit"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/extract"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/logging"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/seal"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// The fast tier: the loader's own decisions (the mode, chunks, giving up,
// redeliveries) with the tickets table, sync_runs and the bus in memory
// (mem_test.go) and the real web side: the simulated web system over
// httptest, through the real client. It needs no emulator and runs with
// -short. What BigQuery makes of the rows is the emulator tier's part
// (extract_test.go, fidelity_test.go).

// fastWorld is one fast test's surroundings.
type fastWorld struct {
	sim    *websim.Server
	web    *websystem.Client
	table  *memTable
	runs   *memRuns
	bus    *memBus
	sealer *seal.Sealer
	logs   *testkit.Buffer
	loader *extract.Loader

	skew      atomic.Int64           // added to the loader's clock
	onRequest atomic.Pointer[func()] // called before the web system serves a request

	kindsMu sync.Mutex
	kinds   map[string]int // ticket requests by kind (requestKind)
}

// requestKind names what a ticket request reads: one ticket, the open list,
// a created_at window, a changed window, each canceled or not.
func requestKind(r *http.Request) string {
	rest, ok := strings.CutPrefix(r.URL.Path, "/tickets")
	switch q := r.URL.Query(); {
	case !ok:
		return ""
	case rest != "":
		return "one"
	case q.Get("filter_by") == "open":
		return "open"
	case q.Get("update_start_datetime") != "" && q.Get("filter_by") == "canceled":
		return "changed-canceled"
	case q.Get("update_start_datetime") != "":
		return "changed"
	case q.Get("filter_by") == "canceled":
		return "created-canceled"
	default:
		return "created"
	}
}

// byKind returns the ticket requests by kind so far.
func (w *fastWorld) byKind() map[string]int {
	w.kindsMu.Lock()
	defer w.kindsMu.Unlock()
	return maps.Clone(w.kinds)
}

// mustFastWorld builds a fastWorld whose run log holds prior; tune adjusts
// the loader before use.
func mustFastWorld(t *testing.T, simOpts websim.Options, prior []chain.Run, tune func(*extract.Loader)) *fastWorld {
	t.Helper()
	simOpts.Email, simOpts.Password, simOpts.APIToken = testEmail, testPassword, testAPIToken
	if simOpts.Days == 0 {
		simOpts.Days = 30 // well inside the loader's 180-day window
	}
	w := &fastWorld{sim: websim.New(simOpts), table: newMemTable(), runs: newMemRuns(prior...),
		bus: newMemBus(), logs: &testkit.Buffer{}, kinds: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if f := w.onRequest.Load(); f != nil {
			(*f)()
		}
		if k := requestKind(r); k != "" {
			w.kindsMu.Lock()
			w.kinds[k]++
			w.kindsMu.Unlock()
		}
		w.sim.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	log := logging.New(w.logs, slog.LevelDebug)
	w.web = websystem.New(srv.URL, websystem.Paths{}, srv.Client(), websystem.Options{
		MaxRetries: 2, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, Logger: log})
	var err error
	if w.sealer, err = seal.New(bytes.Repeat([]byte{7}, seal.KeySize)); err != nil {
		t.Fatal(err)
	}
	w.loader = newLoader(t, extract.Loader{Web: w.web, Store: w.table, Runs: w.runs, Bus: w.bus,
		Sealer: w.sealer, TimeZone: time.UTC, Log: log,
		Now: func() time.Time { return time.Now().Add(time.Duration(w.skew.Load())) }}, w.logs, tune)
	return w
}

// session is a new session-ready message in api-token mode.
func (w *fastWorld) session(t *testing.T, mode chain.Mode) chain.SessionReady {
	t.Helper()
	return newSession(t, w.sealer, mode, chain.AuthAPIToken, "Bearer "+testAPIToken)
}

func (w *fastWorld) finished(t *testing.T, sessionID string) []chain.LoadFinished {
	t.Helper()
	return messages(w.bus.published).finished(t, sessionID)
}

func (w *fastWorld) drive(t *testing.T, m chain.SessionReady, each func(chunk int)) (chain.LoadFinished, int) {
	t.Helper()
	return messages(w.bus.published).drive(t, w.loader, m, each)
}

// run is the session's run; the test fails when there is none.
func (w *fastWorld) run(t *testing.T, sessionID string) chain.Run {
	t.Helper()
	r, _ := w.runs.Run(context.Background(), sessionID)
	if r == nil {
		t.Fatalf("run log has no run for %s", sessionID)
	}
	return *r
}

// requests counts the ticket requests (the list and one ticket) the web
// system answered.
func (w *fastWorld) requests() int {
	st := w.sim.Stats()
	return st.Requests["tickets"] + st.Requests["ticket"]
}

// wantTableIs checks that the table holds every ticket of the web system
// with its situacao (a deleted one excluido, or absent), and nothing else.
func (w *fastWorld) wantTableIs(t *testing.T) {
	t.Helper()
	got := w.table.Situacoes()
	missing, wrong := 0, 0
	known := map[int64]bool{}
	for _, f := range w.sim.Truth() {
		known[f.Number] = true
		sit, ok := got[f.Number]
		switch {
		case !ok && f.Situacao != tickets.SituacaoExcluido:
			missing++
		case ok && sit != f.Situacao:
			if wrong < 5 {
				t.Errorf("ticket %d situacao: got %q, want %q", f.Number, sit, f.Situacao)
			}
			wrong++
		}
	}
	extra := 0
	for n := range got {
		if !known[n] {
			extra++
		}
	}
	if missing != 0 || wrong != 0 || extra != 0 {
		t.Errorf("table against the web system: got %d missing, %d wrong situacao, %d unknown; want 0, 0, 0", missing, wrong, extra)
	}
}

// wantNoToken checks that neither the logs nor s hold the token.
func (w *fastWorld) wantNoToken(t *testing.T, token string, s ...string) {
	t.Helper()
	for _, text := range append(s, w.logs.String()) {
		if strings.Contains(text, token) {
			t.Errorf("the token appears in %.80q...", text)
		}
	}
}

func TestModeChoice(t *testing.T) {
	now := time.Now().UTC()
	ok := func(mode chain.Mode, ago time.Duration) chain.Run {
		start := now.Add(-ago)
		return chain.Run{SessionID: fmt.Sprintf("prior-%s-%s", mode, ago), Auth: chain.AuthOTP, Mode: mode,
			StartedAt: start, WindowTo: start, FinishedAt: start.Add(time.Minute), Outcome: chain.OutcomeOK}
	}
	failed := func(mode chain.Mode, ago time.Duration) chain.Run {
		r := ok(mode, ago)
		r.SessionID, r.Outcome, r.Error = r.SessionID+"-failed", chain.OutcomeFailed, "web system: 401"
		return r
	}
	for _, c := range []struct {
		name        string
		asked       chain.Mode
		prior       []chain.Run
		fullRefresh time.Duration // FULL_REFRESH_HOURS
		want        chain.Mode
	}{
		{"FullAsked", chain.ModeFull, []chain.Run{ok(chain.ModeFull, time.Hour)}, 24 * time.Hour, chain.ModeFull},
		{"IncrementalAsked", chain.ModeIncremental, []chain.Run{ok(chain.ModeFull, 3*time.Hour)}, 24 * time.Hour, chain.ModeIncremental},
		{"IncrementalWithoutRunIsFull", chain.ModeIncremental, nil, 24 * time.Hour, chain.ModeFull},
		{"IncrementalAfterFailedRunsIsFull", chain.ModeIncremental, []chain.Run{failed(chain.ModeFull, time.Hour)}, 24 * time.Hour, chain.ModeFull},
		{"AutoFirstRunIsFull", chain.ModeAuto, nil, 24 * time.Hour, chain.ModeFull},
		{"AutoRecentFullIsIncremental", chain.ModeAuto, []chain.Run{ok(chain.ModeFull, 2*time.Hour)}, 24 * time.Hour, chain.ModeIncremental},
		{"AutoOldFullIsFull", chain.ModeAuto, []chain.Run{ok(chain.ModeFull, 30*time.Hour), ok(chain.ModeIncremental, time.Hour)}, 24 * time.Hour, chain.ModeFull},
		{"AutoFullInTheLastHourOfRefreshIsFull", chain.ModeAuto, []chain.Run{ok(chain.ModeFull, 23*time.Hour+30*time.Minute)}, 24 * time.Hour, chain.ModeFull},
		{"AutoLongerRefreshIsIncremental", chain.ModeAuto, []chain.Run{ok(chain.ModeFull, 30*time.Hour)}, 48 * time.Hour, chain.ModeIncremental},
		{"AutoOnlyFailedFullIsFull", chain.ModeAuto, []chain.Run{failed(chain.ModeFull, time.Hour), ok(chain.ModeIncremental, time.Hour)}, 24 * time.Hour, chain.ModeFull},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := mustFastWorld(t, websim.Options{Tickets: 30, Seed: 21}, c.prior, func(l *extract.Loader) {
				l.FullRefresh = c.fullRefresh
			})
			m := w.session(t, c.asked)

			fin, _ := w.drive(t, m, nil)

			r := w.run(t, m.SessionID)
			if fin.Outcome != chain.OutcomeOK || r.Outcome != chain.OutcomeOK {
				t.Fatalf("outcome: got load-finished %q, run %q (%s); want ok", fin.Outcome, r.Outcome, r.Error)
			}
			if r.Mode != c.want {
				t.Errorf("mode: got %q, want %q", r.Mode, c.want)
			}
			var last *chain.Run
			for _, p := range c.prior {
				if p.Outcome == chain.OutcomeOK && (last == nil || p.StartedAt.After(last.StartedAt)) {
					last = &p
				}
			}
			wantFrom := r.WindowTo.AddDate(0, 0, -180)
			if c.want == chain.ModeIncremental {
				wantFrom = last.StartedAt.Add(-15 * time.Minute) // the overlap
			}
			if !r.WindowFrom.Equal(wantFrom) || !r.WindowTo.Equal(r.StartedAt) {
				t.Errorf("window: got %v..%v, want %v..%v (the pull's start)", r.WindowFrom, r.WindowTo, wantFrom, r.StartedAt)
			}
			if c.want == chain.ModeFull {
				w.wantTableIs(t) // an incremental pull into an empty table reads only what changed
			}
		})
	}
}

// A chunk stops fetching at ChunkBudget, merges what it read and hands the
// cursor to the next invocation (session.continue).
func TestChunks(t *testing.T) {
	const n, limit = 300, 100
	for _, c := range []struct {
		name              string
		budget            time.Duration
		minChunks, maxChk int
	}{
		{"OneChunk", 5 * time.Minute, 1, 1},
		// Pages 1..3, the empty page after them, the canceled pass, the open
		// list, the sweep and the reconciliation: one page a chunk.
		{"OnePagePerChunk", time.Nanosecond, n/limit + 1, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := mustFastWorld(t, websim.Options{Tickets: n, Seed: 22}, nil, func(l *extract.Loader) {
				l.PageLimit, l.ChunkBudget = limit, c.budget
			})
			m := w.session(t, chain.ModeFull)
			var rows []int
			var running []chain.Outcome

			fin, chunks := w.drive(t, m, func(int) {
				rows = append(rows, w.table.Len())
				running = append(running, w.run(t, m.SessionID).Outcome)
			})

			if chunks < c.minChunks || chunks > c.maxChk {
				t.Errorf("chunks: got %d, want %d..%d", chunks, c.minChunks, c.maxChk)
			}
			for i, o := range running[:len(running)-1] {
				if o != chain.OutcomeRunning {
					t.Errorf("run outcome after chunk %d of %d: got %q, want running", i+1, chunks, o)
				}
			}
			if chunks > 1 {
				if rows[0] != limit {
					t.Errorf("rows after chunk 1: got %d, want %d (its page merged)", rows[0], limit)
				}
				conts := w.bus.published(m.SessionID, chain.EventSessionContinue)
				first, err := chain.DecodeSessionReady(conts[0])
				if err != nil {
					t.Fatal(err)
				}
				if cur := first.Cursor; cur == nil || cur.Phase != chain.PhaseMain || cur.Page != 2 || cur.Totals.Pages != 1 {
					t.Errorf("first continuation's cursor: got %+v, want the main pass at page 2 after 1 page", cur)
				}
			}
			r := w.run(t, m.SessionID)
			if fin.Outcome != chain.OutcomeOK || r.Outcome != chain.OutcomeOK || fin.Inserted != n || r.Inserted != n {
				t.Errorf("end: got load-finished %q inserted %d, run %q inserted %d; want ok, %d", fin.Outcome, fin.Inserted, r.Outcome, r.Inserted, n)
			}
			if r.Requests != int64(w.requests()) || r.FinishedAt.IsZero() {
				t.Errorf("run: got %d requests, finished %v; want %d (as the web system counted), set", r.Requests, r.FinishedAt, w.requests())
			}
			w.wantTableIs(t)
		})
	}
}

// A failure that can never succeed, or an event older than MAX_EVENT_AGE,
// ends the session: the run is recorded failed with a reason, load-finished
// (failed, with the sealed token) goes out so Logout follows, and Handle
// returns nil so the event is not retried.
func TestGiveUp(t *testing.T) {
	const n, limit = 1000, 100
	for _, c := range []struct {
		name     string
		opts     websim.Options
		arrange  func(t *testing.T, w *fastWorld, m *chain.SessionReady) (published time.Time)
		reasons  []string // the run's error names each
		hidden   []string // the run's error holds none (the web system's message text)
		requests int      // ticket requests answered; -1: any
		wantRows func(rows int) bool
	}{
		{"EventTooOld", websim.Options{},
			func(t *testing.T, w *fastWorld, m *chain.SessionReady) time.Time {
				return time.Now().Add(-2 * time.Hour)
			},
			[]string{"MAX_EVENT_AGE"}, nil, 0, func(rows int) bool { return rows == 0 }},
		{"TokenCannotBeOpened", websim.Options{},
			func(t *testing.T, w *fastWorld, m *chain.SessionReady) time.Time {
				other, err := seal.New(bytes.Repeat([]byte{8}, seal.KeySize))
				if err != nil {
					t.Fatal(err)
				}
				if m.TokenSealed, err = other.Seal("Bearer "+testAPIToken, m.SessionID); err != nil {
					t.Fatal(err)
				}
				return time.Now()
			},
			[]string{"TOKEN_SEAL_KEY"}, nil, 0, func(rows int) bool { return rows == 0 }},
		{"Forbidden", websim.Options{Forbid: 40301},
			func(*testing.T, *fastWorld, *chain.SessionReady) time.Time { return time.Now() },
			[]string{"403", "40301", "licence"}, []string{"Access Denied", "cannot access"}, 1, func(rows int) bool { return rows == 0 }},
		// A 401 mid-pull still loads the whole pages read before it.
		{"TokenExpiresMidPull", websim.Options{TokenTTLRequests: 3},
			func(t *testing.T, w *fastWorld, m *chain.SessionReady) time.Time {
				*m = newSession(t, w.sealer, chain.ModeFull, chain.AuthOTP, testkit.MustLogin(t, w.sim, w.web, testEmail, testPassword))
				return time.Now()
			},
			[]string{"401"}, nil, -1, func(rows int) bool { return rows > 0 && rows < n && rows%limit == 0 }},
		// A transient failure is retried, unless the event has grown too old.
		{"TransientPastMaxAge", websim.Options{FaultRate: 1},
			func(t *testing.T, w *fastWorld, m *chain.SessionReady) time.Time {
				later := func() { w.skew.Store(int64(2 * time.Hour)) }
				w.onRequest.Store(&later)
				return time.Now()
			},
			[]string{"500"}, nil, -1, func(rows int) bool { return rows == 0 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Tickets, c.opts.Seed = n, 23
			w := mustFastWorld(t, c.opts, nil, func(l *extract.Loader) { l.PageLimit = limit })
			m := w.session(t, chain.ModeFull)
			published := c.arrange(t, w, &m)

			if err := w.loader.Handle(context.Background(), m, published); err != nil {
				t.Fatalf("Handle: got %v, want nil (given up)", err)
			}

			r := w.run(t, m.SessionID)
			if r.Outcome != chain.OutcomeFailed || r.FinishedAt.IsZero() {
				t.Errorf("run: got outcome %q finished %v, want failed and finished", r.Outcome, r.FinishedAt)
			}
			for _, want := range c.reasons {
				if !strings.Contains(r.Error, want) {
					t.Errorf("run error %q: want it to name %q", r.Error, want)
				}
			}
			for _, text := range c.hidden {
				if strings.Contains(r.Error, text) {
					t.Errorf("run error %q carries the web system's message (%q)", r.Error, text)
				}
			}
			fins := w.finished(t, m.SessionID)
			if len(fins) != 1 || fins[0].Outcome != chain.OutcomeFailed || fins[0].Error != r.Error ||
				fins[0].TokenSealed != m.TokenSealed || fins[0].Auth != m.Auth {
				t.Errorf("load-finished: got %+v, want one failed with the run's error and the session's sealed token", fins)
			}
			if got := len(w.bus.published(m.SessionID, chain.EventSessionContinue)); got != 0 {
				t.Errorf("session.continue: got %d, want 0", got)
			}
			if got := w.requests(); c.requests >= 0 && got != c.requests {
				t.Errorf("ticket requests: got %d, want %d", got, c.requests)
			}
			if rows := w.table.Len(); !c.wantRows(rows) || int64(rows) != r.Tickets || fins[0].Tickets != r.Tickets {
				t.Errorf("rows: got %d, run tickets %d, load-finished tickets %d; want them equal, as the case says", rows, r.Tickets, fins[0].Tickets)
			}
			w.wantNoToken(t, testAPIToken, r.Error)
		})
	}
}

// Every delivery may come twice, and a delivery may fail after some of its
// work is done: the session still ends once, whole, with load-finished.
func TestRedeliveries(t *testing.T) {
	const n, limit = 300, 100
	ctx := context.Background()
	for _, c := range []struct {
		name string
		opts websim.Options
		tune func(*extract.Loader)
		// act delivers m as the case says and checks what it must.
		act func(t *testing.T, w *fastWorld, m chain.SessionReady)
	}{
		{"FinishedSessionRepublishesLoadFinished", websim.Options{}, nil,
			func(t *testing.T, w *fastWorld, m chain.SessionReady) {
				w.drive(t, m, nil)
				before, reqs := w.run(t, m.SessionID), w.requests()

				if err := w.loader.Handle(ctx, m, time.Now()); err != nil {
					t.Fatalf("Handle again: got %v, want nil", err)
				}

				// Its first publish may have been lost; Logout is idempotent.
				if fins := w.finished(t, m.SessionID); len(fins) != 2 || fins[1] != fins[0] {
					t.Errorf("load-finished messages: got %+v, want the same one twice", fins)
				}
				if got := w.requests(); got != reqs {
					t.Errorf("ticket requests: got %d, want %d (none more)", got, reqs)
				}
				if after := w.run(t, m.SessionID); after != before {
					t.Errorf("run: got %+v, want unchanged %+v", after, before)
				}
			}},
		{"LoadFinishedPublishFails", websim.Options{}, nil,
			func(t *testing.T, w *fastWorld, m chain.SessionReady) {
				w.bus.failPublish("load-finished", 1)
				if err := w.loader.Handle(ctx, m, time.Now()); err == nil {
					t.Fatalf("Handle with load-finished unpublishable: got nil, want an error (retry)")
				}
				if r := w.run(t, m.SessionID); r.Outcome != chain.OutcomeOK {
					t.Fatalf("run outcome: got %q, want ok (recorded before the publish)", r.Outcome)
				}
				reqs := w.requests()

				if err := w.loader.Handle(ctx, m, time.Now()); err != nil {
					t.Fatalf("Handle on retry: got %v, want nil", err)
				}

				fins := w.finished(t, m.SessionID)
				if len(fins) != 1 || fins[0].Outcome != chain.OutcomeOK || fins[0].Tickets != n {
					t.Errorf("load-finished after the retry: got %+v, want one ok with %d tickets", fins, n)
				}
				if got := w.requests(); got != reqs {
					t.Errorf("ticket requests on retry: got %d more, want 0", got-reqs)
				}
			}},
		// The chunk merged, but its continuation was not published: the
		// redelivery reads the chunk again into a sink of its own.
		{"ContinuationPublishFails", websim.Options{}, func(l *extract.Loader) { l.ChunkBudget = time.Nanosecond },
			func(t *testing.T, w *fastWorld, m chain.SessionReady) {
				w.bus.failPublish("session-ready", 1)
				if err := w.loader.Handle(ctx, m, time.Now()); err == nil {
					t.Fatalf("Handle with session.continue unpublishable: got nil, want an error (retry)")
				}
				if rows, r := w.table.Len(), w.run(t, m.SessionID); rows != limit || r.Outcome != chain.OutcomeRunning {
					t.Errorf("after the first delivery: got %d rows, run %q; want %d (its page merged), running", rows, r.Outcome, limit)
				}

				fin, chunks := w.drive(t, m, nil)

				if got := w.table.Stages(m.SessionID, 0); got != 2 {
					t.Errorf("sinks of chunk 0: got %d, want 2 (one per delivery)", got)
				}
				// The redelivery begins the session again (the cursor of chunk 0
				// is nil), so the totals miss what the first delivery merged.
				if fin.Outcome != chain.OutcomeOK || chunks < n/limit {
					t.Errorf("load-finished: got %q after %d more chunks, want ok after ≥ %d", fin.Outcome, chunks, n/limit)
				}
				w.wantTableIs(t)
			}},
		{"TransientFailure", websim.Options{FaultRate: 1}, nil,
			func(t *testing.T, w *fastWorld, m chain.SessionReady) {
				if err := w.loader.Handle(ctx, m, time.Now()); err == nil {
					t.Fatalf("Handle with every request failing: got nil, want an error (retry)")
				}
				if got := len(w.finished(t, m.SessionID)); got != 0 {
					t.Errorf("load-finished after a transient failure: got %d, want 0", got)
				}
				if rows, r := w.table.Len(), w.run(t, m.SessionID); rows != 0 || r.Outcome != chain.OutcomeRunning {
					t.Errorf("after the failure: got %d rows, run %q; want 0 (staging aborted), running", rows, r.Outcome)
				}
				w.sim.SetFaults(0, 0, 0)

				if err := w.loader.Handle(ctx, m, time.Now()); err != nil {
					t.Fatalf("Handle on redelivery: got %v, want nil", err)
				}

				fins := w.finished(t, m.SessionID)
				if len(fins) != 1 || fins[0].Outcome != chain.OutcomeOK || fins[0].Tickets != n {
					t.Errorf("load-finished: got %+v, want one ok with %d tickets", fins, n)
				}
				if r := w.run(t, m.SessionID); r.Outcome != chain.OutcomeOK {
					t.Errorf("run outcome: got %q, want ok", r.Outcome)
				}
				w.wantTableIs(t)
			}},
		// One page's retries cannot run past the invocation: fetching has a
		// deadline of the chunk budget plus FetchGrace. A web system that
		// never answers in time gives a retryable error, not a hang.
		{"FetchDeadline", websim.Options{Latency: time.Hour}, func(l *extract.Loader) {
			l.ChunkBudget, l.FetchGrace = time.Millisecond, 200*time.Millisecond
		},
			func(t *testing.T, w *fastWorld, m chain.SessionReady) {
				done := make(chan error, 1)

				go func() { done <- w.loader.Handle(ctx, m, time.Now()) }()

				select {
				case err := <-done:
					if err == nil || !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Handle: got %v, want a deadline error (retried)", err)
					}
				case <-time.After(2 * time.Minute):
					t.Fatalf("Handle still fetching 2 minutes after its 1 ms budget + 200 ms grace")
				}
				if got := len(w.finished(t, m.SessionID)); got != 0 {
					t.Errorf("load-finished: got %d, want 0 (retried, not given up)", got)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Tickets, c.opts.Seed = n, 24
			w := mustFastWorld(t, c.opts, nil, func(l *extract.Loader) {
				l.PageLimit = limit
				if c.tune != nil {
					c.tune(l)
				}
			})

			c.act(t, w, w.session(t, chain.ModeFull))

			w.wantNoToken(t, testAPIToken)
		})
	}
}
