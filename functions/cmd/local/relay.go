package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/eventarc"
)

// relay delivers each message of a subscription to a function the way
// Eventarc does: a binary-mode CloudEvent over HTTP; a 2xx acks, anything
// else is retried with exponential backoff (Eventarc's retry policy, with
// local-sized delays).
type relay struct {
	client                 *pubsub.Client
	project, topic         string
	sub, url               string
	duplicate              bool // deliver every message a second time after it was acked
	log                    *slog.Logger
	onDone                 func(d eventarc.Delivery) // called after a delivery was acked
	minBackoff, maxBackoff time.Duration

	mu       sync.Mutex
	attempts int
	failures int
}

func (r *relay) run(ctx context.Context) error {
	s := r.client.Subscriber(r.sub)
	s.ReceiveSettings.MaxOutstandingMessages = 1 // like max_instance_count = 1
	return s.Receive(ctx, func(ctx context.Context, m *pubsub.Message) {
		d := eventarc.Delivery{ID: m.ID, PublishTime: m.PublishTime}
		d.Data, d.Attributes = m.Data, m.Attributes
		if !r.deliver(ctx, d) {
			m.Nack()
			return
		}
		m.Ack()
		if r.duplicate {
			r.deliver(ctx, d)
		}
		if r.onDone != nil {
			r.onDone(d)
		}
	})
}

// deliver posts d until a 2xx or ctx ends, backing off between tries.
func (r *relay) deliver(ctx context.Context, d eventarc.Delivery) bool {
	wait := r.minBackoff
	for {
		status, err := r.post(ctx, d)
		r.mu.Lock()
		r.attempts++
		if status/100 != 2 {
			r.failures++
		}
		r.mu.Unlock()
		if err == nil && status/100 == 2 {
			return true
		}
		r.log.Warn("delivery failed; retrying", "subscription", r.sub, "status", status, "error", err, "backoff", wait.String())
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(wait*2, r.maxBackoff)
	}
}

func (r *relay) post(ctx context.Context, d eventarc.Delivery) (int, error) {
	req, err := eventarc.NewRequest(ctx, r.url, r.project, r.topic, r.sub, d)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
