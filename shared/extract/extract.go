// Package extract runs a session's load (the ExtractLoad function): it picks
// the mode and window, pages through the web system's tickets, streams them
// into a staging table, merges them into the tickets table and logs the run.
//
// A pull never misses a ticket that existed when it started: the main pass
// reads the window with its end fixed at the pull's start, then sweeps read
// what changed since, until a sweep fits on one page. A pull too long for one
// invocation stops fetching after ChunkBudget, merges what it has and hands a
// cursor to the next invocation (session.continue). Each chunk is safe to run
// twice: its loads and merge have deterministic ids and the merge only
// replaces a row with a newer one.
package extract

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/logging"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/seal"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// Web is the part of the web-system client a load needs.
type Web interface {
	// Pages yields the pages of q from q.Page on, in order, until a short page.
	Pages(ctx context.Context, token string, q websystem.Query, concurrency int) iter.Seq2[*websystem.Page, error]
	// Ticket reads one ticket by number; a ticket the system no longer has
	// gives an error matching websystem.ErrNotFound.
	Ticket(ctx context.Context, token string, number int64) (tickets.Ticket, error)
	// Stats counts the requests sent so far.
	Stats() websystem.Stats
}

// Store is the tickets table, as a pull writes it.
type Store interface {
	// Stage opens the sink of one chunk of a session (chunk is
	// SessionReady.Chunk). A chunk an earlier delivery staged gets a sink of
	// its own: the redelivery reads again from its cursor, maybe further,
	// and none of what it reads may be dropped. The sink is usable only when
	// the error is nil; an error means nothing was staged, and the chunk is
	// retried.
	Stage(ctx context.Context, sessionID string, chunk int) (Sink, error)
	// OpenNumbers lists the tickets the table holds as aberto. An error
	// means the table could not be read; the chunk is retried.
	OpenNumbers(ctx context.Context) ([]int64, error)
	// NumbersCreated lists the tickets the table holds as created in
	// [from, to), excluido ones left out. An error means the table could
	// not be read; the chunk is retried.
	NumbersCreated(ctx context.Context, from, to time.Time) ([]int64, error)
}

// Sink takes one chunk's rows, then moves them into the tickets table at
// once. It is not safe for concurrent use.
type Sink interface {
	// Add stages one row. An error means the staging broke (its upload
	// failed or was cancelled): the chunk must run again.
	Add(row tickets.Row) error
	// Load ends the staging and merges the staged rows into the table in
	// one statement (CONTRACT section 6: a row replaces the table's when its
	// atualizado_em_utc is newer, or equal with another situacao; a ticket
	// staged twice counts once), then stores the tickets numbered in deleted
	// as excluido. It returns Tickets (distinct tickets merged), Inserted,
	// Updated and Reconciled (rows deleted changed). An error means the
	// chunk must run again; the table holds all of the merge or none of it.
	Load(ctx context.Context, deleted []int64) (chain.Totals, error)
	// Abort drops what was staged: none of it reaches the table. Add and
	// Load fail afterwards.
	Abort()
}

// RunLog is sync_runs: one Run per session.
type RunLog interface {
	// Run returns the session's run, or nil when none is recorded. An error
	// means the log could not be read.
	Run(ctx context.Context, sessionID string) (*chain.Run, error)
	// LastSuccessfulRun returns the newest run (by StartedAt) that ended ok
	// with the given mode ("" for any), or nil when there is none. An error
	// means the log could not be read.
	LastSuccessfulRun(ctx context.Context, mode chain.Mode) (*chain.Run, error)
	// RecordRun writes the session's run over what was recorded. The
	// outcome only moves from running to ok or failed: a write that would
	// move it back, or from one end to the other, changes nothing and is no
	// error. An error means the run may not have been written.
	RecordRun(ctx context.Context, r chain.Run) error
}

// Publisher puts a chain message on a topic.
type Publisher interface {
	// Publish returns the message's id once the topic holds it. An error
	// means it may not have been published; publishing again is safe, as
	// every consumer takes a message twice.
	Publish(ctx context.Context, topic string, m chain.Message) (string, error)
}

// Loader runs loads. Its fields are set once; Handle is called per event.
type Loader struct {
	Web    Web
	Store  Store
	Runs   RunLog
	Bus    Publisher
	Sealer *seal.Sealer

	WindowDays  int
	PageLimit   int
	FullRefresh time.Duration // auto mode: full when the last full pull started longer ago (minus 1 h)
	Overlap     time.Duration // "changed since" windows start this long before the previous pull's start
	MaxEventAge time.Duration // older events are given up
	ChunkBudget time.Duration // stop fetching after this long and continue in a new invocation
	FetchGrace  time.Duration // fetching is cut off ChunkBudget + FetchGrace after the chunk began; 0: 60 s
	Concurrency int           // pages in flight
	TimeZone    *time.Location

	TopicSessionReady, TopicLoadFinished string

	Now func() time.Time
	Log *slog.Logger
}

// updatedOpenEnd is how far past now a "changed since" pass reaches: tickets
// updated while a pass pages must stay in its list, or those behind them
// would move up a page and be skipped.
const updatedOpenEnd = 24 * time.Hour

// defaultFetchGrace is FetchGrace's default. With the default 360 s budget a
// chunk stops fetching by 420 s, one page's retries included, which leaves
// the load, merge and publish two minutes of the 540 s an event-driven
// function may run.
const defaultFetchGrace = 60 * time.Second

// Handle loads one chunk of m's session. It returns an error only for a
// failure worth retrying (the web system or BigQuery failing transiently);
// for a permanent failure or an event older than MaxEventAge it records the
// failure, publishes load-finished (failed) so Logout follows, and returns nil.
func (l *Loader) Handle(ctx context.Context, m chain.SessionReady, published time.Time) error {
	start := l.Now().UTC()
	log := l.Log.With("session_id", m.SessionID, "chunk", m.Chunk)

	run, err := l.Runs.Run(ctx, m.SessionID)
	if err != nil {
		return fmt.Errorf("read run log: %w", err)
	}
	if run != nil && run.Outcome != chain.OutcomeRunning {
		// The run ended, but its load-finished may not have gone out (the
		// publish failed, or the instance died after recording the end):
		// publish it again, so that Logout follows. Logout is idempotent.
		log.Info("session already finished; publishing load-finished again", "event", "sync.duplicate", "outcome", run.Outcome)
		return l.publishFinished(ctx, m, run.Outcome, chain.Totals{Tickets: run.Tickets,
			Inserted: run.Inserted, Updated: run.Updated}, run.Error)
	}
	if !published.IsZero() && start.Sub(published) > l.MaxEventAge {
		return l.giveUp(ctx, log, m, run, m.Cursor, fmt.Errorf("event is %s old, over MAX_EVENT_AGE_MINUTES", start.Sub(published).Round(time.Second)))
	}
	token, err := l.Sealer.Open(m.TokenSealed, m.SessionID)
	if err != nil {
		return l.giveUp(ctx, log, m, run, m.Cursor, errors.New("session token cannot be opened with TOKEN_SEAL_KEY"))
	}
	defer logging.RedactScoped(l.Log, token, strings.TrimPrefix(token, "Bearer "))() // forgotten when this delivery ends

	cur := m.Cursor
	if cur == nil {
		c, err := l.begin(ctx, log, m, start)
		if err != nil {
			return err
		}
		cur = c
	}
	log = log.With("mode", cur.Mode)

	p := &pull{l: l, log: log, sessionID: m.SessionID, chunk: m.Chunk, token: token, start: start,
		staged: map[int64]string{}, badFields: map[int64]bool{}}
	err = p.load(ctx, cur)
	res := p.res
	if err != nil {
		if websystem.Permanent(err) {
			return l.giveUp(ctx, log, m, run, &res.next, errors.New(describe(err)))
		}
		if !published.IsZero() && l.Now().Sub(published) > l.MaxEventAge {
			return l.giveUp(ctx, log, m, run, &res.next, errors.New(describe(err)))
		}
		log.Warn("load failed; the event will be retried", "error", describe(err))
		return err
	}

	if !res.done {
		next := m
		next.Cursor = &res.next
		next.Chunk = m.Chunk + 1
		msg, err := chain.EncodeSessionReady(next)
		if err != nil {
			return l.giveUp(ctx, log, m, run, &res.next, err)
		}
		if err := l.record(ctx, m, &res.next, chain.OutcomeRunning, ""); err != nil {
			return err
		}
		if _, err := l.Bus.Publish(ctx, l.TopicSessionReady, msg); err != nil {
			return fmt.Errorf("publish session.continue: %w", err)
		}
		log.Info("chunk loaded; continuing in a new invocation", "event", "sync.continue",
			"page", res.next.Page, "phase", res.next.Phase, "tickets", res.next.Totals.Tickets)
		return nil
	}
	return l.finish(ctx, log, m, &res.next, chain.OutcomeOK, "")
}

// begin resolves the mode and window of a new session and logs it as running.
func (l *Loader) begin(ctx context.Context, log *slog.Logger, m chain.SessionReady, now time.Time) (*chain.Cursor, error) {
	mode := m.Mode
	// Every pull, whatever its mode, reads what changed since the previous
	// successful one began (CONTRACT section 6), so the last run is needed
	// in full mode too.
	last, err := l.Runs.LastSuccessfulRun(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("read last run: %w", err)
	}
	if mode == chain.ModeAuto {
		lastFull, err := l.Runs.LastSuccessfulRun(ctx, chain.ModeFull)
		if err != nil {
			return nil, fmt.Errorf("read last full run: %w", err)
		}
		mode = chain.ModeIncremental
		if lastFull == nil || lastFull.StartedAt.Before(now.Add(-(l.FullRefresh - time.Hour))) {
			mode = chain.ModeFull
		}
	}
	if mode == chain.ModeIncremental && (last == nil || last.StartedAt.IsZero()) {
		log.Info("no successful run yet: pulling the full window instead")
		mode = chain.ModeFull
	}
	c := &chain.Cursor{Mode: mode, WindowTo: now, StartedAt: now, Phase: chain.PhaseMain, Page: 1,
		CanceledFrom: now.AddDate(0, 0, -l.WindowDays),
		// The session's request count starts with its login's (CONTRACT section 6).
		Totals: chain.Totals{Requests: m.LoginRequests}}
	if last != nil && !last.StartedAt.IsZero() {
		c.ChangedFrom = last.StartedAt.Add(-l.Overlap)
	}
	if mode == chain.ModeFull {
		c.WindowFrom = now.AddDate(0, 0, -l.WindowDays)
		c.SliceFrom, c.SliceTo = c.WindowFrom, c.WindowTo
	} else {
		c.WindowFrom = c.ChangedFrom
	}
	if err := l.record(ctx, m, c, chain.OutcomeRunning, ""); err != nil {
		return nil, err
	}
	log.Info("load started", "event", "sync.started", "mode", mode, "window_from", c.WindowFrom,
		"window_to", c.WindowTo, "changed_from", c.ChangedFrom)
	return c, nil
}

type chunkResult struct {
	next chain.Cursor // where the next chunk starts, with totals so far
	done bool
}

// pull is one invocation's part of a session's pull: one chunk. It fetches
// from the cursor into the chunk's sink, advancing res.next, until the pull
// ends or the budget runs out, then loads what it fetched.
type pull struct {
	l         *Loader
	log       *slog.Logger
	sessionID string
	chunk     int // SessionReady.Chunk
	token     string
	start     time.Time

	sink Sink
	res  chunkResult  // where the next chunk starts; done when the pull ended
	t    chain.Totals // this chunk's work

	staged    map[int64]string // situacao of each ticket staged in this chunk
	badFields map[int64]bool   // tickets of this chunk counted in field_errors
	deleted   []int64          // reconciliation: tickets the system answered 404 for
	pages     int              // pages and tickets read in this chunk
}

// load fetches from cur until the pull ends or the budget runs out, then
// loads and merges what it fetched. f.res says where the next chunk starts,
// also on an error.
func (f *pull) load(ctx context.Context, cur *chain.Cursor) error {
	f.res = chunkResult{next: *cur}
	if f.res.next.Mode == chain.ModeFull && f.res.next.Phase == chain.PhaseMain && f.res.next.SliceTo.IsZero() {
		// A cursor from before the window was sliced: one slice, the window.
		f.res.next.SliceFrom, f.res.next.SliceTo = f.res.next.WindowFrom, f.res.next.WindowTo
	}
	f.res.next.Seen = slices.Clone(cur.Seen)
	f.res.next.FieldsLogged = slices.Clone(cur.FieldsLogged)
	f.res.next.Listed = cur.Listed.Clone()
	sink, err := f.l.Store.Stage(ctx, f.sessionID, f.chunk)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	f.sink = sink
	before := f.l.Web.Stats()
	fetchErr := f.fetch(ctx)
	f.t.Requests = f.l.Web.Stats().Requests - before.Requests

	if fetchErr != nil && !websystem.Permanent(fetchErr) {
		f.sink.Abort()
		f.res.next.Totals = cur.Totals.Add(f.t)
		return fetchErr
	}
	// A permanent failure (token expired) still loads what was fetched, whole:
	// the merge is one statement, so the table never holds half of it. Its
	// deletions wait for a pull that gets through.
	var deleted []int64
	if fetchErr == nil {
		deleted = f.deleted
	}
	loaded, err := f.sink.Load(ctx, deleted)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	f.t.Inserted, f.t.Updated, f.t.Tickets = loaded.Inserted, loaded.Updated, loaded.Tickets
	f.t.Reconciled += loaded.Reconciled
	f.res.next.Totals = cur.Totals.Add(f.t)
	f.log.Info("chunk merged", "inserted", f.t.Inserted, "updated", f.t.Updated,
		"pages", f.t.Pages, "rejected", f.t.Rejected, "field_errors", f.t.FieldErrors, "reconciled", f.t.Reconciled)
	return fetchErr
}

// Slices of a created_at window hold about targetSlicePages pages; one that
// matches more than maxSlicePages pages is cut shorter before it is read on.
// A re-read of a slice then costs at most maxSlicePages requests, and a pull
// resumes at a slice's boundary at worst.
const (
	targetSlicePages = 10
	maxSlicePages    = 20
	minSlice         = time.Hour
)

// maxRereads bounds the re-reads of a slice (or an unsliced pass) that read
// fewer distinct tickets than the list said it matched.
const maxRereads = 3

// maxSweeps bounds the sweeps of one pull, so that a system changing faster
// than it can be read does not keep a pull going forever.
const maxSweeps = 4

// sweepMargin covers the whole seconds of the Date header a pass's start is
// read from.
const sweepMargin = 2 * time.Second

// fetch reads passes from res.next on:
//
//   - main: the window (full mode: tickets created in it, read in created_at
//     slices; incremental: tickets changed since the previous successful
//     pull began, less the overlap);
//   - changed (full mode): tickets changed since the previous successful pull
//     began, created inside the window or not, so that no update is lost to a
//     full pull;
//   - changed_canceled: filter_by=canceled over the same changed window (in
//     both modes), as all may leave canceled tickets out: one canceled since
//     the previous pull but created before the window is in no other list;
//   - canceled: filter_by=canceled over the created_at window now −
//     WINDOW_DAYS .. the pull's start, staged as cancelado;
//   - reconcile: the open list (filter_by=open, no dates), kept in the
//     cursor (its tickets are staged too: they are fresh rows);
//   - sweeps (each in two parts: filter_by=canceled, as all may leave
//     canceled tickets out, then filter_by=all): what changed since the main
//     pass (then the previous sweep)
//     began, from the web system's clock (the Date header, so our clock's
//     skew does not matter), less sweepMargin for its whole seconds; sweeps
//     shrink, as each covers only the time its predecessor took, and they
//     end with one that fits on a page;
//   - reconcile by number: each ticket the table holds as aberto that the
//     open list did not show is read by number and staged as the system has
//     it, or marked excluido on a 404 (after this chunk's merge). Tickets
//     beyond the chunk's budget are read by the next chunk, which asks the
//     table again; ghosts a capped run leaves are corrected by the next pull.
//
// The list's order is not documented and may change while a pass pages (an
// updated ticket may jump to the end, moving the rest up a page). So each
// slice or pass counts the distinct tickets it read against X-Total-Items and
// reads itself again when it read fewer, up to maxRereads times.
//
// Fetching stops at the chunk budget, checked between pages, and at a
// context deadline of the budget plus FetchGrace, which cuts short one
// page's retries; the cursor then says where the next chunk goes on.
func (f *pull) fetch(ctx context.Context) error {
	l := f.l
	grace := l.FetchGrace
	if grace <= 0 {
		grace = defaultFetchGrace
	}
	fctx, cancel := context.WithTimeout(ctx, l.ChunkBudget+grace)
	defer cancel()
	deadline := f.start.Add(l.ChunkBudget)
	over := func() bool { return l.Now().After(deadline) }

	err := f.passes(fctx, over)
	if err != nil && ctx.Err() == nil && fctx.Err() != nil && f.pages > 0 {
		// Our own deadline cut a page short: load what was read, go on in
		// the next chunk from the page that was cut (a chunk that read
		// nothing at all returns the error, so the event is retried).
		f.log.Warn("fetching cut off at the chunk deadline; continuing in a new invocation", "event", "sync.fetch_deadline")
		return nil
	}
	return err
}

func (f *pull) passes(ctx context.Context, over func() bool) error {
	l, next := f.l, &f.res.next
	for {
		if next.Phase == chain.PhaseReconcile && next.ListDone {
			return f.ghosts(ctx, over)
		}
		q := l.query(next)
		fresh := next.Page == 1
		seen := make(map[int64]bool, len(next.Seen))
		for _, n := range next.Seen {
			seen[n] = true
		}
		total, shrunk, stopped := -1, false, false
		last, fell := -1, false // the previous page's total; whether a total fell
		if !fresh && next.Matched != nil {
			// This reading began in an earlier chunk: one page per chunk
			// must see a total fall as one chunk for the whole pass does.
			total, last, fell = next.Matched.Min, next.Matched.Last, next.Matched.Fell
		}
		keep := func() {
			next.Seen = keys(seen)
			next.Matched = &chain.Matched{Min: total, Last: last, Fell: fell}
		}
		for page, err := range l.Web.Pages(ctx, f.token, q, l.Concurrency) {
			if err != nil {
				keep()
				return err
			}
			if next.PassStart.IsZero() && (next.Phase == chain.PhaseMain || next.Phase == chain.PhaseSweep) {
				// The start of the pass's first read (of its first slice):
				// the next sweep reads what changed since then.
				next.PassStart = page.ServerTime
				if next.PassStart.IsZero() {
					next.PassStart = l.Now().UTC()
				}
			}
			f.pages++
			f.t.Pages++
			f.t.Rejected += int64(page.Rejected)
			for _, tk := range page.Tickets {
				if err := f.stage(tk, next.Phase == chain.PhaseCanceled || next.Phase == chain.PhaseChangedCanceled || next.Phase == chain.PhaseSweep && next.SweepCanceled); err != nil {
					return err
				}
				if tk.Number != nil {
					seen[*tk.Number] = true
					if next.Mode == chain.ModeFull {
						next.Listed.Add(*tk.Number)
					}
				}
			}
			// The smallest total the attempt saw: a created_at window only
			// loses tickets while it is read (deleted ones), a changed window
			// and the open list also gain some (changed or created since),
			// which the sweeps read; fewer distinct tickets than the
			// smallest total means some were skipped.
			//
			// On a created_at window (whose end is fixed) a total that fell
			// between two pages means a ticket left the list (canceled:
			// filter_by=all leaves it out) while the pass paged: if it was
			// on a page already read, the tickets after it moved up one
			// place and the first of the next page was skipped, yet the
			// distinct tickets read still equal the smallest total. Such a
			// ticket need not change again, so no later changed window finds
			// it: the pass is read again (TestSweepsAreCapped lost closed
			// tickets so).
			if sliced(next) && page.TotalItems >= 0 && last >= 0 && page.TotalItems < last {
				fell = true
			}
			if page.TotalItems >= 0 {
				last = page.TotalItems
			}
			if page.TotalItems >= 0 && (total < 0 || page.TotalItems < total) {
				total = page.TotalItems
			}
			if fresh && sliced(next) && total > maxSlicePages*q.Limit && next.SliceTo.Sub(next.SliceFrom) > minSlice {
				// Too many tickets for one slice: read a shorter one. What
				// this page staged is merged all the same.
				next.SliceTo = next.SliceFrom.Add(scale(next.SliceTo.Sub(next.SliceFrom), targetSlicePages*q.Limit, total))
				clear(seen)
				shrunk = true
				break
			}
			fresh = false
			next.Page++
			if page.Raw < q.Limit {
				break // the pass (or slice) is over
			}
			if over() {
				stopped = true
				break
			}
		}
		keep()
		if stopped {
			return nil // the next chunk goes on from next.Page
		}
		if shrunk {
			next.Page = 1
			continue
		}
		// On the open list a ticket skipped costs one read by number later
		// (if the table holds it as aberto): read the list again only when
		// that is cheaper.
		short := total >= 0 && (len(seen) < total || fell)
		if short && next.Phase == chain.PhaseReconcile && total-len(seen) <= total/q.Limit+1 {
			short = false
		}
		if short {
			if next.Rereads < maxRereads {
				// The list moved under the pass: some tickets were skipped.
				next.Rereads++
				next.Page = 1
				f.log.Info("a pass read fewer tickets than it matched; reading it again", "event", "sync.reread",
					"phase", next.Phase, "read", len(seen), "matched", total, "reread", next.Rereads)
				if over() {
					return nil
				}
				continue
			}
			f.log.Warn("a pass still read fewer tickets than it matched; the sweeps and the next run pick up the rest",
				"event", "sync.pass_short", "phase", next.Phase, "read", len(seen), "matched", total)
		}
		if next.Phase == chain.PhaseReconcile {
			next.Open = next.Seen
		}
		if next.Phase == chain.PhaseSweep && next.SweepCanceled {
			// The sweep's second part reads the same changed window with
			// filter_by=all: the pull's last list request is a whole sweep.
			next.SweepLong = next.Page > 2
			next.SweepCanceled = false
			next.Seen, next.Rereads, next.Page, next.Matched = nil, 0, 1, nil
			if over() {
				return nil
			}
			continue
		}
		sweepDone := next.Phase == chain.PhaseSweep && next.Page <= 2 && !next.SweepLong
		next.SweepLong = false
		next.Seen, next.Rereads, next.Matched = nil, 0, nil
		if sliced(next) && next.SliceTo.Before(f.windowEnd(next)) {
			// The next slice, sized by the last one's density.
			end := f.windowEnd(next)
			size := next.SliceTo.Sub(next.SliceFrom)
			if total > 0 {
				size = scale(size, targetSlicePages*q.Limit, total)
			} else {
				size *= 4
			}
			// Slices overlap by a second: the web system's window ends may
			// be exclusive or cut to whole seconds.
			next.SliceFrom = next.SliceTo.Add(-time.Second)
			next.SliceTo = minTime(next.SliceFrom.Add(max(size, minSlice)), end)
			next.Page = 1
			if over() {
				return nil
			}
			continue
		}
		f.advance(sweepDone)
		if over() {
			return nil
		}
	}
}

// advance moves the cursor to the pass after the one that just ended.
func (f *pull) advance(sweepDone bool) {
	next := f.res.next
	c := &f.res.next
	c.Page, c.SliceFrom, c.SliceTo = 1, time.Time{}, time.Time{}
	switch next.Phase {
	case chain.PhaseMain:
		switch {
		case c.ChangedFrom.IsZero():
			// No previous pull: nothing changed since one.
			c.Phase = chain.PhaseCanceled
			c.SliceFrom, c.SliceTo = c.CanceledFrom, c.WindowTo
		case c.Mode == chain.ModeFull:
			c.Phase = chain.PhaseChanged
		default:
			// Incremental: the main pass was the changed pass.
			c.Phase = chain.PhaseChangedCanceled
		}
	case chain.PhaseChanged:
		c.Phase = chain.PhaseChangedCanceled
	case chain.PhaseChangedCanceled:
		c.Phase = chain.PhaseCanceled
		c.SliceFrom, c.SliceTo = c.CanceledFrom, c.WindowTo
	case chain.PhaseCanceled:
		// The open list, before the sweeps: they read what changes while
		// it is read.
		c.Phase = chain.PhaseReconcile
	case chain.PhaseReconcile:
		// The first sweep reads what changed since the main pass began.
		c.ListDone = true
		c.Phase = chain.PhaseSweep
		c.SweepCanceled = true
		c.Sweeps = 1
		c.SweepFrom = c.PassStart.Add(-sweepMargin)
		c.PassStart = time.Time{}
	case chain.PhaseSweep:
		// A sweep that fit on one page ends the sweeps: nothing changed
		// while it ran that it did not read.
		if !sweepDone && c.Sweeps >= maxSweeps {
			// Changes outpace the sweeps. Stop here: the next run reads
			// what changed since this pull began.
			f.log.Warn("tickets change faster than the sweeps read them; the next run picks up the rest",
				"event", "sync.sweeps_capped", "sweeps", c.Sweeps)
			sweepDone = true
		}
		if sweepDone {
			c.Phase = chain.PhaseReconcile // ListDone: the tickets by number
			return
		}
		c.Sweeps++
		c.SweepCanceled = true
		c.SweepFrom = c.PassStart.Add(-sweepMargin)
		c.PassStart = time.Time{}
	}
}

// ghosts reads by number each ticket the table holds as aberto that the
// open list (next.Open) does not show: found, it is staged as the system has
// it now; a 404 marks it excluido. A ticket handled goes into next.Open, so a
// chunk that runs out of budget here leaves the rest to the next chunk, which
// asks the table again. When all are handled, the pull is done.
func (f *pull) ghosts(ctx context.Context, over func() bool) error {
	l, next := f.l, &f.res.next
	held, err := l.Store.OpenNumbers(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	open := make(map[int64]bool, len(next.Open))
	for _, n := range next.Open {
		open[n] = true
	}
	var ghosts []int64
	isHeld := make(map[int64]bool, len(held))
	for _, n := range held {
		isHeld[n] = true
		// A ticket this chunk staged closed is not read again: the merge
		// after this pass stores it so.
		if !open[n] && (f.staged[n] == "" || f.staged[n] == tickets.SituacaoAberto) {
			ghosts = append(ghosts, n)
		}
	}
	unlisted := 0
	if next.Mode == chain.ModeFull {
		// A full pull listed every ticket of its window that exists: one
		// the table holds (as fechado or cancelado too) that no list showed
		// was deleted, or reopened and deleted before any pull saw it
		// reopened; the open list cannot tell. Read those by number too:
		// the one-ticket GET answers 404 for a ticket deleted or merged
		// away (CONTRACT section 2, "one ticket").
		inWindow, err := l.Store.NumbersCreated(ctx, next.WindowFrom, next.WindowTo)
		if err != nil {
			return fmt.Errorf("reconcile: %w", err)
		}
		for _, n := range inWindow {
			if !open[n] && !next.Listed.Has(n) && !isHeld[n] {
				ghosts = append(ghosts, n)
				unlisted++
			}
		}
	}
	slices.Sort(ghosts)
	f.log.Info("reconciling the table's open tickets with the open list", "event", "sync.reconcile",
		"open_in_table", len(held), "open_list", len(open), "missing", len(ghosts)-unlisted, "unlisted_in_window", unlisted)
	for _, n := range ghosts {
		tk, err := l.Web.Ticket(ctx, f.token, n)
		switch {
		case errors.Is(err, websystem.ErrNotFound):
			f.deleted = append(f.deleted, n)
		case err != nil:
			return err
		default:
			if err := f.stage(tk, false); err != nil {
				return err
			}
			// Held as aberto, it was corrected; one the lists skipped was
			// only read again.
			if sit := f.staged[n]; isHeld[n] && sit != "" && sit != tickets.SituacaoAberto {
				f.t.Reconciled++
			}
		}
		next.Open = append(next.Open, n)
		f.pages++
		if over() {
			return nil
		}
	}
	f.res.done = true
	return nil
}

// stage converts tk to a row and stages it; canceled forces the situacao
// (the ticket came from the canceled pass).
func (f *pull) stage(tk tickets.Ticket, canceled bool) error {
	row, err := tickets.ToRow(tk, f.l.TimeZone, f.sessionID, f.start)
	if err != nil {
		f.t.Rejected++
		f.log.Warn("ticket rejected", "event", "ticket.rejected", "reason", err.Error())
		return nil
	}
	if canceled {
		row.Situacao = tickets.SituacaoCancelado
	}
	if len(row.FieldErrors) > 0 {
		// A ticket read by several passes counts once, as tickets does.
		if !f.badFields[row.NumeroTicket] {
			f.badFields[row.NumeroTicket] = true
			f.t.FieldErrors++
		}
		next := &f.res.next
		for _, name := range row.FieldErrors {
			if !slices.Contains(next.FieldsLogged, name) {
				next.FieldsLogged = append(next.FieldsLogged, name)
				f.log.Warn("a ticket field is unusable; its columns are NULL (logged once per run)",
					"event", "ticket.field_error", "field", name)
			}
		}
	}
	if err := f.sink.Add(row); err != nil {
		return fmt.Errorf("stage row: %w", err)
	}
	f.staged[row.NumeroTicket] = row.Situacao
	f.t.Tickets++
	return nil
}

// windowEnd is the end of the created_at window the sliced pass reads.
func (f *pull) windowEnd(c *chain.Cursor) time.Time { return c.WindowTo }

// sliced reports whether the pass c is in reads a created_at window in slices.
func sliced(c *chain.Cursor) bool { return !c.SliceTo.IsZero() }

// scale is d resized so that it would hold want items where it held got.
func scale(d time.Duration, want, got int) time.Duration {
	if got <= 0 {
		return d
	}
	return max(time.Duration(float64(d)*float64(want)/float64(got)), minSlice)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func keys(m map[int64]bool) []int64 {
	if len(m) == 0 {
		return nil
	}
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// query is the ticket-list query of the pass cur is in.
func (l *Loader) query(cur *chain.Cursor) websystem.Query {
	q := websystem.Query{Page: cur.Page, Limit: l.PageLimit, Status: websystem.StatusAll}
	switch cur.Phase {
	case chain.PhaseSweep:
		q.Filter = websystem.UpdatedBetween(cur.SweepFrom, l.Now().Add(updatedOpenEnd))
		if cur.SweepCanceled {
			q.Status = websystem.StatusCanceled
		}
	case chain.PhaseChanged:
		q.Filter = websystem.UpdatedBetween(cur.ChangedFrom, l.Now().Add(updatedOpenEnd))
	case chain.PhaseChangedCanceled:
		q.Status = websystem.StatusCanceled
		q.Filter = websystem.UpdatedBetween(cur.ChangedFrom, l.Now().Add(updatedOpenEnd))
	case chain.PhaseCanceled:
		q.Status = websystem.StatusCanceled
		q.Filter = websystem.CreatedBetween(cur.SliceFrom, cur.SliceTo)
	case chain.PhaseReconcile:
		q.Status = websystem.StatusOpen // no dates: the whole open list
	default: // main
		if cur.Mode == chain.ModeFull {
			q.Filter = websystem.CreatedBetween(cur.SliceFrom, cur.SliceTo)
		} else {
			q.Filter = websystem.UpdatedBetween(cur.WindowFrom, l.Now().Add(updatedOpenEnd))
		}
	}
	return q
}

// describe says what failed without the web system's message text (it may
// quote what it was sent; CONTRACT section 2): for a refusal, the status, the
// error_code and what to fix.
func describe(err error) string {
	var e *websystem.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.Kind != websystem.KindStatus {
		return fmt.Sprintf("web system %s: %s", e.Op, e.Kind)
	}
	s := fmt.Sprintf("web system answered %d %s to %s", e.Status, http.StatusText(e.Status), e.Op)
	if e.Code != 0 {
		s += fmt.Sprintf(" (error_code %d)", e.Code)
	}
	switch {
	case e.Status == http.StatusUnauthorized:
		s += ": the session is no longer valid; the next scheduled run logs in again"
	case e.Status == http.StatusForbidden:
		s += ": the user lacks the Tickets licence or the permission to view tickets it is not responsible for; grant them in Tiflux (Configurações) or use another user"
	case e.Status == http.StatusNotFound:
		s += ": check WEB_BASE_URL and WEB_TICKETS_PATH"
	case e.Status == http.StatusUnprocessableEntity:
		s += ": the web system refused a parameter; check PAGE_LIMIT (1..200) and WINDOW_DAYS"
	case e.Status >= 400 && e.Status < 500:
		s += ": the request can never succeed as sent; check WEB_BASE_URL and the WEB_*_PATH settings"
	}
	return s
}

// giveUp records a permanent failure and publishes load-finished (failed).
func (l *Loader) giveUp(ctx context.Context, log *slog.Logger, m chain.SessionReady, run *chain.Run, cur *chain.Cursor, cause error) error {
	if cur == nil {
		cur = &chain.Cursor{Mode: m.Mode, Totals: chain.Totals{Requests: m.LoginRequests}}
		if run != nil {
			cur.Mode, cur.WindowFrom, cur.WindowTo, cur.StartedAt = run.Mode, run.WindowFrom, run.WindowTo, run.StartedAt
		}
	}
	return l.finish(ctx, log, m, cur, chain.OutcomeFailed, cause.Error())
}

// finish records the session's end and publishes load-finished. When the
// publish fails, the event is retried; the retry finds the run finished and
// publishes load-finished again (Handle).
func (l *Loader) finish(ctx context.Context, log *slog.Logger, m chain.SessionReady, cur *chain.Cursor, outcome chain.Outcome, reason string) error {
	if err := l.record(ctx, m, cur, outcome, reason); err != nil {
		return err
	}
	if err := l.publishFinished(ctx, m, outcome, cur.Totals, reason); err != nil {
		return err
	}
	attrs := []any{"event", "sync.finished", "outcome", outcome, "mode", cur.Mode,
		"tickets", cur.Totals.Tickets, "inserted", cur.Totals.Inserted, "updated", cur.Totals.Updated,
		"pages", cur.Totals.Pages, "requests", cur.Totals.Requests, "rejected", cur.Totals.Rejected,
		"field_errors", cur.Totals.FieldErrors, "reconciled", cur.Totals.Reconciled}
	if outcome == chain.OutcomeOK {
		log.Info("load finished", attrs...)
	} else {
		log.Error("load failed: "+reason, attrs...)
	}
	return nil
}

// publishFinished publishes the session's load-finished message.
func (l *Loader) publishFinished(ctx context.Context, m chain.SessionReady, outcome chain.Outcome, t chain.Totals, reason string) error {
	msg, err := chain.EncodeLoadFinished(chain.LoadFinished{SessionID: m.SessionID, TokenSealed: m.TokenSealed,
		Auth: m.Auth, Outcome: outcome, Tickets: t.Tickets, Inserted: t.Inserted,
		Updated: t.Updated, Error: reason})
	if err != nil {
		return fmt.Errorf("encode load-finished: %w", err)
	}
	if _, err := l.Bus.Publish(ctx, l.TopicLoadFinished, msg); err != nil {
		return fmt.Errorf("publish load-finished: %w", err)
	}
	return nil
}

// record writes the session's run as cur has it.
func (l *Loader) record(ctx context.Context, m chain.SessionReady, cur *chain.Cursor, outcome chain.Outcome, reason string) error {
	r := chain.Run{SessionID: m.SessionID, Auth: m.Auth, Mode: cur.Mode,
		WindowFrom: cur.WindowFrom, WindowTo: cur.WindowTo, StartedAt: cur.StartedAt,
		Totals: cur.Totals, Outcome: outcome, Error: reason}
	if r.StartedAt.IsZero() {
		r.StartedAt = l.Now().UTC()
	}
	if outcome != chain.OutcomeRunning {
		r.FinishedAt = l.Now().UTC()
	}
	if err := l.Runs.RecordRun(ctx, r); err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	return nil
}
