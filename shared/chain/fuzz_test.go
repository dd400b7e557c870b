package chain_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

// seed adds the valid messages, each under its own attributes, under none and
// under the wrong ones, and the garbage bodies.
func seed(f *testing.F, valid ...chain.Message) {
	for _, m := range valid {
		f.Add(m.Data, m.Attributes[chain.AttrSessionID], m.Attributes[chain.AttrEvent])
		f.Add(m.Data, "", "")
		f.Add(m.Data, "other", chain.EventLoadFinished)
	}
	for _, g := range garbage {
		f.Add([]byte(g.data), "s1", "")
	}
	f.Add([]byte(`{"session_id":"s1","tmp_sealed":"x","token_sealed":"y","auth":"api-token","outcome":"failed",`+
		`"requested_at":"2026-11-29T03:00:00+23:59","expires_at":"2026-11-29T03:10:00.999999999999-00:30","mode":""}`), "s1", "")
	f.Add([]byte(`{"SESSION_ID":"s1","Tmp_Sealed":"\ud800","token_sealed":"\xff","auth":"otp","requested_at":"0001-01-01T00:00:01+01:00",`+
		`"expires_at":"9999-12-31T23:59:59Z","cursor":null,"chunk":0,"outcome":"ok","error":"\u0000"}`), "", "")
	// login_requests, optional on login-pending and session-ready: absent,
	// negative, huge, fractional, a string.
	for _, n := range []string{`-1`, `9223372036854775807`, `9223372036854775808`, `1e3`, `2.5`, `"4"`, `null`} {
		f.Add([]byte(`{"session_id":"s1","tmp_sealed":"x","token_sealed":"y","auth":"otp","requested_at":"2026-11-29T03:00:00Z",`+
			`"expires_at":"2026-11-29T03:10:00Z","login_requests":`+n+`}`), "s1", "")
	}
}

// must returns a function that fails tb unless the encoding it is given worked.
func must(tb testing.TB) func(chain.Message, error) chain.Message {
	return func(msg chain.Message, err error) chain.Message {
		tb.Helper()
		if err != nil {
			tb.Fatalf("encode seed: %v", err)
		}
		return msg
	}
}

// attrs builds the attributes the fuzzer chose; an empty value is left out,
// as a publisher that sets none would.
func attrs(session, event string) map[string]string {
	a := map[string]string{}
	if session != "" {
		a[chain.AttrSessionID] = session
	}
	if event != "" {
		a[chain.AttrEvent] = event
	}
	return a
}

// checkAccepted checks what every decoder promises about a message it accepts.
func checkAccepted(t *testing.T, session, event, gotSession, wantEvent string) {
	t.Helper()
	if !chain.ValidSessionID(gotSession) {
		t.Errorf("accepted session id %q", gotSession)
	}
	if session != "" && session != gotSession {
		t.Errorf("accepted session attribute %q for body session %q", session, gotSession)
	}
	if event != "" && event != wantEvent {
		t.Errorf("accepted event attribute %q for a %s body", event, wantEvent)
	}
}

// checkReencoded checks the attributes of a re-encoded message.
func checkReencoded(t *testing.T, msg chain.Message, session, event string) {
	t.Helper()
	want := map[string]string{chain.AttrSessionID: session, chain.AttrEvent: event}
	if !reflect.DeepEqual(msg.Attributes, want) {
		t.Errorf("re-encoded attributes: got %v, want %v", msg.Attributes, want)
	}
}

func checkMode(t *testing.T, m chain.Mode) {
	t.Helper()
	if m != chain.ModeAuto && m != chain.ModeFull && m != chain.ModeIncremental {
		t.Errorf("accepted mode %q, want auto, full or incremental", m)
	}
}

// utc puts every time in UTC, so that reflect.DeepEqual compares instants (the
// offsets are compared through the JSON).
func utc(ts ...*time.Time) {
	for _, t := range ts {
		*t = t.UTC()
	}
}

func FuzzDecodeLoginPending(f *testing.F) {
	full := loginPending()
	full.Mode = chain.ModeFull
	seed(f, must(f)(chain.EncodeLoginPending(loginPending())), must(f)(chain.EncodeLoginPending(full)),
		must(f)(chain.EncodeSessionReady(sessionReady())))

	f.Fuzz(func(t *testing.T, data []byte, session, event string) {
		got, err := chain.DecodeLoginPending(chain.Message{Data: data, Attributes: attrs(session, event)})
		if err != nil {
			if !errors.Is(err, chain.ErrMalformed) {
				t.Fatalf("got %v, want an error wrapping ErrMalformed", err)
			}
			return
		}
		checkAccepted(t, session, event, got.SessionID, chain.EventLoginPending)
		checkMode(t, got.Mode)

		msg, err := chain.EncodeLoginPending(got)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", got, err)
		}
		checkReencoded(t, msg, got.SessionID, chain.EventLoginPending)
		again, err := chain.DecodeLoginPending(msg)
		if err != nil {
			t.Fatalf("decode re-encoded %s: %v", msg.Data, err)
		}

		sameJSON(t, again, got)
		utc(&got.RequestedAt, &got.ExpiresAt, &again.RequestedAt, &again.ExpiresAt)
		if again != got {
			t.Errorf("round trip: got %+v, want %+v", again, got)
		}
	})
}

func FuzzDecodeSessionReady(f *testing.F) {
	apiToken := sessionReady()
	apiToken.Auth, apiToken.Mode = chain.AuthAPIToken, chain.ModeAuto
	seed(f, must(f)(chain.EncodeSessionReady(sessionReady())), must(f)(chain.EncodeSessionReady(apiToken)),
		must(f)(chain.EncodeSessionReady(continuation())), must(f)(chain.EncodeLoadFinished(loadFinished())))

	f.Fuzz(func(t *testing.T, data []byte, session, event string) {
		got, err := chain.DecodeSessionReady(chain.Message{Data: data, Attributes: attrs(session, event)})
		if err != nil {
			if !errors.Is(err, chain.ErrMalformed) {
				t.Fatalf("got %v, want an error wrapping ErrMalformed", err)
			}
			return
		}
		checkAccepted(t, session, event, got.SessionID, got.Event())
		checkMode(t, got.Mode)
		if (got.Cursor == nil) != (got.Chunk == 0) {
			t.Errorf("accepted cursor %v with chunk %d", got.Cursor, got.Chunk)
		}

		msg, err := chain.EncodeSessionReady(got)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", got, err)
		}
		checkReencoded(t, msg, got.SessionID, got.Event())
		again, err := chain.DecodeSessionReady(msg)
		if err != nil {
			t.Fatalf("decode re-encoded %s: %v", msg.Data, err)
		}

		sameJSON(t, again, got)
		for _, m := range []*chain.SessionReady{&got, &again} {
			utc(&m.RequestedAt)
			if c := m.Cursor; c != nil {
				utc(&c.WindowFrom, &c.WindowTo, &c.StartedAt, &c.SweepFrom, &c.PassStart)
			}
		}
		if !reflect.DeepEqual(again, got) {
			t.Errorf("round trip: got %+v (cursor %+v), want %+v (cursor %+v)", again, again.Cursor, got, got.Cursor)
		}
	})
}

func FuzzDecodeLoadFinished(f *testing.F) {
	failed := loadFinished()
	failed.Auth, failed.TokenSealed, failed.Outcome, failed.Error = chain.AuthAPIToken, "", chain.OutcomeFailed, "401 from the web system"
	seed(f, must(f)(chain.EncodeLoadFinished(loadFinished())), must(f)(chain.EncodeLoadFinished(failed)),
		must(f)(chain.EncodeLoginPending(loginPending())))

	f.Fuzz(func(t *testing.T, data []byte, session, event string) {
		got, err := chain.DecodeLoadFinished(chain.Message{Data: data, Attributes: attrs(session, event)})
		if err != nil {
			if !errors.Is(err, chain.ErrMalformed) {
				t.Fatalf("got %v, want an error wrapping ErrMalformed", err)
			}
			return
		}
		checkAccepted(t, session, event, got.SessionID, chain.EventLoadFinished)
		if got.Auth == chain.AuthOTP && got.TokenSealed == "" {
			t.Errorf("accepted an otp session without its token")
		}

		msg, err := chain.EncodeLoadFinished(got)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", got, err)
		}
		checkReencoded(t, msg, got.SessionID, chain.EventLoadFinished)
		again, err := chain.DecodeLoadFinished(msg)
		if err != nil {
			t.Fatalf("decode re-encoded %s: %v", msg.Data, err)
		}

		if again != got {
			t.Errorf("round trip: got %+v, want %+v", again, got)
		}
	})
}
