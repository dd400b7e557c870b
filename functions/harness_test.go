package functions

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/bqemulator"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/testkit"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/eventarc"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/extract"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/seal"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/session"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/webhook"
)

const testProject = "test-project"

// funcsURL is where the Functions Framework serves the four functions, over
// real loopback HTTP, for the whole test binary; bqHost is the BigQuery
// emulator they share (one dataset per test).
var funcsURL, bqHost string

func TestMain(m *testing.M) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	host, port, _ := net.SplitHostPort(addr)
	go func() { panic(funcframework.StartHostPort(host, port)) }()
	funcsURL = "http://" + addr
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 200 {
			panic("functions framework did not start")
		}
		time.Sleep(25 * time.Millisecond)
	}
	os.Exit(bqemulator.RunTests(m, testProject, func(e *bqemulator.Emulator) { bqHost = e.Host }))
}

// world is one test's surroundings: the simulated web system, Pub/Sub in
// memory, the functions' environment and a capture of their logs.
type world struct {
	sim    *websim.Server
	simURL string
	ps     *pstest.Server
	bus    *testkit.PubSub
	sealer *seal.Sealer
	secret []byte
	logs   *os.File
}

const testEmail = "analista@example.com.br"

var (
	testPassword = testkit.Credential("password")
	testAPIToken = testkit.Credential("api-token")
)

func mustWorld(t *testing.T, simOpts websim.Options, env map[string]string) *world {
	t.Helper()
	simOpts.Email, simOpts.Password, simOpts.APIToken = testEmail, testPassword, testAPIToken
	w := &world{sim: websim.New(simOpts), secret: []byte("webhook-secret-for-tests-only")}
	srv := httptest.NewServer(w.sim)
	w.simURL = srv.URL
	t.Cleanup(srv.Close)
	w.bus = testkit.MustBus(t, testProject, "login-pending", "session-ready", "load-finished")
	w.ps = w.bus.Server
	w.bus.MustSubscription(t, "login-pending-complete", "login-pending", 60*time.Second)

	key := bytes.Repeat([]byte{7}, 32)
	w.sealer, _ = seal.New(key)
	vars := map[string]string{
		"GOOGLE_CLOUD_PROJECT":   testProject,
		"WEB_BASE_URL":           srv.URL,
		"WEB_EMAIL":              testEmail,
		"WEB_PASSWORD":           testPassword,
		"OTP_WEBHOOK_SECRET":     string(w.secret),
		"TOKEN_SEAL_KEY":         base64.StdEncoding.EncodeToString(key),
		"PUBSUB_EMULATOR_HOST":   w.ps.Addr,
		"BIGQUERY_EMULATOR_HOST": bqHost,
		"BQ_DATASET":             datasetFor(t),
	}
	for k, v := range env {
		vars[k] = v
	}
	for k, v := range vars {
		if v == "" {
			os.Unsetenv(k)
			k := k
			t.Cleanup(func() { os.Unsetenv(k) })
			continue
		}
		t.Setenv(k, v)
	}
	resetFunctions()

	var err error
	w.logs, err = os.CreateTemp(t.TempDir(), "logs")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w.logs
	t.Cleanup(func() { os.Stdout = old })
	return w
}

// datasetFor names a BigQuery dataset of the test's own.
func datasetFor(t *testing.T) string { return testkit.Dataset(t) }

// resetFunctions drops the functions' lazily built clients, so the next
// request reads the environment again.
func resetFunctions() {
	starter = lazy[*session.Starter]{build: buildStarter}
	completer = lazy[*completeDeps]{build: buildCompleter}
	loader = lazy[*extract.Loader]{build: buildLoader}
	ender = lazy[*enderDeps]{build: buildEnder}
}

// readLogs returns what the functions logged so far.
func (w *world) readLogs(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(w.logs.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// messages returns the bodies published on topic so far.
func (w *world) messages(topic string) []*pstest.Message {
	var out []*pstest.Message
	for _, m := range w.ps.Messages() {
		if strings.HasSuffix(m.Topic, "/topics/"+topic) {
			out = append(out, m)
		}
	}
	return out
}

type answer struct {
	status int
	body   map[string]any
}

func post(t *testing.T, path string, body []byte, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, funcsURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// postCode posts a code to CompleteLogin as the Apps Script does.
func (w *world) postCode(t *testing.T, code string, receivedAt time.Time) answer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"code": code, "received_at": receivedAt.UTC().Format(time.RFC3339),
		"message_id": "msg-1", "source": "gmail"})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return post(t, "/CompleteLogin", body, http.Header{
		"Content-Type":    {"application/json"},
		"X-Otp-Timestamp": {ts},
		"X-Otp-Signature": {webhook.Sign(w.secret, ts, body)},
	})
}

// deliver posts a chain message to a CloudEvent function as Eventarc does.
func deliver(t *testing.T, fn, topic string, m chain.Message, published time.Time) int {
	t.Helper()
	req, err := eventarc.NewRequest(context.Background(), funcsURL+"/"+fn, testProject, topic, "eventarc-sub",
		eventarc.Delivery{Message: m, ID: strconv.FormatInt(time.Now().UnixNano(), 10), PublishTime: published})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
