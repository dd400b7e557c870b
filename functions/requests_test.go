package functions

import (
	"context"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

// lastMessage returns the newest chain message published on topic.
func (w *world) lastMessage(t *testing.T, topic string) chain.Message {
	t.Helper()
	msgs := w.messages(topic)
	if len(msgs) == 0 {
		t.Fatalf("nothing published on %s", topic)
	}
	m := msgs[len(msgs)-1]
	return chain.Message{Data: m.Data, Attributes: m.Attributes}
}

// simRequests is the web system's own count of the requests it received.
func (w *world) simRequests() int64 {
	var n int64
	for _, c := range w.sim.Stats().Requests {
		n += int64(c)
	}
	return n
}

// After a whole session through the four functions, sync_runs.requests is
// the web system's own count of the session's requests: login, code, list
// pages, logout, retries of each included (CONTRACT sections 6 and 7). A
// redelivered Logout, and a redelivered session-ready of the finished
// session (which announces load-finished again), send nothing more and add
// nothing.
func TestSyncRunsRequestsEqualsTheWebSystemsCountForTheWholeSession(t *testing.T) {
	tests := []struct {
		name      string
		sim       websim.Options
		env       map[string]string
		auth      chain.Auth
		loggedOut bool
	}{
		{"OTPWithRetries", websim.Options{Tickets: 450, FaultRate: 0.25, Seed: 29}, nil, chain.AuthOTP, true},
		{"APIToken", websim.Options{Tickets: 450}, map[string]string{"WEB_API_TOKEN": testAPIToken,
			"WEB_EMAIL": "", "WEB_PASSWORD": ""}, chain.AuthAPIToken, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWorld(t, tt.sim, tt.env)
			wh := w.mustWarehouse(t)
			ctx := context.Background()

			a := post(t, "/StartLogin", []byte(`{"mode":"full"}`), nil)
			if a.status != 202 {
				t.Fatalf("StartLogin: %d %v", a.status, a.body)
			}
			id := a.body["session_id"].(string)
			if tt.auth == chain.AuthOTP {
				code, _, _ := w.sim.LastCode()
				if a := w.postCode(t, code, time.Now()); a.status != 200 {
					t.Fatalf("CompleteLogin: %d %v", a.status, a.body)
				}
			}
			ready := w.lastMessage(t, "session-ready")
			if s := deliver(t, "ExtractLoad", "session-ready", ready, time.Now()); s != 200 {
				t.Fatalf("ExtractLoad: %d", s)
			}
			if s := deliver(t, "Logout", "load-finished", w.lastMessage(t, "load-finished"), time.Now()); s != 200 {
				t.Fatalf("Logout: %d", s)
			}
			want := w.simRequests()

			run, err := wh.Run(ctx, id)
			if err != nil || run == nil {
				t.Fatalf("sync_runs row: %+v, %v", run, err)
			}
			if run.Requests != want {
				t.Errorf("sync_runs.requests: got %d, want %d (the web system's count: %v)", run.Requests, want, w.sim.Stats().Requests)
			}
			if got := !run.LoggedOutAt.IsZero(); got != tt.loggedOut || w.sim.Stats().ActiveSessions != 0 {
				t.Errorf("logged_out_at set: got %v, want %v; live sessions %d, want 0", got, tt.loggedOut, w.sim.Stats().ActiveSessions)
			}
			if tt.sim.FaultRate > 0 && w.sim.Stats().Faults == 0 {
				t.Error("no request failed: the retries this case is about never happened")
			}

			// Redeliveries: Logout again, and session-ready of the finished
			// session, whose new load-finished goes to Logout too.
			if s := deliver(t, "Logout", "load-finished", w.lastMessage(t, "load-finished"), time.Now()); s != 200 {
				t.Fatalf("Logout redelivered: %d", s)
			}
			if s := deliver(t, "ExtractLoad", "session-ready", ready, time.Now()); s != 200 {
				t.Fatalf("ExtractLoad redelivered: %d", s)
			}
			if s := deliver(t, "Logout", "load-finished", w.lastMessage(t, "load-finished"), time.Now()); s != 200 {
				t.Fatalf("Logout after the redelivered session-ready: %d", s)
			}
			again, err := wh.Run(ctx, id)
			if err != nil || again == nil {
				t.Fatalf("sync_runs row: %+v, %v", again, err)
			}
			if got := w.simRequests(); got != want || again.Requests != want {
				t.Errorf("after the redeliveries: the web system counts %d, sync_runs %d; want both still %d", got, again.Requests, want)
			}
		})
	}
}
