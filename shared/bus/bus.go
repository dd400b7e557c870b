// Package bus carries chain messages over Google Cloud Pub/Sub: publishing
// with retries, and the synchronous pull CompleteLogin uses to take a pending
// session from its subscription. Locally it talks to the pstest fake server
// (PUBSUB_EMULATOR_HOST, or a connection passed in).
package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/cenkalti/backoff/v5"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

// Bus publishes to topics and pulls from subscriptions of one project.
type Bus struct {
	client *pubsub.Client

	mu         sync.Mutex
	publishers map[string]*pubsub.Publisher
}

// New connects to Pub/Sub for project. Options may point it at an emulator.
func New(ctx context.Context, project string, opts ...option.ClientOption) (*Bus, error) {
	c, err := pubsub.NewClient(ctx, project, opts...)
	if err != nil {
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	return &Bus{client: c, publishers: map[string]*pubsub.Publisher{}}, nil
}

// Client is the underlying Pub/Sub client.
func (b *Bus) Client() *pubsub.Client { return b.client }

// Close stops the publishers and closes the connection.
func (b *Bus) Close() error {
	b.mu.Lock()
	for _, p := range b.publishers {
		p.Stop()
	}
	b.publishers = map[string]*pubsub.Publisher{}
	b.mu.Unlock()
	return b.client.Close()
}

func (b *Bus) publisher(topic string) *pubsub.Publisher {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.publishers[topic]
	if !ok {
		p = b.client.Publisher(topic)
		b.publishers[topic] = p
	}
	return p
}

// Publish sends m to topic and waits until the server has it, retrying
// transient failures for up to about 20 s. It returns the message id.
func (b *Bus) Publish(ctx context.Context, topic string, m chain.Message) (string, error) {
	p := b.publisher(topic)
	op := func() (string, error) {
		id, err := p.Publish(ctx, &pubsub.Message{Data: m.Data, Attributes: m.Attributes}).Get(ctx)
		switch status.Code(err) {
		case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument, codes.FailedPrecondition:
			return "", backoff.Permanent(err) // a missing topic or right does not heal by retrying
		}
		return id, err
	}
	id, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(&backoff.ExponentialBackOff{
			InitialInterval: 200 * time.Millisecond, RandomizationFactor: 0.3,
			Multiplier: 2, MaxInterval: 5 * time.Second,
		}),
		backoff.WithMaxElapsedTime(20*time.Second))
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", topic, err)
	}
	return id, nil
}

// Leased is a pulled message that is held until it is acked or nacked.
type Leased struct {
	chain.Message
	ID          string
	PublishTime time.Time

	ackID string
	sub   string
	bus   *Bus
}

// Ack removes the message from the subscription. An error means the ack may
// not have arrived: the message is delivered again after its ack deadline.
func (l *Leased) Ack(ctx context.Context) error {
	err := l.bus.client.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{
		Subscription: l.sub, AckIds: []string{l.ackID}})
	if err != nil {
		return fmt.Errorf("ack %s: %w", l.ID, err)
	}
	return nil
}

// Nack hands the message back for redelivery now. An error means it stays
// leased until its ack deadline passes, and is delivered again then.
func (l *Leased) Nack(ctx context.Context) error {
	err := l.bus.client.SubscriptionAdminClient.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{
		Subscription: l.sub, AckIds: []string{l.ackID}, AckDeadlineSeconds: 0})
	if err != nil {
		return fmt.Errorf("nack %s: %w", l.ID, err)
	}
	return nil
}

// ErrNoMessages is returned by Pull when nothing arrived within the wait.
var ErrNoMessages = errors.New("no messages")

// Pull takes the messages waiting on sub, polling for up to wait until at
// least one is there. Every returned message must be acked or nacked; until
// then no other puller sees it.
func (b *Bus) Pull(ctx context.Context, sub string, wait time.Duration) ([]*Leased, error) {
	name := sub
	if !isFullName(sub) {
		name = fmt.Sprintf("projects/%s/subscriptions/%s", b.client.Project(), sub)
	}
	deadline := time.Now().Add(wait)
	poll := 250 * time.Millisecond
	for {
		resp, err := b.client.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{
			Subscription: name, MaxMessages: 100})
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", sub, err)
		}
		if n := len(resp.ReceivedMessages); n > 0 {
			out := make([]*Leased, 0, n)
			for _, rm := range resp.ReceivedMessages {
				m := rm.GetMessage()
				out = append(out, &Leased{
					Message:     chain.Message{Data: m.GetData(), Attributes: m.GetAttributes()},
					ID:          m.GetMessageId(),
					PublishTime: m.GetPublishTime().AsTime(),
					ackID:       rm.GetAckId(), sub: name, bus: b,
				})
			}
			return out, nil
		}
		if time.Now().Add(poll).After(deadline) {
			return nil, ErrNoMessages
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

func isFullName(s string) bool {
	return len(s) > len("projects/") && s[:len("projects/")] == "projects/"
}

// EnsureTopic creates topic id unless it exists (for local runs and tests;
// in the cloud Terraform creates the topics).
func (b *Bus) EnsureTopic(ctx context.Context, id string) error {
	_, err := b.client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{
		Name: fmt.Sprintf("projects/%s/topics/%s", b.client.Project(), id)})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("create topic %s: %w", id, err)
	}
	return nil
}

// EnsureSubscription creates the pull subscription id on topic unless it exists.
func (b *Bus) EnsureSubscription(ctx context.Context, id, topic string, ackDeadline time.Duration) error {
	p := b.client.Project()
	_, err := b.client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:                     fmt.Sprintf("projects/%s/subscriptions/%s", p, id),
		Topic:                    fmt.Sprintf("projects/%s/topics/%s", p, topic),
		AckDeadlineSeconds:       int32(ackDeadline / time.Second),
		MessageRetentionDuration: durationpb.New(24 * time.Hour),
	})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("create subscription %s: %w", id, err)
	}
	return nil
}

// Extend pushes the message's ack deadline to d from now (whole seconds, 1 s
// to 600 s), so that no other puller receives it meanwhile. An error means
// the deadline was not moved: when the old one passes, the message may go to
// another puller.
func (l *Leased) Extend(ctx context.Context, d time.Duration) error {
	secs := int32(max(d/time.Second, 1))
	err := l.bus.client.SubscriptionAdminClient.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{
		Subscription: l.sub, AckIds: []string{l.ackID}, AckDeadlineSeconds: min(secs, 600)})
	if err != nil {
		return fmt.Errorf("extend %s: %w", l.ID, err)
	}
	return nil
}
