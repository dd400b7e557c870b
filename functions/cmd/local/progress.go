package main

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

// webMeter counts every request sent to the web system (whichever function
// sends it) and reads the ticket-list answers for the progress line.
type webMeter struct {
	base        http.RoundTripper
	host        string
	ticketsPath string

	requests atomic.Int64
	pages    atomic.Int64
	tooMany  atomic.Int64

	mu        sync.Mutex
	tokens    []string // session tokens the web system handed out, for the secrets audit
	total     int      // pages of the current pass, from X-Total-Items
	firstPage time.Time
	lastPage  time.Time
}

func (m *webMeter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != m.host {
		return m.base.RoundTrip(req)
	}
	m.requests.Add(1)
	resp, err := m.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if tok := resp.Header.Get("Authorization"); tok != "" {
		m.mu.Lock()
		m.tokens = append(m.tokens, strings.TrimPrefix(tok, "Bearer "))
		m.mu.Unlock()
	}
	if req.URL.Path != m.ticketsPath {
		return resp, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		m.tooMany.Add(1)
	}
	if resp.StatusCode == http.StatusOK {
		m.pages.Add(1)
		now := time.Now()
		m.mu.Lock()
		if m.firstPage.IsZero() {
			m.firstPage = now
		}
		m.lastPage = now
		if n, err := strconv.Atoi(resp.Header.Get("X-Total-Items")); err == nil {
			limit, _ := strconv.Atoi(req.URL.Query().Get("limit"))
			if limit > 0 && req.URL.Query().Get("offset") == "1" {
				m.total = (n + limit - 1) / limit
			}
		}
		m.mu.Unlock()
	}
	return resp, err
}

// pagingSeconds is the time between the first and the last page read.
func (m *webMeter) pagingSeconds() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.firstPage.IsZero() {
		return 0
	}
	return m.lastPage.Sub(m.firstPage).Seconds()
}

// progress prints a line every interval until stop is closed.
func (m *webMeter) progress(w io.Writer, tty bool, rate int, limit int, stop <-chan struct{}) {
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
		pages := m.pages.Load()
		if pages == last {
			continue
		}
		last = pages
		m.mu.Lock()
		total := m.total
		m.mu.Unlock()
		el := time.Since(start).Seconds()
		line := fmt.Sprintf("paging: %d pages (current pass: %d) · ~%.0f tickets/s · %d requests",
			pages, total, float64(pages)*float64(limit)/el, m.requests.Load())
		if rate > 0 {
			if s := m.pagingSeconds(); s > 0 {
				line += fmt.Sprintf(" · budget %.0f%%", 100*float64(m.requests.Load())/(float64(rate)*s/60))
			}
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(w, line)
		}
	}
}

// issuedTokens returns the session tokens seen so far.
func (m *webMeter) issuedTokens() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.tokens...)
}
