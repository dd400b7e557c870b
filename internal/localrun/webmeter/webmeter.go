// Package webmeter measures the traffic to the web system from the client
// side: an http.RoundTripper that counts every request to one host, the
// ticket-list pages and 429s, remembers the session tokens handed out (for
// secret audits) and prints a progress line. The local runner and the
// benchmark command use it; the deployed functions do not.
package webmeter

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Meter counts every request sent to the web system and reads the
// ticket-list answers for the progress line. Use it as an http.Client's
// Transport, or as http.DefaultTransport to see every client of a process.
type Meter struct {
	Base        http.RoundTripper // nil: http.DefaultTransport
	Host        string            // the web system's host:port
	TicketsPath string            // the ticket list's path

	Requests atomic.Int64 // every request to Host
	Pages    atomic.Int64 // ticket-list pages answered 200
	TooMany  atomic.Int64 // ticket-list answers 429

	mu        sync.Mutex
	tokens    []string // session tokens the web system handed out, for the secrets audit
	total     int      // pages of the main pass, from X-Total-Items
	firstPage time.Time
	lastPage  time.Time
}

func (m *Meter) base() http.RoundTripper {
	if m.Base == nil {
		return http.DefaultTransport
	}
	return m.Base
}

// RoundTrip counts req when it goes to Host.
func (m *Meter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != m.Host {
		return m.base().RoundTrip(req)
	}
	m.Requests.Add(1)
	resp, err := m.base().RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if tok := resp.Header.Get("Authorization"); tok != "" {
		m.mu.Lock()
		m.tokens = append(m.tokens, strings.TrimPrefix(tok, "Bearer "))
		m.mu.Unlock()
	}
	if req.URL.Path != m.TicketsPath {
		return resp, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		m.TooMany.Add(1)
	}
	if resp.StatusCode == http.StatusOK {
		m.Pages.Add(1)
		now := time.Now()
		m.mu.Lock()
		if m.firstPage.IsZero() {
			m.firstPage = now
		}
		m.lastPage = now
		if n, err := strconv.Atoi(resp.Header.Get("X-Total-Items")); err == nil {
			limit, _ := strconv.Atoi(req.URL.Query().Get("limit"))
			// The main pass is the longest; a sweep's first page says less.
			if limit > 0 && req.URL.Query().Get("offset") == "1" && (n+limit-1)/limit > m.total {
				m.total = (n + limit - 1) / limit
			}
		}
		m.mu.Unlock()
	}
	return resp, err
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
