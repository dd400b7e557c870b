package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/testkit"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/bus"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

// mustBus is a Bus on a fresh pstest server with topic "t" and pull
// subscription "s" whose ack deadline is ackDeadline.
func mustBus(t *testing.T, ackDeadline time.Duration) *testkit.PubSub {
	t.Helper()
	ps := testkit.MustBus(t, "p", "t")
	ps.MustSubscription(t, "s", "t", ackDeadline)
	return ps
}

func publish(t *testing.T, b *testkit.PubSub, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := b.Publish(context.Background(), "t", chain.Message{Data: []byte(`{}`),
			Attributes: map[string]string{"event": "e"}}); err != nil {
			t.Fatal(err)
		}
	}
}

// Publish hands the server the message as given and returns its id.
func TestPublishStoresTheMessage(t *testing.T) {
	b := mustBus(t, 10*time.Second)
	id, err := b.Publish(context.Background(), "t", chain.Message{Data: []byte(`{"a":1}`),
		Attributes: map[string]string{"event": "session.ready"}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := b.Server.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages on the server, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ID != id || string(m.Data) != `{"a":1}` || m.Attributes["event"] != "session.ready" {
		t.Errorf("got id %q data %s attributes %v, want id %q, the data and the event attribute", m.ID, m.Data, m.Attributes, id)
	}
}

// A missing topic does not heal by retrying: Publish gives up at once with
// the server's NotFound.
func TestPublishToAMissingTopicIsPermanent(t *testing.T) {
	b := mustBus(t, 10*time.Second)
	_, err := b.Publish(context.Background(), "no-such-topic", chain.Message{Data: []byte(`{}`)})
	if status.Code(errors.Unwrap(err)) != codes.NotFound {
		t.Errorf("got %v, want NotFound", err)
	}
}

func TestPullReturnsWhatWaitsAndNothingWhenEmpty(t *testing.T) {
	b := mustBus(t, 10*time.Second)
	ctx := context.Background()
	if _, err := b.Pull(ctx, "s", 0); !errors.Is(err, bus.ErrNoMessages) {
		t.Fatalf("empty subscription: got %v, want ErrNoMessages", err)
	}
	publish(t, b, 3)
	got, err := b.Pull(ctx, "s", time.Second)
	if err != nil || len(got) != 3 {
		t.Fatalf("got %d messages (%v), want 3", len(got), err)
	}
	for _, l := range got {
		if l.ID == "" || l.PublishTime.IsZero() || l.Attributes["event"] != "e" {
			t.Errorf("got id %q, publish time %v, attributes %v; want all set", l.ID, l.PublishTime, l.Attributes)
		}
		if err := l.Ack(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Pull(ctx, "s", 0); !errors.Is(err, bus.ErrNoMessages) {
		t.Errorf("after ack: got %v, want ErrNoMessages", err)
	}
}

// One pull returns one batch (at most 100); pulling on until the
// subscription is empty yields every message once while they stay leased.
func TestPullDrainsInBatches(t *testing.T) {
	b := mustBus(t, 60*time.Second)
	ctx := context.Background()
	publish(t, b, 130)
	seen := map[string]bool{}
	pulls := 0
	for {
		got, err := b.Pull(ctx, "s", 0)
		if errors.Is(err, bus.ErrNoMessages) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if pulls++; len(got) > 100 {
			t.Errorf("pull %d: got %d messages, want at most 100", pulls, len(got))
		}
		for _, l := range got {
			if seen[l.ID] {
				t.Errorf("message %s delivered twice while leased", l.ID)
			}
			seen[l.ID] = true
		}
	}
	if len(seen) != 130 || pulls < 2 {
		t.Errorf("got %d distinct messages in %d pulls, want 130 in at least 2", len(seen), pulls)
	}
}

// A nacked message is delivered again at once; an acked one never.
func TestNackRedeliversAndAckRemoves(t *testing.T) {
	b := mustBus(t, 60*time.Second)
	ctx := context.Background()
	publish(t, b, 2)
	got, err := b.Pull(ctx, "s", time.Second)
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d messages (%v), want 2", len(got), err)
	}
	if err := got[0].Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := got[1].Nack(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := b.Pull(ctx, "s", time.Second)
	if err != nil || len(again) != 1 || again[0].ID != got[1].ID {
		t.Fatalf("after ack and nack: got %d messages (%v), want only the nacked %s", len(again), err, got[1].ID)
	}
}

// An extended lease keeps the message from other pullers past the ack
// deadline (two CompleteLogin instances must not lease the same pending
// login); without extension it comes back once the deadline passes.
func TestExtendKeepsTheMessagePastTheAckDeadline(t *testing.T) {
	pstest.SetMinAckDeadline(time.Second)
	defer pstest.ResetMinAckDeadline()
	b := mustBus(t, time.Second)
	ctx := context.Background()
	publish(t, b, 1)
	got, err := b.Pull(ctx, "s", time.Second)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %d messages (%v), want 1", len(got), err)
	}
	for i := 0; i < 6; i++ { // the work: past two ack deadlines, renewed each 400 ms
		if err := got[0].Extend(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
	}
	if again, err := b.Pull(ctx, "s", 0); !errors.Is(err, bus.ErrNoMessages) {
		t.Fatalf("while extended: got %d messages (%v), want none", len(again), err)
	}
	if again, err := b.Pull(ctx, "s", 2*time.Second); err != nil || len(again) != 1 {
		t.Errorf("once no longer extended: got %d messages (%v), want it back", len(again), err)
	}
}
