package chain_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

var (
	t0  = time.Date(2026, 11, 29, 3, 0, 0, 123456789, time.UTC)
	brt = time.FixedZone("", -3*60*60)
)

func loginPending() chain.LoginPending {
	return chain.LoginPending{SessionID: "s-20261129-abc", TmpSealed: "c2VhbGVkLXRtcA==",
		RequestedAt: t0, ExpiresAt: t0.Add(10 * time.Minute), Mode: chain.ModeAuto, LoginRequests: 1}
}

func sessionReady() chain.SessionReady {
	return chain.SessionReady{SessionID: "s-20261129-abc", TokenSealed: "c2VhbGVkLXRva2Vu",
		Auth: chain.AuthOTP, Mode: chain.ModeIncremental, RequestedAt: t0, LoginRequests: 2}
}

func cursor() *chain.Cursor {
	return &chain.Cursor{Mode: chain.ModeFull, WindowFrom: t0.AddDate(0, 0, -180), WindowTo: t0, StartedAt: t0,
		Phase: chain.PhaseSweep, Page: 3, SweepFrom: t0, PassStart: t0.Add(time.Minute),
		Totals: chain.Totals{Pages: 1, Requests: 2, Tickets: 3, Rejected: 4, Inserted: 5, Updated: 6}}
}

func continuation() chain.SessionReady {
	m := sessionReady()
	m.Cursor, m.Chunk = cursor(), 2
	return m
}

func loadFinished() chain.LoadFinished {
	return chain.LoadFinished{SessionID: "s-20261129-abc", TokenSealed: "c2VhbGVkLXRva2Vu", Auth: chain.AuthOTP,
		Outcome: chain.OutcomeOK, Tickets: 10, Inserted: 7, Updated: 3}
}

// sameJSON fails unless got and want encode to the same JSON: every field of
// the messages is in their JSON, and times compare with their offsets.
func sameJSON(tb testing.TB, got, want any) {
	tb.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		tb.Fatalf("marshal got: %v", err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		tb.Fatalf("marshal want: %v", err)
	}
	if string(g) != string(w) {
		tb.Errorf("got  %s\nwant %s", g, w)
	}
}

func wantAttrs(tb testing.TB, msg chain.Message, session, event string) {
	tb.Helper()
	want := map[string]string{chain.AttrSessionID: session, chain.AttrEvent: event}
	if !reflect.DeepEqual(msg.Attributes, want) {
		tb.Errorf("attributes: got %v, want %v", msg.Attributes, want)
	}
}

func TestLoginPendingRoundTrip(t *testing.T) {
	inZone := loginPending()
	inZone.RequestedAt, inZone.ExpiresAt = inZone.RequestedAt.In(brt), inZone.ExpiresAt.In(brt)
	full, incr := loginPending(), loginPending()
	full.Mode, incr.Mode = chain.ModeFull, chain.ModeIncremental
	long := loginPending()
	long.SessionID = strings.Repeat("a", 64)

	tests := []struct {
		name string
		in   chain.LoginPending
	}{
		{"Auto", loginPending()},
		{"Full", full},
		{"Incremental", incr},
		{"OffsetTimes", inZone},
		{"LongestSessionID", long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := chain.EncodeLoginPending(tt.in)
			if err != nil {
				t.Fatalf("encode: got %v, want nil", err)
			}
			wantAttrs(t, msg, tt.in.SessionID, chain.EventLoginPending)

			got, err := chain.DecodeLoginPending(msg)
			if err != nil {
				t.Fatalf("decode: got %v, want nil", err)
			}
			sameJSON(t, got, tt.in)
			if !got.RequestedAt.Equal(tt.in.RequestedAt) || !got.ExpiresAt.Equal(tt.in.ExpiresAt) {
				t.Errorf("times: got %v..%v, want %v..%v", got.RequestedAt, got.ExpiresAt, tt.in.RequestedAt, tt.in.ExpiresAt)
			}
		})
	}
}

func TestSessionReadyRoundTrip(t *testing.T) {
	apiToken := sessionReady()
	apiToken.Auth, apiToken.Mode = chain.AuthAPIToken, chain.ModeAuto
	incrCursor := continuation()
	incrCursor.Cursor.Mode, incrCursor.Cursor.Phase, incrCursor.Cursor.WindowFrom = chain.ModeIncremental, chain.PhaseMain, time.Time{}

	tests := []struct {
		name      string
		in        chain.SessionReady
		wantEvent string
	}{
		{"Ready", sessionReady(), chain.EventSessionReady},
		{"ReadyAPIToken", apiToken, chain.EventSessionReady},
		{"Continue", continuation(), chain.EventSessionContinue},
		{"ContinueIncrementalFromZero", incrCursor, chain.EventSessionContinue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Event(); got != tt.wantEvent {
				t.Errorf("Event(): got %q, want %q", got, tt.wantEvent)
			}

			msg, err := chain.EncodeSessionReady(tt.in)
			if err != nil {
				t.Fatalf("encode: got %v, want nil", err)
			}
			wantAttrs(t, msg, tt.in.SessionID, tt.wantEvent)

			got, err := chain.DecodeSessionReady(msg)
			if err != nil {
				t.Fatalf("decode: got %v, want nil", err)
			}
			sameJSON(t, got, tt.in)
			if (got.Cursor == nil) != (tt.in.Cursor == nil) {
				t.Errorf("cursor: got %v, want %v", got.Cursor, tt.in.Cursor)
			}
		})
	}
}

func TestSessionReadyWireShape(t *testing.T) {
	tests := []struct {
		name       string
		in         chain.SessionReady
		wantKeys   []string
		absentKeys []string
	}{
		{"Ready", sessionReady(), []string{"session_id", "token_sealed", "auth", "mode", "requested_at", "login_requests"}, []string{"cursor", "chunk"}},
		{"ReadyAPITokenNoLoginRequests", func() chain.SessionReady {
			m := sessionReady()
			m.Auth, m.LoginRequests = chain.AuthAPIToken, 0
			return m
		}(), []string{"session_id", "token_sealed", "auth", "mode", "requested_at"}, []string{"cursor", "chunk", "login_requests"}},
		{"Continue", continuation(), []string{"session_id", "token_sealed", "auth", "mode", "requested_at", "cursor", "chunk"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := chain.EncodeSessionReady(tt.in)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}

			var body map[string]json.RawMessage
			if err := json.Unmarshal(msg.Data, &body); err != nil {
				t.Fatalf("body is not a JSON object: %v", err)
			}

			for _, k := range tt.wantKeys {
				if _, ok := body[k]; !ok {
					t.Errorf("key %q: got absent, want present in %s", k, msg.Data)
				}
			}
			for _, k := range tt.absentKeys {
				if _, ok := body[k]; ok {
					t.Errorf("key %q: got present, want absent in %s", k, msg.Data)
				}
			}
		})
	}
}

func TestLoadFinishedRoundTrip(t *testing.T) {
	failed := loadFinished()
	failed.Outcome, failed.Error, failed.Tickets, failed.Inserted, failed.Updated = chain.OutcomeFailed, "web system: 401 — sessão expirada \"x\"", 0, 0, 0
	apiToken := loadFinished()
	apiToken.Auth, apiToken.TokenSealed = chain.AuthAPIToken, ""

	tests := []struct {
		name string
		in   chain.LoadFinished
	}{
		{"OK", loadFinished()},
		{"Failed", failed},
		{"APITokenWithoutToken", apiToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := chain.EncodeLoadFinished(tt.in)
			if err != nil {
				t.Fatalf("encode: got %v, want nil", err)
			}
			wantAttrs(t, msg, tt.in.SessionID, chain.EventLoadFinished)

			got, err := chain.DecodeLoadFinished(msg)
			if err != nil {
				t.Fatalf("decode: got %v, want nil", err)
			}
			if got != tt.in {
				t.Errorf("got %+v, want %+v", got, tt.in)
			}
		})
	}
}

// A mode left empty is auto (ParseMode); it must never reach a consumer as
// "", which ExtractLoad would take for neither auto nor full.
func TestEmptyModeIsAuto(t *testing.T) {
	t.Run("EncodeLoginPending", func(t *testing.T) {
		in := loginPending()
		in.Mode = ""

		msg, err := chain.EncodeLoginPending(in)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		got, err := chain.DecodeLoginPending(msg)

		if err != nil || got.Mode != chain.ModeAuto {
			t.Errorf("got mode %q, err %v; want %q, nil", got.Mode, err, chain.ModeAuto)
		}
		if !strings.Contains(string(msg.Data), `"mode":"auto"`) {
			t.Errorf("body: got %s, want mode auto", msg.Data)
		}
	})
	t.Run("EncodeSessionReady", func(t *testing.T) {
		in := sessionReady()
		in.Mode = ""

		msg, err := chain.EncodeSessionReady(in)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		got, err := chain.DecodeSessionReady(msg)

		if err != nil || got.Mode != chain.ModeAuto {
			t.Errorf("got mode %q, err %v; want %q, nil", got.Mode, err, chain.ModeAuto)
		}
	})
	for _, body := range []string{
		`{"session_id":"s1","tmp_sealed":"x","requested_at":"2026-11-29T03:00:00Z","expires_at":"2026-11-29T03:10:00Z"}`,
		`{"session_id":"s1","tmp_sealed":"x","requested_at":"2026-11-29T03:00:00Z","expires_at":"2026-11-29T03:10:00Z","mode":""}`,
	} {
		t.Run("DecodeLoginPending/"+body[len(body)-12:], func(t *testing.T) {
			got, err := chain.DecodeLoginPending(chain.Message{Data: []byte(body)})

			if err != nil || got.Mode != chain.ModeAuto {
				t.Errorf("got mode %q, err %v; want %q, nil", got.Mode, err, chain.ModeAuto)
			}
		})
	}
	for _, body := range []string{
		`{"session_id":"s1","token_sealed":"x","auth":"otp","requested_at":"2026-11-29T03:00:00Z"}`,
		`{"session_id":"s1","token_sealed":"x","auth":"otp","requested_at":"2026-11-29T03:00:00Z","mode":""}`,
	} {
		t.Run("DecodeSessionReady/"+body[len(body)-12:], func(t *testing.T) {
			got, err := chain.DecodeSessionReady(chain.Message{Data: []byte(body)})

			if err != nil || got.Mode != chain.ModeAuto {
				t.Errorf("got mode %q, err %v; want %q, nil", got.Mode, err, chain.ModeAuto)
			}
		})
	}
}

// mutate encodes m, lets change edit the message, and returns it.
func mutate[T any](tb testing.TB, encode func(T) (chain.Message, error), m T, change func(*chain.Message)) chain.Message {
	tb.Helper()
	msg, err := encode(m)
	if err != nil {
		tb.Fatalf("encode fixture: %v", err)
	}
	change(&msg)
	return msg
}

// withBody replaces or removes (value nil) one key of the JSON body.
func withBody(key string, value any) func(*chain.Message) {
	return func(msg *chain.Message) {
		var body map[string]any
		if err := json.Unmarshal(msg.Data, &body); err != nil {
			panic(err)
		}
		if value == nil {
			delete(body, key)
		} else {
			body[key] = value
		}
		data, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		msg.Data = data
	}
}

func withAttr(key, value string) func(*chain.Message) {
	return func(msg *chain.Message) { msg.Attributes[key] = value }
}

func withData(data string) func(*chain.Message) {
	return func(msg *chain.Message) { msg.Data = []byte(data) }
}

func withCursor(key string, value any) func(*chain.Message) {
	return func(msg *chain.Message) {
		var body map[string]any
		if err := json.Unmarshal(msg.Data, &body); err != nil {
			panic(err)
		}
		body["cursor"].(map[string]any)[key] = value
		data, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		msg.Data = data
	}
}

func TestDecodeAccepts(t *testing.T) {
	t.Run("NoAttributes", func(t *testing.T) {
		msg := mutate(t, chain.EncodeSessionReady, sessionReady(), func(m *chain.Message) { m.Attributes = nil })

		if _, err := chain.DecodeSessionReady(msg); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
	t.Run("EmptyEventAttributeOnContinuation", func(t *testing.T) {
		msg := mutate(t, chain.EncodeSessionReady, continuation(), withAttr(chain.AttrEvent, ""))

		got, err := chain.DecodeSessionReady(msg)

		if err != nil || got.Event() != chain.EventSessionContinue {
			t.Errorf("got event %q, err %v; want %q, nil", got.Event(), err, chain.EventSessionContinue)
		}
	})
	t.Run("UnknownFieldsIgnored", func(t *testing.T) {
		msg := mutate(t, chain.EncodeLoadFinished, loadFinished(), withBody("later_field", map[string]any{"x": 1}))

		if _, err := chain.DecodeLoadFinished(msg); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
	// login_requests came after the first deployment: a message in flight
	// from before it has none and reads as 0.
	t.Run("LoginPendingLoginRequestsMissing", func(t *testing.T) {
		msg := mutate(t, chain.EncodeLoginPending, loginPending(), withBody("login_requests", nil))

		got, err := chain.DecodeLoginPending(msg)

		if err != nil || got.LoginRequests != 0 {
			t.Errorf("got %d login requests, %v; want 0, nil", got.LoginRequests, err)
		}
	})
	t.Run("SessionReadyLoginRequestsMissing", func(t *testing.T) {
		msg := mutate(t, chain.EncodeSessionReady, continuation(), withBody("login_requests", nil))

		got, err := chain.DecodeSessionReady(msg)

		if err != nil || got.LoginRequests != 0 {
			t.Errorf("got %d login requests, %v; want 0, nil", got.LoginRequests, err)
		}
	})
	t.Run("LoginRequestsCarried", func(t *testing.T) {
		p, err := chain.DecodeLoginPending(mutate(t, chain.EncodeLoginPending, loginPending(), withBody("login_requests", 7)))
		if err != nil || p.LoginRequests != 7 {
			t.Errorf("login-pending: got %d, %v; want 7, nil", p.LoginRequests, err)
		}
		r, err := chain.DecodeSessionReady(mutate(t, chain.EncodeSessionReady, sessionReady(), withBody("login_requests", 9)))
		if err != nil || r.LoginRequests != 9 {
			t.Errorf("session-ready: got %d, %v; want 9, nil", r.LoginRequests, err)
		}
	})
	t.Run("LoadFinishedCountsMissing", func(t *testing.T) {
		msg := mutate(t, chain.EncodeLoadFinished, loadFinished(), func(m *chain.Message) {
			withBody("tickets", nil)(m)
			withBody("inserted", nil)(m)
			withBody("updated", nil)(m)
			withBody("error", nil)(m)
		})

		got, err := chain.DecodeLoadFinished(msg)

		if err != nil || got.Tickets != 0 || got.Inserted != 0 || got.Updated != 0 {
			t.Errorf("got %+v, %v; want zero counts, nil", got, err)
		}
	})
}

func TestDecodeLoginPendingRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*chain.Message)
	}{
		{"SessionAttributeMismatch", withAttr(chain.AttrSessionID, "other-session")},
		{"EventOfAnotherTopic", withAttr(chain.AttrEvent, chain.EventSessionReady)},
		{"EventUnknown", withAttr(chain.AttrEvent, "login.PENDING")},
		{"ModeUnknown", withBody("mode", "weekly")},
		{"ModeWrongCase", withBody("mode", "Full")},
		{"ModeNotString", withBody("mode", 1)},
		{"MissingSessionID", withBody("session_id", nil)},
		{"MissingTmpSealed", withBody("tmp_sealed", nil)},
		{"EmptyTmpSealed", withBody("tmp_sealed", "")},
		{"MissingRequestedAt", withBody("requested_at", nil)},
		{"MissingExpiresAt", withBody("expires_at", nil)},
		{"ZeroRequestedAt", withBody("requested_at", "0001-01-01T00:00:00Z")},
		{"ExpiresAtEqualsRequestedAt", withBody("expires_at", t0.Format(time.RFC3339Nano))},
		{"ExpiresBeforeRequested", withBody("expires_at", t0.Add(-time.Second).Format(time.RFC3339Nano))},
		{"TimeNotRFC3339", withBody("requested_at", "29/11/2026 03:00")},
		{"TimeNumber", withBody("requested_at", 1764385200)},
		{"LoginRequestsNegative", withBody("login_requests", -1)},
		{"LoginRequestsFraction", withBody("login_requests", 1.5)},
		{"LoginRequestsString", withBody("login_requests", "3")},
		{"LoginRequestsOverflow", withBody("login_requests", json.Number("9223372036854775808"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := mutate(t, chain.EncodeLoginPending, loginPending(), tt.change)

			_, err := chain.DecodeLoginPending(msg)

			if !errors.Is(err, chain.ErrMalformed) {
				t.Errorf("got %v, want an error wrapping ErrMalformed (body %s, attributes %v)", err, msg.Data, msg.Attributes)
			}
		})
	}
}

func TestDecodeSessionReadyRejects(t *testing.T) {
	ready, cont := sessionReady(), continuation()
	tests := []struct {
		name   string
		in     chain.SessionReady
		change func(*chain.Message)
	}{
		{"SessionAttributeMismatch", ready, withAttr(chain.AttrSessionID, "s-other")},
		{"SessionAttributeCase", ready, withAttr(chain.AttrSessionID, strings.ToUpper(ready.SessionID))},
		{"ReadyBodyContinueEvent", ready, withAttr(chain.AttrEvent, chain.EventSessionContinue)},
		{"ContinueBodyReadyEvent", cont, withAttr(chain.AttrEvent, chain.EventSessionReady)},
		{"EventOfAnotherTopic", ready, withAttr(chain.AttrEvent, chain.EventLoadFinished)},
		{"ModeUnknown", ready, withBody("mode", "delta")},
		{"AuthMissing", ready, withBody("auth", nil)},
		{"AuthUnknown", ready, withBody("auth", "password")},
		{"AuthWrongCase", ready, withBody("auth", "OTP")},
		{"MissingSessionID", ready, withBody("session_id", nil)},
		{"MissingTokenSealed", ready, withBody("token_sealed", nil)},
		{"MissingRequestedAt", ready, withBody("requested_at", nil)},
		{"ChunkWithoutCursor", ready, withBody("chunk", 2)},
		{"CursorWithoutChunk", cont, withBody("chunk", nil)},
		{"CursorWithChunkZero", cont, withBody("chunk", 0)},
		{"NegativeChunk", cont, withBody("chunk", -1)},
		{"ChunkNotInteger", cont, withBody("chunk", 1.5)},
		{"ChunkString", cont, withBody("chunk", "2")},
		{"CursorNotObject", cont, withBody("cursor", "page=3")},
		{"CursorModeAuto", cont, withCursor("mode", "auto")},
		{"CursorModeMissing", cont, withCursor("mode", "")},
		{"CursorPhaseUnknown", cont, withCursor("phase", "tail")},
		{"CursorPageZero", cont, withCursor("page", 0)},
		{"CursorPageNegative", cont, withCursor("page", -4)},
		{"CursorWindowToZero", cont, withCursor("window_to", "0001-01-01T00:00:00Z")},
		{"CursorStartedAtZero", cont, withCursor("started_at", "0001-01-01T00:00:00Z")},
		{"CursorWindowBackwards", cont, withCursor("window_from", t0.Add(time.Hour).Format(time.RFC3339Nano))},
		{"CursorTotalsNotObject", cont, withCursor("totals", 3)},
		{"LoginRequestsNegative", ready, withBody("login_requests", -2)},
		{"LoginRequestsFraction", cont, withBody("login_requests", 0.5)},
		{"LoginRequestsString", ready, withBody("login_requests", "2")},
		{"LoginRequestsObject", ready, withBody("login_requests", map[string]any{"n": 2})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := mutate(t, chain.EncodeSessionReady, tt.in, tt.change)

			_, err := chain.DecodeSessionReady(msg)

			if !errors.Is(err, chain.ErrMalformed) {
				t.Errorf("got %v, want an error wrapping ErrMalformed (body %s, attributes %v)", err, msg.Data, msg.Attributes)
			}
		})
	}
}

func TestDecodeLoadFinishedRejects(t *testing.T) {
	apiToken := loadFinished()
	apiToken.Auth, apiToken.TokenSealed = chain.AuthAPIToken, ""
	tests := []struct {
		name   string
		in     chain.LoadFinished
		change func(*chain.Message)
	}{
		{"SessionAttributeMismatch", loadFinished(), withAttr(chain.AttrSessionID, "s-other")},
		{"EventOfAnotherTopic", loadFinished(), withAttr(chain.AttrEvent, chain.EventSessionReady)},
		{"AuthUnknown", loadFinished(), withBody("auth", "cookie")},
		{"AuthMissing", apiToken, withBody("auth", nil)},
		{"OutcomeMissing", loadFinished(), withBody("outcome", nil)},
		{"OutcomeUnknown", loadFinished(), withBody("outcome", "success")},
		{"OutcomeWrongCase", loadFinished(), withBody("outcome", "OK")},
		{"OTPWithoutToken", loadFinished(), withBody("token_sealed", nil)},
		{"MissingSessionID", loadFinished(), withBody("session_id", nil)},
		{"NegativeTickets", loadFinished(), withBody("tickets", -1)},
		{"NegativeInserted", loadFinished(), withBody("inserted", -1)},
		{"NegativeUpdated", loadFinished(), withBody("updated", -1)},
		{"CountNotInteger", loadFinished(), withBody("tickets", 2.5)},
		{"CountOverflow", loadFinished(), withData(`{"session_id":"s-20261129-abc","token_sealed":"x","auth":"otp","outcome":"ok","tickets":9223372036854775808}`)},
		{"ErrorNotString", loadFinished(), withBody("error", map[string]any{"code": 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := mutate(t, chain.EncodeLoadFinished, tt.in, tt.change)

			_, err := chain.DecodeLoadFinished(msg)

			if !errors.Is(err, chain.ErrMalformed) {
				t.Errorf("got %v, want an error wrapping ErrMalformed (body %s, attributes %v)", err, msg.Data, msg.Attributes)
			}
		})
	}
}

var garbage = []struct {
	name string
	data string
}{
	{"Empty", ""},
	{"Whitespace", " \n\t"},
	{"Truncated", `{"session_id":"s1",`},
	{"Null", "null"},
	{"EmptyObject", "{}"},
	{"Array", `[{"session_id":"s1"}]`},
	{"String", `"session.ready"`},
	{"Number", "42"},
	{"Binary", "\x00\xff\xfe{\x01"},
	{"Base64OfBody", "eyJzZXNzaW9uX2lkIjoiczEifQ=="},
	{"SessionIDNumber", `{"session_id":5}`},
	{"TrailingGarbage", `{"session_id":"s1"} x`},
}

func TestDecodeGarbage(t *testing.T) {
	decoders := []struct {
		name   string
		decode func(chain.Message) error
	}{
		{"LoginPending", func(m chain.Message) error { _, err := chain.DecodeLoginPending(m); return err }},
		{"SessionReady", func(m chain.Message) error { _, err := chain.DecodeSessionReady(m); return err }},
		{"LoadFinished", func(m chain.Message) error { _, err := chain.DecodeLoadFinished(m); return err }},
	}
	for _, d := range decoders {
		for _, g := range garbage {
			t.Run(d.name+"/"+g.name, func(t *testing.T) {
				err := d.decode(chain.Message{Data: []byte(g.data)})

				if !errors.Is(err, chain.ErrMalformed) {
					t.Errorf("got %v, want an error wrapping ErrMalformed", err)
				}
			})
		}
	}
}

var sessionIDs = []struct {
	name string
	id   string
	ok   bool
}{
	{"Short", "a", true},
	{"Typical", "20261129T030000Z-3f9a", true},
	{"Max64", strings.Repeat("A9-", 21) + "z", true},
	{"Empty", "", false},
	{"TooLong65", strings.Repeat("a", 65), false},
	{"VeryLong", strings.Repeat("a", 10000), false},
	{"Space", "abc def", false},
	{"Underscore", "abc_def", false},
	{"Dot", "abc.def", false},
	{"Slash", "abc/def", false},
	{"Newline", "abc\n", false},
	{"NonASCII", "sessão", false},
	{"FullwidthDigit", "１", false},
	{"InvalidUTF8", "a\xffb", false},
}

func TestValidSessionID(t *testing.T) {
	for _, tt := range sessionIDs {
		t.Run(tt.name, func(t *testing.T) {
			if got := chain.ValidSessionID(tt.id); got != tt.ok {
				t.Errorf("ValidSessionID(%q): got %v, want %v", tt.id, got, tt.ok)
			}
		})
	}
}

func TestSessionIDsOnTheWire(t *testing.T) {
	for _, tt := range sessionIDs {
		t.Run(tt.name, func(t *testing.T) {
			lp, sr, lf := loginPending(), sessionReady(), loadFinished()
			lp.SessionID, sr.SessionID, lf.SessionID = tt.id, tt.id, tt.id

			_, errLP := chain.EncodeLoginPending(lp)
			_, errSR := chain.EncodeSessionReady(sr)
			_, errLF := chain.EncodeLoadFinished(lf)
			msg := mutate(t, chain.EncodeSessionReady, sessionReady(), func(m *chain.Message) {
				withBody("session_id", tt.id)(m)
				m.Attributes[chain.AttrSessionID] = tt.id
			})
			_, errDecode := chain.DecodeSessionReady(msg)

			for name, err := range map[string]error{"EncodeLoginPending": errLP, "EncodeSessionReady": errSR,
				"EncodeLoadFinished": errLF, "DecodeSessionReady": errDecode} {
				if (err == nil) != tt.ok {
					t.Errorf("%s: got err %v, want ok=%v", name, err, tt.ok)
				}
			}
			if errDecode != nil && !errors.Is(errDecode, chain.ErrMalformed) {
				t.Errorf("decode: got %v, want an error wrapping ErrMalformed", errDecode)
			}
		})
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	badLP := loginPending()
	badLP.ExpiresAt = badLP.RequestedAt
	badModeLP := loginPending()
	badModeLP.Mode = "sometimes"
	badSR := sessionReady()
	badSR.Auth = ""
	halfCont := sessionReady()
	halfCont.Chunk = 1
	badCursor := continuation()
	badCursor.Cursor.Page = 0
	badLF := loadFinished()
	badLF.Outcome = ""
	negLF := loadFinished()
	negLF.Updated = -3

	tests := []struct {
		name   string
		encode func() (chain.Message, error)
	}{
		{"LoginPendingExpiry", func() (chain.Message, error) { return chain.EncodeLoginPending(badLP) }},
		{"LoginPendingMode", func() (chain.Message, error) { return chain.EncodeLoginPending(badModeLP) }},
		{"LoginPendingZero", func() (chain.Message, error) { return chain.EncodeLoginPending(chain.LoginPending{}) }},
		{"SessionReadyAuth", func() (chain.Message, error) { return chain.EncodeSessionReady(badSR) }},
		{"SessionReadyChunkWithoutCursor", func() (chain.Message, error) { return chain.EncodeSessionReady(halfCont) }},
		{"SessionReadyCursorPage", func() (chain.Message, error) { return chain.EncodeSessionReady(badCursor) }},
		{"SessionReadyZero", func() (chain.Message, error) { return chain.EncodeSessionReady(chain.SessionReady{}) }},
		{"LoadFinishedOutcome", func() (chain.Message, error) { return chain.EncodeLoadFinished(badLF) }},
		{"LoadFinishedNegative", func() (chain.Message, error) { return chain.EncodeLoadFinished(negLF) }},
		{"LoadFinishedZero", func() (chain.Message, error) { return chain.EncodeLoadFinished(chain.LoadFinished{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := tt.encode()

			if err == nil {
				t.Fatalf("got nil error and body %s, want an error", msg.Data)
			}
			if msg.Data != nil || msg.Attributes != nil {
				t.Errorf("got message %+v, want the zero message", msg)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    chain.Mode
		wantErr bool
	}{
		{"", chain.ModeAuto, false},
		{"auto", chain.ModeAuto, false},
		{"full", chain.ModeFull, false},
		{"incremental", chain.ModeIncremental, false},
		{"FULL", "", true},
		{" full", "", true},
		{"weekly", "", true},
		{strings.Repeat("x", 5000), "", true},
	}
	for _, tt := range tests {
		name := tt.in
		if name == "" {
			name = "Empty"
		}
		if len(name) > 20 {
			name = "Long"
		}
		t.Run(name, func(t *testing.T) {
			got, err := chain.ParseMode(tt.in)

			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && len(err.Error()) > 200 {
				t.Errorf("error length: got %d, want the value truncated", len(err.Error()))
			}
		})
	}
}

func TestTotalsAdd(t *testing.T) {
	a := chain.Totals{Pages: 1, Requests: 2, Tickets: 3, Rejected: 4, Inserted: 5, Updated: 6, FieldErrors: 7, Reconciled: 8}
	b := chain.Totals{Pages: 10, Requests: 20, Tickets: 30, Rejected: 40, Inserted: 50, Updated: 60, FieldErrors: 70, Reconciled: 80}
	want := chain.Totals{Pages: 11, Requests: 22, Tickets: 33, Rejected: 44, Inserted: 55, Updated: 66, FieldErrors: 77, Reconciled: 88}

	if got := a.Add(b); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := a.Add(chain.Totals{}); got != a {
		t.Errorf("add zero: got %+v, want %+v", got, a)
	}
}

// The long values a sender controls are cut short in errors, which end up in logs.
func TestErrorsTruncateValues(t *testing.T) {
	long := strings.Repeat("Z", 5000)
	msg := mutate(t, chain.EncodeSessionReady, sessionReady(), withBody("auth", long))

	_, err := chain.DecodeSessionReady(msg)

	if err == nil || len(err.Error()) > 300 {
		t.Errorf("got %d-byte error %.80q..., want a short error", len(errString(err)), errString(err))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
