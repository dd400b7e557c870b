package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/bus"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

// mustBus is a Bus on a fresh pstest server with topic "t" and pull
// subscription "s" whose ack deadline is ackDeadline.
func mustBus(t *testing.T, ackDeadline time.Duration) *bus.Bus {
	t.Helper()
	srv := pstest.NewServer()
	t.Cleanup(func() { srv.Close() })
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.New(context.Background(), "p", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	if err := b.EnsureTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureSubscription(ctx, "s", "t", ackDeadline); err != nil {
		t.Fatal(err)
	}
	return b
}

func publish(t *testing.T, b *bus.Bus, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := b.Publish(context.Background(), "t", chain.Message{Data: []byte(`{}`),
			Attributes: map[string]string{"event": "e"}}); err != nil {
			t.Fatal(err)
		}
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
		if err := l.Ack(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Pull(ctx, "s", 0); !errors.Is(err, bus.ErrNoMessages) {
		t.Errorf("after ack: got %v, want ErrNoMessages", err)
	}
}

// A held message is not redelivered while its holder works past the ack
// deadline (two CompleteLogin instances must not lease the same pending
// login); once let go and nacked it is delivered again.
func TestHeldMessageIsNotRedeliveredPastTheAckDeadline(t *testing.T) {
	pstest.SetMinAckDeadline(time.Second)
	defer pstest.ResetMinAckDeadline()
	b := mustBus(t, time.Second)
	ctx := context.Background()
	publish(t, b, 1)
	got, err := b.Pull(ctx, "s", time.Second)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %d messages (%v), want 1", len(got), err)
	}
	stop := got[0].Hold(time.Second)
	time.Sleep(2500 * time.Millisecond) // the work: past two ack deadlines
	if again, err := b.Pull(ctx, "s", 0); !errors.Is(err, bus.ErrNoMessages) {
		t.Fatalf("while held: got %d messages (%v), want none", len(again), err)
	}
	stop()
	stop() // twice is harmless
	if err := got[0].Nack(ctx); err != nil {
		t.Fatal(err)
	}
	if again, err := b.Pull(ctx, "s", time.Second); err != nil || len(again) != 1 {
		t.Errorf("after nack: got %d messages (%v), want 1", len(again), err)
	}
}
