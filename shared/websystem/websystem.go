// Package websystem is the client of the helpdesk web system (CONTRACT
// section 2): the two-step login (credentials, then the e-mailed code), the
// paged ticket list, the one-ticket endpoint and logout.
//
// The client keeps to a request budget: its own (Options.RatePerMinute, a
// token bucket) and the server's, as the RateLimit-* headers report it, by
// spreading requests evenly over what the server has left in its window (a
// reset more than 2 minutes ahead is ignored; a Retry-After is clamped to 2
// minutes). It retries what the one retry rule allows (shouldRetry; Permanent
// is its public face): 429s after the wait the server asks for, and 5xx,
// 408, network errors, timeouts and malformed bodies with exponential
// backoff and jitter, a bounded number of times. Every try has a deadline
// (Options.RequestTimeout) that covers reading the body, and a body is read
// only up to a cap (a ticket list: 8 MiB and limit+limit/2 elements). No
// redirect is followed, and the base URL must be https (plain http only to a
// loopback host). Errors are *Error values; errors.Is(err, ErrUnauthorized)
// and the other sentinels, Permanent and IsTransient tell a caller what to
// do next.
//
// Neither errors nor log lines ever carry the password, the code, tmp, a
// token or the server's error message text.
package websystem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// TimeLayout is how query datetimes are sent: UTC, whole seconds
// (CONTRACT section 2, YYYY-MM-DDTHH:MM:SSZ). The web system's answers carry
// RFC 3339 datetimes, fractions possible; package tickets reads those.
const TimeLayout = "2006-01-02T15:04:05Z"

// Caps on what one answer may make the client hold.
const (
	// MaxLimit is the largest page the web system serves (Tiflux's OpenAPI
	// document: limit 1..200).
	MaxLimit = 200
	// maxBody caps a ticket-list body (after any gzip): 200 tickets of a
	// generous 40 KiB each (the reference's list ticket is about 1.5 KiB;
	// 40 KiB leaves room for long titles, many followers and jira_issues),
	// 8000 KiB, rounded up to 8 MiB.
	maxBody = 8 << 20
	// maxSmallBody caps every other body: one ticket, a login answer.
	maxSmallBody = 1 << 20
	// maxErrorBody caps the part of an error body read for its error_code.
	maxErrorBody = 64 << 10
)

// maxElements is the most elements a page asked with limit may hold before
// it is refused: the reference serves at most limit, so more is a server
// off its contract; half a page of slack tolerates one that pads a page
// (e.g. with tickets tied at its boundary) while holding at most 1.5 pages,
// where an unchecked 31 KiB gzip body of empty objects would decode into
// millions of elements.
func maxElements(limit int) int { return limit + limit/2 }

// Paths are the endpoints' paths under the base URL. Empty fields take the
// defaults /login, /login/otp, /tickets and /logout.
type Paths struct {
	Login, OTP, Tickets, Logout string
}

// Options tune a Client. The zero value means: no budget of our own, 5
// retries, backoff from 200 ms to 10 s, 60 s per request, no logging, the
// system clock.
type Options struct {
	RatePerMinute  int           // our request budget; 0: none (the server's is still honoured)
	MaxRetries     int           // retries after the first try of a request; 0: 5, negative: none
	BackoffBase    time.Duration // first backoff after a 5xx or network error; 0: 200 ms
	BackoffMax     time.Duration // longest backoff; 0: 10 s
	RequestTimeout time.Duration // one try, from sending to the body's last byte (budget waits not included); 0: 60 s
	Logger         *slog.Logger  // retries and waits are logged at Warn and Debug; nil: none
	Now            func() time.Time
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
	base    string
	baseErr error // from CheckBaseURL: every request fails with it, unsent
	paths   Paths
	hc      *http.Client
	opts    Options
	log     *slog.Logger
	gov     *governor

	requests, retries, rateLimited, serverErrors atomic.Int64
}

// New returns a client of the web system at baseURL (e.g.
// "https://api.tiflux.com/api/v2"). A nil hc means http.DefaultClient. The
// client uses a copy of hc that follows no redirect: a redirect would carry
// the credentials or the token to wherever it points (another host, or
// plain http); a 3xx is a permanent *Error naming the location's host. A
// baseURL that CheckBaseURL refuses gives a client whose every request
// fails, unsent, with a permanent KindConfig *Error.
func New(baseURL string, paths Paths, hc *http.Client, opts Options) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	own := *hc // the caller's client is not changed
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 60 * time.Second
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
	return &Client{base: strings.TrimRight(baseURL, "/"), baseErr: CheckBaseURL(baseURL), paths: paths, hc: &own, opts: opts,
		log: log.With("component", "websystem"), gov: newGovernor(opts.RatePerMinute, opts.Now)}
}

// CheckBaseURL reports whether baseURL may carry credentials: an absolute
// https URL, or plain http to a loopback host (127.0.0.0/8, ::1,
// localhost), where nothing crosses a network. The error never quotes the
// URL (it could hold user info).
func CheckBaseURL(baseURL string) error {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return errors.New("websystem: the base URL must be an absolute https URL")
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return errors.New("websystem: the base URL must use https (plain http only to a loopback host)")
	}
	return errors.New("websystem: the base URL must be an absolute https URL")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
	err = c.call(ctx, "login", http.MethodPost, c.paths.Login, nil, "", body, func(resp *http.Response, r io.Reader) error {
		b, err := readSmall("login", r)
		if err != nil {
			return err
		}
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

// FinishLogin trades tmp and the e-mailed code for a session token: the
// Authorization response header exactly as the web system sent it (CONTRACT
// section 2: "send it back exactly as received"), scheme word and all; the
// other methods send a token back unchanged. A header that is empty or only
// a scheme word with no credentials ("Bearer") is no token. A wrong, used or
// expired code gives an error matching ErrUnauthorized.
func (c *Client) FinishLogin(ctx context.Context, tmp, code string) (token string, err error) {
	body, _ := json.Marshal(map[string]string{"tmp": tmp, "code": code})
	err = c.call(ctx, "otp", http.MethodPost, c.paths.OTP, nil, "", body, func(resp *http.Response, _ io.Reader) error {
		// net/http has already dropped the value's leading and trailing
		// blanks, which are not part of a header value (RFC 9110 5.5).
		token = resp.Header.Get("Authorization")
		if token == "" || strings.EqualFold(token, "bearer") {
			token = ""
			return &Error{Op: "otp", Kind: KindNoToken, Status: resp.StatusCode}
		}
		return nil
	})
	return token, err
}

// Logout ends the session; token is sent as given (as FinishLogin returned
// it, or "Bearer <api token>"). An already-ended session (401) gives an
// error matching ErrUnauthorized, which callers treat as done.
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
	err := c.call(ctx, "ticket", http.MethodGet, p, nil, token, nil, func(_ *http.Response, r io.Reader) error {
		b, err := readSmall("ticket", r)
		if err != nil {
			return err
		}
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
// matching ErrUnauthorized; a body that is not a JSON array, or one far
// larger than the limit (see ReadPage), is retried, then reported as a
// KindMalformed *Error. One bad element does not fail the page: it counts
// in Rejected.
func (c *Client) ListTickets(ctx context.Context, token string, q Query) (*Page, error) {
	var page *Page
	err := c.call(ctx, "tickets", http.MethodGet, c.paths.Tickets, q.values(), token, nil, func(resp *http.Response, r io.Reader) error {
		p, err := ReadPage(r, q.limit())
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

// DecodePage decodes a ticket-list body of a page asked with the largest
// limit: ReadPage(bytes.NewReader(body), MaxLimit).
func DecodePage(body []byte) (*Page, error) {
	return ReadPage(bytes.NewReader(body), MaxLimit)
}

// ReadPage stream-decodes a ticket-list body: a JSON array whose elements
// are decoded one by one, each kept with its exact bytes (Ticket.Raw), so
// that an element that is not a ticket object with a ticket_number is
// counted in Rejected instead of failing the page. It holds at most one
// page's worth: a body that is not a JSON array, that has more than
// limit+limit/2 elements (see maxElements) or more than 8 MiB is a
// KindMalformed *Error, read no further; a failed read is a KindNetwork
// *Error. Number and TotalItems are left zero.
func ReadPage(r io.Reader, limit int) (*Page, error) {
	limit = min(max(1, limit), MaxLimit)
	cr := &capReader{r: r, left: maxBody}
	dec := json.NewDecoder(cr)
	fail := func(what string) error {
		switch {
		case cr.tooLarge:
			what = fmt.Sprintf("body over %d bytes", maxBody)
		case cr.err != nil:
			return &Error{Op: "tickets", Kind: KindNetwork, Status: http.StatusOK, Err: scrub(cr.err)}
		}
		return &Error{Op: "tickets", Kind: KindMalformed, Status: http.StatusOK, Message: what}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fail("body is not a JSON array")
	}
	most := maxElements(limit)
	p := &Page{}
	for dec.More() {
		if p.Raw == most {
			return nil, fail(fmt.Sprintf("page has more than %d elements (limit %d)", most, limit))
		}
		var el json.RawMessage
		if err := dec.Decode(&el); err != nil {
			return nil, fail("body is not a JSON array")
		}
		p.Raw++
		t, err := tickets.Decode(el)
		if err != nil {
			p.Rejected++
			continue
		}
		p.Tickets = append(p.Tickets, t)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, fail("body is not a JSON array")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail("data after the JSON array")
	}
	return p, nil
}

// capReader reads at most left bytes of r, then fails; it remembers why it
// failed, so that a decoder's error can be told apart.
type capReader struct {
	r        io.Reader
	left     int64
	tooLarge bool
	err      error // the first read error other than io.EOF
}

var errTooLarge = errors.New("body too large")

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a body of exactly the cap from a larger one.
		var one [1]byte
		n, err := io.ReadFull(c.r, one[:])
		if n > 0 {
			c.tooLarge = true
			return 0, errTooLarge
		}
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			c.err = err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// readSmall reads a body that is not a ticket list, up to maxSmallBody.
func readSmall(op string, r io.Reader) ([]byte, error) {
	cr := &capReader{r: r, left: maxSmallBody}
	b, err := io.ReadAll(cr)
	switch {
	case cr.tooLarge:
		return nil, &Error{Op: op, Kind: KindMalformed, Status: http.StatusOK, Message: fmt.Sprintf("body over %d bytes", maxSmallBody)}
	case err != nil:
		return nil, &Error{Op: op, Kind: KindNetwork, Status: http.StatusOK, Err: scrub(err)}
	}
	return b, nil
}

// call sends one request, retrying what shouldRetry allows (the one retry
// rule), and hands a 2xx answer's body to handle (which may be nil). An
// error from handle that is a KindMalformed *Error is retried like a 5xx.
func (c *Client) call(ctx context.Context, op, method, p string, query url.Values, token string, body []byte,
	handle func(*http.Response, io.Reader) error) error {
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
		if !errors.As(err, &e) || !shouldRetry(e) || ctx.Err() != nil || attempt >= c.opts.MaxRetries {
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

// once sends one HTTP request within the budget. The request, from sending
// to the handler's last read of the body, has Options.RequestTimeout; the
// wait for the budget comes before it.
func (c *Client) once(ctx context.Context, op, method, p string, query url.Values, token string, body []byte,
	handle func(*http.Response, io.Reader) error) error {
	if c.baseErr != nil {
		return &Error{Op: op, Kind: KindConfig, Err: c.baseErr}
	}
	u := c.base + p
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	if err := c.gov.acquire(ctx); err != nil {
		return &Error{Op: op, Kind: KindNetwork, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		c.gov.release(nil)
		return &Error{Op: op, Kind: KindConfig, Message: "bad request URL"}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	c.requests.Add(1)
	countSent(ctx)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.gov.release(nil)
		return &Error{Op: op, Kind: KindNetwork, Err: scrub(err)}
	}
	defer resp.Body.Close()
	c.gov.release(resp)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if handle == nil {
			return nil
		}
		return handle(resp, resp.Body)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return &Error{Op: op, Kind: KindStatus, Status: resp.StatusCode, Location: locationHost(resp.Header.Get("Location"))}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return &Error{Op: op, Kind: KindNetwork, Status: resp.StatusCode, Err: scrub(err)}
	}
	e := statusError(op, resp.StatusCode, b, query)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		c.rateLimited.Add(1)
		wait := retryAfter(resp.Header, c.opts.Now())
		if wait == 0 {
			wait = c.opts.BackoffBase
		}
		c.gov.block(c.opts.Now().Add(wait))
		e.RetryAfter = wait
	case resp.StatusCode >= 500:
		c.serverErrors.Add(1)
	}
	return e
}

// locationHost is the scheme and host of a redirect's Location, never its
// path or query (which may carry anything).
func locationHost(loc string) string {
	u, err := url.Parse(strings.TrimSpace(loc))
	if err != nil || u.Host == "" {
		return ""
	}
	h := u.Host
	if u.Scheme != "" {
		h = u.Scheme + "://" + h
	}
	return truncate(strings.ToValidUTF8(h, "?"), 100)
}

// statusError builds the *Error of a non-2xx answer. Of the web system's
// error object {"error_code","message","detail"} (Tiflux's OpenAPI
// document, components.schemas.errors_object) it keeps error_code, and for
// a 422 the detail keys that name a query parameter the client sent; never
// the message or the detail's text, which may quote what was sent.
func statusError(op string, status int, body []byte, query url.Values) *Error {
	e := &Error{Op: op, Kind: KindStatus, Status: status}
	var eb struct {
		Code   json.Number                `json:"error_code"`
		Detail map[string]json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &eb) != nil {
		return e
	}
	if n, err := eb.Code.Int64(); err == nil && n > 0 && n < 1e9 {
		e.Code = int(n)
	}
	if status == http.StatusUnprocessableEntity {
		for k := range eb.Detail {
			if query.Has(k) {
				e.Params = append(e.Params, k)
			}
		}
		slices.Sort(e.Params)
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
