// Package websim is a simulated helpdesk web system: a standalone HTTP server
// that speaks the protocol of CONTRACT section 2 (e-mail + password login, a
// 6-digit code e-mailed to the user, a session token in the Authorization
// response header, the ticket list of Tiflux's API v2 with filter_by and its
// windows, the one-ticket endpoint, logout) so the pipeline can be run and
// tested without the real system. Tickets are sent in the shape of the
// examples of the official reference (Tiflux's OpenAPI document, operations
// get_tickets and get_tickets_ticket_number; public copy:
// leoalves43/dashboard-tiflux, docs/reference/openapi-spec-tiflux.json), with
// websim's own wire type (Ticket), never the pipeline's decoder.
//
// It is for local runs (functions/cmd/local, functions/cmd/websim) and for
// tests that need the real protocol over real HTTP (httptest). Its knobs
// reproduce the real system's bad days: latency, a per-minute rate limit with
// 429s, a share of requests answered 500, tickets created, updated, closed,
// canceled and deleted while a pull pages through (churn), silent closes,
// cancels and deletes between pulls (Silent), several list orders (one of
// them unstable), a licence or permission missing (403), fields of the wrong
// type, and session tokens that die after a number of requests. Churn and
// faults draw from random streams seeded by Options.Seed, so a run with the
// same seed and the same sequence of requests sees the same tickets, the same
// churn and the same faults.
//
// Where it differs from the real system:
//   - There is one user. The rate limit is one fixed 60-second window shared by
//     every request, starting at the first request after the previous window
//     ended; when the limit is 0 the RateLimit-* headers are left out.
//   - The e-mail is a line written to Options.Mailbox (and kept in memory for
//     LastCode and Mails), not a message in a real inbox.
//   - The session token comes back without a "Bearer " prefix; requests may
//     send it with or without one. An api token (Options.APIToken) never
//     expires, and logging it out answers 204 and changes nothing.
//   - A new login does not invalidate earlier tmp values; each code works once
//     and lives 10 minutes. Wrong codes do not lock the login.
//   - Faults (500) are answered before a request has any effect.
//   - Ticket list windows are inclusive at both ends (the reference says
//     "after" and "before"). An end equal to or before its start is a 422, as
//     the reference documents for end_datetime; websim applies the same rule
//     to update_end_datetime. Without date parameters the list is not limited
//     by date.
//   - filter_by=all leaves canceled tickets out unless
//     Options.AllIncludesCanceled: the reference does not say, and a real
//     account's sync reports canceled tickets only show with
//     filter_by=canceled (dashboard-tiflux docs/decisions/LOG.md), so nothing
//     may depend on either. filter_by=closed leaves them out too.
//   - The list's order is not documented; Options.Order picks one (Orders).
//   - Churn and Silent close, cancel and delete only open tickets, and never
//     change updated_at when they do (the real system may or may not): a
//     closed ticket that is deleted could not be noticed by the
//     reconciliation of CONTRACT section 6, which reads only tickets the
//     table holds as open. A deleted (or merged) ticket leaves every list and
//     answers 404 on the one-ticket endpoint; its number is never reused.
//   - Datetimes are whole seconds, so several changes in one second share an
//     updated_at.
//   - The one-ticket endpoint adds only a few of the reference's extra fields
//     (description, is_duplicating, is_grouped, last_reopen_date,
//     ticket_children, ticket_reference, worked_hours, url_internal_path).
//   - A 403 (Options.Forbid) answers every ticket request, whoever asks; the
//     real system decides by the user's licence and permission group.
//   - Offset and limit errors are 422 with error code 42201, like every other
//     query parameter error of the reference. Other list filters (desk_ids,
//     client_ids, search, ...) are ignored, not validated.
//   - No limit of 10 requests a minute per IP for requests without a token.
//   - Half the canceled tickets carry a status named "Descartado" (a custom
//     canceling status): only filter_by=canceled tells them from closed ones.
//   - A wrong-typed field (Options.BadFieldRate) is one of a fixed set
//     (badFields), never ticket_number, created_at, updated_at or is_closed.
package websim

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TimeLayout is how the web system writes datetimes, as the reference's
// examples do: ISO 8601, UTC, whole seconds ("2026-09-01T20:24:08Z").
const TimeLayout = "2006-01-02T15:04:05Z"

// CodeTTL is how long an e-mailed code can be used.
const CodeTTL = 10 * time.Minute

// MaxLimit is the largest page size the ticket list accepts.
const MaxLimit = 200

// Paths are the endpoints' paths. Empty fields take the defaults /login,
// /login/otp, /tickets and /logout.
type Paths struct {
	Login, OTP, Tickets, Logout string
}

// Options configure a Server. The zero value serves no tickets to the
// default credentials with no faults.
type Options struct {
	Tickets int   // tickets at the start
	Days    int   // their created_at spread over the last Days days; default 180
	Seed    int64 // seeds the tickets, the churn and the faults

	Email    string // accepted e-mail; default "analista@example.com.br"
	Password string // accepted password; default "senha-simulada"
	APIToken string // accepted as a token without login (api-token mode); empty: none

	Latency          time.Duration // added to every request
	RateLimit        int           // requests per minute; 0: no limit
	FaultRate        float64       // share of requests answered 500
	Churn            float64       // per ticket-list page served, the share of tickets changed before the next page: created, updated, or silently closed, canceled or deleted
	ChurnNoSilent    bool          // churn only creates and updates (no silent closes, cancels or deletes)
	TokenTTLRequests int           // a session token dies (401) after this many ticket requests; 0: never

	Order               string  // the list's order, one of Orders; default (and for an unknown value) OrderNumberDesc
	BadFieldRate        float64 // share of tickets sent with one field of the wrong type (Fact.BadField)
	Forbid              int     // 40301 (permission) or 40304 (licence): every ticket request answers 403 with that error; 0: none
	AllIncludesCanceled bool    // filter_by=all lists canceled tickets too

	Mailbox io.Writer        // each e-mailed code is appended as a JSON line (Mail); may be nil
	Now     func() time.Time // the clock; default time.Now
	Paths   Paths
}

// Mail is one e-mail with a login code, as written to Options.Mailbox.
type Mail struct {
	Code      string    `json:"code"`
	SentAt    time.Time `json:"sent_at"`
	MessageID string    `json:"message_id"`
	To        string    `json:"to"`
}

// Stats counts what the server has answered.
type Stats struct {
	Requests        map[string]int // by endpoint: "login", "otp", "tickets" (the list), "ticket" (one ticket), "logout", "other"
	RateLimited     int            // 429s sent
	Faults          int            // 500s sent (FaultRate)
	Logouts         int            // logouts accepted (204 for a live session)
	ActiveSessions  int            // session tokens that still work
	CodesSent       int            // e-mails sent
	TicketsCreated  int            // tickets created by churn
	TicketsUpdated  int            // ticket updates by churn and Touch
	TicketsClosed   int            // silent closes by churn and Silent
	TicketsCanceled int            // silent cancels by churn and Silent
	TicketsDeleted  int            // deletions by churn and Silent
}

// Server is the simulated web system. It is an http.Handler; serve it with
// httptest.NewServer or an http.Server. It is safe for concurrent use: one
// mutex guards all its state.
type Server struct {
	mu     sync.Mutex
	opts   Options // guarded by mu, as is everything below
	now    func() time.Time
	closed bool

	tix        []rec // sorted by (created, number) ascending: the newest ticket is last
	nextNumber int64
	nextSeq    int64 // the next change's place in the jump order
	churnRng   *mrand.Rand
	faultRng   *mrand.Rand

	logins   map[string]*pendingLogin // by tmp
	sessions map[string]*session      // by token
	mails    []Mail

	winStart time.Time // the rate-limit window
	winCount int

	stats Stats
}

type pendingLogin struct {
	code   string
	sentAt time.Time
	used   bool
}

type session struct {
	requests int
	dead     bool
}

// New returns a server holding opts.Tickets generated tickets.
func New(opts Options) *Server {
	if opts.Days <= 0 {
		opts.Days = 180
	}
	if opts.Email == "" {
		opts.Email = "analista@example.com.br"
	}
	if opts.Password == "" {
		opts.Password = "senha-simulada"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Order == "" {
		opts.Order = OrderNumberDesc
	}
	p := &opts.Paths
	p.Login = defaultPath(p.Login, "/login")
	p.OTP = defaultPath(p.OTP, "/login/otp")
	p.Tickets = defaultPath(p.Tickets, "/tickets")
	p.Logout = defaultPath(p.Logout, "/logout")

	seed := uint64(opts.Seed)
	s := &Server{
		opts:     opts,
		now:      opts.Now,
		churnRng: mrand.New(mrand.NewPCG(seed, 0x636875726e)),
		faultRng: mrand.New(mrand.NewPCG(seed, 0x6661756c74)),
		logins:   map[string]*pendingLogin{},
		sessions: map[string]*session{},
		stats:    Stats{Requests: map[string]int{}},
	}
	s.generate(mrand.New(mrand.NewPCG(seed, 0x7469636b)), opts.Tickets, opts.Days, s.now())
	return s
}

func defaultPath(p, def string) string {
	if p == "" {
		return def
	}
	return "/" + strings.Trim(p, "/")
}

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// SetNowFunc replaces the clock.
func (s *Server) SetNowFunc(f func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = f
	s.opts.Now = f
}

// SetFaults changes the fault knobs of a running server: the share of
// requests answered 500, the churn per page and the token lifetime in ticket
// requests (0 turns each off).
func (s *Server) SetFaults(faultRate, churn float64, tokenTTLRequests int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.FaultRate, s.opts.Churn, s.opts.TokenTTLRequests = faultRate, churn, tokenTTLRequests
}

// LastCode returns the newest e-mailed code, when it was sent and the
// e-mail's message id; all zero when none was sent.
func (s *Server) LastCode() (code string, sentAt time.Time, messageID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mails) == 0 {
		return "", time.Time{}, ""
	}
	m := s.mails[len(s.mails)-1]
	return m.Code, m.SentAt, m.MessageID
}

// Mails returns every e-mail sent, oldest first.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mails)
}

// Truth returns every ticket as it is now, deleted ones included
// (Situacao "excluido", JSON nil), newest created first, for tests and
// --verify that compare a copy with the original.
func (s *Server) Truth() []Fact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fact, 0, len(s.tix))
	for i := len(s.tix) - 1; i >= 0; i-- {
		out = append(out, s.tix[i].fact())
	}
	return out
}

// SetForbid makes every later ticket request answer 403 with code (40301 or
// 40304), or turns that off (0).
func (s *Server) SetForbid(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Forbid = code
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		st.Requests[k] = v
	}
	for _, se := range s.sessions {
		if !se.dead {
			st.ActiveSessions++
		}
	}
	return st
}

// Close drops the sessions and pending logins; later requests are answered
// 503. The tickets stay readable through Truth.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	clear(s.logins)
	clear(s.sessions)
}

// reply is a response computed under the lock and written after it.
type reply struct {
	status  int
	header  http.Header
	body    []byte
	payload any // encoded as the body after the lock is released
}

// ServeHTTP answers one request of CONTRACT section 2.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.opts.Latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 64<<10))
	}
	rp := s.handle(r, body)
	if rp.payload != nil {
		rp = jsonReply(rp.header, rp.status, rp.payload)
	}
	for k, v := range rp.header {
		w.Header()[k] = v
	}
	if rp.body != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(rp.body)))
	}
	w.WriteHeader(rp.status)
	_, _ = w.Write(rp.body)
}

func (s *Server) handle(r *http.Request, body []byte) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	ep := s.endpoint(r.URL.Path)
	s.stats.Requests[ep]++
	h := http.Header{}
	if s.closed {
		return errReply(h, http.StatusServiceUnavailable, 50301, "server closed")
	}
	if lim := s.opts.RateLimit; lim > 0 {
		if s.winStart.IsZero() || !now.Before(s.winStart.Add(time.Minute)) {
			s.winStart, s.winCount = now, 0
		}
		reset := s.winStart.Add(time.Minute)
		h.Set("RateLimit-Limit", strconv.Itoa(lim))
		h.Set("RateLimit-Reset", reset.Format(TimeLayout))
		if s.winCount >= lim {
			h.Set("RateLimit-Remaining", "0")
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(reset.Sub(now).Seconds()))))
			s.stats.RateLimited++
			return errReply(h, http.StatusTooManyRequests, 42901, "too many requests")
		}
		s.winCount++
		h.Set("RateLimit-Remaining", strconv.Itoa(lim-s.winCount))
	}
	if s.opts.FaultRate > 0 && s.faultRng.Float64() < s.opts.FaultRate {
		s.stats.Faults++
		return errReply(h, http.StatusInternalServerError, 50001, "internal server error")
	}
	method := map[string]string{"login": http.MethodPost, "otp": http.MethodPost, "logout": http.MethodPost, "tickets": http.MethodGet, "ticket": http.MethodGet}[ep]
	if method == "" {
		return errReply(h, http.StatusNotFound, 40401, "not found")
	}
	if r.Method != method {
		h.Set("Allow", method)
		return errReply(h, http.StatusMethodNotAllowed, 40501, "method not allowed")
	}
	switch ep {
	case "login":
		return s.login(h, body, now)
	case "otp":
		return s.otp(h, body, now)
	case "tickets":
		return s.list(h, r, now)
	case "ticket":
		return s.one(h, r)
	default:
		return s.logout(h, r)
	}
}

func (s *Server) endpoint(path string) string {
	path = "/" + strings.Trim(path, "/")
	switch path {
	case s.opts.Paths.Login:
		return "login"
	case s.opts.Paths.OTP:
		return "otp"
	case s.opts.Paths.Tickets:
		return "tickets"
	case s.opts.Paths.Logout:
		return "logout"
	}
	if rest, ok := strings.CutPrefix(path, s.opts.Paths.Tickets+"/"); ok && rest != "" && !strings.Contains(rest, "/") {
		return "ticket"
	}
	return "other"
}

func (s *Server) login(h http.Header, body []byte, now time.Time) reply {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return errReply(h, http.StatusBadRequest, 40001, "body is not a JSON object with email and password")
	}
	if !strings.EqualFold(in.Email, s.opts.Email) || in.Password != s.opts.Password {
		return errReply(h, http.StatusUnauthorized, 40101, "e-mail ou senha inválidos")
	}
	for tmp, p := range s.logins {
		if p.used || now.Sub(p.sentAt) > CodeTTL {
			delete(s.logins, tmp)
		}
	}
	tmp := rand.Text()
	code := fmt.Sprintf("%06d", randInt(1_000_000))
	s.logins[tmp] = &pendingLogin{code: code, sentAt: now}
	m := Mail{Code: code, SentAt: now, MessageID: fmt.Sprintf("websim-%06d@websim.local", len(s.mails)+1), To: s.opts.Email}
	s.mails = append(s.mails, m)
	s.stats.CodesSent++
	if s.opts.Mailbox != nil {
		line, _ := json.Marshal(struct {
			Code      string `json:"code"`
			SentAt    string `json:"sent_at"`
			MessageID string `json:"message_id"`
			To        string `json:"to"`
		}{m.Code, m.SentAt.Format(TimeLayout), m.MessageID, m.To})
		_, _ = s.opts.Mailbox.Write(append(line, '\n'))
	}
	return jsonReply(h, http.StatusOK, map[string]string{"tmp": tmp})
}

func (s *Server) otp(h http.Header, body []byte, now time.Time) reply {
	var in struct {
		Tmp  string `json:"tmp"`
		Code string `json:"code"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return errReply(h, http.StatusBadRequest, 40001, "body is not a JSON object with tmp and code")
	}
	p := s.logins[in.Tmp]
	switch {
	case p == nil:
		return errReply(h, http.StatusUnauthorized, 40102, "login desconhecido")
	case p.used:
		return errReply(h, http.StatusUnauthorized, 40103, "código já utilizado")
	case now.Sub(p.sentAt) > CodeTTL:
		return errReply(h, http.StatusUnauthorized, 40104, "código expirado")
	case in.Code != p.code:
		return errReply(h, http.StatusUnauthorized, 40105, "código inválido")
	}
	p.used = true
	token := rand.Text() + rand.Text()
	s.sessions[token] = &session{}
	h.Set("Authorization", token)
	return jsonReply(h, http.StatusOK, map[string]bool{"authenticated": true})
}

// auth finds the request's session; api is true for the api token.
func (s *Server) auth(r *http.Request) (se *session, api bool) {
	tok := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	if tok == "" {
		return nil, false
	}
	if s.opts.APIToken != "" && tok == s.opts.APIToken {
		return nil, true
	}
	se = s.sessions[tok]
	if se == nil || se.dead {
		return nil, false
	}
	return se, false
}

func (s *Server) logout(h http.Header, r *http.Request) reply {
	se, api := s.auth(r)
	if api {
		return reply{status: http.StatusNoContent, header: h}
	}
	if se == nil {
		return errReply(h, http.StatusUnauthorized, 40106, "sessão inválida ou encerrada")
	}
	for tok, x := range s.sessions {
		if x == se {
			delete(s.sessions, tok)
		}
	}
	s.stats.Logouts++
	return reply{status: http.StatusNoContent, header: h}
}

// ticketRequest counts a ticket request (list or one ticket) against the
// session's lifetime and checks the licence; a non-nil reply ends the request.
func (s *Server) ticketRequest(h http.Header, r *http.Request) *reply {
	se, api := s.auth(r)
	if se == nil && !api {
		rp := errReply(h, http.StatusUnauthorized, 40106, "sessão inválida ou encerrada")
		return &rp
	}
	if se != nil {
		se.requests++
		if ttl := s.opts.TokenTTLRequests; ttl > 0 && se.requests > ttl {
			se.dead = true
			rp := errReply(h, http.StatusUnauthorized, 40107, "sessão expirada")
			return &rp
		}
	}
	switch s.opts.Forbid {
	case 0:
		return nil
	case 40304:
		rp := errDetail(h, http.StatusForbidden, 40304, "Access Denied - Missing required license",
			"error", "You do not have the required 'tickets' license to access this route")
		return &rp
	default:
		rp := errDetail(h, http.StatusForbidden, 40301, "Access Denied - You cannot access this route",
			"error", "You are not authorized to access this page.")
		return &rp
	}
}

// The list's 422 (OpenAPI get_tickets, response 422).
const (
	msgParams = "Problems with query or path parameters values"
	codeParam = 42201
)

func (s *Server) list(h http.Header, r *http.Request, now time.Time) reply {
	if rp := s.ticketRequest(h, r); rp != nil {
		return *rp
	}
	q := r.URL.Query()
	page, limit := 1, 20 // the reference's defaults
	var err error
	if v := q.Get("offset"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return errDetail(h, http.StatusUnprocessableEntity, codeParam, msgParams, "offset", "must be a page number from 1")
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil {
			return errDetail(h, http.StatusUnprocessableEntity, codeParam, msgParams, "limit", "is not a number")
		}
		if limit < 1 || limit > MaxLimit {
			return errDetail(h, http.StatusUnprocessableEntity, codeParam, msgParams, "limit", fmt.Sprintf("must be between 1 and %d", MaxLimit))
		}
	}
	f, field, msg := parseFilter(q)
	if msg != "" {
		return errDetail(h, http.StatusUnprocessableEntity, codeParam, msgParams, field, msg)
	}
	total, idx := s.page(f, page, limit)
	var b bytes.Buffer
	b.WriteByte('[')
	for i, j := range idx {
		if i > 0 {
			b.WriteByte(',')
		}
		t := &s.tix[j]
		b.Write(t.encode(t.wire()))
	}
	b.WriteByte(']')
	h.Set("X-Total-Items", strconv.Itoa(total))
	s.churn(now)
	return reply{status: http.StatusOK, header: h, body: b.Bytes()}
}

// one answers GET {tickets}/{ticket_number}.
func (s *Server) one(h http.Header, r *http.Request) reply {
	if rp := s.ticketRequest(h, r); rp != nil {
		return *rp
	}
	v := strings.Trim(strings.TrimPrefix("/"+strings.Trim(r.URL.Path, "/"), s.opts.Paths.Tickets), "/")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return errDetail(h, http.StatusUnprocessableEntity, codeParam, msgParams, "ticket_number", "is not a number")
	}
	i := s.find(n)
	if i < 0 || s.tix[i].deleted() {
		return errDetail(h, http.StatusNotFound, 40401, "Cannot find record",
			"error", fmt.Sprintf("Couldn't find ServiceDesk::Ticket with ticket_number = %d", n))
	}
	t := &s.tix[i]
	return reply{status: http.StatusOK, header: h, body: t.encode(t.detail())}
}

// find returns the index in s.tix of ticket n, or -1.
func (s *Server) find(n int64) int {
	i, ok := slices.BinarySearchFunc(s.tix, n, func(r rec, n int64) int { return cmpInt(r.number, n) })
	if ok {
		return i
	}
	for i := range s.tix { // numbers out of order (a clock set back): look at each
		if s.tix[i].number == n {
			return i
		}
	}
	return -1
}

// The list's orders (Options.Order). The reference does not say which order
// the real list has, so the pipeline must not depend on one.
const (
	OrderNumberDesc  = "number-desc"  // newest ticket first (the default)
	OrderNumberAsc   = "number-asc"   // oldest ticket first
	OrderUpdatedDesc = "updated-desc" // most recently updated first, then number
	OrderUpdatedAsc  = "updated-asc"  // least recently updated first, then number
	OrderJump        = "jump"         // unstable: every change (also a silent one) moves the ticket to the end
)

// Orders lists the orders the list can be served in.
var Orders = []string{OrderNumberDesc, OrderNumberAsc, OrderUpdatedDesc, OrderUpdatedAsc, OrderJump}

// The filter_by values (OpenAPI get_tickets; "canceled" from its 422 message).
const (
	FilterOpen     = "open"
	FilterClosed   = "closed"
	FilterAll      = "all"
	FilterCanceled = "canceled"
)

// filter selects tickets by state and by created_at or solved_in_time
// (date_type) and updated_at, in Unix milliseconds, inclusive.
type filter struct {
	state      string
	solved     bool // date_type=solved_in_time
	cFrom, cTo int64
	uFrom, uTo int64
}

// parseFilter reads filter_by and the windows; on a wrong value it returns
// the offending parameter and the message of the reference's 422 detail.
func parseFilter(q map[string][]string) (f filter, field, msg string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f = filter{state: FilterOpen, cFrom: math.MinInt64, cTo: math.MaxInt64, uFrom: math.MinInt64, uTo: math.MaxInt64}
	if v, ok := q["filter_by"]; ok && len(v) > 0 {
		switch v[0] {
		case FilterOpen, FilterClosed, FilterAll, FilterCanceled:
			f.state = v[0]
		default:
			return f, "filter_by", v[0] + " is not a valid option. Filter by must be 'open', 'closed', 'canceled' or 'all'"
		}
	}
	switch get("date_type") {
	case "", "created_at":
	case "solved_in_time":
		f.solved = true
	default:
		return f, "date_type", "must be 'created_at' or 'solved_in_time'"
	}
	for _, w := range []struct {
		from, to string
		a, b     *int64
	}{{"start_datetime", "end_datetime", &f.cFrom, &f.cTo}, {"update_start_datetime", "update_end_datetime", &f.uFrom, &f.uTo}} {
		for _, p := range []struct {
			name string
			v    *int64
		}{{w.from, w.a}, {w.to, w.b}} {
			if v := get(p.name); v != "" {
				t, ok := parseTime(v)
				if !ok {
					return f, p.name, "invalid datetime"
				}
				*p.v = t
			}
		}
		if get(w.from) != "" && get(w.to) != "" && *w.b <= *w.a {
			// The reference: an end equal to or before its start is a 422.
			return f, w.to, fmt.Sprintf("must be greater than :%s (%s)", w.from, get(w.from))
		}
	}
	return f, "", ""
}

// parseTime reads a query datetime: ISO 8601 with a zone, as the reference
// documents (YYYY-MM-DDTHH:MM:SSZ or an offset); fractions are accepted.
func parseTime(v string) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

// matches reports whether t is in f.
func (s *Server) matches(f filter, t *rec) bool {
	if t.deleted() {
		return false
	}
	switch f.state {
	case FilterOpen:
		if t.closed() {
			return false
		}
	case FilterClosed:
		if !t.closed() || t.canceled() {
			return false
		}
	case FilterCanceled:
		if !t.canceled() {
			return false
		}
	default: // all
		if t.canceled() && !s.opts.AllIncludesCanceled {
			return false
		}
	}
	if f.solved {
		if t.solved == 0 || t.solved < f.cFrom || t.solved > f.cTo {
			return false
		}
	} else if t.created < f.cFrom || t.created > f.cTo {
		return false
	}
	return t.updated >= f.uFrom && t.updated <= f.uTo
}

// page returns the number of tickets f matches and the indexes in s.tix of
// those on page p (1-based) of size limit, in the order of Options.Order.
func (s *Server) page(f filter, p, limit int) (int, []int) {
	lo, hi := 0, len(s.tix)
	if !f.solved { // s.tix is sorted by created_at: look only at the window
		byCreated := func(r rec, t int64) int { return cmpInt(r.created, t) }
		lo, _ = slices.BinarySearchFunc(s.tix, f.cFrom, byCreated)
		if f.cTo != math.MaxInt64 {
			hi, _ = slices.BinarySearchFunc(s.tix, f.cTo+1, byCreated)
		}
		hi = max(hi, lo)
	}
	skip := (p - 1) * limit
	var idx []int
	n := 0
	take := func(j int) {
		if n >= skip && len(idx) < limit {
			idx = append(idx, j)
		}
		n++
	}
	switch s.opts.Order {
	case OrderNumberAsc:
		for j := lo; j < hi; j++ {
			if s.matches(f, &s.tix[j]) {
				take(j)
			}
		}
		return n, idx
	case OrderUpdatedDesc, OrderUpdatedAsc, OrderJump:
		var all []int
		for j := lo; j < hi; j++ {
			if s.matches(f, &s.tix[j]) {
				all = append(all, j)
			}
		}
		key := func(j int) int64 { return s.tix[j].seq }
		sign := int64(1)
		if s.opts.Order != OrderJump {
			key = func(j int) int64 { return s.tix[j].updated }
		}
		if s.opts.Order == OrderUpdatedDesc {
			sign = -1
		}
		slices.SortFunc(all, func(a, b int) int {
			if c := cmpInt(sign*key(a), sign*key(b)); c != 0 {
				return c
			}
			return cmpInt(sign*s.tix[a].number, sign*s.tix[b].number)
		})
		for _, j := range all {
			take(j)
		}
		return n, idx
	default: // number-desc
		for j := hi - 1; j >= lo; j-- {
			if s.matches(f, &s.tix[j]) {
				take(j)
			}
		}
		return n, idx
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The kinds of change churn makes, with their weights.
const (
	chCreate = iota
	chUpdate
	chClose
	chCancel
	chDelete
)

var churnWeights = []int{30, 40, 10, 10, 10}

// churn changes tickets after a page was served: Churn × the number of
// tickets, the fraction drawn at random; each change creates a ticket,
// updates one, or closes, cancels or deletes an open one silently.
func (s *Server) churn(now time.Time) {
	c := s.opts.Churn
	if c <= 0 {
		return
	}
	x := c * float64(len(s.tix))
	n := int(x)
	if s.churnRng.Float64() < x-float64(n) {
		n++
	}
	ms := sec(now.UnixMilli())
	for range n {
		kind := pick(s.churnRng, churnWeights...)
		if s.opts.ChurnNoSilent && kind > chUpdate {
			kind = chUpdate
		}
		if len(s.tix) == 0 {
			kind = chCreate
		}
		switch kind {
		case chCreate:
			s.create(ms)
		case chUpdate:
			if i := s.live(false); i >= 0 {
				s.tix[i].update(s.churnRng, ms)
				s.moved(i)
				s.stats.TicketsUpdated++
			}
		default:
			if i := s.live(true); i >= 0 {
				s.silent(i, kind, ms)
			}
		}
	}
}

// create adds a new open ticket created at ms.
func (s *Server) create(ms int64) {
	r := rec{created: ms, updated: ms, number: s.nextNumber}
	s.nextNumber++
	fill(&r, s.churnRng, ms, true)
	s.markBad(&r, s.churnRng)
	r.seq = s.nextSeq
	s.nextSeq++
	i, _ := slices.BinarySearchFunc(s.tix, r, func(a, b rec) int {
		return cmpInt(a.created, b.created)*2 + cmpInt(a.number, b.number)
	})
	s.tix = slices.Insert(s.tix, i, r)
	s.stats.TicketsCreated++
}

// live draws a ticket that is not deleted (and open, when open is set); -1
// when none was found in a few draws.
func (s *Server) live(open bool) int {
	for range 32 {
		i := s.churnRng.IntN(len(s.tix))
		if t := &s.tix[i]; !t.deleted() && (!open || !t.closed()) {
			return i
		}
	}
	return -1
}

// moved records that ticket i changed: the jump order moves it to the end.
func (s *Server) moved(i int) {
	s.tix[i].seq = s.nextSeq
	s.nextSeq++
}

// silent closes, cancels or deletes ticket i without a new updated_at.
func (s *Server) silent(i, kind int, ms int64) {
	t := &s.tix[i]
	switch kind {
	case chClose:
		t.status, t.stage, t.solved = stClosed, 4, max(ms, t.created)
		t.flags &^= fStopped
		s.stats.TicketsClosed++
	case chCancel:
		t.status, t.stage = stCanceled, 5
		if s.churnRng.IntN(2) == 0 {
			t.status = stDiscarded
		}
		t.flags &^= fStopped
		s.stats.TicketsCanceled++
	default:
		t.flags |= fDeleted
		s.stats.TicketsDeleted++
	}
	s.moved(i)
}

// Silent closes, cancels or deletes (a third each, in turn) share × the
// number of tickets, drawn among the open ones, without changing their
// updated_at: what a real account does between two pulls when tickets are
// closed by an automation, merged or deleted. It returns how many of each.
func (s *Server) Silent(share float64) (closed, canceled, deleted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var open []int
	for i := range s.tix {
		if !s.tix[i].deleted() && !s.tix[i].closed() {
			open = append(open, i)
		}
	}
	n := min(int(math.Round(share*float64(len(s.tix)))), len(open))
	ms := sec(s.now().UnixMilli())
	for k, j := range s.churnRng.Perm(len(open))[:n] {
		kind := []int{chClose, chCancel, chDelete}[k%3]
		s.silent(open[j], kind, ms)
		switch kind {
		case chClose:
			closed++
		case chCancel:
			canceled++
		default:
			deleted++
		}
	}
	return closed, canceled, deleted
}

func jsonReply(h http.Header, status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return errReply(h, http.StatusInternalServerError, 50002, "encode: "+err.Error())
	}
	return reply{status: status, header: h, body: b}
}

// errReply answers the error body of the reference: {"error_code","message","detail"}.
func errReply(h http.Header, status, code int, msg string) reply {
	return errBody(h, status, code, msg, map[string][]string{})
}

// errDetail answers an error body whose detail names one field, as the
// reference's 403, 404 and 422 examples do: "detail": {"field": ["text"]}.
func errDetail(h http.Header, status, code int, msg, field, text string) reply {
	return errBody(h, status, code, msg, map[string][]string{field: {text}})
}

func errBody(h http.Header, status, code int, msg string, detail map[string][]string) reply {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(map[string]any{"error_code": code, "message": msg, "detail": detail})
	return reply{status: status, header: h, body: bytes.TrimSpace(b.Bytes())}
}

func randInt(n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return v.Int64()
}

// Touch updates share of the tickets now (distinct ones, chosen from Seed),
// as if people had worked on them, and returns how many it changed. It
// prepares an incremental pull for tests and benchmarks.
func (s *Server) Touch(share float64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(int(share*float64(len(s.tix))), len(s.tix))
	ms := s.now().UnixMilli()
	changed := 0
	for _, i := range s.churnRng.Perm(len(s.tix))[:n] {
		if s.tix[i].deleted() {
			continue
		}
		s.tix[i].update(s.churnRng, ms)
		s.moved(i)
		s.stats.TicketsUpdated++
		changed++
	}
	return changed
}

// ControlHandler serves the simulation's own knobs, for a websim run as a
// process of its own (websim --control): POST /_sim/touch?share=0.01 answers
// {"changed": n}; POST /_sim/silent?share=0.02 closes, cancels and deletes
// open tickets silently (Silent) and answers {"closed","canceled","deleted"}.
// It is not part of the simulated web system's API.
func (s *Server) ControlHandler() http.Handler {
	share := func(w http.ResponseWriter, r *http.Request) (float64, bool) {
		v, err := strconv.ParseFloat(r.URL.Query().Get("share"), 64)
		if err != nil || v < 0 || v > 1 {
			http.Error(w, `{"error":"share must be a number from 0 to 1"}`, http.StatusBadRequest)
			return 0, false
		}
		w.Header().Set("Content-Type", "application/json")
		return v, true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_sim/touch", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := share(w, r); ok {
			fmt.Fprintf(w, `{"changed":%d}`, s.Touch(v))
		}
	})
	mux.HandleFunc("POST /_sim/silent", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := share(w, r); ok {
			c, x, d := s.Silent(v)
			fmt.Fprintf(w, `{"closed":%d,"canceled":%d,"deleted":%d}`, c, x, d)
		}
	})
	return mux
}
