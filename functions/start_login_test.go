package functions

import (
	"context"
	"strings"
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

func TestStartLoginPublishesPendingSession(t *testing.T) {
	w := mustWorld(t, websim.Options{Tickets: 10}, nil)

	a := post(t, "/StartLogin", []byte(`{"mode":"full"}`), nil)

	if a.status != 202 || a.body["status"] != "pending" || a.body["auth"] != "otp" {
		t.Fatalf("got %d %v, want 202 pending otp", a.status, a.body)
	}
	msgs := w.messages("login-pending")
	if len(msgs) != 1 {
		t.Fatalf("got %d login-pending messages, want 1", len(msgs))
	}
	m, err := chain.DecodeLoginPending(chain.Message{Data: msgs[0].Data, Attributes: msgs[0].Attributes})
	if err != nil {
		t.Fatal(err)
	}
	if m.SessionID != a.body["session_id"] || m.Mode != chain.ModeFull || msgs[0].Attributes["event"] != chain.EventLoginPending {
		t.Errorf("message %+v does not match the answer %v", m, a.body)
	}
	// The sealed tmp, with the e-mailed code, really logs in.
	tmp, err := w.sealer.OpenTmp(m.TmpSealed, m.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(msgs[0].Data), tmp) {
		t.Error("tmp travels in clear")
	}
	code, _, _ := w.sim.LastCode()
	if _, err := websystem.New(w.simURL, websystem.Paths{}, nil, websystem.Options{}).FinishLogin(context.Background(), tmp, code); err != nil {
		t.Errorf("the published tmp does not complete the login: %v", err)
	}
	if logs := w.readLogs(t); strings.Contains(logs, tmp) || strings.Contains(logs, testPassword) {
		t.Error("logs hold the tmp or the password")
	}
}

func TestStartLoginAPITokenPublishesSessionReady(t *testing.T) {
	w := mustWorld(t, websim.Options{Tickets: 10}, map[string]string{"WEB_API_TOKEN": testAPIToken, "WEB_EMAIL": "", "WEB_PASSWORD": ""})

	a := post(t, "/StartLogin", nil, nil)

	if a.status != 202 || a.body["status"] != "ready" || a.body["auth"] != "api-token" {
		t.Fatalf("got %d %v, want 202 ready api-token", a.status, a.body)
	}
	msgs := w.messages("session-ready")
	if len(msgs) != 1 || len(w.messages("login-pending")) != 0 {
		t.Fatalf("got %d session-ready and %d login-pending messages, want 1 and 0", len(msgs), len(w.messages("login-pending")))
	}
	m, err := chain.DecodeSessionReady(chain.Message{Data: msgs[0].Data, Attributes: msgs[0].Attributes})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := w.sealer.Open(m.TokenSealed, m.SessionID)
	if err != nil || tok != "Bearer "+testAPIToken || m.Mode != chain.ModeAuto {
		t.Errorf("got token %q mode %q, want the bearer API token, auto", tok, m.Mode)
	}
	if strings.Contains(string(msgs[0].Data), testAPIToken) || strings.Contains(w.readLogs(t), testAPIToken) {
		t.Error("the API token shows in clear")
	}
	if n := w.sim.Stats().Requests["login"]; n != 0 {
		t.Errorf("api-token mode sent %d login requests, want 0", n)
	}
}

func TestStartLoginRefuses(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		env    map[string]string
		status int
		log    string // a line the logs must hold
	}{
		{"BadJSON", `{"mode":`, nil, 400, ""},
		{"BadMode", `{"mode":"everything"}`, nil, 400, ""},
		{"MissingSealKey", `{}`, map[string]string{"TOKEN_SEAL_KEY": ""}, 500, "TOKEN_SEAL_KEY"},
		{"BadSealKey", `{}`, map[string]string{"TOKEN_SEAL_KEY": "c2hvcnQ="}, 500, "TOKEN_SEAL_KEY"},
		{"MissingPassword", `{}`, map[string]string{"WEB_PASSWORD": ""}, 500, "WEB_PASSWORD"},
		{"WrongPassword", `{}`, map[string]string{"WEB_PASSWORD": "not-the-password"}, 502, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWorld(t, websim.Options{}, tt.env)

			a := post(t, "/StartLogin", []byte(tt.body), nil)

			if a.status != tt.status || a.body["error"] == nil {
				t.Fatalf("got %d %v, want %d with an error", a.status, a.body, tt.status)
			}
			logs := w.readLogs(t)
			if tt.log != "" && !strings.Contains(logs, tt.log) {
				t.Errorf("logs do not name %s:\n%s", tt.log, logs)
			}
			if strings.Contains(logs, "not-the-password") || strings.Contains(logs, testPassword) {
				t.Error("a password shows in the logs")
			}
			if n := len(w.messages("login-pending")); n != 0 {
				t.Errorf("published %d pending sessions, want 0", n)
			}
		})
	}
}
