// Package websim is a simulated helpdesk web system: a standalone HTTP server
// that speaks the protocol of CONTRACT section 2 (e-mail + password login, a
// 6-digit code e-mailed to the user, a session token in the Authorization
// response header, a paged ticket list, logout) so the pipeline can be run and
// tested without the real system.
//
// It is for local runs (functions/cmd/local, functions/cmd/websim) and for
// tests that need the real protocol over real HTTP (httptest). Its knobs
// reproduce the real system's bad days: latency, a per-minute rate limit with
// 429s, a share of requests answered 500, tickets created and updated while a
// pull pages through (churn), and session tokens that die after a number of
// requests. Churn and faults draw from random streams seeded by Options.Seed,
// so a run with the same seed and the same sequence of requests sees the same
// tickets, the same churn and the same faults.
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
//   - Faults (500) are answered before a request has any effect. Tickets are
//     never deleted, services_catalog is always null and followers always empty.
//   - Ticket list windows are inclusive at both ends.
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

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// TimeLayout is how the web system writes datetimes: ISO-8601 UTC with milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

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
	Churn            float64       // per ticket-list page served, the share of tickets created or updated before the next page
	TokenTTLRequests int           // a session token dies (401) after this many ticket requests; 0: never

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
	Requests       map[string]int // by endpoint: "login", "otp", "tickets", "logout", "other"
	RateLimited    int            // 429s sent
	Faults         int            // 500s sent (FaultRate)
	Logouts        int            // logouts accepted (204 for a live session)
	ActiveSessions int            // session tokens that still work
	CodesSent      int            // e-mails sent
	TicketsCreated int            // tickets created by churn
	TicketsUpdated int            // ticket updates by churn
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

// Truth returns every ticket as it is now, in list order (newest created
// first), for tests that compare a copy with the original.
func (s *Server) Truth() []tickets.Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]tickets.Ticket, 0, len(s.tix))
	for i := len(s.tix) - 1; i >= 0; i-- {
		out = append(out, s.tix[i].ticket())
	}
	return out
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
	method := map[string]string{"login": http.MethodPost, "otp": http.MethodPost, "logout": http.MethodPost, "tickets": http.MethodGet}[ep]
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

func (s *Server) list(h http.Header, r *http.Request, now time.Time) reply {
	se, api := s.auth(r)
	if se == nil && !api {
		return errReply(h, http.StatusUnauthorized, 40106, "sessão inválida ou encerrada")
	}
	if se != nil {
		se.requests++
		if ttl := s.opts.TokenTTLRequests; ttl > 0 && se.requests > ttl {
			se.dead = true
			return errReply(h, http.StatusUnauthorized, 40107, "sessão expirada")
		}
	}
	q := r.URL.Query()
	page, limit := 1, MaxLimit
	var err error
	if v := q.Get("offset"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return errReply(h, http.StatusBadRequest, 40002, "offset must be a page number from 1")
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > MaxLimit {
			return errReply(h, http.StatusBadRequest, 40003, fmt.Sprintf("limit must be 1..%d", MaxLimit))
		}
	}
	f, msg := parseFilter(q)
	if msg != "" {
		return errReply(h, http.StatusBadRequest, 40004, msg)
	}
	total, idx := s.page(f, page, limit)
	out := make([]wireTicket, len(idx))
	for i, j := range idx {
		out[i] = wireTicket{Ticket: s.tix[j].ticket(), Followers: noFollowers}
	}
	h.Set("X-Total-Items", strconv.Itoa(total))
	s.churn(now)
	return reply{status: http.StatusOK, header: h, payload: out}
}

// wireTicket is a ticket in the list shape: the fields the pipeline reads and
// two it does not.
type wireTicket struct {
	tickets.Ticket
	ServicesCatalog *tickets.Ref  `json:"services_catalog"`
	Followers       []tickets.Ref `json:"followers"`
}

var noFollowers = []tickets.Ref{}

// filter selects tickets by created_at (full) or updated_at (changed), in
// Unix milliseconds, inclusive.
type filter struct {
	cFrom, cTo int64
	uFrom, uTo int64
}

func parseFilter(q map[string][]string) (filter, string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := filter{cFrom: math.MinInt64, cTo: math.MaxInt64, uFrom: math.MinInt64, uTo: math.MaxInt64}
	created := get("start_datetime") != "" || get("end_datetime") != ""
	updated := get("update_start_datetime") != "" || get("update_end_datetime") != ""
	if !created && !updated {
		return f, "a window is required: start_datetime and end_datetime, or update_start_datetime and update_end_datetime"
	}
	if created {
		if dt := get("date_type"); dt != "created_at" {
			return f, "date_type must be created_at"
		}
		var ok1, ok2 bool
		f.cFrom, ok1 = parseTime(get("start_datetime"))
		f.cTo, ok2 = parseTime(get("end_datetime"))
		if !ok1 || !ok2 {
			return f, "start_datetime and end_datetime must be ISO-8601 datetimes"
		}
	}
	if updated {
		var ok1, ok2 bool
		f.uFrom, ok1 = parseTime(get("update_start_datetime"))
		f.uTo, ok2 = parseTime(get("update_end_datetime"))
		if !ok1 || !ok2 {
			return f, "update_start_datetime and update_end_datetime must be ISO-8601 datetimes"
		}
	}
	return f, ""
}

func parseTime(v string) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

// page returns the number of tickets f matches and the indexes in s.tix of
// those on page p (1-based) of size limit, newest first.
func (s *Server) page(f filter, p, limit int) (int, []int) {
	lo, _ := slices.BinarySearchFunc(s.tix, f.cFrom, func(r rec, t int64) int { return cmpInt(r.created, t) })
	hi, found := slices.BinarySearchFunc(s.tix, f.cTo, func(r rec, t int64) int { return cmpInt(r.created, t) })
	for found && hi < len(s.tix) && s.tix[hi].created == f.cTo {
		hi++
	}
	skip := (p - 1) * limit
	var idx []int
	if f.uFrom == math.MinInt64 && f.uTo == math.MaxInt64 {
		for j := hi - 1 - skip; j >= lo && len(idx) < limit; j-- {
			idx = append(idx, j)
		}
		return hi - lo, idx
	}
	n := 0
	for j := hi - 1; j >= lo; j-- {
		if u := s.tix[j].updated; u < f.uFrom || u > f.uTo {
			continue
		}
		if n >= skip && len(idx) < limit {
			idx = append(idx, j)
		}
		n++
	}
	return n, idx
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

// churn creates and updates tickets after a page was served: Churn × the
// number of tickets, the fraction drawn at random.
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
	ms := now.UnixMilli()
	for range n {
		if len(s.tix) == 0 || s.churnRng.IntN(2) == 0 {
			r := rec{created: ms, updated: ms, number: s.nextNumber}
			s.nextNumber++
			fill(&r, s.churnRng, ms, true)
			i, _ := slices.BinarySearchFunc(s.tix, r, func(a, b rec) int {
				return cmpInt(a.created, b.created)*2 + cmpInt(a.number, b.number)
			})
			s.tix = slices.Insert(s.tix, i, r)
			s.stats.TicketsCreated++
			continue
		}
		r := &s.tix[s.churnRng.IntN(len(s.tix))]
		r.update(s.churnRng, ms)
		s.stats.TicketsUpdated++
	}
}

func jsonReply(h http.Header, status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return errReply(h, http.StatusInternalServerError, 50002, "encode: "+err.Error())
	}
	return reply{status: status, header: h, body: b}
}

func errReply(h http.Header, status, code int, msg string) reply {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(map[string]any{"error_code": code, "message": msg, "detail": struct{}{}})
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
	for _, i := range s.churnRng.Perm(len(s.tix))[:n] {
		s.tix[i].update(s.churnRng, ms)
		s.stats.TicketsUpdated++
	}
	return n
}

// ControlHandler serves the simulation's own knobs, for a websim run as a
// process of its own (websim --control): POST /_sim/touch?share=0.01 answers
// {"changed": n}. It is not part of the simulated web system's API.
func (s *Server) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_sim/touch", func(w http.ResponseWriter, r *http.Request) {
		share, err := strconv.ParseFloat(r.URL.Query().Get("share"), 64)
		if err != nil || share < 0 || share > 1 {
			http.Error(w, `{"error":"share must be a number from 0 to 1"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"changed":%d}`, s.Touch(share))
	})
	return mux
}
