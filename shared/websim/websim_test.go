package websim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websim"
)

const (
	email    = "analista@example.com.br"
	password = "s3nha-de-teste"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 8, 12, 2, 12, 33, 231e6, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// MustServer starts a websim over httptest with the test credentials and clk.
func MustServer(tb testing.TB, opts websim.Options, clk *clock) (*websim.Server, string) {
	tb.Helper()
	opts.Email, opts.Password = email, password
	if clk != nil {
		opts.Now = clk.Now
	}
	sim := websim.New(opts)
	hs := httptest.NewServer(sim)
	tb.Cleanup(hs.Close)
	tb.Cleanup(sim.Close)
	return sim, hs.URL
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func do(tb testing.TB, method, u, token string, body any) answer {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func startLogin(tb testing.TB, base string) string {
	tb.Helper()
	a := do(tb, "POST", base+"/login", "", map[string]string{"email": email, "password": password})
	var out struct{ Tmp string }
	if a.status != 200 || json.Unmarshal(a.body, &out) != nil || out.Tmp == "" {
		tb.Fatalf("login: %d %s", a.status, a.body)
	}
	return out.Tmp
}

// MustLogin logs in and returns the session token.
func MustLogin(tb testing.TB, sim *websim.Server, base string) string {
	tb.Helper()
	tmp := startLogin(tb, base)
	code, _, _ := sim.LastCode()
	a := do(tb, "POST", base+"/login/otp", "", map[string]string{"tmp": tmp, "code": code})
	if a.status != 200 || a.header.Get("Authorization") == "" {
		tb.Fatalf("otp: %d %s", a.status, a.body)
	}
	return a.header.Get("Authorization")
}

func fullURL(base string, page, limit int, from, to time.Time) string {
	v := url.Values{"offset": {strconv.Itoa(page)}, "limit": {strconv.Itoa(limit)}, "filter_by": {"all"},
		"date_type": {"created_at"}, "start_datetime": {from.Format(websim.TimeLayout)}, "end_datetime": {to.Format(websim.TimeLayout)}}
	return base + "/tickets?" + v.Encode()
}

func changedURL(base string, page, limit int, from, to time.Time) string {
	v := url.Values{"offset": {strconv.Itoa(page)}, "limit": {strconv.Itoa(limit)}, "filter_by": {"all"},
		"update_start_datetime": {from.Format(websim.TimeLayout)}, "update_end_datetime": {to.Format(websim.TimeLayout)}}
	return base + "/tickets?" + v.Encode()
}

func decode(tb testing.TB, a answer) []tickets.Ticket {
	tb.Helper()
	if a.status != 200 {
		tb.Fatalf("status %d %s", a.status, a.body)
	}
	var els []json.RawMessage
	if err := json.Unmarshal(a.body, &els); err != nil {
		tb.Fatal(err)
	}
	ts := make([]tickets.Ticket, 0, len(els))
	for _, el := range els {
		t, err := tickets.Decode(el)
		if err != nil {
			tb.Fatal(err)
		}
		ts = append(ts, t)
	}
	return ts
}

func errorCode(tb testing.TB, a answer) int {
	tb.Helper()
	var e struct {
		Code    int             `json:"error_code"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil || e.Code == 0 || e.Message == "" || e.Detail == nil {
		tb.Fatalf("error body %s", a.body)
	}
	return e.Code
}

var everything = [2]time.Time{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}

func TestLogin(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, sim *websim.Server, clk *clock, base string) answer
		want int
	}{
		{"Success", func(t *testing.T, sim *websim.Server, clk *clock, base string) answer {
			tmp := startLogin(t, base)
			code, _, _ := sim.LastCode()
			return do(t, "POST", base+"/login/otp", "", map[string]string{"tmp": tmp, "code": code})
		}, 200},
		{"WrongPassword", func(t *testing.T, sim *websim.Server, clk *clock, base string) answer {
			return do(t, "POST", base+"/login", "", map[string]string{"email": email, "password": "nope"})
		}, 401},
		{"WrongCode", func(t *testing.T, sim *websim.Server, clk *clock, base string) answer {
			tmp := startLogin(t, base)
			code, _, _ := sim.LastCode()
			wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1_000_000)
			return do(t, "POST", base+"/login/otp", "", map[string]string{"tmp": tmp, "code": wrong})
		}, 401},
		{"CodeTwice", func(t *testing.T, sim *websim.Server, clk *clock, base string) answer {
			tmp := startLogin(t, base)
			code, _, _ := sim.LastCode()
			if a := do(t, "POST", base+"/login/otp", "", map[string]string{"tmp": tmp, "code": code}); a.status != 200 {
				t.Fatalf("first use: got %d, want 200", a.status)
			}
			return do(t, "POST", base+"/login/otp", "", map[string]string{"tmp": tmp, "code": code})
		}, 401},
		{"Expired", func(t *testing.T, sim *websim.Server, clk *clock, base string) answer {
			tmp := startLogin(t, base)
			code, _, _ := sim.LastCode()
			clk.Add(websim.CodeTTL + time.Second)
			return do(t, "POST", base+"/login/otp", "", map[string]string{"tmp": tmp, "code": code})
		}, 401},
		{"JustInTime", func(t *testing.T, sim *websim.Server, clk *clock, base string) answer {
			tmp := startLogin(t, base)
			code, _, _ := sim.LastCode()
			clk.Add(websim.CodeTTL - time.Second)
			return do(t, "POST", base+"/login/otp", "", map[string]string{"tmp": tmp, "code": code})
		}, 200},
		{"NewLoginNewCode", func(t *testing.T, sim *websim.Server, clk *clock, base string) answer {
			startLogin(t, base)
			first, _, id1 := sim.LastCode()
			tmp := startLogin(t, base)
			second, _, id2 := sim.LastCode()
			if id1 == id2 || first == "" || second == "" {
				t.Fatalf("message ids %q %q: want two e-mails", id1, id2)
			}
			return do(t, "POST", base+"/login/otp", "", map[string]string{"tmp": tmp, "code": second})
		}, 200},
		{"NotJSON", func(t *testing.T, sim *websim.Server, clk *clock, base string) answer {
			return do(t, "POST", base+"/login", "", "not an object")
		}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			var mail bytes.Buffer
			sim, base := MustServer(t, websim.Options{Tickets: 10, Mailbox: &mail}, clk)
			a := tt.run(t, sim, clk, base)
			if a.status != tt.want {
				t.Fatalf("status: got %d, want %d (%s)", a.status, tt.want, a.body)
			}
			if a.status != 200 {
				errorCode(t, a)
			}
			if tt.want == 200 && tt.name != "WrongPassword" {
				// Each e-mail is one JSON line in the mailbox.
				code, sentAt, id := sim.LastCode()
				lines := strings.Split(strings.TrimSpace(mail.String()), "\n")
				var m struct{ Code, SentAt, MessageID, To string }
				_ = json.Unmarshal([]byte(lines[len(lines)-1]), &m)
				var raw map[string]string
				_ = json.Unmarshal([]byte(lines[len(lines)-1]), &raw)
				if raw["code"] != code || raw["message_id"] != id || raw["to"] != email || raw["sent_at"] != sentAt.Format(websim.TimeLayout) {
					t.Errorf("mailbox line %s: want code %s id %s sent_at %s", lines[len(lines)-1], code, id, sentAt.Format(websim.TimeLayout))
				}
			}
		})
	}
}

func mustAtoi(tb testing.TB, s string) int {
	tb.Helper()
	n, err := strconv.Atoi(s)
	if err != nil || len(s) != 6 {
		tb.Fatalf("code %q: want 6 digits", s)
	}
	return n
}

func TestPaging(t *testing.T) {
	sim, base := MustServer(t, websim.Options{Tickets: 450, Seed: 3}, newClock())
	tok := MustLogin(t, sim, base)
	truth := sim.Truth()
	tests := []struct {
		page, limit, want int
	}{{1, 200, 200}, {2, 200, 200}, {3, 200, 50}, {4, 200, 0}, {1, 1, 1}, {450, 1, 1}, {451, 1, 0}, {5, 100, 50}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("Page%dLimit%d", tt.page, tt.limit), func(t *testing.T) {
			a := do(t, "GET", fullURL(base, tt.page, tt.limit, everything[0], everything[1]), tok, nil)
			got := decode(t, a)
			if len(got) != tt.want {
				t.Fatalf("len: got %d, want %d", len(got), tt.want)
			}
			if h := a.header.Get("X-Total-Items"); h != "450" {
				t.Errorf("X-Total-Items: got %q, want 450", h)
			}
			for i, tk := range got {
				if want := *truth[(tt.page-1)*tt.limit+i].Number; *tk.Number != want {
					t.Fatalf("ticket %d: got %d, want %d", i, *tk.Number, want)
				}
			}
		})
	}
	t.Run("SortedNewestFirst", func(t *testing.T) {
		for i := 1; i < len(truth); i++ {
			a, b := *truth[i-1].CreatedAt, *truth[i].CreatedAt
			if a < b || a == b && *truth[i-1].Number < *truth[i].Number {
				t.Fatalf("truth[%d] %s #%d before truth[%d] %s #%d", i-1, a, *truth[i-1].Number, i, b, *truth[i].Number)
			}
		}
	})
	t.Run("Shape", func(t *testing.T) {
		a := do(t, "GET", fullURL(base, 1, 200, everything[0], everything[1]), tok, nil)
		var raw []map[string]json.RawMessage
		if err := json.Unmarshal(a.body, &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"services_catalog", "followers", "responsible", "sla_info", "requestor"} {
			if _, ok := raw[0][k]; !ok {
				t.Errorf("field %s missing", k)
			}
		}
		if string(raw[0]["followers"]) != "[]" || string(raw[0]["services_catalog"]) != "null" {
			t.Errorf("followers %s services_catalog %s: want [] and null", raw[0]["followers"], raw[0]["services_catalog"])
		}
		for _, tk := range got(t, a) {
			if _, err := time.Parse(websim.TimeLayout, *tk.CreatedAt); err != nil {
				t.Errorf("created_at %q: %v", *tk.CreatedAt, err)
			}
		}
	})
	for _, tt := range []struct{ name, query string }{
		{"LimitZero", "offset=1&limit=0"}, {"LimitTooBig", "offset=1&limit=201"}, {"LimitNaN", "offset=1&limit=x"},
		{"OffsetZero", "offset=0&limit=10"}, {"NoWindow", "offset=1&limit=10&filter_by=all"},
		{"BadDate", "offset=1&limit=10&date_type=created_at&start_datetime=yesterday&end_datetime=today"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.query
			if !strings.Contains(q, "datetime") && tt.name != "NoWindow" {
				q += "&filter_by=all&update_start_datetime=2000-01-01T00:00:00.000Z&update_end_datetime=2100-01-01T00:00:00.000Z"
			}
			a := do(t, "GET", base+"/tickets?"+q, tok, nil)
			if a.status != 400 {
				t.Fatalf("status: got %d, want 400", a.status)
			}
			errorCode(t, a)
		})
	}
}

func got(tb testing.TB, a answer) []tickets.Ticket { tb.Helper(); return decode(tb, a) }

func TestFilters(t *testing.T) {
	clk := newClock()
	sim, base := MustServer(t, websim.Options{Tickets: 2000, Days: 60, Seed: 9}, clk)
	tok := MustLogin(t, sim, base)
	truth := sim.Truth()
	now := clk.Now()
	from, to := now.Add(-30*24*time.Hour), now.Add(-10*24*time.Hour)
	in := func(s *string) bool {
		t, _ := time.Parse(websim.TimeLayout, *s)
		return !t.Before(from) && !t.After(to)
	}
	tests := []struct {
		name  string
		url   func(page int) string
		match func(tickets.Ticket) bool
	}{
		{"Full", func(p int) string { return fullURL(base, p, 200, from, to) }, func(tk tickets.Ticket) bool { return in(tk.CreatedAt) }},
		{"Changed", func(p int) string { return changedURL(base, p, 200, from, to) }, func(tk tickets.Ticket) bool { return in(tk.UpdatedAt) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []int64
			for _, tk := range truth {
				if tt.match(tk) {
					want = append(want, *tk.Number)
				}
			}
			var gotN []int64
			for p := 1; ; p++ {
				a := do(t, "GET", tt.url(p), tok, nil)
				if h := a.header.Get("X-Total-Items"); h != strconv.Itoa(len(want)) {
					t.Fatalf("X-Total-Items: got %s, want %d", h, len(want))
				}
				page := decode(t, a)
				for _, tk := range page {
					gotN = append(gotN, *tk.Number)
				}
				if len(page) < 200 {
					break
				}
			}
			if len(want) == 0 || !slices.Equal(gotN, want) {
				t.Fatalf("got %d tickets, want %d in the same order", len(gotN), len(want))
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	clk := newClock()
	sim, base := MustServer(t, websim.Options{Tickets: 10, RateLimit: 3}, clk)
	reset := clk.Now().Add(time.Minute).Format(websim.TimeLayout)
	tests := []struct {
		name       string
		advance    time.Duration
		status     int
		remaining  string
		reset      string
		retryAfter string
	}{
		{"First", 0, 401, "2", reset, ""},
		{"Second", 10 * time.Second, 401, "1", reset, ""},
		{"Third", 0, 401, "0", reset, ""},
		{"Over", 0, 429, "0", reset, "50"},
		{"StillOver", 49 * time.Second, 429, "0", reset, "1"},
		{"NewWindow", time.Second, 401, "2", clk.Now().Add(2 * time.Minute).Format(websim.TimeLayout), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Add(tt.advance)
			a := do(t, "POST", base+"/logout", "no-such-token", nil)
			if a.status != tt.status {
				t.Fatalf("status: got %d, want %d", a.status, tt.status)
			}
			if got := a.header.Get("RateLimit-Limit"); got != "3" {
				t.Errorf("RateLimit-Limit: got %q, want 3", got)
			}
			if got := a.header.Get("RateLimit-Remaining"); got != tt.remaining {
				t.Errorf("RateLimit-Remaining: got %q, want %q", got, tt.remaining)
			}
			if got := a.header.Get("RateLimit-Reset"); got != tt.reset {
				t.Errorf("RateLimit-Reset: got %q, want %q", got, tt.reset)
			}
			if got := a.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After: got %q, want %q", got, tt.retryAfter)
			}
		})
	}
	if got := sim.Stats().RateLimited; got != 2 {
		t.Errorf("Stats().RateLimited: got %d, want 2", got)
	}
}

func TestFaultRate(t *testing.T) {
	statuses := func(seed int64, rate float64) []int {
		sim, base := MustServer(t, websim.Options{Tickets: 10, Seed: seed, FaultRate: rate}, newClock())
		var out []int
		for range 400 {
			out = append(out, do(t, "POST", base+"/logout", "x", nil).status)
		}
		if n := sim.Stats().Faults; n != count(out, 500) {
			t.Errorf("Stats().Faults: got %d, want %d", n, count(out, 500))
		}
		return out
	}
	tests := []struct {
		name     string
		rate     float64
		min, max int
	}{{"Off", 0, 0, 0}, {"Some", 0.25, 60, 140}, {"All", 1, 400, 400}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := statuses(7, tt.rate)
			if n := count(a, 500); n < tt.min || n > tt.max {
				t.Fatalf("500s: got %d of 400, want %d..%d", n, tt.min, tt.max)
			}
			if b := statuses(7, tt.rate); !slices.Equal(a, b) {
				t.Fatalf("same seed, different faults")
			}
		})
	}
}

func count(s []int, v int) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestChurn(t *testing.T) {
	tests := []struct {
		name      string
		churn     float64
		wantShift bool
	}{{"Off", 0, false}, {"On", 0.02, true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func() ([]int64, []tickets.Ticket, websim.Stats, int) {
				clk := newClock()
				sim, base := MustServer(t, websim.Options{Tickets: 500, Seed: 5, Churn: tt.churn}, clk)
				tok := MustLogin(t, sim, base)
				var seen []int64
				total := 0
				for p := 1; p <= 3; p++ {
					clk.Add(time.Second)
					a := do(t, "GET", fullURL(base, p, 100, everything[0], everything[1]), tok, nil)
					total, _ = strconv.Atoi(a.header.Get("X-Total-Items"))
					for _, tk := range decode(t, a) {
						seen = append(seen, *tk.Number)
					}
				}
				return seen, sim.Truth(), sim.Stats(), total
			}
			seen, truth, st, total := run()
			dups := len(seen) - len(slices.Compact(slices.Sorted(slices.Values(seen))))
			if got := dups > 0; got != tt.wantShift {
				t.Fatalf("tickets read twice: got %d, want shift %v", dups, tt.wantShift)
			}
			if tt.wantShift {
				if st.TicketsCreated == 0 || st.TicketsUpdated == 0 || total <= 500 || len(truth) != 500+st.TicketsCreated {
					t.Fatalf("stats %+v total %d truth %d: want creates and updates", st, total, len(truth))
				}
				newest := truth[0]
				if *newest.CreatedAt != *newest.UpdatedAt {
					t.Errorf("new ticket: created_at %s, updated_at %s: want equal", *newest.CreatedAt, *newest.UpdatedAt)
				}
			}
			seen2, truth2, _, _ := run()
			if !slices.Equal(seen, seen2) || len(truth) != len(truth2) {
				t.Fatal("same seed, different churn")
			}
			for i := range truth {
				a, _ := json.Marshal(truth[i])
				b, _ := json.Marshal(truth2[i])
				if !bytes.Equal(a, b) {
					t.Fatalf("same seed, ticket %d differs:\n%s\n%s", i, a, b)
				}
			}
		})
	}
}

func TestSessions(t *testing.T) {
	list := func(base, tok string) int {
		return do(t, "GET", fullURL(base, 1, 10, everything[0], everything[1]), tok, nil).status
	}
	tests := []struct {
		name string
		run  func(sim *websim.Server, base string) []int
		want []int
	}{
		{"TokenTTL", func(sim *websim.Server, base string) []int {
			tok := MustLogin(t, sim, base)
			return []int{list(base, tok), list(base, tok), list(base, tok), list(base, tok)}
		}, []int{200, 200, 401, 401}},
		{"BearerPrefix", func(sim *websim.Server, base string) []int {
			tok := MustLogin(t, sim, base)
			return []int{list(base, "Bearer "+tok), list(base, tok)}
		}, []int{200, 200}},
		{"LogoutTwice", func(sim *websim.Server, base string) []int {
			tok := MustLogin(t, sim, base)
			a := do(t, "POST", base+"/logout", tok, nil).status
			b := do(t, "POST", base+"/logout", tok, nil).status
			return []int{a, b, list(base, tok)}
		}, []int{204, 401, 401}},
		{"LogoutAfterTTL", func(sim *websim.Server, base string) []int {
			tok := MustLogin(t, sim, base)
			list(base, tok)
			list(base, tok)
			list(base, tok)
			return []int{do(t, "POST", base+"/logout", tok, nil).status}
		}, []int{401}},
		{"APIToken", func(sim *websim.Server, base string) []int {
			return []int{list(base, "Bearer api-token-123"), list(base, "api-token-123"), list(base, "api-token-124"),
				list(base, "api-token-123"), do(t, "POST", base+"/logout", "Bearer api-token-123", nil).status}
		}, []int{200, 200, 401, 200, 204}},
		{"NoToken", func(sim *websim.Server, base string) []int {
			return []int{list(base, ""), do(t, "POST", base+"/logout", "", nil).status}
		}, []int{401, 401}},
		{"WrongMethod", func(sim *websim.Server, base string) []int {
			return []int{do(t, "GET", base+"/login", "", nil).status, do(t, "GET", base+"/nowhere", "", nil).status}
		}, []int{405, 404}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, base := MustServer(t, websim.Options{Tickets: 20, TokenTTLRequests: 2, APIToken: "api-token-123"}, newClock())
			if got := tt.run(sim, base); !slices.Equal(got, tt.want) {
				t.Fatalf("statuses: got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("Stats", func(t *testing.T) {
		sim, base := MustServer(t, websim.Options{Tickets: 20}, newClock())
		a, b := MustLogin(t, sim, base), MustLogin(t, sim, base)
		do(t, "POST", base+"/logout", a, nil)
		do(t, "POST", base+"/logout", a, nil)
		list(base, b)
		st := sim.Stats()
		want := map[string]int{"login": 2, "otp": 2, "logout": 2, "tickets": 1}
		for k, v := range want {
			if st.Requests[k] != v {
				t.Errorf("Requests[%s]: got %d, want %d", k, st.Requests[k], v)
			}
		}
		if st.Logouts != 1 || st.ActiveSessions != 1 || st.CodesSent != 2 {
			t.Errorf("got %+v, want 1 logout, 1 active session, 2 codes", st)
		}
	})
}

func TestLatency(t *testing.T) {
	_, base := MustServer(t, websim.Options{Tickets: 1, Latency: 30 * time.Millisecond}, nil)
	start := time.Now()
	do(t, "POST", base+"/logout", "x", nil)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("took %v, want at least 30ms", d)
	}
}

func TestTickets100k(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	sim, base := MustServer(t, websim.Options{Tickets: 100_000, Seed: 1}, nil)
	tok := MustLogin(t, sim, base)
	a := do(t, "GET", fullURL(base, 500, 200, everything[0], everything[1]), tok, nil)
	if n := len(decode(t, a)); n != 200 || a.header.Get("X-Total-Items") != "100000" {
		t.Fatalf("page 500: got %d tickets, X-Total-Items %s", n, a.header.Get("X-Total-Items"))
	}
}

func BenchmarkPage(b *testing.B) {
	sim, base := MustServer(b, websim.Options{Tickets: 100_000, Seed: 1}, nil)
	tok := MustLogin(b, sim, base)
	for i := 0; b.Loop(); i++ {
		do(b, "GET", fullURL(base, 1+i%500, 200, everything[0], everything[1]), tok, nil)
	}
}

func BenchmarkNew100k(b *testing.B) {
	for b.Loop() {
		websim.New(websim.Options{Tickets: 100_000})
	}
}
