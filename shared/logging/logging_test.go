package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/logging"
)

// lines decodes the JSON objects written to buf, one per line.
func lines(tb testing.TB, buf *bytes.Buffer) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			tb.Fatalf("line is not JSON: %v\n%s", err, line)
		}
		out = append(out, m)
	}
	return out
}

func mustOne(tb testing.TB, buf *bytes.Buffer) map[string]any {
	tb.Helper()
	ls := lines(tb, buf)
	if len(ls) != 1 {
		tb.Fatalf("got %d lines, want 1:\n%s", len(ls), buf)
	}
	return ls[0]
}

type credentials struct {
	User     string
	Password string `json:"password"`
	Note     string
	Session  string `json:"sess"`
}

type loginError struct{ token string }

func (e *loginError) Error() string { return "login failed with Authorization: Bearer " + e.token }

// TestNoSecretInOutput logs a password, an OTP code, a session token and a key
// in every way code might, and checks that none of them reaches the output.
func TestNoSecretInOutput(t *testing.T) {
	const (
		password = "hunter2-Senha!"
		code     = "482913"
		token    = "eyJhbGciOiJIUzI1NiJ9.sess-token-value"
		key      = "c2VhbC1rZXktMzItYnl0ZXMtbG9uZy4uLi4uLi4="
	)
	secrets := []string{password, code, token, key}
	var buf bytes.Buffer
	log := logging.New(&buf, slog.LevelDebug)
	// The token is registered before the first With; the rest after it.
	if !logging.Redact(log, token) {
		t.Fatal("Redact: logger is not backed by *logging.Handler")
	}
	if logging.Redact(nil, token) || logging.Redact(slog.New(slog.DiscardHandler), token) {
		t.Fatal("Redact reported true for a logger not backed by *logging.Handler")
	}
	early := log.With("early", "bearer "+token+" and code "+code).WithGroup("req")
	logging.Redact(log, password, code, key)

	ctx := context.Background()
	cases := []struct {
		name string
		log  func()
	}{
		{"Message", func() {
			log.Info("logging in with " + password + " then code " + code + " got " + token + " sealed with " + key)
		}},
		{"Messagef", func() { log.Info(fmt.Sprintf("code=%s token=%q", code, token)) }},
		{"AttrBySensitiveKey", func() {
			log.Info("attrs", "password", "p-unregistered-1", "code", "c-unregistered-2", "token", "t-unregistered-3",
				"key", "k-unregistered-4", "Authorization", "Bearer x-unregistered-5", "OTP", 123456,
				"session_token", "t-unregistered-6", "X-OTP-Signature", "sha256=unregistered-7", "tmp", "tmp-unregistered-8")
		}},
		{"AttrByValue", func() { log.Info("attrs", "detail", "user typed "+code, "header", "Bearer "+token) }},
		{"NestedGroup", func() {
			log.Info("nested", slog.Group("login", slog.String("pw", password), slog.Group("otp", slog.String("value", code))),
				slog.Group("password", slog.String("anything", "g-unregistered-9")))
		}},
		{"WithGroup", func() {
			log.WithGroup("a").With("k", code).WithGroup("token").Info("grouped", "value", "w-unregistered-10")
		}},
		{"WithBeforeRegistration", func() { early.Info("early", "x", 1) }},
		{"Error", func() { log.Error("finish login", "err", fmt.Errorf("complete login: %w", &loginError{token: token})) }},
		{"ErrorJoined", func() { log.Warn("retry", "error", errors.Join(errors.New("code "+code+" refused"), errors.New(key))) }},
		{"SecretValue", func() {
			s := logging.Secret("s-unregistered-11")
			log.Info("secret", "v", s, "sprintf", fmt.Sprintf("%v %s %q %+v %#v %x", s, s, s, s, s, s))
		}},
		{"SecretInStruct", func() {
			log.Info("struct", "creds", credentials{User: "ana", Password: "p-unregistered-12", Note: "code " + code, Session: token})
		}},
		{"SecretInMap", func() {
			log.Info("map", "m", map[string]any{"Cookie": "c-unregistered-13", "list": []string{token, key}})
		}},
		{"Bytes", func() { log.Info("bytes", "body", []byte(`{"code":"`+code+`"}`)) }},
		{"Stringer", func() { log.Info("stringer", "v", stringer(token)) }},
		{"LogValuer", func() { log.Info("valuer", "v", valuer{token}) }},
		{"Context", func() {
			log.InfoContext(logging.WithTrace(ctx, "p", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), "traced "+code)
		}},
		{"Debug", func() { log.Debug("debug", "raw", password) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			buf.Reset()
			c.log()
			out := buf.String()
			if out == "" {
				t.Fatal("nothing was written")
			}
			lines(t, &buf)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("output contains secret %q:\n%s", s, out)
				}
			}
			if strings.Contains(out, "unregistered") {
				t.Errorf("output contains a value logged under a sensitive key:\n%s", out)
			}
			if !strings.Contains(out, logging.Redacted) {
				t.Errorf("output shows no %s:\n%s", logging.Redacted, out)
			}
		})
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

type valuer struct{ v string }

func (v valuer) LogValue() slog.Value { return slog.StringValue("valued " + v.v) }

func TestSecretFormat(t *testing.T) {
	const raw = "very-secret-value"
	s := logging.Secret(raw)
	for _, verb := range []string{"%v", "%s", "%q", "%+v", "%#v", "%x", "%X", "%d", "%10s", "%T"} {
		got := fmt.Sprintf(verb, s)
		if strings.Contains(got, raw) {
			t.Errorf("Sprintf(%q) = %q shows the secret", verb, got)
		}
	}
	if got := fmt.Sprint(struct{ S logging.Secret }{s}); strings.Contains(got, raw) {
		t.Errorf("Sprint(struct) = %q shows the secret", got)
	}
	b, _ := json.Marshal(map[string]any{"s": s})
	if strings.Contains(string(b), raw) {
		t.Errorf("json.Marshal = %s shows the secret", b)
	}
	if s.Reveal() != raw {
		t.Errorf("Reveal() = %q, want %q", s.Reveal(), raw)
	}
}

func TestSensitiveKey(t *testing.T) {
	for _, c := range []struct {
		key  string
		want bool
	}{
		{"password", true}, {"Senha", true}, {"TOKEN", true}, {"authorization", true}, {"code", true},
		{"otp", true}, {"tmp", true}, {"secret", true}, {"key", true}, {"Signature", true}, {"cookie", true},
		{"session_token", true}, {"WEB_PASSWORD", true}, {"client-secret", true}, {"X-OTP-Signature", true},
		{"Set-Cookie", true}, {"token_sealed", true}, {"api_key", true},
		{"status_code", false}, {"session_id", false}, {"message_id", false}, {"tickets", false},
		{"keys_read", false}, {"otp_ttl", false}, {"template", false}, {"", false},
	} {
		t.Run(c.key, func(t *testing.T) {
			if got := logging.SensitiveKey(c.key); got != c.want {
				t.Errorf("SensitiveKey(%q) = %v, want %v", c.key, got, c.want)
			}
		})
	}
}

func TestSeverity(t *testing.T) {
	for _, c := range []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug - 4, "DEBUG"}, {slog.LevelDebug, "DEBUG"}, {slog.LevelInfo, "INFO"}, {slog.LevelInfo + 2, "INFO"},
		{slog.LevelWarn, "WARNING"}, {slog.LevelError, "ERROR"}, {slog.LevelError + 4, "ERROR"},
	} {
		t.Run(c.level.String(), func(t *testing.T) {
			var buf bytes.Buffer
			logging.New(&buf, slog.LevelDebug-8).Log(context.Background(), c.level, "m")
			if got := mustOne(t, &buf)["severity"]; got != c.want {
				t.Errorf("severity = %v, want %q", got, c.want)
			}
		})
	}
}

func TestShape(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, nil, logging.WithSource())
	log.With("a", 1).WithGroup("g").With("b", 2).WithGroup("h").Info("hello", "c", 3)
	got := mustOne(t, &buf)
	for _, k := range []string{"msg", "level"} {
		if _, ok := got[k]; ok {
			t.Errorf("field %q present; Cloud Logging wants message and severity", k)
		}
	}
	if got["message"] != "hello" || got["severity"] != "INFO" {
		t.Errorf("message, severity = %v, %v; want hello, INFO", got["message"], got["severity"])
	}
	if ts, _ := got["time"].(string); ts == "" {
		t.Errorf("time = %v, want an RFC 3339 string", got["time"])
	} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("time %q: %v", ts, err)
	}
	src, _ := got[logging.KeySource].(map[string]any)
	if f, _ := src["file"].(string); !strings.HasSuffix(f, "logging_test.go") {
		t.Errorf("%s = %v, want this file", logging.KeySource, got[logging.KeySource])
	}
	gotNest, _ := json.Marshal(map[string]any{"a": got["a"], "g": got["g"]})
	if want := `{"a":1,"g":{"b":2,"h":{"c":3}}}`; string(gotNest) != want {
		t.Errorf("attrs = %s, want %s", gotNest, want)
	}

	buf.Reset()
	log.WithGroup("empty").Info("no attrs")
	if _, ok := mustOne(t, &buf)["empty"]; ok {
		t.Errorf("an empty group was written: %s", buf.String())
	}

	buf.Reset()
	logging.New(&buf, slog.LevelWarn).Info("below the level")
	if buf.Len() != 0 {
		t.Errorf("a record below the level was written: %s", buf.String())
	}
}

// TestSlogtest runs the standard library's conformance checks for handlers.
func TestSlogtest(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		buf.Reset()
		return logging.NewHandler(&buf, nil)
	}, func(t *testing.T) map[string]any {
		m := mustOne(t, &buf)
		m[slog.MessageKey] = m["message"]
		m[slog.LevelKey] = m["severity"] // INFO is spelled alike in both
		delete(m, "message")
		delete(m, "severity")
		return m
	})
}

func TestTrace(t *testing.T) {
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, c := range []struct {
		name, project, header string
		wantTrace, wantSpan   string
		wantSampled           bool
	}{
		{"Traceparent", "proj", "00-" + id + "-00f067aa0ba902b7-01", "projects/proj/traces/" + id, "00f067aa0ba902b7", true},
		{"TraceparentNotSampled", "proj", "00-" + id + "-00f067aa0ba902b7-00", "projects/proj/traces/" + id, "00f067aa0ba902b7", false},
		{"TraceparentFutureVersion", "proj", "01-" + id + "-00f067aa0ba902b7-01-extra", "projects/proj/traces/" + id, "00f067aa0ba902b7", true},
		{"CloudTrace", "proj", id + "/1;o=1", "projects/proj/traces/" + id, "0000000000000001", true},
		{"CloudTraceBigSpan", "proj", strings.ToUpper(id) + "/18446744073709551615;o=0", "projects/proj/traces/" + id, "ffffffffffffffff", false},
		{"CloudTraceNoSpan", "proj", id, "projects/proj/traces/" + id, "", false},
		{"NoProject", "", "00-" + id + "-00f067aa0ba902b7-01", "", "", false},
		{"Empty", "proj", "", "", "", false},
		{"Garbage", "proj", "not a trace", "", "", false},
		{"TraceparentZeroTrace", "proj", "00-" + strings.Repeat("0", 32) + "-00f067aa0ba902b7-01", "", "", false},
		{"TraceparentVersionFF", "proj", "ff-" + id + "-00f067aa0ba902b7-01", "", "", false},
		{"TraceparentShortSpan", "proj", "00-" + id + "-00f067aa-01", "", "", false},
		{"TraceparentUppercase", "proj", "00-" + strings.ToUpper(id) + "-00f067aa0ba902b7-01", "", "", false},
		{"CloudTraceBadSpan", "proj", id + "/x1;o=1", "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			ctx := logging.WithTrace(context.Background(), c.project, c.header)
			logging.New(&buf, nil).WithGroup("g").InfoContext(ctx, "m", "a", 1)
			got := mustOne(t, &buf)
			if tr, _ := got[logging.KeyTrace].(string); tr != c.wantTrace {
				t.Errorf("trace = %q, want %q", tr, c.wantTrace)
			}
			if span, _ := got[logging.KeySpanID].(string); span != c.wantSpan {
				t.Errorf("spanId = %q, want %q", span, c.wantSpan)
			}
			if c.wantTrace != "" && got[logging.KeyTraceSampled] != c.wantSampled {
				t.Errorf("trace_sampled = %v, want %v", got[logging.KeyTraceSampled], c.wantSampled)
			}
		})
	}
}

func TestTraceHeader(t *testing.T) {
	h := http.Header{}
	h.Set(logging.HeaderCloudTraceContext, "cloud")
	if got := logging.TraceHeader(h); got != "cloud" {
		t.Errorf("TraceHeader = %q, want cloud", got)
	}
	h.Set(logging.HeaderTraceparent, "w3c")
	if got := logging.TraceHeader(h); got != "w3c" {
		t.Errorf("TraceHeader = %q, want w3c (traceparent first)", got)
	}
}

func TestRedactor(t *testing.T) {
	r := logging.NewRedactor("abcd", "abcdefgh", "xyz", "")
	for _, c := range []struct{ in, want string }{
		{"abcdefgh", "[REDACTED]"},           // the longer value wins, no tail left
		{"abcdefg", "[REDACTED]efg"},         // the shorter one still matches
		{"xyz stays", "xyz stays"},           // too short to register
		{"a abcd b", "a [REDACTED] b"},       // inside text
		{"abcdabcd", "[REDACTED][REDACTED]"}, // repeated
	} {
		if got := r.Replace(c.in); got != c.want {
			t.Errorf("Replace(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var nilR *logging.Redactor
	if got := nilR.Replace("abcd"); got != "abcd" {
		t.Errorf("nil Replace = %q, want abcd", got)
	}
}

// TestConcurrentRedact registers values while other goroutines log; run with -race.
func TestConcurrentRedact(t *testing.T) {
	r := logging.NewRedactor()
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	log := logging.New(lockedWriter{&mu, &buf}, nil, logging.WithRedactor(r))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 50 {
				r.Add(fmt.Sprintf("value-%d-%d", g, i))
			}
		}()
		go func() {
			defer wg.Done()
			for i := range 50 {
				log.Info("m", "i", i, "v", fmt.Sprintf("value-%d-%d", g, i))
			}
		}()
	}
	wg.Wait()
	buf.Reset()
	log.Info("after", "v", "value-3-49")
	if strings.Contains(buf.String(), "value-3-49") {
		t.Errorf("a registered value was written: %s", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func BenchmarkHandler(b *testing.B) {
	ctx := logging.WithTrace(context.Background(), "proj", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	with := logging.New(io.Discard, nil).With("session_id", "sess-1", "function", "ExtractLoad")
	registered := logging.New(io.Discard, nil)
	logging.Redact(registered, "eyJhbGciOiJIUzI1NiJ9.sess-token-value", "482913", "hunter2-Senha!")
	for _, c := range []struct {
		name string
		log  *slog.Logger
		ctx  context.Context
	}{
		{"Plain", logging.New(io.Discard, nil), context.Background()},
		{"Trace", logging.New(io.Discard, nil), ctx},
		{"WithAttrs", with, context.Background()},
		{"WithGroup", with.WithGroup("page"), ctx},
		{"Registered", registered, context.Background()},
		{"Stdlib", slog.New(slog.NewJSONHandler(io.Discard, nil)), context.Background()},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.log.InfoContext(c.ctx, "page fetched", "page", 3, "tickets", 200, "url", "https://example.test/tickets?offset=3", "elapsed", 150*time.Millisecond)
			}
		})
	}
}

// A session's secrets (tmp, code, token) are redacted while the session runs
// and forgotten when it ends: a 4-digit code must not blank the same digits in
// later, unrelated lines. Long-lived secrets registered with Redact stay.
func TestSessionSecretsAreForgottenWhenTheSessionEnds(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, slog.LevelInfo)
	logging.Redact(log, "password-long-lived")
	release := logging.RedactScoped(log, "4821", "tmp-of-session-a")
	again := logging.RedactScoped(log, "4821") // a second session with the same code

	log.Info("during", "n", "ticket 4821", "v", "tmp-of-session-a", "p", "password-long-lived")
	release()
	log.Info("one session left", "n", "ticket 4821", "v", "tmp-of-session-a")
	again()
	release() // releasing twice changes nothing
	log.Info("after", "n", "ticket 4821", "p", "password-long-lived")

	ls := lines(t, &buf)
	if len(ls) != 3 {
		t.Fatalf("got %d lines, want 3", len(ls))
	}
	tests := []struct {
		line      int
		key, want string
	}{
		{0, "n", "ticket " + logging.Redacted},
		{0, "v", logging.Redacted},
		{1, "n", "ticket " + logging.Redacted},
		{1, "v", "tmp-of-session-a"},
		{2, "n", "ticket 4821"},
		{2, "p", logging.Redacted},
	}
	for _, tt := range tests {
		if got := ls[tt.line][tt.key]; got != tt.want {
			t.Errorf("line %d %s: got %q, want %q", tt.line, tt.key, got, tt.want)
		}
	}
	h := log.Handler().(*logging.Handler)
	if got := h.Registered(); got != 1 {
		t.Errorf("registered values after the sessions: got %d, want 1 (the password)", got)
	}
}
