package websystem

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrUnauthorized matches (errors.Is) an *Error for a 401: bad credentials,
// a wrong, used or expired code, or a session token that no longer works.
// On Logout it means the session was already over.
var ErrUnauthorized = errors.New("websystem: unauthorized")

// ErrRateLimited matches (errors.Is) an *Error for a 429 that outlasted the
// retries.
var ErrRateLimited = errors.New("websystem: rate limited")

// ErrNotFound matches (errors.Is) an *Error for a 404: on the one-ticket
// endpoint, a ticket deleted or merged away.
var ErrNotFound = errors.New("websystem: not found")

// ErrForbidden matches (errors.Is) an *Error for a 403: the user lacks the
// Tickets licence or the permission to see the tickets (error codes 40301,
// 40304).
var ErrForbidden = errors.New("websystem: forbidden")

// Kind says what went wrong with a request.
type Kind int

const (
	// KindStatus: the web system answered with a status that is not success.
	KindStatus Kind = iota
	// KindMalformed: a success answer whose body is not what the protocol
	// says (a ticket list that is not a JSON array, a login without tmp).
	KindMalformed
	// KindNetwork: no answer: the connection failed or timed out.
	KindNetwork
	// KindNoToken: the code was accepted but no token came back in the
	// Authorization header.
	KindNoToken
)

func (k Kind) String() string {
	switch k {
	case KindStatus:
		return "status"
	case KindMalformed:
		return "malformed"
	case KindNetwork:
		return "network"
	case KindNoToken:
		return "no token"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a failed request to the web system. It never holds the password,
// code, tmp or token: request bodies are not echoed, and the server's message
// is cut to maxMessage bytes.
type Error struct {
	Op         string        // "login", "otp", "tickets" or "logout"
	Kind       Kind          // what went wrong
	Status     int           // HTTP status; 0 when there was no answer
	Code       int           // the body's error_code, when it had one
	Message    string        // the body's message, or what was malformed
	RetryAfter time.Duration // for a 429: how long the server asked to wait
	Err        error         // the underlying error (network failures)
}

const maxMessage = 200

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "websystem: %s: ", e.Op)
	switch e.Kind {
	case KindStatus:
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
		if e.Code != 0 {
			fmt.Fprintf(&b, " (error_code %d)", e.Code)
		}
	case KindMalformed:
		b.WriteString("malformed response")
	case KindNetwork:
		b.WriteString("no response")
	case KindNoToken:
		b.WriteString("no token in the Authorization response header")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches ErrUnauthorized for a 401 and ErrRateLimited for a 429.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Kind == KindStatus && e.Status == http.StatusUnauthorized
	case ErrRateLimited:
		return e.Kind == KindStatus && e.Status == http.StatusTooManyRequests
	case ErrNotFound:
		return e.Kind == KindStatus && e.Status == http.StatusNotFound
	case ErrForbidden:
		return e.Kind == KindStatus && e.Status == http.StatusForbidden
	}
	return false
}

// IsTransient reports whether err may go away on its own, so that the whole
// operation is worth retrying later: 5xx, a 429 that outlasted the retries,
// network errors and timeouts, malformed bodies. 401 and other 4xx are not,
// nor is a context canceled by the caller.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Kind {
	case KindNetwork, KindMalformed:
		return true
	case KindStatus:
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests
	}
	return false
}

// Permanent reports whether err can never succeed on retry, so that a pull
// must end: a 4xx answer other than 408 and 429 (401: the session is over;
// 403: licence or permission; 404, 422: a wrong path or parameter). It is
// false for nil and for every transient failure.
func Permanent(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindStatus {
		return false
	}
	return e.Status >= 400 && e.Status < 500 &&
		e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
