package seal_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/seal"
)

func mustSealer(tb testing.TB, b byte) *seal.Sealer {
	tb.Helper()
	s, err := seal.New(bytes.Repeat([]byte{b}, seal.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := mustSealer(t, 1)
	const token = "session-token-value"
	sealed, err := s.Seal(token, "sess-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, token) || strings.Contains(sealed, base64.StdEncoding.EncodeToString([]byte(token))) {
		t.Fatalf("sealed value shows the plaintext: %q", sealed)
	}
	got, err := s.Open(sealed, "sess-1")
	if err != nil || got != token {
		t.Fatalf("Open = %q, %v; want %q", got, err, token)
	}
	again, _ := s.Seal(token, "sess-1")
	if again == sealed {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
}

func TestOpenRefuses(t *testing.T) {
	s := mustSealer(t, 1)
	sealed, _ := s.Seal("tok", "sess-1")
	raw, _ := base64.StdEncoding.DecodeString(sealed)
	raw[len(raw)-1] ^= 1
	tampered := base64.StdEncoding.EncodeToString(raw)
	tests := []struct {
		name, sealed, session string
		sealer                *seal.Sealer
	}{
		{"OtherSession", sealed, "sess-2", s},
		{"OtherKey", sealed, "sess-1", mustSealer(t, 2)},
		{"Tampered", tampered, "sess-1", s},
		{"NotBase64", "%%%", "sess-1", s},
		{"TooShort", "AAAA", "sess-1", s},
		{"Empty", "", "sess-1", s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(tt.sealed, tt.session)
			if !errors.Is(err, seal.ErrOpen) || got != "" {
				t.Fatalf("Open = %q, %v; want \"\", ErrOpen", got, err)
			}
		})
	}
}

func TestNewRejectsBadKey(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := seal.New(make([]byte, n)); err == nil {
			t.Errorf("New(%d bytes) = nil error", n)
		}
	}
}

func FuzzOpen(f *testing.F) {
	s := mustSealer(f, 7)
	// The same sealer after a rotation: key 8 current, key 7 previous.
	rotated, err := seal.New(bytes.Repeat([]byte{8}, seal.KeySize), bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := s.Seal("tok", "sess")
	f.Add(good, "sess")
	f.Add("", "")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Fuzz(func(t *testing.T, sealed, session string) {
		for name, open := range map[string]func(string, string) (string, error){
			"Open": s.Open, "RotatedOpen": rotated.Open,
		} {
			got, err := open(sealed, session)
			// Only a genuine seal (the seed, made under key 7 for "sess") opens.
			if err == nil && (session != "sess" || got != "tok") {
				t.Fatalf("%s accepted a forged value: %q", name, got)
			}
		}
		// No token seal opens as a tmp.
		if got, err := rotated.OpenTmp(sealed, session); err == nil {
			t.Fatalf("OpenTmp accepted a value never sealed as a tmp: %q", got)
		}
	})
}

// A tmp sealed for the login and a token sealed for the same session are not
// interchangeable: the purpose is bound into the associated data.
func TestTmpSealDoesNotOpenAsToken(t *testing.T) {
	s := mustSealer(t, 1)
	tmp, err := s.SealTmp("tmp-value", "sess-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(tmp, "sess-1"); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("a tmp seal opened as a token: %q, %v", got, err)
	}
	tok, _ := s.Seal("token-value", "sess-1")
	if got, err := s.OpenTmp(tok, "sess-1"); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("a token seal opened as a tmp: %q, %v", got, err)
	}
	if got, err := s.OpenTmp(tmp, "sess-1"); err != nil || got != "tmp-value" {
		t.Errorf("OpenTmp = %q, %v; want tmp-value", got, err)
	}
}

// After TOKEN_SEAL_KEY is rotated, values sealed under the old key (now
// TOKEN_SEAL_KEY_PREVIOUS) still open; new seals use the new key only.
func TestRotatedKeyStillOpensPreviousSeals(t *testing.T) {
	oldKey := bytes.Repeat([]byte{1}, seal.KeySize)
	newKey := bytes.Repeat([]byte{2}, seal.KeySize)
	before := mustSealer(t, 1)
	sealed, _ := before.Seal("token-value", "sess-1")
	after, err := seal.New(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := after.Open(sealed, "sess-1"); err != nil || got != "token-value" {
		t.Fatalf("Open of a seal under the previous key = %q, %v", got, err)
	}
	fresh, _ := after.Seal("token-value", "sess-1")
	if _, err := before.Open(fresh, "sess-1"); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("a new seal opens under the old key alone: %v", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(fresh)
	if id := seal.KeyID(newKey); !bytes.Equal(raw[:len(id)], id) {
		t.Errorf("seal starts %x, want the key id %x", raw[:len(id)], id)
	}
	if _, err := seal.New(newKey, make([]byte, 5)); err == nil {
		t.Error("a malformed previous key was accepted")
	}
}
