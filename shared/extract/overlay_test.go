package extract_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// overlay puts in front of websim the parts of CONTRACT section 2 that its
// version on this branch lacks (part "websim" adds them in parallel; this
// file goes once it has): filter_by (open when left out, closed, all,
// canceled), a list without dates, the one-ticket endpoint, an unstable
// order, tickets closed or canceled without a new updated_at, deleted
// tickets, and a 403 answer.
//
// A list request goes to websim first, so its faults, rate limit, token
// lifetime and churn apply; when websim answers 200, the overlay answers
// instead from the state websim had before that request (as websim itself
// does), with its changes applied.
type overlay struct {
	sim *websim.Server

	mu        sync.Mutex
	deleted   map[int64]bool // 404 on the one-ticket endpoint, gone from every list
	closed    map[int64]bool // is_closed true, updated_at unchanged
	canceled  map[int64]bool // is_closed true, updated_at unchanged, listed only by filter_by=canceled
	unstable  bool           // order by updated_at ascending: an updated ticket jumps to the end
	forbidden bool           // every list request is answered 403 (40301)
	one       int            // one-ticket requests answered
	kinds     map[string]int // list requests by kind: created, changed, canceled, open
	refused   int            // list requests answered 403
}

func newOverlay(sim *websim.Server) *overlay {
	return &overlay{sim: sim, deleted: map[int64]bool{}, closed: map[int64]bool{}, canceled: map[int64]bool{},
		kinds: map[string]int{}}
}

// isCanceled reports whether t is canceled: by the overlay, or by status.
func (o *overlay) isCanceled(t tickets.Ticket) bool {
	return o.canceled[*t.Number] || t.Status != nil && t.Status.Name != nil && strings.HasPrefix(*t.Status.Name, "Cancel")
}

// apply returns t as the overlay shows it; ok is false for a deleted ticket.
func (o *overlay) apply(t tickets.Ticket) (tickets.Ticket, bool) {
	n := *t.Number
	if o.deleted[n] {
		return t, false
	}
	if o.closed[n] || o.canceled[n] {
		closed := true
		t.IsClosed = &closed
	}
	return t, true
}

// truth is the web system's state as the overlay shows it, and the situacao
// each ticket must have in the table (deleted ones included, as excluido).
func (o *overlay) truth(state []tickets.Ticket) ([]tickets.Ticket, map[int64]string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []tickets.Ticket
	sit := map[int64]string{}
	for _, t := range state {
		n := *t.Number
		s, ok := o.apply(t)
		switch {
		case !ok:
			sit[n] = tickets.SituacaoExcluido
			continue
		case o.isCanceled(s):
			sit[n] = tickets.SituacaoCancelado
		case *s.IsClosed:
			sit[n] = tickets.SituacaoFechado
		default:
			sit[n] = tickets.SituacaoAberto
		}
		out = append(out, s)
	}
	return out, sit
}

// serve answers a request for the ticket list or one ticket; other requests
// go to websim.
func (o *overlay) serve(rw http.ResponseWriter, r *http.Request, snap []tickets.Ticket) {
	rest, isTickets := strings.CutPrefix(r.URL.Path, "/tickets")
	switch {
	case isTickets && rest == "":
		o.list(rw, r, snap)
	case isTickets && strings.HasPrefix(rest, "/"):
		o.ticket(rw, rest[1:])
	default:
		o.sim.ServeHTTP(rw, r)
	}
}

func (o *overlay) list(rw http.ResponseWriter, r *http.Request, snap []tickets.Ticket) {
	o.mu.Lock()
	if o.forbidden {
		o.refused++
		o.mu.Unlock()
		writeError(rw, http.StatusForbidden, 40301, "Usuário sem licença de Tickets")
		return
	}
	o.mu.Unlock()
	q := r.URL.Query()
	kind := "created"
	switch {
	case q.Get("update_start_datetime") != "" && q.Get("filter_by") == "canceled":
		kind = "changed-canceled"
	case q.Get("update_start_datetime") != "":
		kind = "changed"
	case q.Get("filter_by") == "canceled":
		kind = "canceled"
	case q.Get("filter_by") == "open":
		kind = "open"
	}
	o.mu.Lock()
	o.kinds[kind]++
	o.mu.Unlock()
	// websim on this branch requires a window: give a dateless query one
	// that holds everything.
	fwd := r.Clone(r.Context())
	fq := url.Values{}
	for k, v := range q {
		fq[k] = v
	}
	if q.Get("start_datetime") == "" && q.Get("update_start_datetime") == "" {
		fq.Set("date_type", "created_at")
		fq.Set("start_datetime", "1970-01-01T00:00:00.000Z")
		fq.Set("end_datetime", "2200-01-01T00:00:00.000Z")
	}
	fwd.URL.RawQuery = fq.Encode()
	rec := httptest.NewRecorder()
	o.sim.ServeHTTP(rec, fwd)
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.WriteHeader(rec.Code)
		_, _ = rw.Write(rec.Body.Bytes())
		return
	}

	page, _ := strconv.Atoi(q.Get("offset"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	page, limit = max(page, 1), max(limit, 1)
	by := q.Get("filter_by")
	if by == "" {
		by = "open"
	}
	cFrom, cTo := bound(q.Get("start_datetime"), true), bound(q.Get("end_datetime"), false)
	uFrom, uTo := bound(q.Get("update_start_datetime"), true), bound(q.Get("update_end_datetime"), false)

	o.mu.Lock()
	var match []tickets.Ticket
	for _, t := range snap {
		s, ok := o.apply(t)
		if !ok {
			continue
		}
		created, updated := mustTime(*s.CreatedAt), mustTime(*s.UpdatedAt)
		if created.Before(cFrom) || created.After(cTo) || updated.Before(uFrom) || updated.After(uTo) {
			continue
		}
		canceled := o.isCanceled(s)
		switch by {
		case "open":
			ok = !*s.IsClosed
		case "closed":
			ok = *s.IsClosed && !canceled
		case "canceled":
			ok = canceled
		default: // all: without the canceled ones, the worst the reference allows
			ok = !canceled
		}
		if ok {
			match = append(match, s)
		}
	}
	if o.unstable {
		slices.SortStableFunc(match, func(a, b tickets.Ticket) int {
			return mustTime(*a.UpdatedAt).Compare(mustTime(*b.UpdatedAt))
		})
	}
	o.mu.Unlock()

	lo := min((page-1)*limit, len(match))
	hi := min(lo+limit, len(match))
	body, err := json.Marshal(append([]tickets.Ticket{}, match[lo:hi]...))
	if err != nil {
		panic(err)
	}
	for k, v := range rec.Header() {
		rw.Header()[k] = v
	}
	rw.Header().Set("X-Total-Items", strconv.Itoa(len(match)))
	rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(body)
}

func (o *overlay) ticket(rw http.ResponseWriter, num string) {
	n, err := strconv.ParseInt(num, 10, 64)
	o.mu.Lock()
	o.one++
	o.mu.Unlock()
	if err != nil {
		writeError(rw, http.StatusNotFound, 40401, "not found")
		return
	}
	for _, t := range simTickets(o.sim) {
		if *t.Number != n {
			continue
		}
		o.mu.Lock()
		s, ok := o.apply(t)
		o.mu.Unlock()
		if !ok {
			break
		}
		body, _ := json.Marshal(s)
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write(body)
		return
	}
	writeError(rw, http.StatusNotFound, 40401, fmt.Sprintf("ticket %d not found", n))
}

// byKind returns the list requests by kind so far.
func (o *overlay) byKind() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]int{"one": o.one}
	for k, v := range o.kinds {
		out[k] = v
	}
	return out
}

// requests counts the requests the overlay answered itself.
func (o *overlay) requests() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.one + o.refused
}

func writeError(rw http.ResponseWriter, status, code int, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]any{"error_code": code, "message": msg, "detail": map[string]any{}})
}

func bound(v string, lower bool) time.Time {
	if v == "" {
		if lower {
			return time.Time{}
		}
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return mustTime(v)
}

func mustTime(v string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		panic(fmt.Sprintf("overlay: time %q: %v", v, err))
	}
	return t
}

// simTickets is websim's state as the pipeline decodes it: each ticket that
// still exists, decoded from the JSON websim lists it with.
func simTickets(sim *websim.Server) []tickets.Ticket {
	var out []tickets.Ticket
	for _, f := range sim.Truth() {
		if f.JSON == nil {
			continue
		}
		t, err := tickets.Decode(f.JSON)
		if err != nil {
			panic(fmt.Sprintf("websim ticket %d does not decode: %v", f.Number, err))
		}
		out = append(out, t)
	}
	return out
}
