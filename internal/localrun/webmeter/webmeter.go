// Package webmeter measures the traffic to the web system: a small reverse
// proxy (net/http/httputil.ReverseProxy) put in front of it, whose URL the
// clients are given instead of the web system's. It counts every request, the
// ticket-list pages, the 429s and the logout requests, remembers the session
// tokens handed out (for secret audits) and prints a progress line. The local
// runner and the benchmark command use it; the deployed functions do not.
//
// The clients keep their own transport: nothing process-wide is replaced, and
// a request the clients send elsewhere is neither seen nor counted.
package webmeter

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Paths are the web system's paths the meter tells apart, as the clients
// send them (relative to the base URL they are given).
type Paths struct {
	Tickets string // the ticket list
	Logout  string
}

// Meter is the reverse proxy in front of the web system. Its counters are
// read while it serves.
type Meter struct {
	Requests atomic.Int64 // every request forwarded (or tried) to the web system
	Pages    atomic.Int64 // ticket-list pages answered 200
	TooMany  atomic.Int64 // ticket-list answers 429
	Logouts  atomic.Int64 // logout requests, whatever the answer

	paths Paths
	proxy *httputil.ReverseProxy
	srv   *http.Server
	url   string

	mu        sync.Mutex
	tokens    []string // session tokens the web system handed out, for the secrets audit
	total     int      // pages of the main pass, from X-Total-Items
	firstPage time.Time
	lastPage  time.Time
}

type ticketsKey struct{}

// New returns a meter forwarding to target, the web system's base URL (a path
// in it prefixes every request's), over base (nil: http.DefaultTransport).
// Start or Serve serves it; a Meter is also an http.Handler.
func New(target *url.URL, paths Paths, base http.RoundTripper) *Meter {
	m := &Meter{paths: paths}
	m.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target) // the Host header too: an outside system sees its own name
		},
		Transport:      base,
		ModifyResponse: m.observe,
		ErrorLog:       log.New(io.Discard, "", 0), // a failed request is the client's to report
	}
	return m
}

// Start serves the meter on a free loopback port until Close.
func (m *Meter) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("web meter: %w", err)
	}
	m.Serve(ln)
	return nil
}

// Serve serves the meter on ln until Close, which closes ln.
func (m *Meter) Serve(ln net.Listener) {
	m.url = "http://" + ln.Addr().String()
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = m.srv.Serve(ln) }()
}

// URL is the base URL the clients use instead of the web system's (after Start).
func (m *Meter) URL() string { return m.url }

// Close stops serving.
func (m *Meter) Close() error {
	if m.srv == nil {
		return nil
	}
	return m.srv.Close()
}

// ServeHTTP counts r and forwards it to the web system.
func (m *Meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.Requests.Add(1)
	switch r.URL.Path {
	case m.paths.Logout:
		m.Logouts.Add(1)
	case m.paths.Tickets:
		r = r.WithContext(context.WithValue(r.Context(), ticketsKey{}, true))
	}
	m.proxy.ServeHTTP(w, r)
}

// observe reads an answer of the web system: the session token it hands
// out, and for the ticket list the page count and the main pass's size.
func (m *Meter) observe(resp *http.Response) error {
	if tok := resp.Header.Get("Authorization"); tok != "" {
		m.mu.Lock()
		m.tokens = append(m.tokens, strings.TrimPrefix(tok, "Bearer "))
		m.mu.Unlock()
	}
	if resp.Request.Context().Value(ticketsKey{}) == nil {
		return nil
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		m.TooMany.Add(1)
	}
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	m.Pages.Add(1)
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.firstPage.IsZero() {
		m.firstPage = now
	}
	m.lastPage = now
	if n, err := strconv.Atoi(resp.Header.Get("X-Total-Items")); err == nil {
		q := resp.Request.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		// The main pass is the longest; a sweep's first page says less.
		if limit > 0 && q.Get("offset") == "1" && (n+limit-1)/limit > m.total {
			m.total = (n + limit - 1) / limit
		}
	}
	return nil
}

// PagingSeconds is the time between the first and the last page read.
func (m *Meter) PagingSeconds() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.firstPage.IsZero() {
		return 0
	}
	return m.lastPage.Sub(m.firstPage).Seconds()
}

// Progress prints a progress line every second until stop is closed: on a
// terminal one line rewritten in place, elsewhere a line per change.
func (m *Meter) Progress(w io.Writer, tty bool, rate int, limit int, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	last := int64(-1)
	for {
		select {
		case <-stop:
			if tty {
				fmt.Fprintln(w)
			}
			return
		case <-t.C:
		}
		pages := m.Pages.Load()
		if pages == last {
			continue
		}
		last = pages
		m.mu.Lock()
		total := m.total
		m.mu.Unlock()
		el := time.Since(start).Seconds()
		line := fmt.Sprintf("paging: %d pages read (main pass: %d) · ~%.0f tickets/s · %d requests",
			pages, total, float64(pages)*float64(limit)/el, m.Requests.Load())
		if rate > 0 {
			if s := m.PagingSeconds(); s > 0 {
				line += fmt.Sprintf(" · budget %.0f%%", 100*float64(m.Requests.Load())/(float64(rate)*s/60))
			}
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(w, line)
		}
	}
}

// IssuedTokens returns the session tokens the web system handed out so far.
func (m *Meter) IssuedTokens() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.tokens...)
}
