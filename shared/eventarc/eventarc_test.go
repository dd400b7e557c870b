package eventarc_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/eventarc"
)

// readEvent parses req the way the Functions Framework does.
func readEvent(t testing.TB, req *http.Request) event.Event {
	t.Helper()
	e, err := binding.ToEvent(context.Background(), cehttp.NewMessageFromHttpRequest(req))
	if err != nil {
		t.Fatalf("not a CloudEvent: %v", err)
	}
	return *e
}

func TestRoundTrip(t *testing.T) {
	published := time.Date(2026, 11, 29, 3, 0, 0, 123000000, time.UTC)
	d := eventarc.Delivery{Message: chain.Message{Data: []byte(`{"session_id":"s1"}`),
		Attributes: map[string]string{"event": "load.finished", "session_id": "s1"}}, ID: "42", PublishTime: published}

	req, err := eventarc.NewRequest(context.Background(), "http://fn/Logout", "p", "load-finished", "sub", d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := eventarc.Decode(readEvent(t, req))

	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != string(d.Data) || got.ID != "42" || !got.PublishTime.Equal(published) || got.Attributes["event"] != "load.finished" {
		t.Errorf("got %+v, want %+v", got, d)
	}
	for h, want := range map[string]string{"ce-type": eventarc.EventType, "ce-specversion": "1.0", "ce-id": "42",
		"ce-source": "//pubsub.googleapis.com/projects/p/topics/load-finished"} {
		if req.Header.Get(h) != want {
			t.Errorf("header %s = %q, want %q", h, req.Header.Get(h), want)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		name, ceType, body string
	}{
		{"OtherType", "google.cloud.storage.object.v1.finalized", `{"message":{"data":"e30="}}`},
		{"NotJSON", eventarc.EventType, `not json`},
		{"DataNotBase64", eventarc.EventType, `{"message":{"data":"%%%"}}`},
		{"MessageNotObject", eventarc.EventType, `{"message":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := event.New()
			e.SetID("1")
			e.SetSource("//pubsub.googleapis.com/projects/p/topics/t")
			e.SetType(tt.ceType)
			_ = e.SetData("application/json", []byte(tt.body))

			_, err := eventarc.Decode(e)

			if !errors.Is(err, eventarc.ErrMalformed) {
				t.Errorf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"message":{"data":"eyJhIjoxfQ==","attributes":{"event":"session.ready"},"messageId":"1","publishTime":"2026-11-29T03:00:00Z"}}`)
	f.Add(`{"message":{}}`)
	f.Add(`{}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		e := event.New()
		e.SetID("1")
		e.SetSource("//pubsub.googleapis.com/projects/p/topics/t")
		e.SetType(eventarc.EventType)
		_ = e.SetData("application/json", []byte(body))

		d, err := eventarc.Decode(e)

		if err != nil && !errors.Is(err, eventarc.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		if err == nil && d.ID == "" {
			t.Fatal("a decoded delivery has no id")
		}
	})
}
