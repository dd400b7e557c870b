// Package webhook checks the OTP webhook's requests (CONTRACT section 4): the
// Apps Script signs each POST with HMAC-SHA256 over "timestamp.body" and the
// CompleteLogin function reads it with a Verifier. The checks run in the
// contract's order and the first that fails answers: body too large (413),
// signature or timestamp (401), JSON and fields (400).
//
// It serves no HTTP itself and knows nothing of sessions: the 404, 409, 422
// and 5xx answers belong to CompleteLogin. An Error's Reason is safe to send
// and to log: it never holds the code, the secret or a signature.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Headers of a signed request.
const (
	HeaderTimestamp = "X-OTP-Timestamp" // unix seconds
	HeaderSignature = "X-OTP-Signature" // "sha256=" + lowercase hex HMAC
)

// Defaults of a Verifier's limits.
const (
	DefaultMaxSkew = 300 * time.Second
	DefaultMaxBody = 64 << 10
)

const signaturePrefix = "sha256="

// Sign returns the X-OTP-Signature value for a body sent at ts (unix seconds,
// as written in X-OTP-Timestamp): "sha256=" and the lowercase hex of
// HMAC-SHA256(key=secret, msg=ts+"."+body).
func Sign(secret []byte, ts string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Error is a request the webhook refuses. Status is the HTTP answer; Reason is
// a short message for the {"error": ...} body that never holds the code, the
// secret or the signature.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("webhook: %d %s", e.Status, e.Reason) }

func refuse(e Error) *Error { return &e }

// The reasons a request is refused. Each Reason is a fixed string with no run
// of four digits, so that no code can ever be read in one; each refusal is a
// fresh copy (see refuse), so a caller may change it freely.
var (
	errNoSecret = Error{http.StatusInternalServerError, "webhook secret not configured"}

	errTooLarge = Error{http.StatusRequestEntityTooLarge, "body too large"}
	errReadBody = Error{http.StatusBadRequest, "cannot read body"}

	errNoTimestamp  = Error{http.StatusUnauthorized, "timestamp header missing"}
	errBadTimestamp = Error{http.StatusUnauthorized, "timestamp header must be unix seconds"}
	errNoSignature  = Error{http.StatusUnauthorized, "signature header missing"}
	errBadSignature = Error{http.StatusUnauthorized, "signature header must be sha256= and 64 lowercase hex digits"}
	errMismatch     = Error{http.StatusUnauthorized, "signature mismatch"}
	errSkew         = Error{http.StatusUnauthorized, "timestamp too far from now"}

	errReplay = Error{http.StatusConflict, "request already accepted (replay)"}
)

// Verifier reads and checks signed webhook requests. The zero value of each
// limit means its default; a Verifier with no Secret refuses every request.
// It is safe for concurrent use once set up.
type Verifier struct {
	Secret  []byte           // OTP_WEBHOOK_SECRET's UTF-8 bytes
	Now     func() time.Time // nil: time.Now
	MaxSkew time.Duration    // how far X-OTP-Timestamp may be from Now; 0: DefaultMaxSkew
	MaxBody int64            // largest body accepted, in bytes; 0: DefaultMaxBody

	mu   sync.Mutex
	seen map[string]int64 // accepted "timestamp.signature" → unix second its window ends
}

// Read reads r's body and checks it in the contract's order. It returns the
// decoded request, or an *Error: 413 for a body over MaxBody; 401 for a
// signature or timestamp header that is missing or malformed, a wrong
// signature, or a timestamp more than MaxSkew from now; 400 for a body that is
// not a JSON object or whose fields are missing or malformed (see DecodeBody);
// 409 for a request whose timestamp and signature were already accepted
// within the window (a replay; see Forget).
// A Verifier without a Secret answers 500. Read does not close the body.
func (v *Verifier) Read(r *http.Request) (Request, error) {
	if len(v.Secret) == 0 {
		return Request{}, refuse(errNoSecret)
	}
	maxBody := v.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	if r.ContentLength > maxBody {
		return Request{}, refuse(errTooLarge)
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return Request{}, refuse(errReadBody)
		}
	}
	if int64(len(body)) > maxBody {
		return Request{}, refuse(errTooLarge)
	}
	if err := v.check(r.Header, body); err != nil {
		return Request{}, err
	}
	req, err := DecodeBody(body)
	if err != nil {
		return Request{}, err
	}
	req.replayKey = r.Header.Get(HeaderTimestamp) + "." + r.Header.Get(HeaderSignature)
	if !v.remember(req.replayKey, r.Header.Get(HeaderTimestamp)) {
		return Request{}, refuse(errReplay)
	}
	return req, nil
}

// remember records an accepted (timestamp, signature) pair until its
// timestamp leaves the window, and reports false when it is there already:
// a replay. Pairs whose window is over are dropped first, so the memory held
// is bounded by the requests signed with the secret in one window.
func (v *Verifier) remember(key, ts string) bool {
	secs, _ := parseUnix(ts) // check has parsed it
	now := v.now().Unix()
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, until := range v.seen {
		if until < now {
			delete(v.seen, k)
		}
	}
	if _, dup := v.seen[key]; dup {
		return false
	}
	if v.seen == nil {
		v.seen = map[string]int64{}
	}
	v.seen[key] = secs + int64(v.skew()/time.Second)
	return true
}

// Forget lets the same signed request be accepted again: for an answer the
// caller is told to retry (404, 5xx), as the Apps Script may resend the very
// request within the same second.
func (v *Verifier) Forget(r Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.seen, r.replayKey)
}

// Remembered is the number of accepted pairs held against replays.
func (v *Verifier) Remembered() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.seen)
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) skew() time.Duration {
	if v.MaxSkew <= 0 {
		return DefaultMaxSkew
	}
	return v.MaxSkew
}

// check verifies the signature, then the timestamp's age, so that only a
// caller holding the secret learns that its clock is off.
func (v *Verifier) check(h http.Header, body []byte) error {
	tsValues := h.Values(HeaderTimestamp)
	if len(tsValues) == 0 || tsValues[0] == "" {
		return refuse(errNoTimestamp)
	}
	ts := tsValues[0]
	secs, ok := parseUnix(ts)
	if !ok || len(tsValues) > 1 {
		return refuse(errBadTimestamp)
	}
	sigValues := h.Values(HeaderSignature)
	if len(sigValues) == 0 || sigValues[0] == "" {
		return refuse(errNoSignature)
	}
	got, ok := parseSignature(sigValues[0])
	if !ok || len(sigValues) > 1 {
		return refuse(errBadSignature)
	}
	if !hmac.Equal(got, mac(v.Secret, ts, body)) {
		return refuse(errMismatch)
	}
	skew := v.skew()
	// Compare in seconds: no overflow for any timestamp that parsed.
	d := v.now().Unix() - secs
	if d > int64(skew/time.Second) || -d > int64(skew/time.Second) {
		return refuse(errSkew)
	}
	return nil
}

// parseUnix accepts 1 to 12 ASCII digits (unix seconds up to year 33658);
// no sign, no space, no fraction.
func parseUnix(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 12 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseSignature accepts "sha256=" and 64 lowercase hex digits, the one form
// the contract gives.
func parseSignature(s string) ([]byte, bool) {
	if len(s) != len(signaturePrefix)+2*sha256.Size || s[:len(signaturePrefix)] != signaturePrefix {
		return nil, false
	}
	hexPart := s[len(signaturePrefix):]
	for i := 0; i < len(hexPart); i++ {
		c := hexPart[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return nil, false
		}
	}
	b, err := hex.DecodeString(hexPart)
	return b, err == nil
}

// AsError returns err's *Error, if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Request is a verified webhook request's body.
type Request struct {
	Code       string    // 4 to 8 ASCII digits
	ReceivedAt time.Time // when the mail arrived or the person typed the code
	MessageID  string    // the mail's id, or "manual"
	Source     string    // SourceGmail or SourceManual

	replayKey string // the accepted "timestamp.signature", for Forget
}

// Sources of a code.
const (
	SourceGmail  = "gmail"
	SourceManual = "manual"
)

// LogValue implements slog.LogValuer: the request without its code.
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Time("received_at", r.ReceivedAt),
		slog.String("message_id", r.MessageID),
		slog.String("source", r.Source),
	)
}

// String describes the request without its code, so that printing it with
// fmt shows no secret either.
func (r Request) String() string {
	return fmt.Sprintf("webhook.Request{Code:[REDACTED] ReceivedAt:%s MessageID:%q Source:%q}",
		r.ReceivedAt.Format(time.RFC3339Nano), r.MessageID, r.Source)
}

// GoString is String, for %#v.
func (r Request) GoString() string { return r.String() }
