package extract_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/extract"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// mustOK drives a session of the given mode to its end and fails unless ok.
func (w *world) mustOK(t *testing.T, mode chain.Mode) (chain.SessionReady, chain.LoadFinished) {
	t.Helper()
	m := w.session(t, mode)
	fin, _ := w.drive(t, m, nil)
	if fin.Outcome != chain.OutcomeOK {
		t.Fatalf("%s session: got %q (%s), want ok", mode, fin.Outcome, fin.Error)
	}
	return m, fin
}

// numbers picks up to k tickets of state for which keep holds, in list order.
func numbers(state []tickets.Ticket, k int, keep func(tickets.Ticket) bool) []int64 {
	var out []int64
	for _, t := range state {
		if len(out) == k {
			break
		}
		if keep(t) {
			out = append(out, *t.Number)
		}
	}
	return out
}

func isOpen(t tickets.Ticket) bool { return t.IsClosed != nil && !*t.IsClosed }

// A full pull reads what changed since the previous successful pull began,
// also tickets created before its window: neither an update made before an
// incremental run's successor nor one to an old ticket is lost to a full pull.
func TestNoUpdateLostToFullPull(t *testing.T) {
	w := mustWorld(t, websim.Options{Tickets: 600, Days: 30, Seed: 11}, func(l *extract.Loader) {
		l.WindowDays = 60
	})
	w.mustOK(t, chain.ModeFull)
	w.wantTableIs(t, w.truth())

	w.sim.Touch(0.05)
	w.mustOK(t, chain.ModeIncremental)
	touched := w.sim.Touch(0.2) // between the incremental and the full pull
	// The next full pull's window holds the last 10 days only: most touched
	// tickets were created before it.
	w.loader.WindowDays = 10
	m, fin := w.mustOK(t, chain.ModeFull)

	if r := w.run(t, m.SessionID); r.Mode != chain.ModeFull {
		t.Errorf("mode: got %q, want full", r.Mode)
	}
	if fin.Updated < int64(touched) {
		t.Errorf("load-finished updated: got %d, want at least the %d tickets touched", fin.Updated, touched)
	}
	w.wantTableIs(t, w.truth())
}

// The canceled pass (filter_by=canceled, which the list under filter_by=all
// may leave out) stores canceled tickets as cancelado in every mode.
func TestCanceledPass(t *testing.T) {
	w := mustWorld(t, websim.Options{Tickets: 500, Seed: 12}, nil)
	canceled := numbers(simTickets(w.sim), 20, isOpen)
	w.ov.mu.Lock()
	for _, n := range canceled {
		w.ov.canceled[n] = true
	}
	w.ov.mu.Unlock()

	w.mustOK(t, chain.ModeFull)

	w.wantTableIs(t, w.truth())
	sit := w.situacoes(t)
	for _, n := range canceled {
		if sit[n] != tickets.SituacaoCancelado {
			t.Errorf("ticket %d canceled in the web system: got situacao %q, want cancelado", n, sit[n])
		}
	}

	t.Run("Incremental", func(t *testing.T) {
		// Canceled after the first pull, without a new updated_at: the
		// incremental pull's canceled pass finds them. (Needs the MERGE rule
		// of part "tickets": same updated_at, another situacao replaces.)
		later := numbers(w.truth(), 10, func(tk tickets.Ticket) bool { return isOpen(tk) && !w.ov.canceled[*tk.Number] })
		w.ov.mu.Lock()
		for _, n := range later {
			w.ov.canceled[n] = true
		}
		w.ov.mu.Unlock()
		m, _ := w.mustOK(t, chain.ModeIncremental)
		if r := w.run(t, m.SessionID); r.Mode != chain.ModeIncremental {
			t.Errorf("mode: got %q, want incremental", r.Mode)
		}
		w.wantSituacao(t, nil)
	})
}

// Tickets the table holds as aberto that the system closed, canceled or
// deleted without a new updated_at are corrected by the next pull's
// reconciliation, and counted in reconciled.
func TestReconciliation(t *testing.T) {
	w := mustWorld(t, websim.Options{Tickets: 800, Seed: 13}, func(l *extract.Loader) { l.PageLimit = 100 })
	w.mustOK(t, chain.ModeFull)
	state := simTickets(w.sim)
	// Ghosts only the reconciliation can find: open tickets updated before
	// the incremental pull's changed window (the previous start less
	// Loader.Overlap). websim generates tickets updated up to its start, and
	// Truth lists the newest first; a ticket updated inside that window is
	// read again by the incremental pass itself, which stages it closed and
	// corrects it through the MERGE (same updated_at, another situacao): not
	// a ghost, so not counted in reconciled. websim's times follow the wall
	// clock: seed 13 drew one or two such tickets among the first 25 open
	// ones, so "got 24, want 25" was this test's choice, not a loss
	// (ClosedSilently checked they were stored fechado).
	cut := time.Now().Add(-w.loader.Overlap - time.Hour)
	open := numbers(state, 25, func(tk tickets.Ticket) bool {
		return isOpen(tk) && mustTime(*tk.UpdatedAt).Before(cut)
	})
	if len(open) != 25 {
		t.Fatalf("open tickets updated before %s: got %d, want 25", cut.Format(time.RFC3339), len(open))
	}
	closed, deleted := open[:10], open[10:25]
	w.ov.mu.Lock()
	for _, n := range closed {
		w.ov.closed[n] = true
	}
	for _, n := range deleted {
		w.ov.deleted[n] = true
	}
	w.ov.mu.Unlock()
	before := w.ticketRequests()

	m, _ := w.mustOK(t, chain.ModeIncremental)

	r := w.run(t, m.SessionID)
	reqs := w.ticketRequests() - before
	t.Logf("incremental with reconciliation: %d requests (%d ghosts read by number), %d pages", reqs, len(open), r.Pages)
	if want := int64(len(open)); r.Reconciled != want {
		t.Errorf("run reconciled: got %d, want %d", r.Reconciled, want)
	}
	set := func(ns []int64) map[int64]bool {
		m := map[int64]bool{}
		for _, n := range ns {
			m[n] = true
		}
		return m
	}
	t.Run("Deleted", func(t *testing.T) {
		w.wantSituacao(t, set(deleted))
		sit := w.situacoes(t)
		for _, n := range deleted {
			if sit[n] != tickets.SituacaoExcluido {
				t.Errorf("deleted ticket %d: got situacao %q, want excluido", n, sit[n])
			}
		}
	})
	t.Run("ClosedSilently", func(t *testing.T) {
		// Needs the MERGE rule of part "tickets": same updated_at, another
		// situacao replaces the row.
		w.wantSituacao(t, set(closed))
	})
	t.Run("Redelivered", func(t *testing.T) {
		// The same last chunk again changes nothing and reads nothing.
		rows := w.countRows(t)
		if err := w.loader.Handle(context.Background(), m, time.Now()); err != nil {
			t.Fatalf("Handle again: %v", err)
		}
		if got := w.countRows(t); got != rows {
			t.Errorf("rows: got %d, want %d", got, rows)
		}
		w.wantSituacao(t, set(deleted))
	})
}

// A ticket the table holds as fechado or cancelado that the system then
// deletes shows in no list: the open list's reconciliation cannot see it
// (it reads only tickets held as aberto), so an incremental pull leaves it;
// the next full pull, which lists its whole window, reads the tickets of the
// window no list showed by number and marks them excluido. (websim's churn
// made such a ticket: closed, read fechado, reopened and deleted before any
// pull saw it reopened.)
func TestFullPullFindsDeletedClosedTickets(t *testing.T) {
	w := mustWorld(t, websim.Options{Tickets: 600, Seed: 21}, func(l *extract.Loader) { l.PageLimit = 100 })
	w.mustOK(t, chain.ModeFull)
	_, sit := w.ov.truth(simTickets(w.sim))
	var gone []int64
	for _, n := range numbers(simTickets(w.sim), 600, func(tk tickets.Ticket) bool { return !isOpen(tk) }) {
		if len(gone) < 8 && (sit[n] == tickets.SituacaoFechado || sit[n] == tickets.SituacaoCancelado) {
			gone = append(gone, n)
		}
	}
	if len(gone) != 8 {
		t.Fatalf("closed or canceled tickets: got %d, want 8", len(gone))
	}
	w.ov.mu.Lock()
	for _, n := range gone {
		w.ov.deleted[n] = true
	}
	w.ov.mu.Unlock()
	held := func() (excluido int) {
		s := w.situacoes(t)
		for _, n := range gone {
			if s[n] == tickets.SituacaoExcluido {
				excluido++
			}
		}
		return excluido
	}

	w.mustOK(t, chain.ModeIncremental)
	if got := held(); got != 0 {
		t.Errorf("after an incremental pull: %d of the deleted closed tickets excluido; want 0 (no list shows them, none is held aberto)", got)
	}

	before := w.ov.byKind()["one"]
	m, _ := w.mustOK(t, chain.ModeFull)
	if got := held(); got != len(gone) {
		t.Errorf("after the next full pull: %d of %d deleted closed tickets excluido, want all", got, len(gone))
	}
	r := w.run(t, m.SessionID)
	if r.Reconciled != int64(len(gone)) {
		t.Errorf("full pull reconciled: got %d, want %d", r.Reconciled, len(gone))
	}
	// Only the tickets no list showed are read by number.
	if one := w.ov.byKind()["one"] - before; one != len(gone) {
		t.Errorf("one-ticket requests: got %d, want %d", one, len(gone))
	}
	_, want := w.ov.truth(simTickets(w.sim))
	got := w.situacoes(t)
	for n, s := range want {
		if got[n] != s {
			t.Errorf("ticket %d: situacao %q, want %q", n, got[n], s)
		}
	}
}

// An unstable order (an updated ticket jumps to the end, the rest move up a
// page) with tickets changing while the pull pages: X-Total-Items shows the
// passes that skipped tickets, and re-reading them leaves none missing.
func TestUnstableOrder(t *testing.T) {
	for _, c := range []struct {
		name    string
		tickets int
		budget  time.Duration
	}{
		{"OneChunk", 1000, 5 * time.Minute},
		{"OnePagePerChunk", 500, time.Nanosecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := mustWorld(t, websim.Options{Tickets: c.tickets, Seed: 14}, func(l *extract.Loader) {
				l.PageLimit, l.ChunkBudget = 100, c.budget
			})
			w.ov.unstable = true
			before := byNumber(t, w.truth())
			w.sim.SetFaults(0, 0.003, 0)

			fin, chunks := w.drive(t, w.session(t, chain.ModeFull), nil)

			w.sim.SetFaults(0, 0, 0)
			end, prev := w.endStates(t)
			st := w.sim.Stats()
			t.Logf("churn: %d created, %d updated; %d ticket requests, %d chunks; re-reads logged: %d",
				st.TicketsCreated, st.TicketsUpdated, w.ticketRequests(), chunks, strings.Count(w.logs.String(), "sync.reread"))
			if fin.Outcome != chain.OutcomeOK {
				t.Fatalf("outcome: got %q (%s), want ok", fin.Outcome, fin.Error)
			}
			if !strings.Contains(w.logs.String(), "sync.reread") {
				t.Errorf("no pass was read again; want the unstable order to show in X-Total-Items")
			}
			table := w.table(t)
			for n, got := range table {
				if want, ok := end[n]; ok && !got.Equal(want) && !got.Equal(prev[n]) {
					t.Logf("ticket %d: table has updated_at %v, the web system %v (at its start: %v)", n, got, want, before[n])
				}
			}
			missing, stale := compare(table, before, end, prev)
			if missing != 0 || stale != 0 {
				t.Errorf("after the pull: got %d missing (of %d there at its start), %d stale; want 0, 0", missing, len(before), stale)
			}
		})
	}
}
