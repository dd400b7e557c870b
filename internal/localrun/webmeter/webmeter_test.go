package webmeter_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/webmeter"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// The web-system client, given the meter's URL, reaches the simulated system
// behind it (under a base path, with the system's own Host) and every request
// is counted: login, code, two pages of the list, logout.
func TestMeterCountsEveryRequestItForwards(t *testing.T) {
	sim := websim.New(websim.Options{Tickets: 30, Email: "a@example.com", Password: "senha-123456"})
	var (
		mu    sync.Mutex
		hosts []string
	)
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
		sim.ServeHTTP(w, r)
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL + "/api")
	m := webmeter.New(target, webmeter.Paths{Tickets: "/tickets", Logout: "/logout"}, nil)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	c := websystem.New(m.URL(), websystem.Paths{}, nil, websystem.Options{MaxRetries: -1})
	ctx := context.Background()

	tmp, err := c.StartLogin(ctx, "a@example.com", "senha-123456")
	if err != nil {
		t.Fatal(err)
	}
	code, _, _ := sim.LastCode()
	token, err := c.FinishLogin(ctx, tmp, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTickets(ctx, token, websystem.Query{Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTickets(ctx, token, websystem.Query{Page: 2, Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}

	st := sim.Stats()
	sent := 0
	for _, n := range st.Requests {
		sent += n
	}
	got := []int64{m.Requests.Load(), m.Pages.Load(), m.TooMany.Load(), m.Logouts.Load()}
	want := []int64{int64(sent), 2, 0, 1}
	if !slices.Equal(got, want) {
		t.Errorf("requests, pages, 429s, logouts: got %v, want %v (the system saw %v)", got, want, st.Requests)
	}
	if tokens := m.IssuedTokens(); len(tokens) != 1 || tokens[0] != strings.TrimPrefix(token, "Bearer ") {
		t.Errorf("issued tokens: got %d, want the one session token", len(tokens))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hosts) != int(m.Requests.Load()) {
		t.Errorf("the system behind the meter saw %d requests, the meter counted %d", len(hosts), m.Requests.Load())
	}
	for _, h := range hosts {
		if h != target.Host {
			t.Errorf("the system was asked for host %q, want its own %q", h, target.Host)
		}
	}
}

// A ticket-list answer 429 is counted as such, not as a page.
func TestMeterCountsTooManyRequests(t *testing.T) {
	srv := httptest.NewServer(websim.New(websim.Options{Tickets: 5, RateLimit: 1}))
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	m := webmeter.New(target, webmeter.Paths{Tickets: "/tickets", Logout: "/logout"}, nil)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })

	var statuses []int
	for i := 0; i < 2; i++ {
		resp, err := http.Get(m.URL() + "/tickets?offset=1&limit=10")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}

	if statuses[1] != http.StatusTooManyRequests {
		t.Fatalf("answers: got %v, want the second one 429 (a limit of 1 a minute)", statuses)
	}
	if got := []int64{m.Requests.Load(), m.Pages.Load(), m.TooMany.Load()}; !slices.Equal(got, []int64{2, 0, 1}) {
		t.Errorf("requests, pages, 429s: got %v, want [2 0 1]", got)
	}
}
