package websystem_test

// Tests of the client against the real Tiflux API v2 (CONTRACT section 2 and
// Tiflux's OpenAPI document, leoalves43/dashboard-tiflux
// docs/reference/openapi-spec-tiflux.json): query datetimes, the token,
// error bodies and the one retry rule, the one-ticket endpoint, and the
// failure paths of issue 11 (timeouts, hostile pages, rate headers,
// redirects, plain-http base URLs).

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// oneTicket is a ticket object in the reference's shape (trimmed).
const oneTicket = `{"ticket_number":48213,"title":"Impressora não imprime","created_at":"2026-06-01T13:05:00Z","updated_at":"2026-06-02T09:41:12Z","is_closed":false}`

// recorder is a web system that answers every request with answer and
// records what it was sent.
type recorder struct {
	mu     sync.Mutex
	reqs   []*http.Request
	answer func(w http.ResponseWriter, r *http.Request)
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, r.Clone(context.Background()))
	rc.mu.Unlock()
	rc.answer(w, r)
}

func (rc *recorder) requests() []*http.Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*http.Request(nil), rc.reqs...)
}

// MustServer starts answer behind httptest and returns a client of it with
// fast backoff.
func MustServer(tb testing.TB, answer func(w http.ResponseWriter, r *http.Request), opts websystem.Options) (*recorder, *websystem.Client) {
	tb.Helper()
	rc := &recorder{answer: answer}
	hs := httptest.NewServer(rc)
	tb.Cleanup(hs.Close)
	if opts.BackoffBase == 0 {
		opts.BackoffBase, opts.BackoffMax = time.Millisecond, 5*time.Millisecond
	}
	return rc, websystem.New(hs.URL, websystem.Paths{}, nil, opts)
}

func answerJSON(status int, header http.Header, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestQuerySendsWholeSecondUTCDatetimes(t *testing.T) {
	sp := time.FixedZone("BRT", -3*3600)
	from := time.Date(2026, 6, 1, 10, 5, 0, 123_000_000, sp) // 13:05:00.123Z
	to := time.Date(2026, 6, 2, 9, 41, 12, 999_000_000, time.UTC)
	tests := []struct {
		name   string
		filter websystem.Filter
		want   map[string]string
	}{
		{"Created", websystem.CreatedBetween(from, to), map[string]string{
			"date_type": "created_at", "start_datetime": "2026-06-01T13:05:00Z", "end_datetime": "2026-06-02T09:41:12Z"}},
		{"Updated", websystem.UpdatedBetween(from, to), map[string]string{
			"update_start_datetime": "2026-06-01T13:05:00Z", "update_end_datetime": "2026-06-02T09:41:12Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, c := MustServer(t, answerJSON(200, nil, `[]`), websystem.Options{})
			if _, err := c.ListTickets(context.Background(), "tok", websystem.Query{Filter: tt.filter}); err != nil {
				t.Fatal(err)
			}
			q := rc.requests()[0].URL.Query()
			for k, want := range tt.want {
				if got := q.Get(k); got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestQueryFilterByAndDateless(t *testing.T) {
	window := websystem.CreatedBetween(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	dates := []string{"date_type", "start_datetime", "end_datetime", "update_start_datetime", "update_end_datetime"}
	tests := []struct {
		name      string
		q         websystem.Query
		want      url.Values
		wantDates bool
	}{
		{"EmptyStatusSendsAll", websystem.Query{}, url.Values{"filter_by": {"all"}, "offset": {"1"}, "limit": {"200"}}, false},
		{"Open", websystem.Query{Status: websystem.StatusOpen, Page: 3, Limit: 50}, url.Values{"filter_by": {"open"}, "offset": {"3"}, "limit": {"50"}}, false},
		{"Closed", websystem.Query{Status: websystem.StatusClosed}, url.Values{"filter_by": {"closed"}}, false},
		{"CanceledInWindow", websystem.Query{Status: websystem.StatusCanceled, Filter: window}, url.Values{"filter_by": {"canceled"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, c := MustServer(t, answerJSON(200, nil, `[]`), websystem.Options{})
			if _, err := c.ListTickets(context.Background(), "tok", tt.q); err != nil {
				t.Fatal(err)
			}
			got := rc.requests()[0].URL.Query()
			for k, v := range tt.want {
				if got.Get(k) != v[0] {
					t.Errorf("%s: got %q, want %q", k, got.Get(k), v[0])
				}
			}
			for _, k := range dates {
				if got.Has(k) && !tt.wantDates {
					t.Errorf("dateless query sent %s=%q", k, got.Get(k))
				}
			}
			if tt.wantDates && !got.Has("start_datetime") {
				t.Errorf("windowed query sent no start_datetime: %v", got)
			}
		})
	}
}

func TestTokenSentBackExactlyAsReturned(t *testing.T) {
	tests := []struct {
		name, header string
	}{
		{"Bare", "tok123"},
		{"Bearer", "Bearer tok123"},
		{"LowerBearerSpaces", "bearer   tok123"},
		{"OpaqueWithSpaces", "Token a=1, b=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/login/otp":
					w.Header().Set("Authorization", tt.header)
					w.WriteHeader(200)
				default:
					io.WriteString(w, `[]`)
				}
			}, websystem.Options{})
			ctx := context.Background()
			tok, err := c.FinishLogin(ctx, "tmp", "123456")
			if err != nil || tok != tt.header {
				t.Fatalf("FinishLogin: got %q, %v; want %q", tok, err, tt.header)
			}
			if _, err := c.ListTickets(ctx, tok, websystem.Query{}); err != nil {
				t.Fatal(err)
			}
			if err := c.Logout(ctx, tok); err != nil {
				t.Fatal(err)
			}
			for _, r := range rc.requests()[1:] {
				if got := r.Header.Get("Authorization"); got != tt.header {
					t.Errorf("%s sent Authorization %q, want %q", r.URL.Path, got, tt.header)
				}
			}
		})
	}
	t.Run("APITokenMode", func(t *testing.T) {
		rc, c := MustServer(t, answerJSON(200, nil, `[]`), websystem.Options{})
		if _, err := c.ListTickets(context.Background(), "Bearer "+apiToken, websystem.Query{}); err != nil {
			t.Fatal(err)
		}
		if got := rc.requests()[0].Header.Get("Authorization"); got != "Bearer "+apiToken {
			t.Errorf("got %q, want %q", got, "Bearer "+apiToken)
		}
	})
}

// serverMessage is what the web system puts in "message": it may quote what
// it was sent, so it must never reach an error.
const serverMessage = "ECHO-OF-WHAT-WAS-SENT"

func errorBody(code int) string {
	return fmt.Sprintf(`{"error_code":%d,"message":%q,"detail":{"start_datetime":["is invalid"],"error":[%q]}}`, code, serverMessage, serverMessage)
}

func TestPermanentErrorsEndAtOnceAndSayWhatToFix(t *testing.T) {
	tests := []struct {
		name     string
		op       string // "tickets", "ticket" or "login"
		status   int
		body     string
		is       error
		wantCode int
		wantSays []string
	}{
		{"403NoPermission", "tickets", 403, errorBody(40301), websystem.ErrForbidden, 40301, []string{"permission", "view tickets"}},
		{"403NoLicence", "tickets", 403, errorBody(40304), websystem.ErrForbidden, 40304, []string{"Tickets licence"}},
		{"403NoCode", "tickets", 403, `<html>forbidden</html>`, websystem.ErrForbidden, 0, []string{"licence", "permission"}},
		{"422", "tickets", 422, errorBody(42201), nil, 42201, []string{"refused a parameter", "start_datetime"}},
		{"404OnList", "tickets", 404, errorBody(40401), websystem.ErrNotFound, 40401, []string{"WEB_TICKETS_PATH"}},
		{"404OnLogin", "login", 404, `{}`, websystem.ErrNotFound, 0, []string{"WEB_LOGIN_PATH"}},
		{"400", "tickets", 400, errorBody(40001), nil, 40001, []string{"400"}},
		{"401", "tickets", 401, errorBody(40101), websystem.ErrUnauthorized, 40101, []string{"401"}},
		{"409", "tickets", 409, errorBody(40901), nil, 40901, []string{"409"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := MustServer(t, answerJSON(tt.status, nil, tt.body), websystem.Options{MaxRetries: 3})
			ctx := context.Background()
			var err error
			switch tt.op {
			case "tickets":
				_, err = c.ListTickets(ctx, "tok", websystem.Query{Filter: everything})
			case "login":
				_, err = c.StartLogin(ctx, email, password)
			}
			var e *websystem.Error
			if !errors.As(err, &e) || e.Status != tt.status || e.Code != tt.wantCode {
				t.Fatalf("got %#v, want an *Error with status %d code %d", err, tt.status, tt.wantCode)
			}
			if !websystem.Permanent(err) || websystem.IsTransient(err) {
				t.Errorf("Permanent %v IsTransient %v: want permanent", websystem.Permanent(err), websystem.IsTransient(err))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v): got false", err, tt.is)
			}
			if got := c.Stats(); got.Requests != 1 || got.Retries != 0 {
				t.Errorf("Stats: got %+v, want 1 request, no retry", got)
			}
			msg := err.Error()
			for _, s := range tt.wantSays {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not say %q", msg, s)
				}
			}
			if tt.wantCode != 0 && !strings.Contains(msg, fmt.Sprint(tt.wantCode)) {
				t.Errorf("error %q does not name error_code %d", msg, tt.wantCode)
			}
			if text := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(text, serverMessage) {
				t.Errorf("the server's message text reached the error: %s", text)
			}
		})
	}
}

// TestOneRetryRule holds the client's own retries, IsTransient and
// Permanent to one decision for every status the web system may answer.
func TestOneRetryRule(t *testing.T) {
	for status := 300; status < 600; status++ {
		if http.StatusText(status) == "" || status == 304 {
			continue
		}
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := http.Header{"Retry-After": {"0"}}
			if status/100 == 3 {
				h.Set("Location", "https://elsewhere.example/tickets")
			}
			_, c := MustServer(t, answerJSON(status, h, errorBody(status*100+1)), websystem.Options{MaxRetries: 1})
			_, err := c.ListTickets(context.Background(), "tok", websystem.Query{})
			if err == nil {
				t.Fatal("got no error")
			}
			retried := c.Stats().Retries > 0
			transient, permanent := websystem.IsTransient(err), websystem.Permanent(err)
			wantRetried := status >= 500 || status == 408 || status == 429
			if retried != wantRetried || transient != wantRetried || permanent == wantRetried {
				t.Errorf("retried %v, IsTransient %v, Permanent %v; want retried = IsTransient = !Permanent = %v", retried, transient, permanent, wantRetried)
			}
		})
	}
}

func TestTicket(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantErr  error
		wantKind websystem.Kind
		wantReqs int64
	}{
		{"OK", 200, " " + oneTicket + "\n", nil, 0, 1},
		{"NotFound", 404, `{"error_code":40401,"message":"Cannot find record","detail":{"error":["Couldn't find ServiceDesk::Ticket with ticket_number = 48213"]}}`, websystem.ErrNotFound, websystem.KindStatus, 1},
		{"Unauthorized", 401, `{"error_code":40101,"message":"x","detail":{}}`, websystem.ErrUnauthorized, websystem.KindStatus, 1},
		{"Garbage", 200, `<html>gateway</html>`, nil, websystem.KindMalformed, 3},
		{"NotATicket", 200, `{"title":"no number"}`, nil, websystem.KindMalformed, 3},
		{"Array", 200, `[` + oneTicket + `]`, nil, websystem.KindMalformed, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, c := MustServer(t, answerJSON(tt.status, nil, tt.body), websystem.Options{MaxRetries: 2})
			tk, err := c.Ticket(context.Background(), "tok", 48213)
			if got := rc.requests()[0]; got.Method != http.MethodGet || got.URL.Path != "/tickets/48213" || got.Header.Get("Authorization") != "tok" {
				t.Errorf("request: %s %s auth %q; want GET /tickets/48213 with the token", got.Method, got.URL.Path, got.Header.Get("Authorization"))
			}
			if n := c.Stats().Requests; n != tt.wantReqs {
				t.Errorf("requests: got %d, want %d", n, tt.wantReqs)
			}
			if tt.status == 200 && tt.wantKind == 0 {
				if err != nil || tk.Number == nil || *tk.Number != 48213 || string(tk.Raw) != oneTicket {
					t.Fatalf("got %+v (raw %s), %v; want ticket 48213 with its exact bytes", tk, tk.Raw, err)
				}
				return
			}
			var e *websystem.Error
			if !errors.As(err, &e) || e.Kind != tt.wantKind {
				t.Fatalf("got %v, want kind %v", err, tt.wantKind)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v): got false", err, tt.wantErr)
			}
		})
	}
}

func TestRequestTimeoutCoversTricklingBody(t *testing.T) {
	trickle := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		io.WriteString(w, "[")
		for {
			if _, err := io.WriteString(w, " "); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	_, c := MustServer(t, trickle, websystem.Options{RequestTimeout: 100 * time.Millisecond, MaxRetries: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.ListTickets(ctx, "tok", websystem.Query{})
	if ctx.Err() != nil {
		t.Fatalf("the caller's deadline ended the request (%v): want the request timeout to", err)
	}
	var e *websystem.Error
	if !errors.As(err, &e) || e.Kind != websystem.KindNetwork || !websystem.IsTransient(err) {
		t.Fatalf("got %v, want a transient KindNetwork error", err)
	}
	if got := c.Stats(); got.Requests != 2 || got.Retries != 1 {
		t.Errorf("Stats: got %+v, want the timed-out request retried once", got)
	}
}

// elements writes "[" + n copies of el joined by "," + "]".
func elements(w io.Writer, el string, n int) {
	io.WriteString(w, "[")
	chunk := strings.Repeat(el+",", 1024)
	for ; n > 1024; n -= 1024 {
		io.WriteString(w, chunk)
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, el)
	}
	io.WriteString(w, "]")
}

func TestHostilePages(t *testing.T) {
	gz := func(write func(w io.Writer)) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		write(w)
		w.Close()
		return b.Bytes()
	}
	plain := func(write func(w io.Writer)) []byte {
		var b bytes.Buffer
		write(&b)
		return b.Bytes()
	}
	// The bodies are built before measuring: the test server shares the
	// process, so only what the client allocates is counted.
	tests := []struct {
		name  string
		limit int
		body  []byte
		gzip  bool
	}{
		{"FarMoreElementsThanLimit", 10, plain(func(w io.Writer) { elements(w, "{}", 100_000) }), false},
		{"GzipOfEmptyObjects", 200, gz(func(w io.Writer) { elements(w, "{}", 11_000_000) }), true},
		{"BodyOverCap", 200, plain(func(w io.Writer) {
			elements(w, `{"ticket_number":1,"title":"`+strings.Repeat("x", 60<<10)+`"}`, 180)
		}), false},
		{"HugeElement", 200, gz(func(w io.Writer) {
			io.WriteString(w, `[{"ticket_number":1,"title":"`)
			mib := strings.Repeat("y", 1<<20)
			for range 40 {
				io.WriteString(w, mib)
			}
			io.WriteString(w, `"}]`)
		}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tt.gzip {
					w.Header().Set("Content-Encoding", "gzip")
				}
				w.Write(tt.body)
			}, websystem.Options{MaxRetries: -1})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			p, err := c.ListTickets(context.Background(), "tok", websystem.Query{Limit: tt.limit})
			runtime.ReadMemStats(&after)
			var e *websystem.Error
			if !errors.As(err, &e) || e.Kind != websystem.KindMalformed {
				raw := -1
				if p != nil {
					raw = p.Raw
				}
				t.Fatalf("got a page of %d elements, err %v; want a KindMalformed error", raw, err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d body bytes: client allocated %d KiB; %v", len(tt.body), alloc>>10, err)
			if alloc > 64<<20 {
				t.Errorf("allocated %d MiB: want at most 64", alloc>>20)
			}
		})
	}
	t.Run("HalfPageSlackAccepted", func(t *testing.T) {
		body := new(bytes.Buffer)
		elements(body, oneTicket, 15)
		_, c := MustServer(t, answerJSON(200, nil, body.String()), websystem.Options{})
		p, err := c.ListTickets(context.Background(), "tok", websystem.Query{Limit: 10})
		if err != nil || p.Raw != 15 || len(p.Tickets) != 15 || string(p.Tickets[14].Raw) != oneTicket {
			t.Fatalf("got %+v, %v; want 15 tickets with their exact bytes", p, err)
		}
	})
}

func TestRateHeaders(t *testing.T) {
	t.Run("HugeRetryAfterClamped", func(t *testing.T) {
		for _, v := range []string{"1e300", "9223372036854775807", "99999999999"} {
			_, c := MustServer(t, answerJSON(429, http.Header{"Retry-After": {v}}, `{"error_code":42901}`), websystem.Options{MaxRetries: -1})
			_, err := c.ListTickets(context.Background(), "tok", websystem.Query{})
			var e *websystem.Error
			if !errors.As(err, &e) || e.RetryAfter != 2*time.Minute {
				t.Errorf("Retry-After %s: got %v (wait %v), want a wait of 2m0s", v, err, e.RetryAfter)
			}
		}
	})
	t.Run("FarResetOn429Ignored", func(t *testing.T) {
		h := http.Header{"Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}
		_, c := MustServer(t, answerJSON(429, h, `{"error_code":42901}`), websystem.Options{MaxRetries: -1, BackoffBase: 7 * time.Millisecond})
		_, err := c.ListTickets(context.Background(), "tok", websystem.Query{})
		var e *websystem.Error
		if !errors.As(err, &e) || e.RetryAfter != 7*time.Millisecond {
			t.Fatalf("got %v, want a 429 waiting the first backoff, not the far reset", err)
		}
	})
	t.Run("FarResetDoesNotPark", func(t *testing.T) {
		var n atomic.Int32
		_, c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("RateLimit-Remaining", "0")
				w.Header().Set("RateLimit-Reset", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
			}
			io.WriteString(w, `[]`)
		}, websystem.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i := range 2 {
			if _, err := c.ListTickets(ctx, "tok", websystem.Query{}); err != nil {
				t.Fatalf("request %d: %v; want it sent at once", i+1, err)
			}
		}
	})
	t.Run("NearResetHonoured", func(t *testing.T) {
		var n atomic.Int32
		var second time.Time
		reset := time.Now().Add(1500 * time.Millisecond).UTC().Truncate(time.Second).Add(time.Second)
		_, c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("RateLimit-Remaining", "0")
				w.Header().Set("RateLimit-Reset", reset.Format(time.RFC3339)) // whole seconds, as the reference's datetimes
			} else {
				second = time.Now()
			}
			io.WriteString(w, `[]`)
		}, websystem.Options{})
		for range 2 {
			if _, err := c.ListTickets(context.Background(), "tok", websystem.Query{}); err != nil {
				t.Fatal(err)
			}
		}
		if second.Before(reset) {
			t.Errorf("second request at %v, before the reset %v", second, reset)
		}
	})
}

func TestRedirectsNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	otherURL, _ := url.Parse(other.URL)
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			loc := other.URL + "/steal?token=LEAKED-QUERY"
			hc := &http.Client{}
			rc := &recorder{answer: answerJSON(status, http.Header{"Location": {loc}}, ``)}
			hs := httptest.NewServer(rc)
			defer hs.Close()
			c := websystem.New(hs.URL, websystem.Paths{}, hc, websystem.Options{MaxRetries: 2, BackoffBase: time.Millisecond})
			_, err := c.StartLogin(context.Background(), email, password)
			if hc.CheckRedirect != nil {
				t.Error("New changed the caller's http.Client")
			}
			if elsewhere.Load() != 0 {
				t.Fatalf("the redirect was followed: %d requests elsewhere", elsewhere.Load())
			}
			if err == nil || !websystem.Permanent(err) || c.Stats().Requests != 1 {
				t.Fatalf("got %v after %d requests; want one request and a permanent error", err, c.Stats().Requests)
			}
			if msg := err.Error(); !strings.Contains(msg, otherURL.Host) || strings.Contains(msg, "LEAKED-QUERY") || strings.Contains(msg, password) {
				t.Errorf("error %q: want the location's host %s, not its query", msg, otherURL.Host)
			}
		})
	}
}

func TestBaseURLMustBeHTTPS(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://api.tiflux.com/api/v2", true},
		{"http://127.0.0.1:8080", true},
		{"http://127.9.9.9", true},
		{"http://[::1]:9", true},
		{"http://localhost:8080/api", true},
		{"http://LOCALHOST", true},
		{"http://api.tiflux.com/api/v2", false},
		{"http://10.0.0.1", false},
		{"http://localhost.evil.example", false},
		{"http://127.0.0.1.nip.io", false},
		{"ftp://api.tiflux.com", false},
		{"api.tiflux.com", false},
		{"https://", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := websystem.CheckBaseURL(tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckBaseURL: got %v, want ok %v", err, tt.ok)
			}
			if tt.ok {
				return
			}
			c := websystem.New(tt.url, websystem.Paths{}, nil, websystem.Options{})
			_, err = c.StartLogin(context.Background(), email, password)
			if !websystem.Permanent(err) || c.Stats().Requests != 0 {
				t.Fatalf("got %v after %d requests; want a permanent error and nothing sent", err, c.Stats().Requests)
			}
		})
	}
}
