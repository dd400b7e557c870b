package websystem_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/testkit"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

const email = "analista@example.com.br"

var (
	password = testkit.Credential("password")
	apiToken = testkit.Credential("api-token")
)

var everything = websystem.CreatedBetween(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))

// tamper answers some requests itself before the simulated system sees them.
type tamper struct {
	next http.Handler
	mu   sync.Mutex
	// first n requests to path get this answer; rewrite, if set, changes the
	// simulated system's answer to the rest.
	path    string
	n       int
	status  int
	header  http.Header
	body    string
	resetIn time.Duration // sets RateLimit-Reset this far from the answer
	rewrite func(status int, h http.Header, body []byte) (int, []byte)
}

func (t *tamper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	hit := r.URL.Path == t.path && t.n != 0
	if hit && t.n > 0 {
		t.n--
	}
	t.mu.Unlock()
	if hit {
		for k, v := range t.header {
			w.Header()[k] = v
		}
		if t.resetIn != 0 {
			w.Header().Set("RateLimit-Reset", time.Now().Add(t.resetIn).UTC().Format(time.RFC3339Nano))
		}
		w.WriteHeader(t.status)
		io.WriteString(w, t.body)
		return
	}
	if t.rewrite == nil || r.URL.Path != t.path {
		t.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	t.next.ServeHTTP(rec, r)
	status, body := t.rewrite(rec.Code, rec.Header(), rec.Body.Bytes())
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	w.Write(body)
}

// MustSim starts the simulated web system behind tp (which may be nil) and
// returns it with a client of it.
func MustSim(tb testing.TB, opts websim.Options, tp *tamper, copts websystem.Options) (*websim.Server, *websystem.Client, string) {
	tb.Helper()
	opts.Email, opts.Password, opts.APIToken = email, password, apiToken
	sim := websim.New(opts)
	var h http.Handler = sim
	if tp != nil {
		tp.next = sim
		h = tp
	}
	hs := httptest.NewServer(h)
	tb.Cleanup(hs.Close)
	if copts.BackoffBase == 0 {
		copts.BackoffBase, copts.BackoffMax = time.Millisecond, 5*time.Millisecond
	}
	return sim, websystem.New(hs.URL, websystem.Paths{}, nil, copts), hs.URL
}

func TestLogin(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		run      func(sim *websim.Server, c *websystem.Client) error
		wantErr  error
		wantKind websystem.Kind
	}{
		{"Success", func(sim *websim.Server, c *websystem.Client) error {
			tok := testkit.MustLogin(t, sim, c, email, password)
			if _, err := c.ListTickets(ctx, tok, websystem.Query{Page: 1, Limit: 5, Filter: everything}); err != nil {
				return err
			}
			return c.Logout(ctx, tok)
		}, nil, 0},
		{"WrongPassword", func(sim *websim.Server, c *websystem.Client) error {
			_, err := c.StartLogin(ctx, email, "errada")
			return err
		}, websystem.ErrUnauthorized, websystem.KindStatus},
		{"WrongCode", func(sim *websim.Server, c *websystem.Client) error {
			tmp, err := c.StartLogin(ctx, email, password)
			if err != nil {
				return err
			}
			_, err = c.FinishLogin(ctx, tmp, "000000x")
			return err
		}, websystem.ErrUnauthorized, websystem.KindStatus},
		{"CodeTwice", func(sim *websim.Server, c *websystem.Client) error {
			tmp, _ := c.StartLogin(ctx, email, password)
			code, _, _ := sim.LastCode()
			if _, err := c.FinishLogin(ctx, tmp, code); err != nil {
				return err
			}
			_, err := c.FinishLogin(ctx, tmp, code)
			return err
		}, websystem.ErrUnauthorized, websystem.KindStatus},
		{"LogoutTwice", func(sim *websim.Server, c *websystem.Client) error {
			tok := testkit.MustLogin(t, sim, c, email, password)
			if err := c.Logout(ctx, tok); err != nil {
				return err
			}
			return c.Logout(ctx, tok)
		}, websystem.ErrUnauthorized, websystem.KindStatus},
		{"ExpiredToken", func(sim *websim.Server, c *websystem.Client) error {
			tok := testkit.MustLogin(t, sim, c, email, password)
			q := websystem.Query{Page: 1, Limit: 5, Filter: everything}
			for range 3 {
				if _, err := c.ListTickets(ctx, tok, q); err != nil {
					return err
				}
			}
			return nil
		}, websystem.ErrUnauthorized, websystem.KindStatus},
		{"APIToken", func(sim *websim.Server, c *websystem.Client) error {
			_, err := c.ListTickets(ctx, "Bearer "+apiToken, websystem.Query{Page: 1, Limit: 5, Filter: everything})
			return err
		}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, _ := MustSim(t, websim.Options{Tickets: 20, TokenTTLRequests: 2}, nil, websystem.Options{})
			err := tt.run(sim, c)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			var e *websystem.Error
			if !errors.As(err, &e) || e.Kind != tt.wantKind || websystem.IsTransient(err) {
				t.Fatalf("got %#v, want a permanent *Error of kind %v", err, tt.wantKind)
			}
			if got := c.Stats(); got.Retries != 0 {
				t.Errorf("Retries: got %d, want 0", got.Retries)
			}
		})
	}
}

func TestFinishLoginHeader(t *testing.T) {
	tests := []struct {
		name, header string
		want         string // "" wants a KindNoToken error
	}{
		{"Bare", "tok123", "tok123"},
		{"Bearer", "Bearer tok123", "Bearer tok123"},
		{"LowerBearer", "bearer   tok123 ", "bearer   tok123"}, // net/http drops the trailing blank
		{"Missing", "", ""},
		{"BearerOnly", "Bearer ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := &tamper{path: "/login/otp", rewrite: func(status int, h http.Header, body []byte) (int, []byte) {
				h.Set("Authorization", tt.header)
				return status, body
			}}
			sim, c, _ := MustSim(t, websim.Options{Tickets: 1}, tp, websystem.Options{})
			tmp, err := c.StartLogin(context.Background(), email, password)
			if err != nil {
				t.Fatal(err)
			}
			code, _, _ := sim.LastCode()
			tok, err := c.FinishLogin(context.Background(), tmp, code)
			var e *websystem.Error
			switch {
			case tt.want != "" && (err != nil || tok != tt.want):
				t.Fatalf("got %q, %v; want %q", tok, err, tt.want)
			case tt.want == "" && (!errors.As(err, &e) || e.Kind != websystem.KindNoToken || websystem.IsTransient(err)):
				t.Fatalf("got %q, %v; want a permanent KindNoToken error", tok, err)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	q := websystem.Query{Page: 1, Limit: 10, Filter: everything}
	tests := []struct {
		name      string
		tp        *tamper
		wantErr   bool
		wantKind  websystem.Kind
		wantStat  websystem.Stats
		wantWait  time.Duration
		is        error
		transient bool
	}{
		{name: "429ThenOK", tp: &tamper{n: 1, status: 429, header: http.Header{"Retry-After": {"1"}}, body: `{"error_code":42901,"message":"slow down","detail":{}}`},
			wantStat: websystem.Stats{Requests: 2, Retries: 1, RateLimited: 1}, wantWait: time.Second},
		{name: "429ResetThenOK", tp: &tamper{n: 1, status: 429, resetIn: 300 * time.Millisecond, header: http.Header{"Ratelimit-Remaining": {"0"}}},
			wantStat: websystem.Stats{Requests: 2, Retries: 1, RateLimited: 1}, wantWait: 250 * time.Millisecond},
		{name: "429Exhausted", tp: &tamper{n: -1, status: 429, header: http.Header{"Retry-After": {"0"}}},
			wantErr: true, wantKind: websystem.KindStatus, is: websystem.ErrRateLimited, transient: true,
			wantStat: websystem.Stats{Requests: 4, Retries: 3, RateLimited: 4}},
		{name: "5xxThenOK", tp: &tamper{n: 2, status: 503, body: "<html>down</html>"},
			wantStat: websystem.Stats{Requests: 3, Retries: 2, ServerErrors: 2}},
		{name: "5xxExhausted", tp: &tamper{n: -1, status: 500, body: `{"error_code":50001,"message":"boom","detail":{}}`},
			wantErr: true, wantKind: websystem.KindStatus, transient: true,
			wantStat: websystem.Stats{Requests: 4, Retries: 3, ServerErrors: 4}},
		{name: "MalformedThenOK", tp: &tamper{n: 1, status: 200, body: `<html>gateway</html>`},
			wantStat: websystem.Stats{Requests: 2, Retries: 1}},
		{name: "MalformedExhausted", tp: &tamper{n: -1, status: 200, body: `{"data":[]}`},
			wantErr: true, wantKind: websystem.KindMalformed, transient: true, wantStat: websystem.Stats{Requests: 4, Retries: 3}},
		{name: "Truncated", tp: &tamper{n: -1, status: 200, body: `[{"ticket_number":1},{"ticket_`},
			wantErr: true, wantKind: websystem.KindMalformed, transient: true, wantStat: websystem.Stats{Requests: 4, Retries: 3}},
		{name: "400NotRetried", tp: &tamper{n: -1, status: 400, body: `{"error_code":40003,"message":"` + strings.Repeat("x", 500) + `","detail":{}}`},
			wantErr: true, wantKind: websystem.KindStatus, wantStat: websystem.Stats{Requests: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := tt.tp
			tp.path = "/tickets"
			_, c, _ := MustSim(t, websim.Options{Tickets: 30, AllIncludesCanceled: true}, tp, websystem.Options{MaxRetries: 3})
			start := time.Now()
			page, err := c.ListTickets(context.Background(), apiToken, q)
			if d := time.Since(start); d < tt.wantWait {
				t.Errorf("took %v, want at least %v", d, tt.wantWait)
			}
			if got := c.Stats(); got != tt.wantStat {
				t.Errorf("Stats: got %+v, want %+v", got, tt.wantStat)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Tickets) != 10 || page.TotalItems != 30 {
					t.Fatalf("got %d tickets of %d; want 10 tickets of 30", len(page.Tickets), page.TotalItems)
				}
				return
			}
			var e *websystem.Error
			if !errors.As(err, &e) || e.Kind != tt.wantKind || websystem.IsTransient(err) != tt.transient {
				t.Fatalf("got %v, want kind %v transient %v", err, tt.wantKind, tt.transient)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v): got false", err, tt.is)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error message %d bytes: want the server's message truncated", len(err.Error()))
			}
		})
	}
	t.Run("Network", func(t *testing.T) {
		hs := httptest.NewServer(http.NotFoundHandler())
		hs.Close()
		c := websystem.New(hs.URL, websystem.Paths{}, nil, websystem.Options{MaxRetries: 2, BackoffBase: time.Millisecond})
		_, err := c.ListTickets(context.Background(), apiToken, q)
		var e *websystem.Error
		if !errors.As(err, &e) || e.Kind != websystem.KindNetwork || !websystem.IsTransient(err) {
			t.Fatalf("got %v, want a transient KindNetwork error", err)
		}
		if got := c.Stats(); got.Requests != 3 {
			t.Errorf("Requests: got %d, want 3", got.Requests)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		_, c, _ := MustSim(t, websim.Options{Tickets: 1, Latency: time.Second}, nil, websystem.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := c.ListTickets(ctx, apiToken, q)
		if !errors.Is(err, context.DeadlineExceeded) || !websystem.IsTransient(err) {
			t.Fatalf("got %v, want a transient deadline error", err)
		}
	})
}

func TestRejected(t *testing.T) {
	tests := []struct {
		name         string
		bad          string
		wantRejected int
	}{
		{"String", `"not a ticket"`, 1},
		{"Null", `null`, 1},
		{"NoNumber", `{"title":"sem número"}`, 1},
		{"NumberIsText", `{"ticket_number":"48213"}`, 1},
		{"WrongFieldType", `{"ticket_number":1,"status":"Opened"}`, 0}, // lenient per field (CONTRACT §6)
		{"UnknownFields", `{"ticket_number":1,"brand_new_field":{"a":[1,2]}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := &tamper{path: "/tickets", rewrite: func(status int, h http.Header, body []byte) (int, []byte) {
				var raw []json.RawMessage
				_ = json.Unmarshal(body, &raw)
				raw[3] = json.RawMessage(tt.bad)
				b, _ := json.Marshal(raw)
				return status, b
			}}
			_, c, _ := MustSim(t, websim.Options{Tickets: 30}, tp, websystem.Options{})
			p, err := c.ListTickets(context.Background(), apiToken, websystem.Query{Page: 1, Limit: 10, Filter: everything})
			if err != nil {
				t.Fatal(err)
			}
			if p.Rejected != tt.wantRejected || p.Raw != 10 || len(p.Tickets) != 10-tt.wantRejected {
				t.Fatalf("got Rejected %d Raw %d tickets %d; want Rejected %d Raw 10", p.Rejected, p.Raw, len(p.Tickets), tt.wantRejected)
			}
		})
	}
}

func TestPages(t *testing.T) {
	ctx := context.Background()
	type result struct {
		pages   []int
		numbers []int64
		last    *websystem.Page
		err     error
	}
	collect := func(c *websystem.Client, q websystem.Query, conc int, stopAfter int) result {
		var r result
		for p, err := range c.Pages(ctx, apiToken, q, conc) {
			if err != nil {
				r.err = err
				break
			}
			r.pages = append(r.pages, p.Number)
			for _, tk := range p.Tickets {
				r.numbers = append(r.numbers, *tk.Number)
			}
			r.last = p
			if len(r.pages) == stopAfter {
				break
			}
		}
		return r
	}
	seq := func(from, to int) []int {
		var s []int
		for i := from; i <= to; i++ {
			s = append(s, i)
		}
		return s
	}
	tests := []struct {
		name      string
		tickets   int
		limit     int
		start     int
		conc      int
		stopAfter int
		wantPages []int
	}{
		{"Sequential", 1000, 50, 1, 1, 0, seq(1, 21)},
		{"Concurrent", 1000, 50, 1, 4, 0, seq(1, 21)},
		{"ShortLast", 1010, 50, 1, 4, 0, seq(1, 21)},
		{"FromPage5", 1000, 100, 5, 3, 0, seq(5, 11)},
		{"OnePage", 7, 50, 1, 4, 0, []int{1}},
		{"Empty", 0, 50, 1, 4, 0, []int{1}},
		{"CallerStops", 1000, 50, 1, 4, 3, seq(1, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, _ := MustSim(t, websim.Options{Tickets: tt.tickets, Latency: 2 * time.Millisecond, AllIncludesCanceled: true}, nil, websystem.Options{})
			r := collect(c, websystem.Query{Page: tt.start, Limit: tt.limit, Filter: everything}, tt.conc, tt.stopAfter)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if !slices.Equal(r.pages, tt.wantPages) {
				t.Fatalf("pages: got %v, want %v", r.pages, tt.wantPages)
			}
			var want []int64
			for _, tk := range sim.Truth()[min((tt.start-1)*tt.limit, tt.tickets):] {
				want = append(want, tk.Number)
			}
			if tt.stopAfter > 0 {
				want = want[:tt.stopAfter*tt.limit]
			}
			if !slices.Equal(r.numbers, want) {
				t.Fatalf("got %d tickets, want %d in list order", len(r.numbers), len(want))
			}
			// Fetched ahead at most conc pages past the last one yielded.
			if n := int(c.Stats().Requests); n > len(tt.wantPages)+tt.conc {
				t.Errorf("requests: got %d, want at most %d", n, len(tt.wantPages)+tt.conc)
			}
		})
	}
	t.Run("Churn", func(t *testing.T) {
		// New tickets arrive while it pages: it goes past the first total
		// until a short page.
		sim, c, _ := MustSim(t, websim.Options{Tickets: 1000, Churn: 0.004, Seed: 2, AllIncludesCanceled: true}, nil, websystem.Options{})
		r := collect(c, websystem.Query{Page: 1, Limit: 50, Filter: everything}, 4, 0)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !slices.Equal(r.pages, seq(1, len(r.pages))) || r.last.Raw >= 50 || len(r.pages) <= 20 {
			t.Fatalf("pages %v, last Raw %d: want 1.. past 20 in order, ending short", r.pages, r.last.Raw)
		}
		if st := sim.Stats(); st.TicketsCreated == 0 {
			t.Fatalf("no tickets created: %+v", st)
		}
	})
	t.Run("ErrorStops", func(t *testing.T) {
		sim, c, _ := MustSim(t, websim.Options{Tickets: 1000, AllIncludesCanceled: true}, nil, websystem.Options{})
		tok := testkit.MustLogin(t, sim, c, email, password)
		sim.SetFaults(0, 0, 5)
		var pages []int
		var gotErr error
		for p, err := range c.Pages(ctx, tok, websystem.Query{Page: 1, Limit: 50, Filter: everything}, 1) {
			if err != nil {
				gotErr = err
				break
			}
			pages = append(pages, p.Number)
		}
		if !slices.Equal(pages, seq(1, 5)) || !errors.Is(gotErr, websystem.ErrUnauthorized) {
			t.Fatalf("got pages %v, err %v; want 1..5 then ErrUnauthorized", pages, gotErr)
		}
	})
}

func TestSecretsNeverShown(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	var failNext atomic.Int32
	failNext.Store(1)
	sim := websim.New(websim.Options{Tickets: 20, Email: email, Password: password, TokenTTLRequests: 1})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failNext.Add(-1) >= 0 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		failNext.Store(1) // every other request fails once
		sim.ServeHTTP(w, r)
	}))
	defer hs.Close()
	c := websystem.New(hs.URL, websystem.Paths{}, nil, websystem.Options{Logger: logger, BackoffBase: time.Millisecond, MaxRetries: 3})

	var errs []error
	record := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	tmp, err := c.StartLogin(ctx, email, password)
	record(err)
	_, err = c.StartLogin(ctx, email, password+"x")
	record(err)
	code, _, _ := sim.LastCode()
	_, err = c.FinishLogin(ctx, tmp, "999999")
	record(err)
	tok, err := c.FinishLogin(ctx, tmp, code)
	record(err)
	_, err = c.FinishLogin(ctx, tmp, code)
	record(err)
	for range 2 {
		_, err = c.ListTickets(ctx, tok, websystem.Query{Page: 1, Limit: 5, Filter: everything})
		record(err)
	}
	record(c.Logout(ctx, tok))
	record(c.Logout(ctx, tok))

	if tok == "" || len(errs) < 4 || c.Stats().Retries == 0 || logs.Len() == 0 {
		t.Fatalf("token %v, %d errors, stats %+v, %d log bytes: want a login, failures, retries and logs", tok != "", len(errs), c.Stats(), logs.Len())
	}
	var text strings.Builder
	text.WriteString(logs.String())
	for _, e := range errs {
		fmt.Fprintf(&text, "%v\n%+v\n%#v\n", e, e, e)
	}
	for name, secret := range map[string]string{"password": password, "code": code, "tmp": tmp, "token": tok} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("the %s appears in an error or log line:\n%s", name, text.String())
		}
	}
}

func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{`[]`, `null`, `{}`, `[{"ticket_number":1}]`, `[1,"a",null,{}]`, `[{"ticket_number":1,"client":{"id":"x"}}]`, ` [ ] `, `[`, "\xff"} {
		f.Add([]byte(s))
	}
	sim := websim.New(websim.Options{Tickets: 3})
	if b, err := json.Marshal(sim.Truth()); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := websystem.DecodePage(data)
		if (p == nil) == (err == nil) {
			t.Fatalf("got %v, %v: want a page or an error", p, err)
		}
		if err != nil {
			var e *websystem.Error
			if !errors.As(err, &e) || e.Kind != websystem.KindMalformed {
				t.Fatalf("got %v, want a KindMalformed *Error", err)
			}
			return
		}
		if p.Raw != len(p.Tickets)+p.Rejected {
			t.Fatalf("Raw %d, tickets %d, rejected %d: want Raw = tickets + rejected", p.Raw, len(p.Tickets), p.Rejected)
		}
		for _, tk := range p.Tickets {
			if tk.Number == nil {
				t.Fatal("a ticket without ticket_number was kept")
			}
		}
	})
}

func BenchmarkDecodePage(b *testing.B) {
	sim := websim.New(websim.Options{Tickets: 200, Seed: 1})
	body, err := json.Marshal(sim.Truth())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := websystem.DecodePage(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBudget pages through 1000 pages with a budget of 6000 requests a
// minute shared by the client and the server, and reports the share of the
// budget used (requests ÷ (rate × minutes spent paging)) and the 429s.
// Run it with -benchtime=1x: one iteration takes about ten seconds.
func BenchmarkBudget(b *testing.B) {
	const perMinute, pages, limit = 6000, 1000, 10
	for b.Loop() {
		sim, c, _ := MustSim(b, websim.Options{Tickets: pages*limit - 1, RateLimit: perMinute, Latency: 5 * time.Millisecond}, nil,
			websystem.Options{RatePerMinute: perMinute})
		start := time.Now()
		n := 0
		for _, err := range c.Pages(context.Background(), apiToken, websystem.Query{Page: 1, Limit: limit, Filter: everything}, 4) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		spent := time.Since(start)
		st := c.Stats()
		if n != pages {
			b.Fatalf("pages: got %d, want %d", n, pages)
		}
		b.ReportMetric(100*float64(st.Requests)/(perMinute*spent.Minutes()), "budget_%")
		b.ReportMetric(float64(sim.Stats().RateLimited), "429s")
		b.ReportMetric(float64(st.Requests), "requests")
	}
}
