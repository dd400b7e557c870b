package websystem

import (
	"context"
	"sync/atomic"
)

// Counter counts the HTTP requests a Client sends on a context that carries
// it (CountRequests), retries included, whatever the answer: the requests of
// one session step, apart from the client's other work (Stats counts them
// all). It is safe for concurrent use; its zero value is ready.
type Counter struct{ n atomic.Int64 }

// Requests returns the requests counted so far.
func (c *Counter) Requests() int64 { return c.n.Load() }

type counterKey struct{}

// CountRequests returns a context under which every HTTP request a Client
// sends is counted by c (the innermost counter only, when ctx carries one).
func CountRequests(ctx context.Context, c *Counter) context.Context {
	return context.WithValue(ctx, counterKey{}, c)
}

// countSent counts one request in the counter ctx carries, if any.
func countSent(ctx context.Context) {
	if c, ok := ctx.Value(counterKey{}).(*Counter); ok && c != nil {
		c.n.Add(1)
	}
}
