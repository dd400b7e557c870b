package websystem

import (
	"context"
	"iter"
	"sync"
)

// maxConcurrency caps the requests Pages keeps in flight.
const maxConcurrency = 16

// Pages yields the pages of q from q.Page on, strictly in order, until a
// page shorter than the limit (the contract's end of a list), the first
// error (yielded, then the sequence ends) or the caller stops.
//
// It fetches the first page alone to learn X-Total-Items, then keeps up to
// concurrency requests in flight (within the client's budget) for the pages
// the total says exist, holding at most concurrency pages the caller has not
// taken yet. When the list grows while it pages (the total rises, or a page
// expected to be the last comes back full), it goes on past the first total,
// one page at a time beyond the newest total, until a short page.
func (c *Client) Pages(ctx context.Context, token string, q Query, concurrency int) iter.Seq2[*Page, error] {
	concurrency = min(max(1, concurrency), maxConcurrency)
	return func(yield func(*Page, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()

		type result struct {
			page *Page
			err  error
		}
		limit := q.limit()
		pending := map[int]chan result{}
		launch := func(n int) {
			ch := make(chan result, 1)
			pending[n] = ch
			pq := q
			pq.Page = n
			wg.Go(func() {
				p, err := c.ListTickets(ctx, token, pq)
				ch <- result{p, err}
			})
		}
		next := max(1, q.Page) // the page to yield next
		last := next - 1       // the highest page launched
		total := -1            // the highest X-Total-Items seen
		for {
			// The next page is always fetched; beyond it, a page is fetched
			// ahead only when the total says it holds items or is the empty
			// page after a full one.
			for len(pending) < concurrency && (last < next || total >= 0 && last*limit <= total) {
				last++
				launch(last)
			}
			var r result
			select {
			case r = <-pending[next]:
			case <-ctx.Done():
				yield(nil, &Error{Op: "tickets", Kind: KindNetwork, Err: ctx.Err()})
				return
			}
			delete(pending, next)
			if r.err != nil {
				yield(nil, r.err)
				return
			}
			total = max(total, r.page.TotalItems)
			if !yield(r.page, nil) || r.page.Raw < limit {
				return
			}
			next++
		}
	}
}
