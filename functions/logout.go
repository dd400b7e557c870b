package functions

import (
	"context"
	"errors"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/eventarc"
)

// logout ends the web session on load-finished. Returning an error asks for
// redelivery (the web system failed transiently); nil means done: logged
// out, already logged out, nothing to do (api-token mode), or given up
// because the event is older than MAX_EVENT_AGE_MINUTES.
func logout(ctx context.Context, e event.Event) error {
	d, err := eventarc.Decode(e)
	var m chain.LoadFinished
	if err == nil {
		m, err = chain.DecodeLoadFinished(d.Message)
	}
	if err != nil {
		logger.ErrorContext(ctx, "dropping a malformed load-finished event", "ce_id", e.ID(), "error", err)
		return nil
	}
	deps, err := ender.get(ctx)
	if err != nil {
		return errors.New("function misconfigured; see its logs")
	}
	if age := time.Since(d.PublishTime); !d.PublishTime.IsZero() && age > deps.maxEventAge {
		logger.ErrorContext(ctx, "giving up the logout: event too old; the session will expire on its own",
			"session_id", m.SessionID, "age", age.Round(time.Second).String())
		return nil
	}
	_, err = deps.ender.End(ctx, m)
	return err
}
