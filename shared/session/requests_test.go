package session_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/session"
)

// lastOn decodes the newest message published on topic with decode.
func lastOn[T any](t *testing.T, w *world, topic string, decode func(chain.Message) (T, error)) T {
	t.Helper()
	var last *chain.Message
	for _, m := range w.bus.Server.Messages() {
		if strings.HasSuffix(m.Topic, "/topics/"+topic) {
			last = &chain.Message{Data: m.Data, Attributes: m.Attributes}
		}
	}
	if last == nil {
		t.Fatalf("nothing published on %s", topic)
	}
	v, err := decode(*last)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The login's requests, retries included, travel with the session: the
// pending login carries the login POST's tries, session-ready adds the code
// exchange's, each as the web system counted them.
func TestLoginRequestsTravelFromStartToSessionReady(t *testing.T) {
	// Seed 29 at a 25 % fault rate fails the first login and the first code
	// exchange once each (checked below), so retries are in the count.
	w := mustWorld(t, websim.Options{FaultRate: 0.25, Seed: 29})
	id, code := w.mustStart(t)

	pending := lastOn(t, w, "login-pending", chain.DecodeLoginPending)
	logins := int64(w.sim.Stats().Requests["login"])
	if pending.LoginRequests != logins || logins < 2 {
		t.Errorf("login-pending: got %d login requests, want the web system's %d (2 or more: a retry)", pending.LoginRequests, logins)
	}

	if _, err := w.completer.Complete(context.Background(), session.Code{Code: code, ReceivedAt: time.Now(),
		MessageID: "m", Source: "gmail"}); err != nil {
		t.Fatal(err)
	}
	ready := lastOn(t, w, "session-ready", chain.DecodeSessionReady)
	st := w.sim.Stats().Requests
	if want := int64(st["login"] + st["otp"]); ready.SessionID != id || ready.LoginRequests != want || st["otp"] < 2 {
		t.Errorf("session-ready: got %d login requests, want the web system's %d (%v; 2 or more code exchanges)", ready.LoginRequests, want, st)
	}
}
