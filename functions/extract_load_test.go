package functions

import (
	"context"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

func (w *world) sessionReady(t *testing.T, id string) chain.Message {
	t.Helper()
	sealed, err := w.sealer.Seal("Bearer "+testAPIToken, id)
	if err != nil {
		t.Fatal(err)
	}
	m, err := chain.EncodeSessionReady(chain.SessionReady{SessionID: id, TokenSealed: sealed,
		Auth: chain.AuthAPIToken, Mode: chain.ModeAuto, RequestedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ExtractLoad, delivered as Eventarc delivers, loads the tickets once even
// when the same event comes twice; the second delivery pulls nothing and
// announces load-finished again, so a lost announcement never strands the
// session's logout (Logout is idempotent).
func TestExtractLoadOnceUnderRedelivery(t *testing.T) {
	w := mustWorld(t, websim.Options{Tickets: 450}, nil)
	wh := w.mustWarehouse(t)
	msg := w.sessionReady(t, "0190e000-aaaa-7000-8000-000000000002")

	first := deliver(t, "ExtractLoad", "session-ready", msg, time.Now())
	pulled := w.sim.Stats().Requests["tickets"]
	second := deliver(t, "ExtractLoad", "session-ready", msg, time.Now())

	if first != 200 || second != 200 {
		t.Fatalf("got %d then %d, want 200 twice", first, second)
	}
	n, err := wh.CountRows(context.Background())
	if err != nil || n != 450 {
		t.Errorf("got %d rows (%v), want 450", n, err)
	}
	done := w.messages("load-finished")
	if len(done) != 2 {
		t.Fatalf("got %d load-finished messages, want 2 (one per delivery)", len(done))
	}
	for _, d := range done {
		fin, err := chain.DecodeLoadFinished(chain.Message{Data: d.Data, Attributes: d.Attributes})
		if err != nil || fin.Outcome != chain.OutcomeOK || fin.Tickets != 450 || fin.Inserted != 450 {
			t.Errorf("got %+v (%v), want ok with 450 tickets inserted", fin, err)
		}
	}
	if got := w.sim.Stats().Requests["tickets"]; got != pulled {
		t.Errorf("the web system served %d ticket pages, %d of them to the redelivery; it must not pull again", got, got-pulled)
	}
}

func TestExtractLoadRetriesTransientFailures(t *testing.T) {
	w := mustWorld(t, websim.Options{Tickets: 50}, nil)
	w.mustWarehouse(t)
	msg := w.sessionReady(t, "0190e000-bbbb-7000-8000-000000000003")
	w.sim.SetFaults(1, 0, 0)

	status := deliver(t, "ExtractLoad", "session-ready", msg, time.Now())

	if status/100 == 2 || len(w.messages("load-finished")) != 0 {
		t.Fatalf("got %d and %d load-finished; want a non-2xx (redeliver) and none", status, len(w.messages("load-finished")))
	}
	w.sim.SetFaults(0, 0, 0)
	if status := deliver(t, "ExtractLoad", "session-ready", msg, time.Now()); status != 200 || len(w.messages("load-finished")) != 1 {
		t.Errorf("redelivery: got %d and %d load-finished, want 200 and 1", status, len(w.messages("load-finished")))
	}
}

func TestExtractLoadGivesUpOldEvents(t *testing.T) {
	w := mustWorld(t, websim.Options{Tickets: 50}, nil)
	w.mustWarehouse(t)
	msg := w.sessionReady(t, "0190e000-cccc-7000-8000-000000000004")

	status := deliver(t, "ExtractLoad", "session-ready", msg, time.Now().Add(-3*time.Hour))

	done := w.messages("load-finished")
	if status != 200 || len(done) != 1 {
		t.Fatalf("got %d and %d load-finished, want 200 and 1", status, len(done))
	}
	fin, _ := chain.DecodeLoadFinished(chain.Message{Data: done[0].Data, Attributes: done[0].Attributes})
	if fin.Outcome != chain.OutcomeFailed || w.sim.Stats().Requests["tickets"] != 0 {
		t.Errorf("got outcome %q after %d ticket requests, want failed without paging", fin.Outcome, w.sim.Stats().Requests["tickets"])
	}
}
