package extract_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/iterator"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/bqemulator"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/testkit"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/bus"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/extract"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/logging"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/seal"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

const (
	project   = "test-project"
	testEmail = "analista@example.com.br"
)

var (
	testPassword = testkit.Credential("password")
	testAPIToken = testkit.Credential("api-token")
)

// emu is the one BigQuery emulator process of this test binary; each test
// gets a dataset of its own in it.
var emu *bqemulator.Emulator

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// The fast tier (fast_test.go) needs no emulator; mustWorld skips.
		os.Exit(m.Run())
	}
	os.Exit(bqemulator.RunTests(m, project, func(e *bqemulator.Emulator) { emu = e }))
}

// world is one test's surroundings, all real: the simulated web system over
// HTTP reached through the real client, Pub/Sub in memory (pstest), a fresh
// dataset in the BigQuery emulator, and a capture of the loader's logs.
type world struct {
	sim    *websim.Server
	web    *websystem.Client
	ps     *pstest.Server
	wh     *warehouse.Warehouse
	bq     *bigquery.Client
	cfg    warehouse.Config
	sealer *seal.Sealer
	logs   *testkit.Buffer
	loader *extract.Loader

	// served is the web system's state as the newest ticket-list request
	// found it, before that request's churn: after a pull, the state as of
	// the pull's end; servedPrev is the same for the request before it (a
	// pull ends with a sweep of two requests: filter_by=all, then canceled).
	mu         sync.Mutex
	served     []tickets.Ticket
	servedPrev []tickets.Ticket
	onTickets  func() // called before each ticket-list request is served

	bus *bus.Bus
	ov  *overlay
}

var seq atomic.Int64

// mustWorld builds a world; tune adjusts the loader before use.
func mustWorld(t *testing.T, simOpts websim.Options, tune func(*extract.Loader)) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the BigQuery emulator; runs without -short")
	}
	ctx := context.Background()
	simOpts.Email, simOpts.Password, simOpts.APIToken = testEmail, testPassword, testAPIToken
	if simOpts.Days == 0 {
		simOpts.Days = 30 // well inside the loader's 180-day window
	}
	// The overlay makes the silent changes these tests need and knows of them;
	// websim's churn only creates and updates here. Its silent kinds are
	// driven end to end by functions/cmd/local (TestUnstableOrderChurnAndSilentChanges).
	simOpts.ChurnNoSilent = true
	w := &world{sim: websim.New(simOpts), logs: &testkit.Buffer{}}
	w.ov = newOverlay(w.sim)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var snap []tickets.Ticket
		if strings.HasSuffix(r.URL.Path, "/tickets") {
			snap = simTickets(w.sim)
			w.mu.Lock()
			w.servedPrev, w.served = w.served, snap
			hook := w.onTickets
			w.mu.Unlock()
			if hook != nil {
				hook()
			}
		}
		w.ov.serve(rw, r, snap)
	}))
	t.Cleanup(srv.Close)

	log := logging.New(w.logs, slog.LevelDebug)
	w.web = websystem.New(srv.URL, websystem.Paths{}, srv.Client(), websystem.Options{
		MaxRetries: 2, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, Logger: log})

	ps := testkit.MustBus(t, project, "session-ready", "load-finished")
	w.ps, w.bus = ps.Server, ps.Bus
	b := w.bus

	var err error
	if w.bq, err = warehouse.NewClient(ctx, project, emu.Host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.bq.Close() })
	w.cfg = warehouse.Config{
		Dataset:   testkit.Dataset(t),
		Table:     "tickets",
		RunsTable: "sync_runs",
		Location:  "US",
		Logger:    log,
	}
	w.wh = warehouse.New(w.bq, w.cfg)
	if err := w.wh.EnsureTables(ctx); err != nil {
		t.Fatalf("EnsureTables: %v", err)
	}

	if w.sealer, err = seal.New(bytes.Repeat([]byte{7}, seal.KeySize)); err != nil {
		t.Fatal(err)
	}
	saoPaulo, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	w.loader = newLoader(t, extract.Loader{Web: w.web, Store: ticketStore{w.wh}, Runs: w.wh, Bus: b,
		Sealer: w.sealer, TimeZone: saoPaulo, Now: time.Now, Log: log}, w.logs, tune)
	return w
}

// newLoader is the loader both tiers test: the seams and clock of l with the
// tests' settings, adjusted by tune (may be nil). A failing test shows the
// loader's logs, which go to logs.
func newLoader(t *testing.T, l extract.Loader, logs *testkit.Buffer, tune func(*extract.Loader)) *extract.Loader {
	t.Helper()
	l.WindowDays, l.PageLimit, l.FullRefresh, l.Overlap = 180, 200, 24*time.Hour, 15*time.Minute
	l.MaxEventAge, l.ChunkBudget, l.Concurrency = time.Hour, 5*time.Minute, 4
	l.TopicSessionReady, l.TopicLoadFinished = "session-ready", "load-finished"
	if tune != nil {
		tune(&l)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("loader logs:\n%s", logs.String())
		}
	})
	return &l
}

// ticketStore is the warehouse as extract.Store, as functions/setup.go wires it.
type ticketStore struct{ *warehouse.Warehouse }

func (t ticketStore) Stage(ctx context.Context, sessionID string, chunk int) (extract.Sink, error) {
	return t.StageChunk(ctx, sessionID, chunk)
}

// session is a new session-ready message in api-token mode.
func (w *world) session(t *testing.T, mode chain.Mode) chain.SessionReady {
	t.Helper()
	return w.sessionWith(t, mode, chain.AuthAPIToken, "Bearer "+testAPIToken)
}

func (w *world) sessionWith(t *testing.T, mode chain.Mode, auth chain.Auth, token string) chain.SessionReady {
	t.Helper()
	return newSession(t, w.sealer, mode, auth, token)
}

// newSession is a session-ready message of a new session, its token sealed
// with s.
func newSession(t *testing.T, s *seal.Sealer, mode chain.Mode, auth chain.Auth, token string) chain.SessionReady {
	t.Helper()
	id := fmt.Sprintf("s%d-%d", seq.Add(1), time.Now().UnixNano())
	sealed, err := s.Seal(token, id)
	if err != nil {
		t.Fatal(err)
	}
	return chain.SessionReady{SessionID: id, TokenSealed: sealed, Auth: auth, Mode: mode, RequestedAt: time.Now()}
}

// published returns the messages of a session with the given event, oldest first.
func (w *world) published(sessionID, event string) []chain.Message {
	var out []chain.Message
	for _, m := range w.ps.Messages() {
		if m.Attributes[chain.AttrSessionID] == sessionID && m.Attributes[chain.AttrEvent] == event {
			out = append(out, chain.Message{Data: m.Data, Attributes: m.Attributes})
		}
	}
	return out
}

// messages lists a session's messages of one event, oldest first, as a bus
// holds them (world.published, memBus.published).
type messages func(sessionID, event string) []chain.Message

// finished decodes the session's load-finished messages.
func (w *world) finished(t *testing.T, sessionID string) []chain.LoadFinished {
	t.Helper()
	return messages(w.published).finished(t, sessionID)
}

// drive runs a session to its end (messages.drive) with the world's loader.
func (w *world) drive(t *testing.T, m chain.SessionReady, each func(chunk int)) (chain.LoadFinished, int) {
	t.Helper()
	return messages(w.published).drive(t, w.loader, m, each)
}

// finished decodes the session's load-finished messages.
func (p messages) finished(t *testing.T, sessionID string) []chain.LoadFinished {
	t.Helper()
	var out []chain.LoadFinished
	for _, m := range p(sessionID, chain.EventLoadFinished) {
		f, err := chain.DecodeLoadFinished(m)
		if err != nil {
			t.Fatalf("DecodeLoadFinished: %v", err)
		}
		out = append(out, f)
	}
	return out
}

// drive runs a session to its end as Eventarc would: Handle, then Handle each
// session.continue it publishes, until load-finished appears. It returns the
// load-finished message and the number of chunks; after each chunk it calls
// each (may be nil) with the chunk's number.
func (p messages) drive(t *testing.T, l *extract.Loader, m chain.SessionReady, each func(chunk int)) (chain.LoadFinished, int) {
	t.Helper()
	ctx := context.Background()
	seenCont := 0
	for chunks := 1; chunks <= 100; chunks++ {
		if err := l.Handle(ctx, m, time.Now()); err != nil {
			t.Fatalf("Handle chunk %d: got error %v, want nil", chunks, err)
		}
		if each != nil {
			each(chunks)
		}
		if fin := p.finished(t, m.SessionID); len(fin) > 0 {
			if len(fin) > 1 {
				t.Errorf("load-finished messages: got %d, want 1", len(fin))
			}
			return fin[0], chunks
		}
		conts := p(m.SessionID, chain.EventSessionContinue)
		if len(conts) != seenCont+1 {
			t.Fatalf("after chunk %d: got %d new session.continue and no load-finished, want 1", chunks, len(conts)-seenCont)
		}
		seenCont = len(conts)
		next, err := chain.DecodeSessionReady(conts[len(conts)-1])
		if err != nil {
			t.Fatalf("DecodeSessionReady: %v", err)
		}
		if next.Chunk != chunks {
			t.Errorf("continuation chunk: got %d, want %d", next.Chunk, chunks)
		}
		m = next
	}
	t.Fatalf("no load-finished after 100 chunks")
	return chain.LoadFinished{}, 0
}

// run reads the session's sync_runs row.
func (w *world) run(t *testing.T, sessionID string) *chain.Run {
	t.Helper()
	r, err := w.wh.Run(context.Background(), sessionID)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r == nil {
		t.Fatalf("sync_runs has no row for %s", sessionID)
	}
	return r
}

func (w *world) countRows(t *testing.T) int64 {
	t.Helper()
	n, err := w.wh.CountRows(context.Background())
	if err != nil {
		t.Fatalf("CountRows: %v", err)
	}
	return n
}

// table reads numero_ticket → atualizado_em_utc; a key seen twice fails.
func (w *world) table(t *testing.T) map[int64]time.Time {
	t.Helper()
	sql := fmt.Sprintf("SELECT numero_ticket, atualizado_em_utc FROM `%s.%s.%s`", project, w.cfg.Dataset, w.cfg.Table)
	it, err := w.bq.Query(sql).Read(context.Background())
	if err != nil {
		t.Fatalf("read tickets: %v", err)
	}
	out := map[int64]time.Time{}
	dup := 0
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatalf("read tickets: %v", err)
		}
		n, _ := row[0].(int64)
		u, _ := row[1].(time.Time)
		if _, ok := out[n]; ok {
			dup++
		}
		out[n] = u
	}
	if dup > 0 {
		t.Errorf("duplicated tickets in the table: got %d, want 0", dup)
	}
	return out
}

// byNumber indexes tickets by number → updated_at.
func byNumber(t *testing.T, ts []tickets.Ticket) map[int64]time.Time {
	t.Helper()
	out := make(map[int64]time.Time, len(ts))
	for _, tk := range ts {
		u, err := time.Parse(time.RFC3339Nano, *tk.UpdatedAt)
		if err != nil {
			t.Fatalf("truth updated_at %q: %v", *tk.UpdatedAt, err)
		}
		out[*tk.Number] = u
	}
	return out
}

// compare counts, for the tickets of must, those missing from the table, and
// for every table row whose ticket is in state, those older or newer than it
// (a row equal to the ticket in one of the alternative states also counts as
// current).
//
// A ticket canceled between the final sweep's two requests is listed by
// neither (filter_by=all leaves canceled tickets out in the overlay, as it may
// in the real system): the next pull's canceled pass stores it. Callers pass
// the state before the last request as an alternative, and drop such tickets
// from state (see endStates).
func compare(table, must, state map[int64]time.Time, alt ...map[int64]time.Time) (missing, stale int) {
	for n := range must {
		if _, ok := table[n]; !ok {
			missing++
		}
	}
	for n, got := range table {
		if want, ok := state[n]; ok && !got.Equal(want) {
			current := false
			for _, a := range alt {
				if w, ok := a[n]; ok && got.Equal(w) {
					current = true
				}
			}
			if !current {
				stale++
			}
		}
	}
	return missing, stale
}

// endStates are the web system's states before the pull's last two list
// requests (its final sweep: filter_by=canceled, then all), as the overlay
// shows them: a ticket changed between them may come now or next run.
func (w *world) endStates(t *testing.T) (end, prev map[int64]time.Time) {
	t.Helper()
	w.mu.Lock()
	last, before := w.served, w.servedPrev
	w.mu.Unlock()
	a, sitA := w.ov.truth(last)
	b, _ := w.ov.truth(before)
	end, prev = byNumber(t, a), byNumber(t, b)
	for n, u := range end {
		if sitA[n] == tickets.SituacaoCancelado && !u.Equal(prev[n]) {
			delete(end, n) // canceled between the two: the next pull's
		}
	}
	return end, prev
}

// wantTableIs checks that the table holds exactly the tickets of truth, each
// in its state there, with the situacao the web system gives it.
func (w *world) wantTableIs(t *testing.T, truth []tickets.Ticket) {
	t.Helper()
	want := byNumber(t, truth)
	got := w.table(t)
	if rows := w.countRows(t); rows != int64(len(want)) {
		t.Errorf("CountRows: got %d, want %d", rows, len(want))
	}
	missing, stale := compare(got, want, want)
	extra := 0
	for n := range got {
		if _, ok := want[n]; !ok {
			extra++
		}
	}
	if missing != 0 || stale != 0 || extra != 0 {
		t.Errorf("table against the web system: got %d missing, %d stale, %d unknown; want 0, 0, 0", missing, stale, extra)
		w.logMissing(t, got, want)
	}
	w.wantSituacao(t, nil)
}

// logMissing logs each ticket the web system has that the table lacks, with
// what websim knows of it, so a failure names the tickets to look at.
func (w *world) logMissing(t *testing.T, got, want map[int64]time.Time) {
	t.Helper()
	facts := map[int64]websim.Fact{}
	for _, f := range w.sim.Truth() {
		facts[f.Number] = f
	}
	for n := range want {
		if _, ok := got[n]; ok {
			continue
		}
		f := facts[n]
		status, closed := "?", "?"
		if tk, err := tickets.Decode(f.JSON); err == nil {
			if tk.Status != nil && tk.Status.Name != nil {
				status = *tk.Status.Name
			}
			if tk.IsClosed != nil {
				closed = strconv.FormatBool(*tk.IsClosed)
			}
		}
		t.Logf("missing ticket %d: created %s, updated %s, is_closed %s, status %q, websim situacao %s",
			n, f.CreatedAt.UTC().Format(time.RFC3339), f.UpdatedAt.UTC().Format(time.RFC3339), closed, status, f.Situacao)
	}
}

// wantSituacao checks that every table row of the given tickets (all when
// nil) has the situacao the web system gives it now (excluido for a deleted
// one).
func (w *world) wantSituacao(t *testing.T, only map[int64]bool) {
	t.Helper()
	_, want := w.ov.truth(simTickets(w.sim))
	wrong := 0
	for n, got := range w.situacoes(t) {
		if only != nil && !only[n] {
			continue
		}
		if ws, ok := want[n]; ok && got != ws {
			if wrong < 5 {
				t.Errorf("ticket %d situacao: got %q, want %q", n, got, ws)
			}
			wrong++
		}
	}
	if wrong > 0 {
		t.Errorf("tickets with a wrong situacao: got %d, want 0", wrong)
	}
}

// situacoes reads numero_ticket → situacao.
func (w *world) situacoes(t *testing.T) map[int64]string {
	t.Helper()
	sql := fmt.Sprintf("SELECT numero_ticket, situacao FROM `%s.%s.%s`", project, w.cfg.Dataset, w.cfg.Table)
	it, err := w.bq.Query(sql).Read(context.Background())
	if err != nil {
		t.Fatalf("read tickets: %v", err)
	}
	out := map[int64]string{}
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if err == iterator.Done {
			return out
		}
		if err != nil {
			t.Fatalf("read tickets: %v", err)
		}
		n, _ := row[0].(int64)
		s, _ := row[1].(string)
		out[n] = s
	}
}

// wantNoSecrets checks that nothing the test captured holds the token.
func (w *world) wantNoSecrets(t *testing.T, secrets ...string) {
	t.Helper()
	logs := w.logs.String()
	if !strings.Contains(logs, "sync.") {
		t.Errorf("captured logs hold no sync.* event; is the capture working? got %q", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain the session token %q", s)
		}
	}
}

// ticketRequests is the number of ticket-list requests the web system answered.
func (w *world) ticketRequests() int { return w.sim.Stats().Requests["tickets"] + w.ov.requests() }

// truth is the web system's tickets now, as the overlay shows them.
func (w *world) truth() []tickets.Ticket {
	ts, _ := w.ov.truth(simTickets(w.sim))
	return ts
}

func TestFullPull(t *testing.T) {
	const n = 600
	w := mustWorld(t, websim.Options{Tickets: n, Seed: 1}, nil)
	m := w.session(t, chain.ModeFull)

	fin, chunks := w.drive(t, m, nil)

	if chunks != 1 {
		t.Errorf("chunks: got %d, want 1", chunks)
	}
	w.wantTableIs(t, w.truth())
	r := w.run(t, m.SessionID)
	reqs := int64(w.ticketRequests())
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"load-finished outcome", fin.Outcome, chain.OutcomeOK},
		{"load-finished error", fin.Error, ""},
		{"load-finished tickets", fin.Tickets, int64(n)},
		{"load-finished inserted", fin.Inserted, int64(n)},
		{"load-finished updated", fin.Updated, int64(0)},
		{"load-finished auth", fin.Auth, chain.AuthAPIToken},
		{"load-finished token_sealed", fin.TokenSealed, m.TokenSealed},
		{"run outcome", r.Outcome, chain.OutcomeOK},
		{"run mode", r.Mode, chain.ModeFull},
		{"run auth", r.Auth, chain.AuthAPIToken},
		{"run tickets", r.Tickets, int64(n)},
		{"run inserted", r.Inserted, int64(n)},
		{"run requests (as the web system counted them)", r.Requests, reqs},
		{"run error", r.Error, ""},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// 3 full pages, the empty one after them, and one sweep.
	if r.Pages < n/200+1 || r.Pages > r.Requests {
		t.Errorf("run pages: got %d, want %d..%d (requests)", r.Pages, n/200+1, r.Requests)
	}
	if r.FinishedAt.IsZero() || r.FinishedAt.Before(r.StartedAt) {
		t.Errorf("run finished_at: got %v, want after started_at %v", r.FinishedAt, r.StartedAt)
	}
	if want := time.Duration(180*24) * time.Hour; r.WindowTo.Sub(r.WindowFrom) != want {
		t.Errorf("run window: got %v..%v, want %v long", r.WindowFrom, r.WindowTo, want)
	}

	t.Run("SameEventTwice", func(t *testing.T) {
		before, reqsBefore := *r, w.ticketRequests()

		if err := w.loader.Handle(context.Background(), m, time.Now()); err != nil {
			t.Fatalf("Handle again: got %v, want nil", err)
		}

		// A finished session's load-finished goes out again (its first
		// publish may have been lost; Logout is idempotent).
		if fins := w.finished(t, m.SessionID); len(fins) != 2 || fins[1] != fins[0] {
			t.Errorf("load-finished messages: got %+v, want the same one twice", fins)
		}
		if got := w.ticketRequests(); got != reqsBefore {
			t.Errorf("ticket requests: got %d, want %d (none more)", got, reqsBefore)
		}
		if got := w.countRows(t); got != n {
			t.Errorf("CountRows: got %d, want %d", got, n)
		}
		if after := w.run(t, m.SessionID); *after != before {
			t.Errorf("sync_runs row: got %+v, want unchanged %+v", *after, before)
		}
	})
	w.wantNoSecrets(t, testAPIToken)
}

func TestContinuations(t *testing.T) {
	const n, limit = 500, 100
	w := mustWorld(t, websim.Options{Tickets: n, Seed: 2, Latency: 2 * time.Millisecond}, func(l *extract.Loader) {
		l.PageLimit = limit
		l.ChunkBudget = time.Nanosecond // each chunk reads one page
	})
	m := w.session(t, chain.ModeFull)

	var rows []int64
	fin, chunks := w.drive(t, m, func(chunk int) {
		rows = append(rows, w.countRows(t))
		if chunk == 1 {
			if r := w.run(t, m.SessionID); r.Outcome != chain.OutcomeRunning {
				t.Errorf("run outcome after chunk 1: got %q, want %q", r.Outcome, chain.OutcomeRunning)
			}
		}
	})

	// Pages 1..5 one chunk each, the empty page 6, then a one-page sweep.
	if chunks < n/limit+1 {
		t.Errorf("chunks: got %d, want at least %d", chunks, n/limit+1)
	}
	// The main pass's pages (filter_by=all leaves the canceled tickets to
	// their own pass in the overlay, so its last page may be short).
	for i := 0; i < n/limit-1 && i < len(rows); i++ {
		if want := int64((i + 1) * limit); rows[i] != want {
			t.Errorf("rows after chunk %d: got %d, want %d (each chunk merged)", i+1, rows[i], want)
		}
	}
	// tickets is distinct per chunk: a ticket read again by a later chunk
	// (the open list, a sweep) counts again.
	if fin.Outcome != chain.OutcomeOK || fin.Tickets < n || fin.Inserted != n {
		t.Errorf("load-finished: got outcome %q tickets %d inserted %d, want ok ≥%d %d", fin.Outcome, fin.Tickets, fin.Inserted, n, n)
	}
	r := w.run(t, m.SessionID)
	if r.Outcome != chain.OutcomeOK || r.Tickets != fin.Tickets || r.Requests != int64(w.ticketRequests()) {
		t.Errorf("run: got outcome %q tickets %d requests %d, want ok %d %d", r.Outcome, r.Tickets, r.Requests, fin.Tickets, w.ticketRequests())
	}
	w.wantTableIs(t, w.truth())
	w.wantNoSecrets(t, testAPIToken)
}

// TestChurn pulls while the web system creates and updates tickets after
// every page it serves. Churn is per request, so a sweep's window (at least
// the 2 s sweepMargin plus the Date header's whole second) holds the churn of
// every request sent in it: the cases keep that under a page, or the sweeps
// would never fit on one page and the pull would not end.
func TestChurn(t *testing.T) {
	for _, c := range []struct {
		name    string
		tickets int
		limit   int
		budget  time.Duration
	}{
		{"OneSweep", 1000, 200, 5 * time.Minute},
		{"OnePagePerChunk", 300, 100, time.Nanosecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := mustWorld(t, websim.Options{Tickets: c.tickets, Seed: 3}, func(l *extract.Loader) {
				l.PageLimit, l.ChunkBudget = c.limit, c.budget
			})
			before := byNumber(t, simTickets(w.sim))
			w.sim.SetFaults(0, 0.02, 0)
			m := w.session(t, chain.ModeFull)

			fin, chunks := w.drive(t, m, nil)

			w.sim.SetFaults(0, 0, 0)
			end, prev := w.endStates(t) // the web system as the pull's last pages found it
			st := w.sim.Stats()
			t.Logf("churn during the pull: %d created, %d updated; %d ticket requests, %d chunks",
				st.TicketsCreated, st.TicketsUpdated, st.Requests["tickets"], chunks)
			if st.TicketsUpdated == 0 {
				t.Fatalf("churn: got no updates, want some")
			}
			if fin.Outcome != chain.OutcomeOK {
				t.Fatalf("load-finished outcome: got %q (%s), want ok", fin.Outcome, fin.Error)
			}
			table := w.table(t)
			// The reconciliation reads tickets by number after the last list
			// request: a row may also hold the state the pull ends on.
			now := byNumber(t, w.truth())
			missing, stale := compare(table, before, end, prev, now)
			if capped := strings.Contains(w.logs.String(), `"sync.sweeps_capped"`); capped && missing == 0 && stale > 0 {
				// Changes outpaced the sweeps (a loaded machine makes each
				// request slower, so more changes fall between them): the
				// pull says so and leaves the rest to the next run. Hold it
				// to that: a next pull, the churn over, leaves none stale.
				t.Logf("sweeps capped: %d tickets stale after the pull; the next pull must correct them", stale)
				next := w.session(t, chain.ModeIncremental)
				if fin, _ := w.drive(t, next, nil); fin.Outcome != chain.OutcomeOK {
					t.Fatalf("next pull: outcome %q (%s), want ok", fin.Outcome, fin.Error)
				}
				table = w.table(t)
				now = byNumber(t, w.truth())
				missing, stale = compare(table, before, now, now)
				end = now
			}
			if missing != 0 || stale != 0 {
				t.Errorf("after the pull: got %d missing (of %d there at its start), %d stale; want 0, 0", missing, len(before), stale)
				_, endSit := w.ov.truth(simTickets(w.sim))
				for n := range before {
					if _, ok := table[n]; !ok {
						t.Logf("ticket %d: no row; at the start updated %v, now %v %s", n, before[n], end[n], endSit[n])
					}
				}
				sit := w.situacoes(t)
				for n, got := range table {
					if want, ok := end[n]; ok && !got.Equal(want) && !got.Equal(prev[n]) {
						t.Logf("ticket %d: table has %v %s, the web system %v (before: %v, at the start: %v)", n, got, sit[n], want, prev[n], before[n])
					}
				}
			}
			if rows := w.countRows(t); rows != int64(len(table)) {
				t.Errorf("CountRows: got %d, want %d distinct", rows, len(table))
			}
			for k := range table {
				if _, ok := end[k]; !ok {
					t.Errorf("ticket %d is in the table but not in the web system", k)
				}
			}
			w.wantNoSecrets(t, testAPIToken)
		})
	}
}

func TestTokenExpiresMidPull(t *testing.T) {
	const n = 1000
	w := mustWorld(t, websim.Options{Tickets: n, Seed: 4, TokenTTLRequests: 3}, func(l *extract.Loader) {
		l.PageLimit = 100
	})
	ctx := context.Background()
	token := testkit.MustLogin(t, w.sim, w.web, testEmail, testPassword)
	m := w.sessionWith(t, chain.ModeFull, chain.AuthOTP, token)

	if err := w.loader.Handle(ctx, m, time.Now()); err != nil {
		t.Fatalf("Handle: got %v, want nil (a 401 is permanent)", err)
	}

	fins := w.finished(t, m.SessionID)
	if len(fins) != 1 {
		t.Fatalf("load-finished messages: got %d, want 1", len(fins))
	}
	fin, r, rows := fins[0], w.run(t, m.SessionID), w.countRows(t)
	if fin.Outcome != chain.OutcomeFailed || fin.Error == "" {
		t.Errorf("load-finished: got outcome %q error %q, want failed with a reason", fin.Outcome, fin.Error)
	}
	if r.Outcome != chain.OutcomeFailed || r.Error == "" {
		t.Errorf("run: got outcome %q error %q, want failed with a reason", r.Outcome, r.Error)
	}
	if rows == 0 || rows >= n || rows%100 != 0 {
		t.Errorf("rows: got %d, want whole pages fetched before the 401 (1..%d)", rows, n/100-1)
	}
	if fin.Tickets != rows || r.Tickets != rows {
		t.Errorf("tickets reported: got load-finished %d, run %d; want %d (rows in the table)", fin.Tickets, r.Tickets, rows)
	}
	if len(w.published(m.SessionID, chain.EventSessionContinue)) != 0 {
		t.Errorf("session.continue published after a 401, want none")
	}
	for _, s := range []string{fin.Error, r.Error} {
		if strings.Contains(s, token) {
			t.Errorf("error text %q contains the token", s)
		}
	}
	w.wantNoSecrets(t, token)
}

func TestAutoMode(t *testing.T) {
	const n = 1000
	w := mustWorld(t, websim.Options{Tickets: n, Seed: 7}, nil)

	first := w.session(t, chain.ModeAuto)
	if fin, _ := w.drive(t, first, nil); fin.Outcome != chain.OutcomeOK {
		t.Fatalf("first session: got %q (%s), want ok", fin.Outcome, fin.Error)
	}
	if r := w.run(t, first.SessionID); r.Mode != chain.ModeFull {
		t.Errorf("first auto session's mode: got %q, want full (no full pull yet)", r.Mode)
	}

	changed := w.sim.Touch(0.01)
	reqsBefore := w.ticketRequests()
	second := w.session(t, chain.ModeAuto)
	fin, _ := w.drive(t, second, nil)

	r := w.run(t, second.SessionID)
	if r.Mode != chain.ModeIncremental {
		t.Errorf("second auto session's mode: got %q, want incremental (full pull minutes ago)", r.Mode)
	}
	if fin.Outcome != chain.OutcomeOK || fin.Updated != int64(changed) || fin.Inserted != 0 {
		t.Errorf("load-finished: got outcome %q inserted %d updated %d, want ok 0 %d", fin.Outcome, fin.Inserted, fin.Updated, changed)
	}
	reqs := w.ticketRequests() - reqsBefore
	// The changed pass with its empty page after a full one, its canceled
	// part (one page: few changed), one sweep, the canceled pass and the open
	// list of the reconciliation (no ghosts).
	open, canceled := 0, 0
	_, sit := w.ov.truth(simTickets(w.sim))
	for _, s := range sit {
		switch s {
		case tickets.SituacaoAberto:
			open++
		case tickets.SituacaoCancelado:
			canceled++
		}
	}
	budget := 2 + changed/200 + 1 + 1 + (canceled/200 + 1) + (open/200 + 1)
	t.Logf("incremental: %d changed, %d requests, %d pages (budget %d)", changed, reqs, r.Pages, budget)
	if reqs > budget {
		t.Errorf("incremental requests: got %d, want ≤ 2 + changed/200 + 1 + 1 + canceled/200+1 + open/200+1 = %d", reqs, budget)
	}
	w.wantTableIs(t, w.truth())
	w.wantNoSecrets(t, testAPIToken)
}

// TestRedeliveredChunk replays a chunk whose rows were loaded and merged but
// whose continuation was never published (Pub/Sub failed), the redelivery
// reading further than the first delivery did: chunk budgets are wall time,
// so how many pages a delivery reads varies.
func TestRedeliveredChunk(t *testing.T) {
	const n, limit = 1000, 100
	var skew atomic.Int64
	w := mustWorld(t, websim.Options{Tickets: n, Seed: 8}, func(l *extract.Loader) {
		l.PageLimit = limit
		l.Concurrency = 1
		l.ChunkBudget = time.Hour
		l.MaxEventAge = 100 * time.Hour
		l.TopicSessionReady = "session-ready-late" // created only before the redelivery
		l.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	// budgetAfter makes the loader's clock pass the chunk budget once the web
	// system has answered k more ticket requests.
	budgetAfter := func(k int) {
		var seen atomic.Int64
		skew.Store(0)
		w.mu.Lock()
		w.onTickets = func() {
			if seen.Add(1) == int64(k) {
				skew.Store(int64(2 * time.Hour))
			}
		}
		w.mu.Unlock()
	}
	ctx := context.Background()
	m := w.session(t, chain.ModeFull)

	budgetAfter(1)
	if err := w.loader.Handle(ctx, m, time.Now()); err == nil {
		t.Fatalf("Handle with the continuation topic missing: got nil, want an error (retry)")
	}
	if got := w.countRows(t); got != limit {
		t.Fatalf("rows after the first delivery: got %d, want %d (one page merged)", got, limit)
	}

	if err := w.bus.EnsureTopic(ctx, "session-ready-late"); err != nil {
		t.Fatal(err)
	}
	budgetAfter(3)
	if err := w.loader.Handle(ctx, m, time.Now()); err != nil {
		t.Fatalf("Handle on redelivery: got %v, want nil", err)
	}
	conts := w.published(m.SessionID, chain.EventSessionContinue)
	if len(conts) != 1 {
		t.Fatalf("session.continue after the redelivery: got %d, want 1", len(conts))
	}
	next, err := chain.DecodeSessionReady(conts[0])
	if err != nil {
		t.Fatal(err)
	}
	budgetAfter(0) // no more budget trouble
	skew.Store(0)
	fin, _ := w.drive(t, next, nil)

	if fin.Outcome != chain.OutcomeOK {
		t.Fatalf("load-finished: got %q (%s), want ok", fin.Outcome, fin.Error)
	}
	w.wantTableIs(t, w.truth())
}

// Changes faster than the sweeps can read end the pull after a bounded
// number of sweeps; the next incremental run picks up the rest.
func TestSweepsAreCapped(t *testing.T) {
	w := mustWorld(t, websim.Options{Tickets: 1000, Seed: 5}, func(l *extract.Loader) {
		l.PageLimit = 100
	})
	w.sim.SetFaults(0, 0.02, 0)

	fin, _ := w.drive(t, w.session(t, chain.ModeFull), nil)

	if fin.Outcome != chain.OutcomeOK || !strings.Contains(w.logs.String(), "sync.sweeps_capped") {
		t.Fatalf("got outcome %q, capped logged %v; want ok after capped sweeps", fin.Outcome, strings.Contains(w.logs.String(), "sync.sweeps_capped"))
	}
	w.sim.SetFaults(0, 0, 0)
	time.Sleep(3 * time.Second) // the next window starts before this pull's start anyway

	next, _ := w.drive(t, w.session(t, chain.ModeIncremental), nil)

	if next.Outcome != chain.OutcomeOK {
		t.Fatalf("incremental run: got %q (%s), want ok", next.Outcome, next.Error)
	}
	w.wantTableIs(t, w.truth())
}
