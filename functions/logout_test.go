package functions

import (
	"context"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// mustToken logs in to the simulated system and returns a live session token.
func (w *world) mustToken(t *testing.T) string {
	t.Helper()
	c := websystem.New(w.simURL, websystem.Paths{}, nil, websystem.Options{})
	tmp, err := c.StartLogin(context.Background(), testEmail, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	code, _, _ := w.sim.LastCode()
	tok, err := c.FinishLogin(context.Background(), tmp, code)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (w *world) loadFinished(t *testing.T, id string, auth chain.Auth, token string) chain.Message {
	t.Helper()
	sealed, err := w.sealer.Seal(token, id)
	if err != nil {
		t.Fatal(err)
	}
	m, err := chain.EncodeLoadFinished(chain.LoadFinished{SessionID: id, TokenSealed: sealed, Auth: auth, Outcome: chain.OutcomeOK})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mustRun writes a finished run of the session to sync_runs, as ExtractLoad
// does before it publishes load-finished.
func (w *world) mustRun(t *testing.T, wh *warehouse.Warehouse, id string, requests int64) {
	t.Helper()
	now := time.Now().UTC()
	if err := wh.RecordRun(context.Background(), chain.Run{SessionID: id, Auth: chain.AuthOTP, Mode: chain.ModeFull,
		StartedAt: now.Add(-time.Minute), FinishedAt: now, Totals: chain.Totals{Requests: requests}, Outcome: chain.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
}

// Logout ends the session and adds its request to the run's requests; a
// redelivery sends nothing (the run is logged out) and adds nothing.
func TestLogout(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	wh := w.mustWarehouse(t)
	const id = "sess-logout-1"
	msg := w.loadFinished(t, id, chain.AuthOTP, w.mustToken(t))
	w.mustRun(t, wh, id, 10)

	first := deliver(t, "Logout", "load-finished", msg, time.Now())
	again := deliver(t, "Logout", "load-finished", msg, time.Now())

	if first != 200 || again != 200 {
		t.Fatalf("got %d then %d, want 200 twice (a redelivery of an ended session is done, not an error)", first, again)
	}
	st := w.sim.Stats()
	if st.Logouts != 1 || st.ActiveSessions != 0 || st.Requests["logout"] != 1 {
		t.Errorf("got %d logouts, %d logout requests and %d live sessions, want 1, 1 and 0", st.Logouts, st.Requests["logout"], st.ActiveSessions)
	}
	run, err := wh.Run(context.Background(), id)
	if err != nil || run == nil || run.Requests != 11 || run.LoggedOutAt.IsZero() {
		t.Errorf("got run %+v (%v), want 10 + 1 requests and logged_out_at set", run, err)
	}
}

func TestLogoutDoesNothing(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	w.mustWarehouse(t)
	token := w.mustToken(t)
	tests := []struct {
		name      string
		msg       chain.Message
		published time.Time
	}{
		{"APIToken", w.loadFinished(t, "sess-api", chain.AuthAPIToken, "Bearer "+testAPIToken), time.Now()},
		{"TooOld", w.loadFinished(t, "sess-old", chain.AuthOTP, token), time.Now().Add(-2 * time.Hour)},
		{"Malformed", chain.Message{Data: []byte(`{"session_id":`), Attributes: map[string]string{"event": "load.finished"}}, time.Now()},
		{"OtherSessionSeal", func() chain.Message {
			m := w.loadFinished(t, "sess-a", chain.AuthOTP, token)
			m.Data = []byte(`{"session_id":"sess-b","token_sealed":"AAAA","auth":"otp","outcome":"ok"}`)
			m.Attributes["session_id"] = "sess-b"
			return m
		}(), time.Now()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.sim.Stats().Requests["logout"]

			status := deliver(t, "Logout", "load-finished", tt.msg, tt.published)

			if status != 200 {
				t.Errorf("got %d, want 200 (nothing to retry)", status)
			}
			if got := w.sim.Stats().Requests["logout"] - before; got != 0 {
				t.Errorf("sent %d logout requests, want 0", got)
			}
		})
	}
}

// A Logout the web system fails is retried; the failed attempt's requests
// (each try) count in sync_runs as well as the redelivery's.
func TestLogoutRetriesWhenTheWebSystemFails(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	wh := w.mustWarehouse(t)
	const id = "sess-fail"
	msg := w.loadFinished(t, id, chain.AuthOTP, w.mustToken(t))
	w.mustRun(t, wh, id, 10)
	w.sim.SetFaults(1, 0, 0)

	status := deliver(t, "Logout", "load-finished", msg, time.Now())

	if status/100 == 2 {
		t.Fatalf("got %d, want a non-2xx so Eventarc redelivers", status)
	}
	w.sim.SetFaults(0, 0, 0)
	if status := deliver(t, "Logout", "load-finished", msg, time.Now()); status != 200 || w.sim.Stats().Logouts != 1 {
		t.Errorf("redelivery: got %d and %d logouts, want 200 and 1", status, w.sim.Stats().Logouts)
	}
	sent := int64(w.sim.Stats().Requests["logout"])
	run, err := wh.Run(context.Background(), id)
	if err != nil || run == nil || sent < 2 || run.Requests != 10+sent || run.LoggedOutAt.IsZero() {
		t.Errorf("got run %+v (%v); want 10 + the %d logout requests the web system saw, logged_out_at set", run, err, sent)
	}
}
