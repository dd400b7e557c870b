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
	// KindStatus: the web system answered with a status that is not success
	// (a 3xx too: redirects are not followed).
	KindStatus Kind = iota
	// KindMalformed: a success answer whose body is not what the protocol
	// says (a ticket list that is not a JSON array, a page far larger than
	// its limit, a login without tmp).
	KindMalformed
	// KindNetwork: no answer: the connection failed or timed out.
	KindNetwork
	// KindNoToken: the code was accepted but no token came back in the
	// Authorization header.
	KindNoToken
	// KindConfig: nothing was sent: the client's base URL is not https (nor
	// a loopback host).
	KindConfig
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
	case KindConfig:
		return "config"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a failed request to the web system. It never holds the password,
// code, tmp or token, nor any text of the server's: request bodies are not
// echoed, and of an error body only the status and error_code are kept (its
// "message" may quote what it was sent; CONTRACT section 2).
type Error struct {
	Op         string        // "login", "otp", "tickets", "ticket" or "logout"
	Kind       Kind          // what went wrong
	Status     int           // HTTP status; 0 when there was no answer
	Code       int           // the error body's error_code, when it had one
	Params     []string      // for a 422: the query parameters the body's detail names (only names the client sent)
	Location   string        // for a 3xx: the scheme and host it pointed to (never its path or query)
	Message    string        // the client's own account of what was malformed; never the server's text
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
		if h := e.hint(); h != "" {
			b.WriteString(": " + h)
		}
	case KindMalformed:
		b.WriteString("malformed response")
	case KindNetwork:
		b.WriteString("no response")
	case KindNoToken:
		b.WriteString("no token in the Authorization response header")
	case KindConfig:
		b.WriteString("not sent")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// pathVars names the setting of each operation's path (CONTRACT section 5).
var pathVars = map[string]string{"login": "WEB_LOGIN_PATH", "otp": "WEB_OTP_PATH",
	"tickets": "WEB_TICKETS_PATH", "logout": "WEB_LOGOUT_PATH"}

// hint says what to fix for an answer that can never succeed on retry. The
// 403 codes and their fixes are those of Tiflux's OpenAPI document
// (leoalves43/dashboard-tiflux, docs/reference/openapi-spec-tiflux.json,
// "Como corrigir o erro 40301/40304").
func (e *Error) hint() string {
	switch s := e.Status; {
	case s >= 300 && s < 400:
		loc := e.Location
		if loc == "" {
			loc = "an unnamed location"
		}
		return "redirect to " + loc + " not followed (it would carry the credentials there): set WEB_BASE_URL to the address that answers"
	case s == http.StatusForbidden && e.Code == 40304:
		return "the user lacks the Tickets licence: an administrator must enable it for this user"
	case s == http.StatusForbidden && e.Code == 40301:
		return "the user's permission group lacks the permission to view tickets (also those the user is not responsible for): an administrator must grant it"
	case s == http.StatusForbidden:
		return "the user lacks the Tickets licence or the permission to view tickets: an administrator must grant them"
	case s == http.StatusUnprocessableEntity:
		h := "the web system refused a parameter"
		if len(e.Params) > 0 {
			h += " (" + strings.Join(e.Params, ", ") + ")"
		}
		return h + ": check the window and filter_by the pull sent"
	case s == http.StatusNotFound && e.Op == "ticket":
		return "the ticket no longer exists (deleted or merged away)"
	case s == http.StatusNotFound && pathVars[e.Op] != "":
		return "nothing at that path: check " + pathVars[e.Op] + " and WEB_BASE_URL"
	}
	return ""
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches ErrUnauthorized for a 401, ErrForbidden for a 403,
// ErrNotFound for a 404 and ErrRateLimited for a 429.
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

// shouldRetry is the one retry rule (in the shape of compute/metadata's
// shouldRetry): the client's own retries, IsTransient and Permanent all
// derive from it. Worth another try: a 5xx, 408, 429, no answer (but not a
// request canceled by its caller), a malformed body. Never: any other
// status (3xx, 4xx), a missing token, a misconfigured client.
func shouldRetry(e *Error) bool {
	switch e.Kind {
	case KindNetwork, KindMalformed:
		return !errors.Is(e.Err, context.Canceled)
	case KindStatus:
		return e.Status >= 500 || e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests
	}
	return false
}

// IsTransient reports whether err may go away on its own, so that the whole
// operation is worth retrying later: 5xx, 408, a 429 that outlasted the
// retries, network errors and timeouts, malformed bodies. It is false for
// every error Permanent reports, and for a context canceled by the caller.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return shouldRetry(e)
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// Permanent reports whether err can never succeed on retry, so that a pull
// must end: a 4xx answer other than 408 and 429 (401: the session is over;
// 403: licence or permission; 404, 422: a wrong path or parameter), a
// redirect (not followed), a login answer without a token, a base URL that
// is not https. It is false for nil, for every transient failure and for a
// context canceled by the caller. It is THE retry rule: the client retries
// exactly what is neither permanent nor canceled.
func Permanent(err error) bool {
	var e *Error
	if !errors.As(err, &e) || errors.Is(err, context.Canceled) {
		return false
	}
	return !shouldRetry(e)
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
