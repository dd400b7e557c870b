package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/webhook"
)

var (
	secret = []byte("test-secret-not-real")
	now    = time.Date(2026, 11, 29, 3, 0, 30, 0, time.UTC)
	nowTS  = strconv.FormatInt(now.Unix(), 10)
)

const validBody = `{"code":"123456","received_at":"2026-11-29T03:00:00Z","message_id":"18c2f0a9b7e4d123","source":"gmail"}`

func mustVerifier(tb testing.TB) *webhook.Verifier {
	tb.Helper()
	return &webhook.Verifier{Secret: secret, Now: func() time.Time { return now }}
}

// newRequest builds a POST with the given headers; a nil value leaves the header out.
func newRequest(body []byte, ts, sig *string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/CompleteLogin", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if ts != nil {
		r.Header.Set(webhook.HeaderTimestamp, *ts)
	}
	if sig != nil {
		r.Header.Set(webhook.HeaderSignature, *sig)
	}
	return r
}

func signed(body string) *http.Request {
	sig := webhook.Sign(secret, nowTS, []byte(body))
	return newRequest([]byte(body), &nowTS, &sig)
}

func ptr(s string) *string { return &s }

func TestSign(t *testing.T) {
	// HMAC-SHA256 of "1795921200.{}" under "key", computed independently.
	got := webhook.Sign([]byte("key"), "1795921200", []byte("{}"))
	if !regexp.MustCompile(`^sha256=[0-9a-f]{64}$`).MatchString(got) {
		t.Fatalf("Sign = %q, want sha256= and 64 lowercase hex digits", got)
	}
	for _, c := range []struct {
		name   string
		secret string
		ts     string
		body   string
	}{
		{"OtherSecret", "key2", "1795921200", "{}"},
		{"OtherTimestamp", "key", "1795921201", "{}"},
		{"OtherBody", "key", "1795921200", "{ }"},
		{"DotMoved", "key", "1795921200.", "{}"}, // "ts." + "body" must not equal "ts" + "." + "body" shifted
	} {
		t.Run(c.name, func(t *testing.T) {
			if other := webhook.Sign([]byte(c.secret), c.ts, []byte(c.body)); other == got {
				t.Errorf("Sign(%q, %q, %q) = %q, the same as the original", c.secret, c.ts, c.body, other)
			}
		})
	}
}

func TestRead(t *testing.T) {
	longID := strings.Repeat("é", webhook.MaxMessageIDLen) // 256 characters, 512 bytes
	for _, c := range []struct {
		name       string
		req        func() *http.Request
		wantStatus int // 0: accepted
		wantReason string
	}{
		{"Valid", func() *http.Request { return signed(validBody) }, 0, ""},
		{"ValidManual", func() *http.Request {
			return signed(`{"code":"0482","received_at":"2026-11-29T02:59:00.123-03:00","message_id":"manual","source":"manual"}`)
		}, 0, ""},
		{"ValidUnknownFields", func() *http.Request {
			return signed(`{"extra":{"x":[1,2]},"code":"12345678","received_at":"2026-11-29T03:00:00Z","message_id":"` + longID + `","source":"gmail","v":2}`)
		}, 0, ""},
		{"ValidSkewEdgePast", func() *http.Request {
			ts := strconv.FormatInt(now.Unix()-300, 10)
			return newRequest([]byte(validBody), &ts, ptr(webhook.Sign(secret, ts, []byte(validBody))))
		}, 0, ""},
		{"ValidSkewEdgeFuture", func() *http.Request {
			ts := strconv.FormatInt(now.Unix()+300, 10)
			return newRequest([]byte(validBody), &ts, ptr(webhook.Sign(secret, ts, []byte(validBody))))
		}, 0, ""},

		{"TooLarge", func() *http.Request {
			body := `{"code":"123456","pad":"` + strings.Repeat("x", 64<<10) + `"}`
			return signed(body)
		}, 413, "body too large"},
		{"TooLargeUnsigned", func() *http.Request {
			return newRequest(bytes.Repeat([]byte("x"), 64<<10+1), nil, nil)
		}, 413, "body too large"},
		{"TooLargeNoContentLength", func() *http.Request {
			r := signed(strings.Repeat(" ", 64<<10+1))
			r.ContentLength = -1
			return r
		}, 413, "body too large"},

		{"TimestampMissing", func() *http.Request {
			return newRequest([]byte(validBody), nil, ptr(webhook.Sign(secret, nowTS, []byte(validBody))))
		}, 401, "timestamp header missing"},
		{"SignatureMissing", func() *http.Request { return newRequest([]byte(validBody), &nowTS, nil) }, 401, "signature header missing"},
		{"BothMissing", func() *http.Request { return newRequest([]byte(validBody), nil, nil) }, 401, "timestamp header missing"},
		{"TimestampNotANumber", func() *http.Request { return withTS("soon") }, 401, "timestamp header must be unix seconds"},
		{"TimestampNegative", func() *http.Request { return withTS("-" + nowTS) }, 401, "timestamp header must be unix seconds"},
		{"TimestampPlus", func() *http.Request { return withTS("+" + nowTS) }, 401, "timestamp header must be unix seconds"},
		{"TimestampFraction", func() *http.Request { return withTS(nowTS + ".5") }, 401, "timestamp header must be unix seconds"},
		{"TimestampMillis", func() *http.Request { return withTS(nowTS + "000") }, 401, "timestamp header must be unix seconds"},
		{"TimestampHuge", func() *http.Request { return withTS("99999999999999999999") }, 401, "timestamp header must be unix seconds"},
		{"TimestampTwice", func() *http.Request {
			r := signed(validBody)
			r.Header.Add(webhook.HeaderTimestamp, nowTS)
			return r
		}, 401, "timestamp header must be unix seconds"},
		{"TimestampTooOld", func() *http.Request { return withTS(strconv.FormatInt(now.Unix()-301, 10)) }, 401, "timestamp too far from now"},
		{"TimestampTooNew", func() *http.Request { return withTS(strconv.FormatInt(now.Unix()+301, 10)) }, 401, "timestamp too far from now"},
		{"TimestampZero", func() *http.Request { return withTS("0") }, 401, "timestamp too far from now"},
		{"SignatureWrongPrefix", func() *http.Request {
			return withSig("sha1=" + strings.TrimPrefix(webhook.Sign(secret, nowTS, []byte(validBody)), "sha256="))
		}, 401, "signature header must be sha256= and 64 lowercase hex digits"},
		{"SignatureNoPrefix", func() *http.Request {
			return withSig(strings.TrimPrefix(webhook.Sign(secret, nowTS, []byte(validBody)), "sha256="))
		}, 401, "signature header must be sha256= and 64 lowercase hex digits"},
		{"SignatureBadHex", func() *http.Request {
			return withSig("sha256=" + strings.Repeat("zz", 32))
		}, 401, "signature header must be sha256= and 64 lowercase hex digits"},
		{"SignatureUppercaseHex", func() *http.Request {
			return withSig(strings.ToUpper(webhook.Sign(secret, nowTS, []byte(validBody))[7:]))
		}, 401, "signature header must be sha256= and 64 lowercase hex digits"},
		{"SignatureShort", func() *http.Request {
			return withSig(webhook.Sign(secret, nowTS, []byte(validBody))[:70])
		}, 401, "signature header must be sha256= and 64 lowercase hex digits"},
		{"SignatureWrongSecret", func() *http.Request {
			return withSig(webhook.Sign([]byte("another-secret"), nowTS, []byte(validBody)))
		}, 401, "signature mismatch"},
		{"SignatureOtherTimestamp", func() *http.Request {
			return withSig(webhook.Sign(secret, strconv.FormatInt(now.Unix()-1, 10), []byte(validBody)))
		}, 401, "signature mismatch"},
		{"SignatureOtherBody", func() *http.Request {
			return withSig(webhook.Sign(secret, nowTS, []byte(validBody+" ")))
		}, 401, "signature mismatch"},
		{"BadJSONUnsigned", func() *http.Request { return newRequest([]byte("not json"), nil, nil) }, 401, "timestamp header missing"},

		{"NotJSON", func() *http.Request { return signed("code=123456") }, 400, "body must be a JSON object"},
		{"EmptyBody", func() *http.Request { return signed("") }, 400, "body must be a JSON object"},
		{"JSONArray", func() *http.Request { return signed(`["123456"]`) }, 400, "body must be a JSON object"},
		{"JSONNull", func() *http.Request { return signed(`null`) }, 400, "body must be a JSON object"},
		{"TrailingData", func() *http.Request { return signed(validBody + `{}`) }, 400, "body must be a JSON object"},
		{"CodeMissing", func() *http.Request { return signed(without("code")) }, 400, "code missing"},
		{"CodeNull", func() *http.Request { return signed(with("code", nil)) }, 400, "code missing"},
		{"CodeNumber", func() *http.Request { return signed(with("code", 123456)) }, 400, "code must be a string of 4 to 8 digits"},
		{"CodeShort", func() *http.Request { return signed(with("code", "123")) }, 400, "code must be a string of 4 to 8 digits"},
		{"CodeLong", func() *http.Request { return signed(with("code", "123456789")) }, 400, "code must be a string of 4 to 8 digits"},
		{"CodeLetters", func() *http.Request { return signed(with("code", "12a456")) }, 400, "code must be a string of 4 to 8 digits"},
		{"CodeSpaces", func() *http.Request { return signed(with("code", " 123456")) }, 400, "code must be a string of 4 to 8 digits"},
		{"CodeArabicIndic", func() *http.Request { return signed(with("code", "١٢٣٤٥٦")) }, 400, "code must be a string of 4 to 8 digits"},
		{"CodeUppercaseKey", func() *http.Request {
			return signed(`{"CODE":"123456","received_at":"2026-11-29T03:00:00Z","message_id":"m","source":"gmail"}`)
		}, 400, "code missing"},
		{"ReceivedAtMissing", func() *http.Request { return signed(without("received_at")) }, 400, "received_at missing"},
		{"ReceivedAtNoZone", func() *http.Request { return signed(with("received_at", "2026-11-29T03:00:00")) }, 400, "received_at must be a date-time with a zone offset"},
		{"ReceivedAtDate", func() *http.Request { return signed(with("received_at", "2026-11-29")) }, 400, "received_at must be a date-time with a zone offset"},
		{"ReceivedAtNumber", func() *http.Request { return signed(with("received_at", 1795921200)) }, 400, "received_at must be a date-time with a zone offset"},
		{"MessageIDMissing", func() *http.Request { return signed(without("message_id")) }, 400, "message_id missing"},
		{"MessageIDEmpty", func() *http.Request { return signed(with("message_id", "")) }, 400, "message_id must be a string of 1 to 256 characters"},
		{"MessageIDTooLong", func() *http.Request { return signed(with("message_id", longID+"x")) }, 400, "message_id must be a string of 1 to 256 characters"},
		{"MessageIDNumber", func() *http.Request { return signed(with("message_id", 42)) }, 400, "message_id must be a string of 1 to 256 characters"},
		{"SourceMissing", func() *http.Request { return signed(without("source")) }, 400, "source missing"},
		{"SourceOther", func() *http.Request { return signed(with("source", "sms")) }, 400, `source must be "gmail" or "manual"`},
		{"SourceCase", func() *http.Request { return signed(with("source", "Gmail")) }, 400, `source must be "gmail" or "manual"`},
		{"FirstBadFieldAnswers", func() *http.Request { return signed(`{"code":"x","source":"sms"}`) }, 400, "code must be a string of 4 to 8 digits"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.req()
			body := peekBody(t, r)
			got, err := mustVerifier(t).Read(r)
			if c.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Read: %v, want no error", err)
				}
				var want map[string]any
				_ = json.Unmarshal(body, &want)
				if got.Code != want["code"] || got.MessageID != want["message_id"] || got.Source != want["source"] {
					t.Errorf("Read = %+v, want the body's fields %v", got, want)
				}
				if wantAt, _ := time.Parse(time.RFC3339, want["received_at"].(string)); !got.ReceivedAt.Equal(wantAt) {
					t.Errorf("ReceivedAt = %v, want %v", got.ReceivedAt, wantAt)
				}
				return
			}
			var werr *webhook.Error
			if !errors.As(err, &werr) {
				t.Fatalf("Read error = %v (%T), want *webhook.Error", err, err)
			}
			if werr.Status != c.wantStatus || werr.Reason != c.wantReason {
				t.Errorf("Read error = %d %q, want %d %q", werr.Status, werr.Reason, c.wantStatus, c.wantReason)
			}
			if got != (webhook.Request{}) {
				t.Errorf("Read returned %+v with an error, want the zero Request", got)
			}
		})
	}
}

// peekBody reads r's body and puts it back.
func peekBody(tb testing.TB, r *http.Request) []byte {
	tb.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		tb.Fatal(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

func withTS(ts string) *http.Request {
	return newRequest([]byte(validBody), &ts, ptr(webhook.Sign(secret, ts, []byte(validBody))))
}

func withSig(sig string) *http.Request { return newRequest([]byte(validBody), &nowTS, &sig) }

// with returns validBody with field set to v (nil: JSON null).
func with(field string, v any) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(validBody), &m)
	m[field] = v
	b, _ := json.Marshal(m)
	return string(b)
}

func without(field string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(validBody), &m)
	delete(m, field)
	b, _ := json.Marshal(m)
	return string(b)
}

func TestReadLimits(t *testing.T) {
	t.Run("NoSecret", func(t *testing.T) {
		_, err := (&webhook.Verifier{Now: func() time.Time { return now }}).Read(signed(validBody))
		if e, ok := webhook.AsError(err); !ok || e.Status != http.StatusInternalServerError {
			t.Errorf("Read without a secret = %v, want a 500 *webhook.Error", err)
		}
	})
	t.Run("CustomMaxBody", func(t *testing.T) {
		v := mustVerifier(t)
		v.MaxBody = int64(len(validBody)) - 1
		if _, err := v.Read(signed(validBody)); err == nil || err.(*webhook.Error).Status != 413 {
			t.Errorf("Read over MaxBody = %v, want 413", err)
		}
		v.MaxBody = int64(len(validBody))
		if _, err := v.Read(signed(validBody)); err != nil {
			t.Errorf("Read at MaxBody = %v, want no error", err)
		}
	})
	t.Run("CustomMaxSkew", func(t *testing.T) {
		v := mustVerifier(t)
		v.MaxSkew = 10 * time.Second
		if _, err := v.Read(withTS(strconv.FormatInt(now.Unix()-11, 10))); err == nil || err.(*webhook.Error).Status != 401 {
			t.Errorf("Read 11 s old with MaxSkew 10 s = %v, want 401", err)
		}
	})
	t.Run("ReadsAtMostMaxBodyPlusOne", func(t *testing.T) {
		src := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<20))}
		r := httptest.NewRequest(http.MethodPost, "/", src)
		r.ContentLength = -1
		_, err := mustVerifier(t).Read(r)
		if e, ok := webhook.AsError(err); !ok || e.Status != 413 {
			t.Errorf("Read = %v, want 413", err)
		}
		if src.n > webhook.DefaultMaxBody+1 {
			t.Errorf("read %d bytes, want at most %d", src.n, webhook.DefaultMaxBody+1)
		}
	})
	t.Run("BodyReadError", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(strings.NewReader("{"), errReader{}))
		r.ContentLength = -1
		if _, err := mustVerifier(t).Read(r); err == nil || err.(*webhook.Error).Status != 400 {
			t.Errorf("Read = %v, want 400", err)
		}
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReasonsHoldNoCode(t *testing.T) {
	fourDigits := regexp.MustCompile(`[0-9]{4}`)
	for _, e := range webhook.Reasons {
		if fourDigits.MatchString(e.Reason) {
			t.Errorf("reason %q has a run of four digits: a code could be read in it", e.Reason)
		}
		if e.Status != 400 && e.Status != 401 && e.Status != 409 && e.Status != 413 && e.Status != 500 {
			t.Errorf("reason %q has status %d", e.Reason, e.Status)
		}
	}
}

func TestRequestHidesCode(t *testing.T) {
	const code = "90817263"
	req := webhook.Request{Code: code, ReceivedAt: now, MessageID: "m-1", Source: webhook.SourceGmail}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("code received", "request", req)
	for _, out := range []string{buf.String(), fmt.Sprint(req), fmt.Sprintf("%v %+v %#v %s", req, req, req, req), fmt.Sprint(&req)} {
		if strings.Contains(out, code) {
			t.Errorf("output shows the code: %s", out)
		}
		if !strings.Contains(out, "m-1") {
			t.Errorf("output lost the message id: %s", out)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := mustVerifier(t).Read(withSig("sha256=" + strings.Repeat("0", 64)))
	if got, want := err.Error(), "webhook: 401 signature mismatch"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e1, _ := webhook.AsError(err)
	e1.Reason = "changed"
	_, err2 := mustVerifier(t).Read(withSig("sha256=" + strings.Repeat("0", 64)))
	if e2, _ := webhook.AsError(err2); e2.Reason != "signature mismatch" {
		t.Errorf("changing one error's Reason changed the next one's: %q", e2.Reason)
	}
}

type vector struct {
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	Timestamp string `json:"timestamp"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

// mustVectors reads the signature vectors the Apps Script's tests also read.
func mustVectors(tb testing.TB) []vector {
	tb.Helper()
	b, err := os.ReadFile("testdata/signature_vectors.json")
	if err != nil {
		tb.Fatalf("read vectors: %v", err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatalf("decode vectors: %v", err)
	}
	if len(vs) == 0 {
		tb.Fatal("no signature vectors")
	}
	return vs
}

// TestSignatureVectors checks Sign and Read against the vectors shared with the
// Apps Script, so that the two sides cannot drift apart.
func TestSignatureVectors(t *testing.T) {
	for _, v := range mustVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			if got := webhook.Sign([]byte(v.Secret), v.Timestamp, []byte(v.Body)); got != v.Signature {
				t.Errorf("Sign = %q, want %q", got, v.Signature)
			}
			secs, err := strconv.ParseInt(v.Timestamp, 10, 64)
			if err != nil {
				t.Fatalf("vector timestamp %q: %v", v.Timestamp, err)
			}
			ver := &webhook.Verifier{Secret: []byte(v.Secret), Now: func() time.Time { return time.Unix(secs+42, 0) }}
			req, err := ver.Read(newRequest([]byte(v.Body), &v.Timestamp, &v.Signature))
			if err != nil {
				t.Fatalf("Read: %v, want the vector accepted", err)
			}
			var want struct{ Code, MessageID string }
			var raw map[string]string
			_ = json.Unmarshal([]byte(v.Body), &raw)
			want.Code, want.MessageID = raw["code"], raw["message_id"]
			if req.Code != want.Code || req.MessageID != want.MessageID {
				t.Errorf("Read = %+v (code %q), want code %q, message_id %q", req, req.Code, want.Code, want.MessageID)
			}

			tampered := []byte(v.Body)
			tampered[len(tampered)-2] ^= 1
			if _, err := ver.Read(newRequest(tampered, &v.Timestamp, &v.Signature)); err == nil || err.(*webhook.Error).Status != 401 {
				t.Errorf("Read of a tampered body = %v, want 401", err)
			}
		})
	}
}

// FuzzRead sends arbitrary bodies and headers. When sign is set the fuzzer's
// body is signed correctly, so that decoding is reached too.
func FuzzRead(f *testing.F) {
	for _, v := range mustVectors(f) {
		f.Add([]byte(v.Body), v.Timestamp, v.Signature, false)
		f.Add([]byte(v.Body), nowTS, "", true)
	}
	f.Add([]byte(validBody), nowTS, "", true)
	f.Add([]byte(`{"code":"1234","received_at":"x"}`), nowTS, "", true)
	f.Add([]byte(`{"code":1234}`), nowTS, "", true)
	f.Add([]byte(validBody), "", "sha256=", false)
	f.Add([]byte("\xff\xfe"), "-1", "sha256="+strings.Repeat("g", 64), false)
	allowed := map[webhook.Error]bool{}
	for _, e := range webhook.Reasons {
		allowed[e] = true
	}
	digits := regexp.MustCompile(`[0-9]{4,}`)
	f.Fuzz(func(t *testing.T, body []byte, ts, sig string, sign bool) {
		if sign {
			sig = webhook.Sign(secret, ts, body)
		}
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header[webhook.HeaderTimestamp] = []string{ts}
		r.Header[webhook.HeaderSignature] = []string{sig}
		req, err := mustVerifier(t).Read(r)
		if err == nil {
			if len(req.Code) < 4 || len(req.Code) > 8 || req.MessageID == "" || (req.Source != webhook.SourceGmail && req.Source != webhook.SourceManual) {
				t.Fatalf("accepted a malformed request: %+v", req)
			}
			return
		}
		var e *webhook.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T) is not a *webhook.Error", err, err)
		}
		if e.Status != 400 && e.Status != 401 && e.Status != 413 {
			t.Fatalf("status %d, want 400, 401 or 413", e.Status)
		}
		if !allowed[*e] {
			t.Fatalf("unknown answer %d %q", e.Status, e.Reason)
		}
		var fields map[string]any
		if json.Unmarshal(body, &fields) == nil {
			if code, ok := fields["code"].(string); ok && digits.MatchString(code) && strings.Contains(e.Reason, code) {
				t.Fatalf("reason %q shows the code %q", e.Reason, code)
			}
		}
		for _, s := range []string{string(secret), sig} {
			if len(s) >= 8 && strings.Contains(e.Reason, s) {
				t.Fatalf("reason %q shows a secret or signature", e.Reason)
			}
		}
	})
}

// FuzzDecodeBody checks that every body decodes to a valid request or a 400.
func FuzzDecodeBody(f *testing.F) {
	for _, v := range mustVectors(f) {
		f.Add([]byte(v.Body))
	}
	f.Add([]byte(validBody))
	f.Add([]byte(`{"code":"12345","received_at":"2026-11-29T03:00:00+01:00","message_id":"a","source":"manual","code":"x"}`))
	f.Add([]byte(`{"code":null}`))
	f.Add([]byte(`[]`))
	codeRE := regexp.MustCompile(`^[0-9]{4,8}$`)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := webhook.DecodeBody(body)
		if err != nil {
			var e *webhook.Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("DecodeBody error %v, want a 400 *webhook.Error", err)
			}
			return
		}
		if !codeRE.MatchString(req.Code) {
			t.Fatalf("accepted code %q", req.Code)
		}
		if req.Source != webhook.SourceGmail && req.Source != webhook.SourceManual {
			t.Fatalf("accepted source %q", req.Source)
		}
		if req.MessageID == "" || len([]rune(req.MessageID)) > webhook.MaxMessageIDLen {
			t.Fatalf("accepted message_id of %d characters", len([]rune(req.MessageID)))
		}
		if req.ReceivedAt.IsZero() && !bytes.Contains(body, []byte("0001-01-01")) {
			t.Fatalf("accepted a zero received_at")
		}
	})
}

// A captured request replayed inside the timestamp window is refused with 409
// (CONTRACT section 4), also when sent again at once; a request the handler
// gave back (Forget: it answered 404 or 5xx, which the Apps Script retries) may
// come again; and the pairs remembered are dropped once their window is over.
func TestVerifierRefusesReplayWithinWindow(t *testing.T) {
	clock := now
	v := &webhook.Verifier{Secret: secret, Now: func() time.Time { return clock }}
	first, err := v.Read(signed(validBody))
	if err != nil {
		t.Fatalf("first request: %v", err)
	}
	_, err = v.Read(signed(validBody))
	if e, ok := webhook.AsError(err); !ok || e.Status != http.StatusConflict {
		t.Fatalf("replay: got %v, want a 409", err)
	}
	v.Forget(first)
	if _, err := v.Read(signed(validBody)); err != nil {
		t.Fatalf("after Forget: got %v, want it accepted", err)
	}
	other := strings.Replace(validBody, "123456", "654321", 1)
	if _, err := v.Read(signed(other)); err != nil {
		t.Fatalf("another body at the same second: %v", err)
	}
	if got := v.Remembered(); got != 2 {
		t.Errorf("remembered %d pairs, want 2", got)
	}
	// Past the window the old pairs are pruned at the next request.
	clock = now.Add(webhook.DefaultMaxSkew + time.Second)
	ts := strconv.FormatInt(clock.Unix(), 10)
	sig := webhook.Sign(secret, ts, []byte(validBody))
	if _, err := v.Read(newRequest([]byte(validBody), &ts, &sig)); err != nil {
		t.Fatalf("fresh request later: %v", err)
	}
	if got := v.Remembered(); got != 1 {
		t.Errorf("remembered %d pairs after the window, want 1 (expired ones pruned)", got)
	}
}
