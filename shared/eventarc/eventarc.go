// Package eventarc is the Pub/Sub-to-function delivery format of Eventarc: a
// binary-mode CloudEvent of type google.cloud.pubsub.topic.v1.messagePublished
// whose body wraps the Pub/Sub message (CONTRACT section 3). Decode reads it
// in a function; NewRequest builds it, for the local push relay and tests.
package eventarc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

// EventType is the CloudEvent type of a published Pub/Sub message.
const EventType = "google.cloud.pubsub.topic.v1.messagePublished"

// MessagePublishedData is the body of a messagePublished event.
type MessagePublishedData struct {
	Message      PubsubMessage `json:"message"`
	Subscription string        `json:"subscription"`
}

// PubsubMessage is the Pub/Sub message inside the event; Data is base64 on the wire.
type PubsubMessage struct {
	Data        []byte            `json:"data"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	MessageID   string            `json:"messageId"`
	PublishTime time.Time         `json:"publishTime"`
}

// Delivery is a decoded event: the chain message and when it was published.
type Delivery struct {
	chain.Message
	ID          string
	PublishTime time.Time
}

// ErrMalformed wraps every decoding failure.
var ErrMalformed = errors.New("malformed Pub/Sub event")

// Decode reads a messagePublished CloudEvent.
func Decode(e event.Event) (Delivery, error) {
	if e.Type() != EventType {
		return Delivery{}, fmt.Errorf("%w: type %q, want %s", ErrMalformed, e.Type(), EventType)
	}
	var d MessagePublishedData
	if err := e.DataAs(&d); err != nil {
		return Delivery{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	pt := d.Message.PublishTime
	if pt.IsZero() {
		pt = e.Time()
	}
	id := d.Message.MessageID
	if id == "" {
		id = e.ID()
	}
	return Delivery{Message: chain.Message{Data: d.Message.Data, Attributes: d.Message.Attributes},
		ID: id, PublishTime: pt}, nil
}

// NewRequest builds the HTTP request Eventarc sends to url for a message
// published on projects/project/topics/topic and pulled through sub.
func NewRequest(ctx context.Context, url, project, topic, sub string, d Delivery) (*http.Request, error) {
	body, err := json.Marshal(MessagePublishedData{
		Message:      PubsubMessage{Data: d.Data, Attributes: d.Attributes, MessageID: d.ID, PublishTime: d.PublishTime.UTC()},
		Subscription: fmt.Sprintf("projects/%s/subscriptions/%s", project, sub),
	})
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("ce-id", d.ID)
	h.Set("ce-source", fmt.Sprintf("//pubsub.googleapis.com/projects/%s/topics/%s", project, topic))
	h.Set("ce-type", EventType)
	h.Set("ce-specversion", "1.0")
	h.Set("ce-time", d.PublishTime.UTC().Format(time.RFC3339Nano))
	return req, nil
}
