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
	"strings"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/logging"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/seal"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// Web is the part of the web-system client a load needs.
type Web interface {
	// Pages yields the pages of q from q.Page on, in order, until a short page.
	Pages(ctx context.Context, token string, q websystem.Query, concurrency int) iter.Seq2[*websystem.Page, error]
	// Stats counts the requests sent so far.
	Stats() websystem.Stats
}

// Store is the warehouse.
type Store interface {
	Stage(ctx context.Context, sessionID, step string) (*warehouse.Stager, error)
	Merge(ctx context.Context, sessionID, step string) (warehouse.MergeResult, error)
	RecordRun(ctx context.Context, r warehouse.Run) error
	Run(ctx context.Context, sessionID string) (*warehouse.Run, error)
	LastSuccessfulRun(ctx context.Context, mode string) (*warehouse.Run, error)
}

// Publisher puts a chain message on a topic.
type Publisher interface {
	Publish(ctx context.Context, topic string, m chain.Message) (string, error)
}

// Loader runs loads. Its fields are set once; Handle is called per event.
type Loader struct {
	Web    Web
	Store  Store
	Bus    Publisher
	Sealer *seal.Sealer

	WindowDays  int
	PageLimit   int
	FullRefresh time.Duration // auto mode: full when the last full pull started longer ago (minus 1 h)
	Overlap     time.Duration // incremental windows start this long before the last window's end
	MaxEventAge time.Duration // older events are given up
	ChunkBudget time.Duration // stop fetching after this long and continue in a new invocation
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

// Handle loads one chunk of m's session. It returns an error only for a
// failure worth retrying (the web system or BigQuery failing transiently);
// for a permanent failure or an event older than MaxEventAge it records the
// failure, publishes load-finished (failed) so Logout follows, and returns nil.
func (l *Loader) Handle(ctx context.Context, m chain.SessionReady, published time.Time) error {
	start := l.Now().UTC()
	log := l.Log.With("session_id", m.SessionID, "chunk", m.Chunk)

	run, err := l.Store.Run(ctx, m.SessionID)
	if err != nil {
		return fmt.Errorf("read run log: %w", err)
	}
	if run != nil && run.Outcome != "running" {
		log.Info("session already finished; nothing to do", "event", "sync.duplicate", "outcome", run.Outcome)
		return nil
	}
	if !published.IsZero() && start.Sub(published) > l.MaxEventAge {
		return l.giveUp(ctx, log, m, run, m.Cursor, fmt.Errorf("event is %s old, over MAX_EVENT_AGE_MINUTES", start.Sub(published).Round(time.Second)))
	}
	token, err := l.Sealer.Open(m.TokenSealed, m.SessionID)
	if err != nil {
		return l.giveUp(ctx, log, m, run, m.Cursor, errors.New("session token cannot be opened with TOKEN_SEAL_KEY"))
	}
	logging.Redact(l.Log, token, strings.TrimPrefix(token, "Bearer "))

	cur := m.Cursor
	if cur == nil {
		c, err := l.begin(ctx, log, m, start)
		if err != nil {
			return err
		}
		cur = c
	}
	log = log.With("mode", cur.Mode)

	res, err := l.chunk(ctx, log, m, cur, token, start)
	if err != nil {
		if permanent(err) {
			return l.giveUp(ctx, log, m, run, &res.next, err)
		}
		if !published.IsZero() && l.Now().Sub(published) > l.MaxEventAge {
			return l.giveUp(ctx, log, m, run, &res.next, err)
		}
		log.Warn("load failed; the event will be retried", "error", err)
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
		if err := l.record(ctx, m, &res.next, "running", ""); err != nil {
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
	var last *warehouse.Run
	if mode != chain.ModeFull {
		var err error
		last, err = l.Store.LastSuccessfulRun(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("read last run: %w", err)
		}
	}
	if mode == chain.ModeAuto {
		lastFull, err := l.Store.LastSuccessfulRun(ctx, string(chain.ModeFull))
		if err != nil {
			return nil, fmt.Errorf("read last full run: %w", err)
		}
		mode = chain.ModeIncremental
		if lastFull == nil || lastFull.StartedAt.Before(now.Add(-(l.FullRefresh - time.Hour))) {
			mode = chain.ModeFull
		}
	}
	if mode == chain.ModeIncremental && (last == nil || last.WindowTo.IsZero()) {
		log.Info("no successful run yet: pulling the full window instead")
		mode = chain.ModeFull
	}
	c := &chain.Cursor{Mode: mode, WindowTo: now, StartedAt: now, Phase: chain.PhaseMain, Page: 1}
	if mode == chain.ModeFull {
		c.WindowFrom = now.AddDate(0, 0, -l.WindowDays)
	} else {
		c.WindowFrom = last.WindowTo.Add(-l.Overlap)
	}
	if err := l.record(ctx, m, c, "running", ""); err != nil {
		return nil, err
	}
	log.Info("load started", "event", "sync.started", "mode", mode, "window_from", c.WindowFrom, "window_to", c.WindowTo)
	return c, nil
}

type chunkResult struct {
	next chain.Cursor // where the next chunk starts, with totals so far
	done bool
}

// chunk fetches from cur until the pull ends or the budget runs out, then
// loads and merges what it fetched.
func (l *Loader) chunk(ctx context.Context, log *slog.Logger, m chain.SessionReady, cur *chain.Cursor, token string, start time.Time) (chunkResult, error) {
	res := chunkResult{next: *cur}
	step := fmt.Sprintf("c%d", m.Chunk)
	stager, err := l.Store.Stage(ctx, m.SessionID, step)
	for retry := 1; err == nil && stager.Reused(); retry++ {
		// An earlier delivery of this chunk loaded (and may have merged) what
		// it read, but how far it read was lost with its continuation. This
		// delivery reads again from the cursor, maybe further, and its cursor
		// moves past all it reads, so its rows need a load of their own: an
		// attached load would drop them. Merging a ticket twice changes nothing.
		step = fmt.Sprintf("c%d_r%d", m.Chunk, retry)
		stager, err = l.Store.Stage(ctx, m.SessionID, step)
	}
	if err != nil {
		return res, fmt.Errorf("stage: %w", err)
	}
	before := l.Web.Stats()
	var t chain.Totals
	fetchErr := l.fetch(ctx, log, m.SessionID, token, start, stager, &res, &t)
	t.Requests = l.Web.Stats().Requests - before.Requests

	if fetchErr != nil && !permanent(fetchErr) {
		stager.Abort()
		res.next.Totals = cur.Totals.Add(t)
		return res, fetchErr
	}
	// A permanent failure (token expired) still loads what was fetched, whole:
	// the merge is one statement, so the table never holds half of it.
	staged, err := stager.Close(ctx)
	if err != nil {
		return res, fmt.Errorf("load staging: %w", err)
	}
	if staged > 0 {
		mr, err := l.Store.Merge(ctx, m.SessionID, step)
		if err != nil {
			return res, fmt.Errorf("merge: %w", err)
		}
		t.Inserted, t.Updated, t.Tickets = mr.Inserted, mr.Updated, mr.Tickets
	}
	res.next.Totals = cur.Totals.Add(t)
	log.Info("chunk merged", "staged", staged, "inserted", t.Inserted, "updated", t.Updated,
		"pages", t.Pages, "rejected", t.Rejected)
	return res, fetchErr
}

// fetch pages from cur into stager, advancing res.next.
//
// Each pass notes when the web system served its first page (its own clock,
// from the Date header, so our clock's skew does not matter); the sweep after
// it reads what changed since then, less sweepMargin for the header's whole
// seconds. Sweeps shrink, as each covers only the time its predecessor took,
// and the pull ends with one that fits on a page.
func (l *Loader) fetch(ctx context.Context, log *slog.Logger, sessionID, token string, start time.Time, stager *warehouse.Stager, res *chunkResult, t *chain.Totals) error {
	deadline := start.Add(l.ChunkBudget)
	next := &res.next
	for {
		fresh := next.Page == 1
		q := l.query(next)
		for page, err := range l.Web.Pages(ctx, token, q, l.Concurrency) {
			if err != nil {
				return err
			}
			if fresh {
				next.PassStart = page.ServerTime
				if next.PassStart.IsZero() {
					next.PassStart = l.Now().UTC()
				}
				fresh = false
			}
			t.Pages++
			t.Rejected += int64(page.Rejected)
			for _, tk := range page.Tickets {
				row, err := tickets.ToRow(tk, l.TimeZone, sessionID, start)
				if err != nil {
					t.Rejected++
					log.Warn("ticket rejected", "event", "ticket.rejected", "reason", err.Error())
					continue
				}
				if err := stager.Add(row); err != nil {
					return fmt.Errorf("stage row: %w", err)
				}
				t.Tickets++
			}
			next.Page++
			if page.Raw < q.Limit {
				break // the pass is over
			}
			if l.Now().After(deadline) {
				return nil // the next chunk goes on from next.Page
			}
		}
		// The pass is over. A sweep that fit on one page ends the pull: nothing
		// changed while it ran that it did not read.
		if next.Phase == chain.PhaseSweep && next.Page <= 2 {
			res.done = true
			return nil
		}
		if next.Sweeps >= maxSweeps {
			// Changes outpace the sweeps. Stop here: the next incremental run
			// starts its window before this pull's start and reads them.
			log.Warn("tickets change faster than the sweeps read them; the next run picks up the rest",
				"event", "sync.sweeps_capped", "sweeps", next.Sweeps)
			res.done = true
			return nil
		}
		next.Sweeps++
		next.Phase = chain.PhaseSweep
		next.SweepFrom = next.PassStart.Add(-sweepMargin)
		next.Page = 1
		if l.Now().After(deadline) {
			return nil
		}
	}
}

// maxSweeps bounds the sweeps of one pull, so that a system changing faster
// than it can be read does not keep a pull going forever.
const maxSweeps = 8

// sweepMargin covers the whole seconds of the Date header a pass's start is
// read from.
const sweepMargin = 2 * time.Second

// query is the ticket-list query of the pass cur is in.
func (l *Loader) query(cur *chain.Cursor) websystem.Query {
	q := websystem.Query{Page: cur.Page, Limit: l.PageLimit}
	switch {
	case cur.Phase == chain.PhaseSweep:
		q.Filter = websystem.UpdatedBetween(cur.SweepFrom, l.Now().Add(updatedOpenEnd))
	case cur.Mode == chain.ModeFull:
		q.Filter = websystem.CreatedBetween(cur.WindowFrom, cur.WindowTo)
	default:
		q.Filter = websystem.UpdatedBetween(cur.WindowFrom, l.Now().Add(updatedOpenEnd))
	}
	return q
}

// giveUp records a permanent failure and publishes load-finished (failed).
func (l *Loader) giveUp(ctx context.Context, log *slog.Logger, m chain.SessionReady, run *warehouse.Run, cur *chain.Cursor, cause error) error {
	if cur == nil {
		cur = &chain.Cursor{Mode: m.Mode}
		if run != nil {
			cur.Mode, cur.WindowFrom, cur.WindowTo, cur.StartedAt = chain.Mode(run.Mode), run.WindowFrom, run.WindowTo, run.StartedAt
		}
	}
	return l.finish(ctx, log, m, cur, chain.OutcomeFailed, cause.Error())
}

// finish records the session's end and publishes load-finished.
func (l *Loader) finish(ctx context.Context, log *slog.Logger, m chain.SessionReady, cur *chain.Cursor, outcome chain.Outcome, reason string) error {
	if err := l.record(ctx, m, cur, string(outcome), reason); err != nil {
		return err
	}
	msg, err := chain.EncodeLoadFinished(chain.LoadFinished{SessionID: m.SessionID, TokenSealed: m.TokenSealed,
		Auth: m.Auth, Outcome: outcome, Tickets: cur.Totals.Tickets, Inserted: cur.Totals.Inserted,
		Updated: cur.Totals.Updated, Error: reason})
	if err != nil {
		return fmt.Errorf("encode load-finished: %w", err)
	}
	if _, err := l.Bus.Publish(ctx, l.TopicLoadFinished, msg); err != nil {
		return fmt.Errorf("publish load-finished: %w", err)
	}
	attrs := []any{"event", "sync.finished", "outcome", outcome, "mode", cur.Mode,
		"tickets", cur.Totals.Tickets, "inserted", cur.Totals.Inserted, "updated", cur.Totals.Updated,
		"pages", cur.Totals.Pages, "requests", cur.Totals.Requests, "rejected", cur.Totals.Rejected}
	if outcome == chain.OutcomeOK {
		log.Info("load finished", attrs...)
	} else {
		log.Error("load failed: "+reason, attrs...)
	}
	return nil
}

func (l *Loader) record(ctx context.Context, m chain.SessionReady, cur *chain.Cursor, outcome, reason string) error {
	r := warehouse.Run{SessionID: m.SessionID, Auth: string(m.Auth), Mode: string(cur.Mode),
		WindowFrom: cur.WindowFrom, WindowTo: cur.WindowTo, StartedAt: cur.StartedAt,
		Pages: cur.Totals.Pages, Requests: cur.Totals.Requests, Tickets: cur.Totals.Tickets,
		Rejected: cur.Totals.Rejected, Inserted: cur.Totals.Inserted, Updated: cur.Totals.Updated,
		Outcome: outcome, Error: reason}
	if r.StartedAt.IsZero() {
		r.StartedAt = l.Now().UTC()
	}
	if outcome != "running" {
		r.FinishedAt = l.Now().UTC()
	}
	if err := l.Store.RecordRun(ctx, r); err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	return nil
}

// permanent reports whether err can never succeed on retry: the web session
// is gone (401), so only a new login helps.
func permanent(err error) bool { return errors.Is(err, websystem.ErrUnauthorized) }
