package functions

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/webhook"
)

// mustPending starts a login through StartLogin and returns its session id
// and the code the simulated system e-mailed.
func (w *world) mustPending(t *testing.T) (string, string) {
	t.Helper()
	a := post(t, "/StartLogin", []byte(`{"mode":"full"}`), nil)
	if a.status != 202 {
		t.Fatalf("StartLogin: %d %v", a.status, a.body)
	}
	code, _, _ := w.sim.LastCode()
	return a.body["session_id"].(string), code
}

func TestCompleteLoginAnswers(t *testing.T) {
	tests := []struct {
		name    string
		arrange func(t *testing.T, w *world) (code string, receivedAt time.Time)
		status  int
		ready   int // session-ready messages published
	}{
		{"Authenticated", func(t *testing.T, w *world) (string, time.Time) {
			_, code := w.mustPending(t)
			return code, time.Now()
		}, 200, 1},
		{"NoPendingSession", func(t *testing.T, w *world) (string, time.Time) {
			return "123456", time.Now()
		}, 404, 0},
		{"StaleCode", func(t *testing.T, w *world) (string, time.Time) {
			_, code := w.mustPending(t)
			return code, time.Now().Add(-5 * time.Minute)
		}, 409, 0},
		{"RefusedCode", func(t *testing.T, w *world) (string, time.Time) {
			_, code := w.mustPending(t)
			return wrong(code), time.Now()
		}, 422, 0},
		{"WebSystemDown", func(t *testing.T, w *world) (string, time.Time) {
			_, code := w.mustPending(t)
			w.sim.SetFaults(1, 0, 0)
			return code, time.Now()
		}, 502, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWorld(t, websim.Options{}, nil)
			code, at := tt.arrange(t, w)

			a := w.postCode(t, code, at)

			if a.status != tt.status {
				t.Fatalf("got %d %v, want %d", a.status, a.body, tt.status)
			}
			if tt.status != 200 && a.body["error"] == nil {
				t.Errorf("failure body %v has no error field", a.body)
			}
			if got := len(w.messages("session-ready")); got != tt.ready {
				t.Errorf("got %d session-ready messages, want %d", got, tt.ready)
			}
			if strings.Contains(w.readLogs(t), code) {
				t.Error("the code shows in the logs")
			}
		})
	}
}

func wrong(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1000000)
}

func TestCompleteLoginKeepsSessionPendingAfterRefusedCode(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	id, code := w.mustPending(t)

	refused := w.postCode(t, wrong(code), time.Now())
	accepted := w.postCode(t, code, time.Now())

	if refused.status != 422 || accepted.status != 200 || accepted.body["session_id"] != id {
		t.Fatalf("got %d then %d %v, want 422 then 200 for %s", refused.status, accepted.status, accepted.body, id)
	}
	msgs := w.messages("session-ready")
	if len(msgs) != 1 {
		t.Fatalf("got %d session-ready messages, want 1", len(msgs))
	}
	m, err := chain.DecodeSessionReady(chain.Message{Data: msgs[0].Data, Attributes: msgs[0].Attributes})
	if err != nil {
		t.Fatal(err)
	}
	token, err := w.sealer.Open(m.TokenSealed, id)
	if err != nil || token == "" {
		t.Fatalf("cannot open the sealed token: %v", err)
	}
	if strings.Contains(string(msgs[0].Data), token) || strings.Contains(w.readLogs(t), token) {
		t.Error("the session token shows in clear")
	}
}

func TestCompleteLoginNewestSessionWins(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	_, _ = w.mustPending(t)
	newest, code := w.mustPending(t)

	a := w.postCode(t, code, time.Now())

	if a.status != 200 || a.body["session_id"] != newest {
		t.Fatalf("got %d %v, want 200 for the newest session %s", a.status, a.body, newest)
	}
}

func TestCompleteLoginLogsOutWhenPublishFails(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	_, code := w.mustPending(t)
	if err := w.bus.Client().TopicAdminClient.DeleteTopic(context.Background(),
		&pubsubpb.DeleteTopicRequest{Topic: "projects/" + testProject + "/topics/session-ready"}); err != nil {
		t.Fatal(err)
	}

	a := w.postCode(t, code, time.Now())

	if a.status != 503 {
		t.Fatalf("got %d %v, want 503", a.status, a.body)
	}
	if st := w.sim.Stats(); st.Logouts != 1 || st.ActiveSessions != 0 {
		t.Errorf("got %d logouts, %d live sessions; want the login undone (1, 0)", st.Logouts, st.ActiveSessions)
	}
}

func TestCompleteLoginRefusesBadRequests(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	_, code := w.mustPending(t)
	good := []byte(`{"code":"` + code + `","received_at":"` + time.Now().UTC().Format(time.RFC3339) + `","message_id":"m1","source":"gmail"}`)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	old := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	signed := func(ts string, body []byte) http.Header {
		return http.Header{"X-Otp-Timestamp": {ts}, "X-Otp-Signature": {webhook.Sign(w.secret, ts, body)}}
	}
	big := append(bytes.Repeat([]byte(" "), 65<<10), good...)
	badCode := []byte(`{"code":"12ab","received_at":"2026-11-29T03:00:00Z","message_id":"m1","source":"gmail"}`)
	tests := []struct {
		name   string
		body   []byte
		header http.Header
		status int
	}{
		{"TooLarge", big, signed(now, big), 413},
		{"NoSignature", good, http.Header{"X-Otp-Timestamp": {now}}, 401},
		{"WrongSecret", good, http.Header{"X-Otp-Timestamp": {now}, "X-Otp-Signature": {webhook.Sign([]byte("another-secret-entirely"), now, good)}}, 401},
		{"OldTimestamp", good, signed(old, good), 401},
		{"NotJSON", []byte("code=123456"), signed(now, []byte("code=123456")), 400},
		{"BadCode", badCode, signed(now, badCode), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, "/CompleteLogin", tt.body, tt.header)

			if a.status != tt.status || a.body["error"] == nil {
				t.Fatalf("got %d %v, want %d with an error", a.status, a.body, tt.status)
			}
		})
	}
	// None of them consumed the pending session.
	if a := w.postCode(t, code, time.Now()); a.status != 200 {
		t.Errorf("the good code afterwards: got %d %v, want 200", a.status, a.body)
	}
}

// A signed request captured and sent again within the 300 s window is a
// replay: 409 (CONTRACT section 4), and it completes nothing.
func TestCompleteLoginRefusesReplay(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	_, code := w.mustPending(t)
	body := []byte(`{"code":"` + code + `","received_at":"` + time.Now().UTC().Format(time.RFC3339) + `","message_id":"m1","source":"gmail"}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := http.Header{"X-Otp-Timestamp": {ts}, "X-Otp-Signature": {webhook.Sign(w.secret, ts, body)}}
	first := post(t, "/CompleteLogin", body, h)
	_, _ = w.mustPending(t) // a fresh pending login the replay could otherwise hit
	replay := post(t, "/CompleteLogin", body, h)
	if first.status != 200 || replay.status != 409 || replay.body["error"] == nil {
		t.Fatalf("got %d then %d %v, want 200 then 409 with an error", first.status, replay.status, replay.body)
	}
	if n := len(w.messages("session-ready")); n != 1 {
		t.Errorf("got %d session-ready messages, want 1", n)
	}
}
