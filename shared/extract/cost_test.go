package extract_test

import (
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/extract"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// The request cost at 20 000 tickets (issue 10), in the fast tier: a first
// full pull, an incremental one after 1 % of the tickets were updated and
// 1 % closed, canceled or deleted silently, then a second full pull. Each
// ends with the table equal to the web system. The canceled passes and the
// reconciliation may add at most the open list's pages, the canceled
// tickets' pages and one request per ghost (a ticket the table held as
// aberto that the open list no longer shows), plus one page per pass that
// ends on a full page. The figures go to the log (go test -run
// TestRequestCost -v ./shared/extract/).
func TestRequestCost(t *testing.T) {
	if testing.Short() {
		t.Skip("20 000 tickets: seconds, not milliseconds")
	}
	const n, limit = 20000, 200
	w := mustFastWorld(t, websim.Options{Tickets: n, Days: 170, Seed: 18}, nil, func(l *extract.Loader) {
		l.PageLimit, l.Concurrency = limit, 8
	})
	pages := func(k int) int { return k/limit + 1 }
	counts := func() (open, canceled int) {
		for _, f := range w.sim.Truth() {
			switch f.Situacao {
			case tickets.SituacaoAberto:
				open++
			case tickets.SituacaoCancelado:
				canceled++
			}
		}
		return open, canceled
	}
	// An incremental pull cannot see a ticket the table holds as fechado or
	// cancelado that was reopened and deleted since (no list shows it, and
	// the open list's reconciliation reads only tickets held as aberto); the
	// next full pull corrects it (TestFullPullFindsDeletedClosedTickets).
	left := 0
	leftToFull := func(name string) {
		t.Helper()
		got := w.table.Situacoes()
		left = 0
		for _, f := range w.sim.Truth() {
			sit, ok := got[f.Number]
			switch {
			case !ok && f.Situacao != tickets.SituacaoExcluido:
				t.Errorf("%s: ticket %d has no row", name, f.Number)
			case ok && sit != f.Situacao && f.Situacao == tickets.SituacaoExcluido && sit != tickets.SituacaoAberto:
				left++
			case ok && sit != f.Situacao:
				t.Errorf("%s: ticket %d situacao: got %q, want %q", name, f.Number, sit, f.Situacao)
			}
		}
		t.Logf("%s: %d deleted tickets held as fechado or cancelado, left to the next full pull", name, left)
	}
	session := func(name string, mode chain.Mode, ghosts int) {
		t.Helper()
		k0, r0 := w.byKind(), w.requests()
		m := w.session(t, mode)
		fin, _ := w.drive(t, m, nil)
		if fin.Outcome != chain.OutcomeOK {
			t.Fatalf("%s: outcome %q (%s), want ok", name, fin.Outcome, fin.Error)
		}
		if mode == chain.ModeFull {
			w.wantTableIs(t)
		} else {
			leftToFull(name)
		}
		k := w.byKind()
		for kind := range k {
			k[kind] -= k0[kind]
		}
		open, canceled := counts()
		goal := pages(open) + pages(canceled) + ghosts
		extra := k["open"] + k["created-canceled"] + k["one"]
		t.Logf("%s: %d requests: created %d, changed %d, changed-canceled %d, created-canceled %d, open %d, by number %d; "+
			"canceled pass + reconciliation %d (goal ≤ %d: open %d → %d pages, canceled %d → %d pages, ghosts %d)",
			name, w.requests()-r0, k["created"], k["changed"], k["changed-canceled"], k["created-canceled"], k["open"], k["one"],
			extra, goal, open, pages(open), canceled, pages(canceled), ghosts)
		if extra > goal {
			t.Errorf("%s: canceled pass and reconciliation sent %d requests, want ≤ %d", name, extra, goal)
		}
	}

	session("full (first)", chain.ModeFull, 0)
	t.Logf("the window's data needs %d pages", pages(n))

	touched := w.sim.Touch(0.01)
	closed, canceled, deleted := w.sim.Silent(0.01)
	t.Logf("between: %d updated; %d closed, %d canceled, %d deleted silently", touched, closed, canceled, deleted)
	session("incremental", chain.ModeIncremental, closed+deleted)

	w.sim.Touch(0.01)
	session("full (second)", chain.ModeFull, left) // those the incremental left are read by number
}
