package websim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
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

// decode reads a list answer into websim's own wire type, refusing fields
// the type does not know: the shape is exactly the reference's.
func decode(tb testing.TB, a answer) []websim.Ticket {
	tb.Helper()
	if a.status != 200 {
		tb.Fatalf("status %d %s", a.status, a.body)
	}
	var ts []websim.Ticket
	d := json.NewDecoder(bytes.NewReader(a.body))
	d.DisallowUnknownFields()
	if err := d.Decode(&ts); err != nil {
		tb.Fatal(err)
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

// errorDetail returns the error body's code and its detail for field.
func errorDetail(tb testing.TB, a answer, field string) (int, []string) {
	tb.Helper()
	var e struct {
		Code   int                 `json:"error_code"`
		Detail map[string][]string `json:"detail"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil {
		tb.Fatalf("error body %s: %v", a.body, err)
	}
	return e.Code, e.Detail[field]
}

// numbers returns the ticket numbers of the facts that pass keep, in Truth's order.
func numbers(facts []websim.Fact, keep func(websim.Fact) bool) []int64 {
	var out []int64
	for _, f := range facts {
		if keep(f) {
			out = append(out, f.Number)
		}
	}
	return out
}

// listed is the keep of filter_by=all: neither canceled nor deleted.
func listed(f websim.Fact) bool {
	return f.Situacao == websim.SituacaoAberto || f.Situacao == websim.SituacaoFechado
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
	sim, base := MustServer(t, websim.Options{Tickets: 520, Seed: 3}, newClock())
	tok := MustLogin(t, sim, base)
	want := numbers(sim.Truth(), listed) // filter_by=all, newest first
	n := len(want)
	if n <= 400 || n >= 500 {
		t.Fatalf("%d tickets listed by filter_by=all: the cases want 401..499", n)
	}
	tests := []struct {
		page, limit, want int
	}{{1, 200, 200}, {2, 200, 200}, {3, 200, n - 400}, {4, 200, 0}, {1, 1, 1}, {n, 1, 1}, {n + 1, 1, 0}, {5, 100, n - 400}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("Page%dLimit%d", tt.page, tt.limit), func(t *testing.T) {
			a := do(t, "GET", fullURL(base, tt.page, tt.limit, everything[0], everything[1]), tok, nil)
			got := decode(t, a)
			if len(got) != tt.want {
				t.Fatalf("len: got %d, want %d", len(got), tt.want)
			}
			if h := a.header.Get("X-Total-Items"); h != strconv.Itoa(n) {
				t.Errorf("X-Total-Items: got %q, want %d", h, n)
			}
			for i, tk := range got {
				if w := want[(tt.page-1)*tt.limit+i]; tk.TicketNumber != w {
					t.Fatalf("ticket %d: got %d, want %d", i, tk.TicketNumber, w)
				}
			}
		})
	}
	t.Run("DefaultLimit20", func(t *testing.T) {
		a := do(t, "GET", base+"/tickets?filter_by=all", tok, nil)
		if got := len(decode(t, a)); got != 20 {
			t.Fatalf("len: got %d, want the reference's default 20", got)
		}
	})
	t.Run("TruthNewestFirst", func(t *testing.T) {
		truth := sim.Truth()
		for i := 1; i < len(truth); i++ {
			a, b := truth[i-1], truth[i]
			if a.CreatedAt.Before(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.Number < b.Number {
				t.Fatalf("truth[%d] %s #%d before truth[%d] %s #%d", i-1, a.CreatedAt, a.Number, i, b.CreatedAt, b.Number)
			}
		}
	})
	t.Run("WholeSecondDatetimes", func(t *testing.T) {
		for _, tk := range decode(t, do(t, "GET", fullURL(base, 1, 200, everything[0], everything[1]), tok, nil)) {
			for _, v := range []string{tk.CreatedAt, tk.UpdatedAt} {
				if _, err := time.Parse("2006-01-02T15:04:05Z", v); err != nil {
					t.Fatalf("ticket %d datetime %q: want 2026-09-01T20:24:08Z form: %v", tk.TicketNumber, v, err)
				}
			}
		}
	})
	for _, tt := range []struct{ name, query, field string }{
		{"LimitZero", "offset=1&limit=0", "limit"}, {"LimitTooBig", "offset=1&limit=201", "limit"}, {"LimitNaN", "offset=1&limit=x", "limit"},
		{"OffsetZero", "offset=0&limit=10", "offset"},
		{"BadDate", "offset=1&limit=10&date_type=created_at&start_datetime=yesterday&end_datetime=2026-01-01T00:00:00Z", "start_datetime"},
		{"DateWithoutZone", "start_datetime=2026-01-01T00:00:00", "start_datetime"},
		{"EndBeforeStart", "start_datetime=2026-02-01T00:00:00Z&end_datetime=2026-01-01T00:00:00Z", "end_datetime"},
		{"EndEqualsStart", "start_datetime=2026-01-01T00:00:00Z&end_datetime=2026-01-01T00:00:00Z", "end_datetime"},
		{"UpdateEndBeforeStart", "update_start_datetime=2026-02-01T00:00:00Z&update_end_datetime=2026-01-01T00:00:00Z", "update_end_datetime"},
		{"UnknownFilterBy", "filter_by=invalid", "filter_by"},
		{"UnknownDateType", "date_type=updated_at", "date_type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "GET", base+"/tickets?"+tt.query, tok, nil)
			if a.status != 422 {
				t.Fatalf("status: got %d, want 422 (%s)", a.status, a.body)
			}
			code, detail := errorDetail(t, a, tt.field)
			if code != 42201 || len(detail) != 1 {
				t.Fatalf("body %s: want error_code 42201 and detail.%s", a.body, tt.field)
			}
		})
	}
	t.Run("UnknownFilterByMessage", func(t *testing.T) {
		_, d := errorDetail(t, do(t, "GET", base+"/tickets?filter_by=invalid", tok, nil), "filter_by")
		// The reference's own example of this 422.
		if want := "invalid is not a valid option. Filter by must be 'open', 'closed', 'canceled' or 'all'"; d[0] != want {
			t.Errorf("detail: got %q, want %q", d[0], want)
		}
	})
}

// kinds returns the JSON kind of v: object, array, string, number, bool or null.
func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// shapes collects, for every field path of the objects (nested objects and
// the objects in arrays included), the JSON kinds it takes.
func shapes(out map[string]map[string]bool, prefix string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := prefix + k
			if out[p] == nil {
				out[p] = map[string]bool{}
			}
			out[p][kind(e)] = true
			shapes(out, p+".", e)
		}
	case []any:
		for _, e := range x {
			shapes(out, prefix+"[].", e)
		}
	}
}

// loadShapes reads the list examples of a fixture file.
func loadShapes(t *testing.T, files ...string) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		var examples map[string]json.RawMessage
		if err := json.Unmarshal(b, &examples); err != nil {
			t.Fatal(err)
		}
		for name, raw := range examples {
			if strings.HasPrefix(name, "_") {
				continue
			}
			var list []any
			if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
				t.Fatalf("%s %q: not a list of tickets", f, name)
			}
			for _, tk := range list {
				shapes(out, "", tk)
			}
		}
	}
	return out
}

// nullInExamples are the fields the reference's list examples show only as
// null, with the type the reference gives them elsewhere: solved_in_time is
// a datetime (CONTRACT section 2), requestor.id an integer (requestor_id of
// post_tickets), last_answer_type a string (CONTRACT section 6).
var nullInExamples = map[string]string{"sla_info.solved_in_time": "string", "requestor.id": "number", "last_answer_type": "string"}

// optional are the reference's fields a ticket may leave out: entity_fields
// comes only with include_filled_entity=true, jira_issues only on tickets
// linked to Jira.
var optional = map[string]bool{"entity_fields": true, "jira_issues": true}

// TestShape holds websim's list against the reference's own examples
// (testdata: the get_tickets examples of the OpenAPI document and the
// ticket of CONTRACT section 2): every field of the examples is there, no
// other field is, and each takes the examples' JSON type (or null).
func TestShape(t *testing.T) {
	ref := loadShapes(t, "openapi_get_tickets_examples.json", "contract_list_example.json")
	sim, base := MustServer(t, websim.Options{Tickets: 3000, Seed: 11}, newClock())
	tok := MustLogin(t, sim, base)
	got := map[string]map[string]bool{}
	perTicket := []map[string]map[string]bool{}
	for _, filter := range []string{"all", "canceled"} {
		for p := 1; ; p++ {
			a := do(t, "GET", base+"/tickets?limit=200&filter_by="+filter+"&offset="+strconv.Itoa(p), tok, nil)
			var list []any
			if err := json.Unmarshal(a.body, &list); err != nil {
				t.Fatal(err)
			}
			for _, tk := range list {
				shapes(got, "", tk)
				one := map[string]map[string]bool{}
				shapes(one, "", tk)
				perTicket = append(perTicket, one)
			}
			if len(list) < 200 {
				break
			}
		}
	}
	for path, kinds := range got {
		want, ok := ref[path]
		if !ok {
			t.Errorf("field %s: not in the reference's examples", path)
			continue
		}
		for k := range kinds {
			if !want[k] && k != "null" && nullInExamples[path] != k {
				t.Errorf("field %s: websim sends %s, the reference %v", path, k, want)
			}
		}
	}
	for path, kinds := range ref {
		if got[path] == nil {
			if !optional[strings.Split(path, ".")[0]] {
				t.Errorf("field %s: in the reference, never sent by websim", path)
			}
			continue
		}
		for k := range kinds {
			if k != "null" && !got[path][k] {
				t.Errorf("field %s: the reference sends %s, websim never does (%v)", path, k, got[path])
			}
		}
	}
	for i, one := range perTicket { // every ticket carries every required top-level field
		for path := range ref {
			if !strings.Contains(path, ".") && !optional[path] && one[path] == nil {
				t.Fatalf("ticket %d: field %s missing", i, path)
			}
		}
	}
	t.Run("Labels", func(t *testing.T) {
		labels := map[string]bool{}
		for _, tk := range decode(t, do(t, "GET", base+"/tickets?limit=200&filter_by=all", tok, nil)) {
			labels[tk.CreatedByWayOf] = true
		}
		if !labels["Email"] || !labels["Tiflux Web"] {
			t.Errorf("created_by_way_of labels %v: want the reference's labels", labels)
		}
	})
}

func TestFilters(t *testing.T) {
	clk := newClock()
	sim, base := MustServer(t, websim.Options{Tickets: 2000, Days: 60, Seed: 9}, clk)
	tok := MustLogin(t, sim, base)
	truth := sim.Truth()
	now := clk.Now()
	from, to := now.Add(-30*24*time.Hour), now.Add(-10*24*time.Hour)
	in := func(v time.Time) bool { return !v.Before(from) && !v.After(to) }
	byNumber := map[int64]websim.Fact{}
	for _, f := range truth {
		byNumber[f.Number] = f
	}
	tests := []struct {
		name  string
		url   func(page int) string
		match func(websim.Fact) bool
	}{
		{"Full", func(p int) string { return fullURL(base, p, 200, from, to) }, func(f websim.Fact) bool { return listed(f) && in(f.CreatedAt) }},
		{"Changed", func(p int) string { return changedURL(base, p, 200, from, to) }, func(f websim.Fact) bool { return listed(f) && in(f.UpdatedAt) }},
		{"FractionsAccepted", func(p int) string {
			return base + "/tickets?filter_by=all&limit=200&offset=" + strconv.Itoa(p) + "&start_datetime=" + url.QueryEscape(from.Format("2006-01-02T15:04:05.000Z")) +
				"&end_datetime=" + url.QueryEscape(to.Format(time.RFC3339Nano))
		}, func(f websim.Fact) bool { return listed(f) && in(f.CreatedAt) }},
		{"OffsetZone", func(p int) string {
			loc := time.FixedZone("BRT", -3*3600)
			return base + "/tickets?filter_by=all&limit=200&offset=" + strconv.Itoa(p) + "&start_datetime=" + url.QueryEscape(from.In(loc).Format(time.RFC3339)) +
				"&end_datetime=" + url.QueryEscape(to.In(loc).Format(time.RFC3339))
		}, func(f websim.Fact) bool { return listed(f) && in(f.CreatedAt) }},
		{"DefaultIsOpen", func(p int) string { return base + "/tickets?limit=200&offset=" + strconv.Itoa(p) }, func(f websim.Fact) bool { return f.Situacao == websim.SituacaoAberto }},
		{"Open", func(p int) string { return base + "/tickets?filter_by=open&limit=200&offset=" + strconv.Itoa(p) }, func(f websim.Fact) bool { return f.Situacao == websim.SituacaoAberto }},
		{"Closed", func(p int) string { return base + "/tickets?filter_by=closed&limit=200&offset=" + strconv.Itoa(p) }, func(f websim.Fact) bool { return f.Situacao == websim.SituacaoFechado }},
		{"AllWithoutCanceled", func(p int) string { return base + "/tickets?filter_by=all&limit=200&offset=" + strconv.Itoa(p) }, listed},
		{"Canceled", func(p int) string { return base + "/tickets?filter_by=canceled&limit=200&offset=" + strconv.Itoa(p) }, func(f websim.Fact) bool { return f.Situacao == websim.SituacaoCancelado }},
		{"CanceledInWindow", func(p int) string {
			v := url.Values{"filter_by": {"canceled"}, "limit": {"200"}, "offset": {strconv.Itoa(p)}, "start_datetime": {from.Format(time.RFC3339)}, "end_datetime": {to.Format(time.RFC3339)}}
			return base + "/tickets?" + v.Encode()
		}, func(f websim.Fact) bool { return f.Situacao == websim.SituacaoCancelado && in(f.CreatedAt) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := numbers(truth, tt.match)
			var gotN []int64
			for p := 1; ; p++ {
				a := do(t, "GET", tt.url(p), tok, nil)
				if h := a.header.Get("X-Total-Items"); h != strconv.Itoa(len(want)) {
					t.Fatalf("X-Total-Items: got %s, want %d", h, len(want))
				}
				page := decode(t, a)
				for _, tk := range page {
					gotN = append(gotN, tk.TicketNumber)
					if f := byNumber[tk.TicketNumber]; tk.IsClosed != (f.Situacao != websim.SituacaoAberto) {
						t.Fatalf("ticket %d (%s): is_closed %v", tk.TicketNumber, f.Situacao, tk.IsClosed)
					}
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
	t.Run("SolvedWindow", func(t *testing.T) {
		a := do(t, "GET", base+"/tickets?filter_by=closed&limit=200&date_type=solved_in_time&start_datetime="+from.Format(time.RFC3339)+"&end_datetime="+to.Format(time.RFC3339), tok, nil)
		page := decode(t, a)
		if len(page) == 0 {
			t.Fatal("no ticket solved in the window")
		}
		for _, tk := range page {
			s, err := time.Parse(time.RFC3339, *tk.SLAInfo.SolvedInTime)
			if err != nil || !in(s) {
				t.Fatalf("ticket %d solved_in_time %v: want in [%s, %s]", tk.TicketNumber, *tk.SLAInfo.SolvedInTime, from, to)
			}
		}
	})
	t.Run("AllIncludesCanceledKnob", func(t *testing.T) {
		sim2, base2 := MustServer(t, websim.Options{Tickets: 2000, Days: 60, Seed: 9, AllIncludesCanceled: true}, newClock())
		tok2 := MustLogin(t, sim2, base2)
		a := do(t, "GET", base2+"/tickets?filter_by=all&limit=1", tok2, nil)
		want := len(numbers(sim2.Truth(), func(f websim.Fact) bool { return f.Situacao != websim.SituacaoExcluido }))
		if h := a.header.Get("X-Total-Items"); h != strconv.Itoa(want) {
			t.Fatalf("X-Total-Items: got %s, want %d (canceled included)", h, want)
		}
	})
	t.Run("CanceledNamedOtherwise", func(t *testing.T) {
		names := map[string]int{}
		for _, tk := range decode(t, do(t, "GET", base+"/tickets?filter_by=canceled&limit=200", tok, nil)) {
			names[tk.Status.Name]++
			if !tk.IsClosed {
				t.Errorf("canceled ticket %d: is_closed false", tk.TicketNumber)
			}
		}
		if names["Canceled"] == 0 || names["Descartado"] == 0 {
			t.Errorf("canceled statuses %v: want some named Canceled and some not", names)
		}
	})
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
	}{{"Off", 0, false}, {"On", 0.04, true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func() ([]int64, []websim.Fact, []websim.Fact, websim.Stats, string) {
				clk := newClock()
				sim, base := MustServer(t, websim.Options{Tickets: 500, Seed: 5, Churn: tt.churn}, clk)
				tok := MustLogin(t, sim, base)
				before := sim.Truth()
				var seen []int64
				for p := 1; p <= 3; p++ {
					clk.Add(time.Second)
					a := do(t, "GET", fullURL(base, p, 100, everything[0], everything[1]), tok, nil)
					for _, tk := range decode(t, a) {
						seen = append(seen, tk.TicketNumber)
					}
				}
				return seen, before, sim.Truth(), sim.Stats(), base + "|" + tok
			}
			seen, before, truth, st, conn := run()
			base, tok, _ := strings.Cut(conn, "|")
			// Read three pages of 100 of a list that did not change: 300 distinct tickets.
			distinct := len(slices.Compact(slices.Sorted(slices.Values(seen))))
			if got := distinct != 300; got != tt.wantShift {
				t.Fatalf("distinct tickets in 3 pages of 100: got %d, want shift %v", distinct, tt.wantShift)
			}
			changes := st.TicketsCreated + st.TicketsUpdated + st.TicketsClosed + st.TicketsCanceled + st.TicketsDeleted
			if !tt.wantShift {
				if changes != 0 {
					t.Fatalf("stats %+v: want no change", st)
				}
			} else {
				if st.TicketsCreated == 0 || st.TicketsUpdated == 0 || st.TicketsClosed == 0 || st.TicketsCanceled == 0 || st.TicketsDeleted == 0 {
					t.Fatalf("stats %+v: want every kind of change", st)
				}
				if len(truth) != 500+st.TicketsCreated {
					t.Fatalf("truth %d: want 500 + %d created (deleted ones stay, marked)", len(truth), st.TicketsCreated)
				}
				if newest := truth[0]; !newest.CreatedAt.Equal(newest.UpdatedAt) {
					t.Errorf("new ticket: created_at %s, updated_at %s: want equal", newest.CreatedAt, newest.UpdatedAt)
				}
				old := map[int64]websim.Fact{}
				for _, f := range before {
					old[f.Number] = f
				}
				silent := map[string]int{}
				deleted := 0
				for _, f := range truth {
					o, ok := old[f.Number]
					if ok && o.Situacao == websim.SituacaoAberto && f.Situacao != websim.SituacaoAberto && f.UpdatedAt.Equal(o.UpdatedAt) {
						silent[f.Situacao]++
					}
					if f.Situacao == websim.SituacaoExcluido {
						deleted++
						if f.JSON != nil {
							t.Errorf("deleted ticket %d: JSON %s, want nil", f.Number, f.JSON)
						}
						if a := do(t, "GET", base+"/tickets/"+strconv.FormatInt(f.Number, 10), tok, nil); a.status != 404 {
							t.Errorf("deleted ticket %d: one-ticket status %d, want 404", f.Number, a.status)
						}
					}
				}
				if silent[websim.SituacaoFechado] == 0 || silent[websim.SituacaoCancelado] == 0 || silent[websim.SituacaoExcluido] == 0 || deleted != st.TicketsDeleted {
					t.Errorf("silent changes (open before, same updated_at after) %v, deleted %d: want closes, cancels and every deletion", silent, st.TicketsDeleted)
				}
			}
			seen2, _, truth2, _, _ := run()
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
	sim, base := MustServer(t, websim.Options{Tickets: 100_000, Seed: 1, AllIncludesCanceled: true}, nil)
	tok := MustLogin(t, sim, base)
	a := do(t, "GET", fullURL(base, 500, 200, everything[0], everything[1]), tok, nil)
	if n := len(decode(t, a)); n != 200 || a.header.Get("X-Total-Items") != "100000" {
		t.Fatalf("page 500: got %d tickets, X-Total-Items %s", n, a.header.Get("X-Total-Items"))
	}
}

func BenchmarkPage(b *testing.B) {
	for _, order := range websim.Orders {
		b.Run(order, func(b *testing.B) {
			sim, base := MustServer(b, websim.Options{Tickets: 100_000, Seed: 1, Order: order}, nil)
			tok := MustLogin(b, sim, base)
			for i := 0; b.Loop(); i++ {
				do(b, "GET", fullURL(base, 1+i%400, 200, everything[0], everything[1]), tok, nil)
			}
		})
	}
}

func BenchmarkNew100k(b *testing.B) {
	for b.Loop() {
		websim.New(websim.Options{Tickets: 100_000})
	}
}

func TestOneTicket(t *testing.T) {
	sim, base := MustServer(t, websim.Options{Tickets: 300, Seed: 21, TokenTTLRequests: 50}, newClock())
	tok := MustLogin(t, sim, base)
	truth := sim.Truth()
	sim.Silent(0.03) // some tickets closed, canceled and deleted
	after := map[int64]websim.Fact{}
	var deleted, canceled int64
	for _, f := range sim.Truth() {
		after[f.Number] = f
		switch f.Situacao {
		case websim.SituacaoExcluido:
			deleted = f.Number
		case websim.SituacaoCancelado:
			canceled = f.Number
		}
	}
	if deleted == 0 || canceled == 0 {
		t.Fatalf("Silent made no deleted or canceled ticket")
	}
	one := func(path, token string) answer { return do(t, "GET", base+"/tickets/"+path, token, nil) }
	tests := []struct {
		name, path string
		token      string
		status     int
		code       int
	}{
		{"Open", strconv.FormatInt(truth[5].Number, 10), tok, 200, 0},
		{"Canceled", strconv.FormatInt(canceled, 10), tok, 200, 0},
		{"Deleted", strconv.FormatInt(deleted, 10), tok, 404, 40401},
		{"NeverExisted", "99999999", tok, 404, 40401},
		{"NotANumber", "abc", tok, 422, 42201},
		{"DeadToken", strconv.FormatInt(truth[5].Number, 10), "no-such-token", 401, 40106},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := one(tt.path, tt.token)
			if a.status != tt.status {
				t.Fatalf("status: got %d, want %d (%s)", a.status, tt.status, a.body)
			}
			if tt.status != 200 {
				if got := errorCode(t, a); got != tt.code {
					t.Fatalf("error_code: got %d, want %d", got, tt.code)
				}
				return
			}
			var d websim.Detail
			dec := json.NewDecoder(bytes.NewReader(a.body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&d); err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.ParseInt(tt.path, 10, 64)
			f := after[n]
			if d.TicketNumber != n || d.UpdatedAt != f.UpdatedAt.Format(websim.TimeLayout) || d.IsClosed != (f.Situacao != websim.SituacaoAberto) {
				t.Fatalf("got #%d updated %s closed %v, want #%d %s %s", d.TicketNumber, d.UpdatedAt, d.IsClosed, n, f.UpdatedAt, f.Situacao)
			}
			// The list's object and the one-ticket object agree on the list's fields.
			var listObj, oneObj map[string]json.RawMessage
			_ = json.Unmarshal(f.JSON, &listObj)
			_ = json.Unmarshal(a.body, &oneObj)
			for k, v := range listObj {
				if !bytes.Equal(oneObj[k], v) {
					t.Errorf("field %s: one ticket %s, list %s", k, oneObj[k], v)
				}
			}
		})
	}
	t.Run("DetailShape", func(t *testing.T) {
		ref := loadShapes(t, "openapi_get_ticket_example.json")
		got := map[string]map[string]bool{}
		var obj any
		_ = json.Unmarshal(one(strconv.FormatInt(truth[7].Number, 10), tok).body, &obj)
		shapes(got, "", obj)
		for path := range got {
			if ref[path] == nil && !strings.HasPrefix(path, "services_catalog") && !strings.HasPrefix(path, "jira_issues") {
				t.Errorf("field %s: not in the reference's one-ticket example", path)
			}
		}
	})
	t.Run("CountsAgainstTokenTTL", func(t *testing.T) {
		st := sim.Stats()
		if st.Requests["ticket"] == 0 || st.Requests["tickets"] != 0 {
			t.Errorf("requests %v: want the one-ticket requests counted as \"ticket\"", st.Requests)
		}
		sim2, base2 := MustServer(t, websim.Options{Tickets: 5, TokenTTLRequests: 1}, newClock())
		tok2 := MustLogin(t, sim2, base2)
		n := strconv.FormatInt(sim2.Truth()[0].Number, 10)
		got := []int{do(t, "GET", base2+"/tickets/"+n, tok2, nil).status, do(t, "GET", base2+"/tickets/"+n, tok2, nil).status}
		if !slices.Equal(got, []int{200, 401}) {
			t.Errorf("statuses %v, want [200 401]", got)
		}
	})
}

func TestForbid(t *testing.T) {
	tests := []struct {
		name    string
		forbid  int
		code    int
		message string
	}{
		{"Permission", 40301, 40301, "Access Denied - You cannot access this route"},
		{"Licence", 40304, 40304, "Access Denied - Missing required license"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, base := MustServer(t, websim.Options{Tickets: 10, Forbid: tt.forbid, APIToken: "api-token-1"}, newClock())
			tok := MustLogin(t, sim, base)
			n := strconv.FormatInt(sim.Truth()[0].Number, 10)
			for _, u := range []string{base + "/tickets?filter_by=all", base + "/tickets/" + n} {
				for _, token := range []string{tok, "Bearer api-token-1"} {
					a := do(t, "GET", u, token, nil)
					var e struct {
						Code    int                 `json:"error_code"`
						Message string              `json:"message"`
						Detail  map[string][]string `json:"detail"`
					}
					if err := json.Unmarshal(a.body, &e); err != nil || a.status != 403 || e.Code != tt.code || e.Message != tt.message || len(e.Detail["error"]) != 1 {
						t.Fatalf("%s: got %d %s, want 403 with error_code %d", u, a.status, a.body, tt.code)
					}
				}
			}
			if a := do(t, "GET", base+"/tickets", "nope", nil); a.status != 401 {
				t.Errorf("dead token: got %d, want 401 before the licence check", a.status)
			}
			sim.SetForbid(0)
			if a := do(t, "GET", base+"/tickets/"+n, tok, nil); a.status != 200 {
				t.Errorf("after SetForbid(0): got %d, want 200", a.status)
			}
		})
	}
}

// readAll pages through u (a list URL without offset and limit) with limit
// 10, calling between after each page, and returns the numbers read.
func readAll(t *testing.T, u, tok string, between func(page int)) []int64 {
	t.Helper()
	var out []int64
	for p := 1; ; p++ {
		page := decode(t, do(t, "GET", u+"&limit=10&offset="+strconv.Itoa(p), tok, nil))
		for _, tk := range page {
			out = append(out, tk.TicketNumber)
		}
		if len(page) < 10 {
			return out
		}
		between(p)
	}
}

func TestOrders(t *testing.T) {
	tests := []struct {
		order string
		less  func(a, b websim.Ticket) bool
	}{
		{websim.OrderNumberDesc, func(a, b websim.Ticket) bool { return a.TicketNumber > b.TicketNumber }},
		{websim.OrderNumberAsc, func(a, b websim.Ticket) bool { return a.TicketNumber < b.TicketNumber }},
		{websim.OrderUpdatedDesc, func(a, b websim.Ticket) bool {
			return a.UpdatedAt > b.UpdatedAt || a.UpdatedAt == b.UpdatedAt && a.TicketNumber > b.TicketNumber
		}},
		{websim.OrderUpdatedAsc, func(a, b websim.Ticket) bool {
			return a.UpdatedAt < b.UpdatedAt || a.UpdatedAt == b.UpdatedAt && a.TicketNumber < b.TicketNumber
		}},
	}
	for _, tt := range tests {
		t.Run(tt.order, func(t *testing.T) {
			sim, base := MustServer(t, websim.Options{Tickets: 300, Seed: 4, Order: tt.order}, newClock())
			tok := MustLogin(t, sim, base)
			page := decode(t, do(t, "GET", base+"/tickets?filter_by=all&limit=200", tok, nil))
			for i := 1; i < len(page); i++ {
				if !tt.less(page[i-1], page[i]) {
					t.Fatalf("#%d (%s) before #%d (%s)", page[i-1].TicketNumber, page[i-1].UpdatedAt, page[i].TicketNumber, page[i].UpdatedAt)
				}
			}
		})
	}
	// Pages read while tickets change: a stable order by number loses none;
	// the jump order moves each changed ticket to the end, the rest move up a
	// page, and a reader of offset pages misses some that never changed.
	for _, tt := range []struct {
		order    string
		wantMiss bool
	}{{websim.OrderNumberAsc, false}, {websim.OrderNumberDesc, false}, {websim.OrderJump, true}} {
		t.Run("Touched/"+tt.order, func(t *testing.T) {
			sim, base := MustServer(t, websim.Options{Tickets: 60, Seed: 4, Order: tt.order}, newClock())
			tok := MustLogin(t, sim, base)
			u := base + "/tickets?filter_by=all"
			before := numbers(sim.Truth(), listed)
			got := readAll(t, u, tok, func(p int) {
				if p <= 2 {
					sim.Touch(0.1)
				}
			})
			missed := 0
			seen := map[int64]bool{}
			for _, n := range got {
				seen[n] = true
			}
			for _, n := range before {
				if !seen[n] {
					missed++
				}
			}
			if (missed > 0) != tt.wantMiss {
				t.Fatalf("missed %d of %d tickets: want misses %v", missed, len(before), tt.wantMiss)
			}
		})
	}
	t.Run("JumpAfterSilentClose", func(t *testing.T) {
		sim, base := MustServer(t, websim.Options{Tickets: 60, Seed: 4, Order: websim.OrderJump}, newClock())
		tok := MustLogin(t, sim, base)
		sim.Silent(0.05)
		page := decode(t, do(t, "GET", base+"/tickets?filter_by=closed&limit=200", tok, nil))
		closedNow := map[int64]bool{}
		for _, f := range sim.Truth() {
			closedNow[f.Number] = f.Situacao == websim.SituacaoFechado
		}
		if last := page[len(page)-1]; !closedNow[last.TicketNumber] {
			t.Fatalf("last of the closed list #%d: want a silently closed ticket at the end", last.TicketNumber)
		}
	})
}

func TestSilent(t *testing.T) {
	tests := []struct {
		name                      string
		tickets                   int
		share                     float64
		closed, canceled, deleted int
	}{
		{"None", 300, 0, 0, 0, 0},
		{"ThreePercent", 300, 0.03, 3, 3, 3},
		{"MoreThanOpen", 50, 1, -1, -1, -1}, // every open ticket, a third each
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, base := MustServer(t, websim.Options{Tickets: tt.tickets, Seed: 8}, newClock())
			tok := MustLogin(t, sim, base)
			before := sim.Truth()
			open := len(numbers(before, func(f websim.Fact) bool { return f.Situacao == websim.SituacaoAberto }))
			c, x, d := sim.Silent(tt.share)
			if tt.closed >= 0 && (c != tt.closed || x != tt.canceled || d != tt.deleted) {
				t.Fatalf("got %d closed, %d canceled, %d deleted; want %d, %d, %d", c, x, d, tt.closed, tt.canceled, tt.deleted)
			}
			if tt.closed < 0 && c+x+d != open {
				t.Fatalf("got %d changes, want every one of the %d open tickets", c+x+d, open)
			}
			after := sim.Truth()
			changed := map[string]int{}
			for i, f := range after {
				b := before[i]
				if f.Number != b.Number || !f.UpdatedAt.Equal(b.UpdatedAt) {
					t.Fatalf("ticket %d: updated_at %s → %s: want unchanged", f.Number, b.UpdatedAt, f.UpdatedAt)
				}
				if f.Situacao != b.Situacao {
					if b.Situacao != websim.SituacaoAberto {
						t.Fatalf("ticket %d: %s → %s: want only open tickets changed", f.Number, b.Situacao, f.Situacao)
					}
					changed[f.Situacao]++
				}
			}
			if changed[websim.SituacaoFechado] != c || changed[websim.SituacaoCancelado] != x || changed[websim.SituacaoExcluido] != d {
				t.Fatalf("truth changed %v: want %d, %d, %d", changed, c, x, d)
			}
			total := func(filter string) int {
				n, _ := strconv.Atoi(do(t, "GET", base+"/tickets?limit=1&filter_by="+filter, tok, nil).header.Get("X-Total-Items"))
				return n
			}
			if got := total("open"); got != open-c-x-d {
				t.Errorf("open list: got %d, want %d", got, open-c-x-d)
			}
		})
	}
}

func TestBadFieldRate(t *testing.T) {
	ref := loadShapes(t, "openapi_get_tickets_examples.json", "contract_list_example.json")
	tests := []struct {
		name     string
		rate     float64
		min, max int
	}{{"Off", 0, 0, 0}, {"TwoPercent", 0.02, 60, 140}, {"All", 1, 5000, 5000}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, _ := MustServer(t, websim.Options{Tickets: 5000, Seed: 2, BadFieldRate: tt.rate}, newClock())
			bad, fields := 0, map[string]int{}
			for _, f := range sim.Truth() {
				got := map[string]map[string]bool{}
				var obj any
				if err := json.Unmarshal(f.JSON, &obj); err != nil {
					t.Fatalf("ticket %d: %v", f.Number, err)
				}
				shapes(got, "", obj)
				var wrong []string
				for path, kinds := range got {
					for k := range kinds {
						if ref[path] != nil && !ref[path][k] && k != "null" && nullInExamples[path] != k {
							wrong = append(wrong, path)
						}
					}
				}
				// A wrong-typed object field shows as one wrong path (its nested paths are gone).
				want := []string{}
				if f.BadField != "" {
					want = []string{f.BadField}
					bad++
					fields[f.BadField]++
				}
				if len(wrong) != len(want) || len(want) == 1 && wrong[0] != want[0] {
					t.Fatalf("ticket %d: wrong-typed fields %v, want %v", f.Number, wrong, want)
				}
				if obj.(map[string]any)["ticket_number"] == nil || obj.(map[string]any)["created_at"] == nil {
					t.Fatalf("ticket %d: key fields lost", f.Number)
				}
			}
			if bad < tt.min || bad > tt.max {
				t.Fatalf("tickets with a wrong-typed field: got %d, want %d..%d", bad, tt.min, tt.max)
			}
			if tt.rate == 1 && len(fields) < 5 {
				t.Errorf("fields swapped %v: want a variety", fields)
			}
		})
	}
}

func TestControl(t *testing.T) {
	sim := websim.New(websim.Options{Tickets: 300, Seed: 3})
	hs := httptest.NewServer(sim.ControlHandler())
	defer hs.Close()
	tests := []struct {
		path, want string
		status     int
	}{
		{"/_sim/touch?share=0.01", `{"changed":3}`, 200},
		{"/_sim/silent?share=0.01", `{"closed":1,"canceled":1,"deleted":1}`, 200},
		{"/_sim/silent?share=2", "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := do(t, "POST", hs.URL+tt.path, "", nil)
			if a.status != tt.status || tt.want != "" && string(a.body) != tt.want {
				t.Fatalf("got %d %s, want %d %s", a.status, a.body, tt.status, tt.want)
			}
		})
	}
}

// FuzzListQuery sends the list any query string: it answers 200 with a
// list and X-Total-Items, or 422 with the reference's error body; never
// anything else, never a panic.
func FuzzListQuery(f *testing.F) {
	for _, q := range []string{"", "filter_by=all&limit=200&offset=1", "filter_by=canceled", "filter_by=x",
		"start_datetime=2026-01-01T00:00:00Z&end_datetime=2026-02-01T00:00:00.5Z", "date_type=solved_in_time&start_datetime=2026-01-01T00:00:00-03:00",
		"update_start_datetime=2026-02-01T00:00:00Z&update_end_datetime=2026-01-01T00:00:00Z", "limit=0", "offset=-1", "limit=%zz"} {
		f.Add(q)
	}
	sim := websim.New(websim.Options{Tickets: 300, Seed: 1, APIToken: "tok", Order: websim.OrderJump})
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest("GET", "/tickets", nil)
		req.URL.RawQuery = q
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			var list []websim.Ticket
			if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
				t.Fatalf("200 body: %v", err)
			}
			if n, err := strconv.Atoi(rec.Header().Get("X-Total-Items")); err != nil || n < len(list) {
				t.Fatalf("X-Total-Items %q for %d tickets", rec.Header().Get("X-Total-Items"), len(list))
			}
		case 422:
			var e struct {
				Code   int                 `json:"error_code"`
				Detail map[string][]string `json:"detail"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != 42201 || len(e.Detail) != 1 {
				t.Fatalf("422 body %s", rec.Body)
			}
		default:
			t.Fatalf("query %q: status %d %s", q, rec.Code, rec.Body)
		}
	})
}

// With ChurnNoSilent, churn creates and updates tickets but never closes,
// cancels or deletes one silently.
func TestChurnNoSilent(t *testing.T) {
	clk := newClock()
	sim, base := MustServer(t, websim.Options{Tickets: 500, Seed: 5, Churn: 0.04, ChurnNoSilent: true}, clk)
	tok := MustLogin(t, sim, base)
	everything := []time.Time{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}

	for p := 1; p <= 5; p++ {
		clk.Add(time.Second)
		do(t, "GET", fullURL(base, p, 100, everything[0], everything[1]), tok, nil)
	}

	st := sim.Stats()
	if st.TicketsCreated == 0 || st.TicketsUpdated == 0 {
		t.Fatalf("stats %+v: want tickets created and updated", st)
	}
	if st.TicketsClosed != 0 || st.TicketsCanceled != 0 || st.TicketsDeleted != 0 {
		t.Fatalf("stats %+v: want no silent close, cancel or delete", st)
	}
}
