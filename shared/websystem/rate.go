package websystem

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// resetMargin is added to the server's RateLimit-Reset before sending again
// into a window the server said was spent, for clock granularity.
const resetMargin = 50 * time.Millisecond

// maxServerWait caps a wait the server asks for, and is the horizon past
// which a RateLimit-Reset is ignored (CONTRACT section 2: the limit counts per
// calendar minute, so a reset more than 2 minutes ahead is not believed and
// never parks the client). A Retry-After beyond it is clamped to it.
const maxServerWait = 2 * time.Minute

// governor spaces requests: our own budget (a token bucket at RatePerMinute)
// and the server's, as its RateLimit-* headers report it. While the server's
// window is known, requests are spread evenly over what it has left, so a
// client that shares the budget with no one never sees a 429.
type governor struct {
	lim *rate.Limiter // nil: no budget of our own
	now func() time.Time

	mu        sync.Mutex
	known     bool      // reset and remaining describe the server's current window
	reset     time.Time // when the server's window ends
	remaining int       // requests the server has left in it (lowest seen)
	inflight  int       // requests sent and not yet answered
	nextSlot  time.Time // earliest time the next request may go
	blocked   time.Time // after a 429: nothing goes before this
}

func newGovernor(perMinute int, now func() time.Time) *governor {
	g := &governor{now: now}
	if perMinute > 0 {
		burst := max(1, perMinute/600)
		g.lim = rate.NewLimiter(rate.Limit(float64(perMinute)/60), burst)
	}
	return g
}

// acquire waits until a request may be sent and counts it in flight; the
// caller must call release after the answer (or failure).
func (g *governor) acquire(ctx context.Context) error {
	if g.lim != nil {
		if err := g.lim.Wait(ctx); err != nil {
			return err
		}
	}
	for {
		g.mu.Lock()
		now := g.now()
		var until time.Time
		switch {
		case now.Before(g.blocked):
			until = g.blocked
		case g.known && now.Before(g.reset):
			avail := g.remaining - g.inflight
			if avail <= 0 {
				until = g.reset.Add(resetMargin)
				break
			}
			// Spread what is left evenly until the reset.
			spacing := g.reset.Sub(now) / time.Duration(avail)
			slot := now
			if g.nextSlot.After(now) {
				slot = g.nextSlot
			}
			g.nextSlot = slot.Add(spacing)
			g.inflight++
			g.mu.Unlock()
			if err := sleep(ctx, slot.Sub(now)); err != nil {
				g.release(nil)
				return err
			}
			return nil
		}
		if until.IsZero() {
			g.inflight++
			g.mu.Unlock()
			return nil
		}
		g.mu.Unlock()
		if err := sleep(ctx, min(until.Sub(now), maxServerWait)); err != nil {
			return err
		}
	}
}

// release records an answer's RateLimit-* headers (resp may be nil) and
// takes the request out of flight.
func (g *governor) release(resp *http.Response) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight = max(0, g.inflight-1)
	if resp == nil {
		return
	}
	rem, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("RateLimit-Remaining")))
	reset, ok := rateLimitReset(resp.Header, g.now())
	if err != nil || !ok {
		return
	}
	// Answers arrive out of order: a later window replaces the known one; in
	// the same window the lowest count is the newest.
	switch {
	case !g.known || reset.After(g.reset):
		g.known, g.reset, g.remaining = true, reset, rem
	case reset.Equal(g.reset):
		g.remaining = min(g.remaining, rem)
	}
}

// block holds every request back until t (a 429's Retry-After).
func (g *governor) block(t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.After(g.blocked) {
		g.blocked = t
	}
}

// retryAfter is how long a 429 asks to wait: Retry-After (seconds or an HTTP
// date), else until RateLimit-Reset; 0 when neither says.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		// Compared in seconds before converting: a huge value would
		// overflow time.Duration into a negative wait (NaN fails s >= 0).
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			if s >= maxServerWait.Seconds() {
				return maxServerWait
			}
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return min(max(0, t.Sub(now)), maxServerWait)
		}
	}
	if t, ok := rateLimitReset(h, now); ok {
		return min(max(0, t.Sub(now)+resetMargin), maxServerWait)
	}
	return 0
}

// rateLimitReset reads RateLimit-Reset: a datetime (Tiflux's OpenAPI
// document, leoalves43/dashboard-tiflux docs/reference/openapi-spec-tiflux.json:
// "RateLimit-Reset: Datetime indicando quando o período de limitação será
// redefinido"; RFC 3339, fractions possible). The reference gives no
// seconds form, so none is accepted. A reset more than maxServerWait ahead
// of now is ignored (CONTRACT section 2).
func rateLimitReset(h http.Header, now time.Time) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(h.Get("RateLimit-Reset")))
	if err != nil || t.After(now.Add(maxServerWait)) {
		return time.Time{}, false
	}
	return t, true
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
