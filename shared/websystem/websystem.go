// Package websystem is the client of the helpdesk web system (CONTRACT
// section 2): the two-step login (credentials, then the e-mailed code), the
// paged ticket list and logout.
//
// The client keeps to a request budget: its own (Options.RatePerMinute, a
// token bucket) and the server's, as the RateLimit-* headers report it, by
// spreading requests evenly over what the server has left in its window. It
// retries 429s after the wait the server asks for, and 5xx answers, network
// errors and malformed bodies with exponential backoff and jitter, a bounded
// number of times. Errors are *Error values; errors.Is(err, ErrUnauthorized)
// and IsTransient tell a caller what to do next.
//
// Neither errors nor log lines ever carry the password, the code, tmp or a
// token.
package websystem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// TimeLayout is how the web system writes datetimes: ISO-8601 UTC with milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// maxBody caps a response body read into memory.
const maxBody = 32 << 20

// Paths are the endpoints' paths under the base URL. Empty fields take the
// defaults /login, /login/otp, /tickets and /logout.
type Paths struct {
	Login, OTP, Tickets, Logout string
}

// Options tune a Client. The zero value means: no budget of our own, 5
// retries, backoff from 200 ms to 10 s, no logging, the system clock.
type Options struct {
	RatePerMinute int           // our request budget; 0: none (the server's is still honoured)
	MaxRetries    int           // retries after the first try of a request; 0: 5, negative: none
	BackoffBase   time.Duration // first backoff after a 5xx or network error; 0: 200 ms
	BackoffMax    time.Duration // longest backoff; 0: 10 s
	Logger        *slog.Logger  // retries and waits are logged at Warn and Debug; nil: none
	Now           func() time.Time
	RequestTimeout time.Duration
}

// Stats counts the client's HTTP requests since New. Every request counts,
// retries included.
type Stats struct {
	Requests     int64 // HTTP requests sent
	Retries      int64 // of which retries
	RateLimited  int64 // 429 answers received
	ServerErrors int64 // 5xx answers received
}

// Client talks to one web system. It is safe for concurrent use; the budget
// is shared by all its requests.
type Client struct {
	base  string
	paths Paths
	hc    *http.Client
	opts  Options
	log   *slog.Logger
	gov   *governor

	requests, retries, rateLimited, serverErrors atomic.Int64
}

// New returns a client of the web system at baseURL (e.g.
// "https://api.example.com/v2"). A nil hc means http.DefaultClient.
func New(baseURL string, paths Paths, hc *http.Client, opts Options) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 5
	}
	opts.MaxRetries = max(0, opts.MaxRetries)
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = 200 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	paths.Login = path(paths.Login, "/login")
	paths.OTP = path(paths.OTP, "/login/otp")
	paths.Tickets = path(paths.Tickets, "/tickets")
	paths.Logout = path(paths.Logout, "/logout")
	return &Client{base: strings.TrimRight(baseURL, "/"), paths: paths, hc: hc, opts: opts,
		log: log.With("component", "websystem"), gov: newGovernor(opts.RatePerMinute, opts.Now)}
}

func path(p, def string) string {
	if p == "" {
		return def
	}
	return "/" + strings.TrimLeft(p, "/")
}

// Stats returns the request counters.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load(),
		RateLimited: c.rateLimited.Load(), ServerErrors: c.serverErrors.Load()}
}

// StartLogin posts the credentials; the web system e-mails a code and
// answers tmp, the opaque handle FinishLogin needs. Bad credentials give an
// error matching ErrUnauthorized.
func (c *Client) StartLogin(ctx context.Context, email, password string) (tmp string, err error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	err = c.call(ctx, "login", http.MethodPost, c.paths.Login, nil, "", body, func(resp *http.Response, b []byte) error {
		var out struct {
			Tmp string `json:"tmp"`
		}
		if json.Unmarshal(b, &out) != nil || out.Tmp == "" {
			return &Error{Op: "login", Kind: KindMalformed, Status: resp.StatusCode, Message: `body has no "tmp"`}
		}
		tmp = out.Tmp
		return nil
	})
	return tmp, err
}

// FinishLogin trades tmp and the e-mailed code for a session token, read from
// the Authorization response header (a "Bearer " prefix is dropped). A wrong,
// used or expired code gives an error matching ErrUnauthorized.
func (c *Client) FinishLogin(ctx context.Context, tmp, code string) (token string, err error) {
	body, _ := json.Marshal(map[string]string{"tmp": tmp, "code": code})
	err = c.call(ctx, "otp", http.MethodPost, c.paths.OTP, nil, "", body, func(resp *http.Response, _ []byte) error {
		token = bearer(resp.Header.Get("Authorization"))
		if token == "" {
			return &Error{Op: "otp", Kind: KindNoToken, Status: resp.StatusCode}
		}
		return nil
	})
	return token, err
}

// bearer strips an optional "Bearer " prefix.
func bearer(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	if strings.EqualFold(v, "bearer") {
		return ""
	}
	return v
}

// Logout ends the session. An already-ended session (401) gives an error
// matching ErrUnauthorized, which callers treat as done.
func (c *Client) Logout(ctx context.Context, token string) error {
	return c.call(ctx, "logout", http.MethodPost, c.paths.Logout, nil, token, nil, nil)
}

// FilterBy says which datetime a Filter's window applies to.
type FilterBy int

const (
	// ByCreated selects tickets created in the window (the full list).
	ByCreated FilterBy = iota
	// ByUpdated selects tickets updated in the window (the changed list).
	ByUpdated
)

// Filter is a ticket list's window; both ends are sent as given.
type Filter struct {
	By       FilterBy
	From, To time.Time
}

// CreatedBetween selects the tickets created from from to to.
func CreatedBetween(from, to time.Time) Filter { return Filter{By: ByCreated, From: from, To: to} }

// UpdatedBetween selects the tickets updated from from to to.
func UpdatedBetween(from, to time.Time) Filter { return Filter{By: ByUpdated, From: from, To: to} }

// Status is the list's filter_by: which tickets by their state.
type Status string

// The filter_by values of CONTRACT section 2. The web system's own default is
// open; a Query's empty Status sends all.
const (
	StatusAll      Status = "all"
	StatusOpen     Status = "open"
	StatusClosed   Status = "closed"
	StatusCanceled Status = "canceled"
)

// Query asks for one page of the ticket list.
type Query struct {
	Page   int    // 1-based page number (the contract's offset); 0 means 1
	Limit  int    // page size, 1..200; 0 means 200
	Status Status // filter_by; empty means StatusAll
	Filter Filter // the window; a zero Filter sends no dates
}

func (q Query) values() url.Values {
	v := url.Values{}
	v.Set("offset", strconv.Itoa(max(1, q.Page)))
	v.Set("limit", strconv.Itoa(q.limit()))
	status := q.Status
	if status == "" {
		status = StatusAll
	}
	v.Set("filter_by", string(status))
	if q.Filter.From.IsZero() && q.Filter.To.IsZero() {
		return v
	}
	from, to := q.Filter.From.UTC().Format(TimeLayout), q.Filter.To.UTC().Format(TimeLayout)
	if q.Filter.By == ByUpdated {
		v.Set("update_start_datetime", from)
		v.Set("update_end_datetime", to)
	} else {
		v.Set("date_type", "created_at")
		v.Set("start_datetime", from)
		v.Set("end_datetime", to)
	}
	return v
}

func (q Query) limit() int {
	if q.Limit <= 0 {
		return 200
	}
	return q.Limit
}

// Page is one page of the ticket list.
type Page struct {
	Number     int              // its 1-based page number
	Tickets    []tickets.Ticket // the valid tickets, in list order
	Rejected   int              // elements that were not ticket objects with a ticket_number
	TotalItems int              // X-Total-Items at this request; -1 when missing
	Raw        int              // elements in the array: a page with Raw < limit is the last
	ServerTime time.Time        // the answer's Date header (the web system's clock, whole seconds); zero when missing
}

// Ticket fetches one ticket by its number (GET {tickets}/{number}). A ticket
// the system no longer has (deleted, or merged into another) gives an error
// matching ErrNotFound.
func (c *Client) Ticket(ctx context.Context, token string, number int64) (tickets.Ticket, error) {
	var t tickets.Ticket
	p := c.paths.Tickets + "/" + strconv.FormatInt(number, 10)
	err := c.call(ctx, "ticket", http.MethodGet, p, nil, token, nil, func(_ *http.Response, b []byte) error {
		d, err := tickets.Decode(bytes.TrimSpace(b))
		if err != nil {
			return &Error{Op: "ticket", Kind: KindMalformed, Status: http.StatusOK, Message: "body is not a ticket object"}
		}
		t = d
		return nil
	})
	return t, err
}

// ListTickets fetches one page. A 401 (the session is over) gives an error
// matching ErrUnauthorized; a body that is not a JSON array is retried, then
// reported as a KindMalformed *Error. One bad element does not fail the page:
// it counts in Rejected.
func (c *Client) ListTickets(ctx context.Context, token string, q Query) (*Page, error) {
	var page *Page
	err := c.call(ctx, "tickets", http.MethodGet, c.paths.Tickets, q.values(), token, nil, func(resp *http.Response, b []byte) error {
		p, err := DecodePage(b)
		if err != nil {
			return err
		}
		p.Number = max(1, q.Page)
		p.TotalItems = -1
		if n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-Total-Items"))); err == nil && n >= 0 {
			p.TotalItems = n
		}
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			p.ServerTime = d
		}
		page = p
		return nil
	})
	return page, err
}

// DecodePage decodes a ticket-list body: a JSON array whose elements are
// decoded one by one, so that an element that is not a ticket object with a
// ticket_number is counted in Rejected instead of failing the page. A body
// that is not a JSON array is a KindMalformed *Error. Number and TotalItems
// are left zero.
func DecodePage(body []byte) (*Page, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, &Error{Op: "tickets", Kind: KindMalformed, Status: http.StatusOK, Message: "body is not a JSON array"}
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return nil, &Error{Op: "tickets", Kind: KindMalformed, Status: http.StatusOK,
			Message: truncate("body is not a JSON array: "+err.Error(), maxMessage)}
	}
	p := &Page{Raw: len(raw), Tickets: make([]tickets.Ticket, 0, len(raw))}
	for _, el := range raw {
		t, err := tickets.Decode(el)
		if err != nil {
			p.Rejected++
			continue
		}
		p.Tickets = append(p.Tickets, t)
	}
	return p, nil
}

// call sends one request, retrying as the package doc says, and hands a 2xx
// answer to handle (which may be nil). An error from handle that is a
// KindMalformed *Error is retried like a 5xx.
func (c *Client) call(ctx context.Context, op, method, p string, query url.Values, token string, body []byte,
	handle func(*http.Response, []byte) error) error {
	bo := &backoff.ExponentialBackOff{InitialInterval: c.opts.BackoffBase, RandomizationFactor: 0.5,
		Multiplier: 2, MaxInterval: c.opts.BackoffMax}
	bo.Reset()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.retries.Add(1)
		}
		err := c.once(ctx, op, method, p, query, token, body, handle)
		if err == nil {
			return nil
		}
		var e *Error
		if !errors.As(err, &e) || !retryable(e) || ctx.Err() != nil || attempt >= c.opts.MaxRetries {
			return err
		}
		wait := bo.NextBackOff()
		if e.Status == http.StatusTooManyRequests {
			wait = e.RetryAfter // the governor holds every request back until then
		}
		c.log.Warn("web request failed; retrying", "op", op, "kind", e.Kind.String(), "status", e.Status,
			"attempt", attempt+1, "wait", wait.String())
		if err := sleep(ctx, wait); err != nil {
			return &Error{Op: op, Kind: KindNetwork, Err: err}
		}
	}
}

func retryable(e *Error) bool {
	switch e.Kind {
	case KindNetwork, KindMalformed:
		return !errors.Is(e.Err, context.Canceled)
	case KindStatus:
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests
	}
	return false
}

// once sends one HTTP request within the budget.
func (c *Client) once(ctx context.Context, op, method, p string, query url.Values, token string, body []byte,
	handle func(*http.Response, []byte) error) error {
	u := c.base + p
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &Error{Op: op, Kind: KindNetwork, Message: "bad request URL"}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	if err := c.gov.acquire(ctx); err != nil {
		return &Error{Op: op, Kind: KindNetwork, Err: err}
	}
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.gov.release(nil)
		return &Error{Op: op, Kind: KindNetwork, Err: scrub(err)}
	}
	defer resp.Body.Close()
	c.gov.release(resp)
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return &Error{Op: op, Kind: KindNetwork, Status: resp.StatusCode, Err: scrub(err)}
	}
	if len(b) > maxBody {
		return &Error{Op: op, Kind: KindMalformed, Status: resp.StatusCode, Message: "body too large"}
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if handle == nil {
			return nil
		}
		return handle(resp, b)
	case resp.StatusCode == http.StatusTooManyRequests:
		c.rateLimited.Add(1)
		wait := retryAfter(resp.Header, c.opts.Now())
		if wait == 0 {
			wait = c.opts.BackoffBase
		}
		c.gov.block(c.opts.Now().Add(wait))
		e := statusError(op, resp.StatusCode, b)
		e.RetryAfter = wait
		return e
	case resp.StatusCode >= 500:
		c.serverErrors.Add(1)
	}
	return statusError(op, resp.StatusCode, b)
}

// statusError builds the *Error of a non-2xx answer from its body, if the
// body is the web system's error object.
func statusError(op string, status int, body []byte) *Error {
	e := &Error{Op: op, Kind: KindStatus, Status: status}
	var eb struct {
		Code    json.Number `json:"error_code"`
		Message string      `json:"message"`
	}
	if json.Unmarshal(body, &eb) == nil {
		if n, err := eb.Code.Int64(); err == nil {
			e.Code = int(n)
		}
		e.Message = truncate(strings.ToValidUTF8(eb.Message, "?"), maxMessage)
	}
	return e
}

// scrub keeps a transport error's meaning but not its URL's query, which
// carries nothing secret today but is not ours to print in full.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		if perr == nil {
			u.RawQuery, u.User = "", nil
			return fmt.Errorf("%s %s: %w", ue.Op, u.Redacted(), ue.Err)
		}
		return ue.Err
	}
	return err
}

func CheckBaseURL(string) error { return nil }
