package functions

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/eventarc"
)

// extractLoad loads a session's tickets into BigQuery on session-ready.
// Returning an error asks Eventarc to redeliver (a transient failure);
// returning nil means done, also when it gave up: a permanent failure or an
// over-age event is recorded in sync_runs and announced on load-finished.
// A malformed event can never succeed, so it is logged and dropped.
func extractLoad(ctx context.Context, e event.Event) error {
	d, err := eventarc.Decode(e)
	var m chain.SessionReady
	if err == nil {
		m, err = chain.DecodeSessionReady(d.Message)
	}
	if err != nil {
		logger.ErrorContext(ctx, "dropping a malformed session-ready event", "ce_id", e.ID(), "error", err)
		return nil
	}
	l, err := loader.get(ctx)
	if err != nil {
		return errors.New("function misconfigured; see its logs")
	}
	return l.Handle(ctx, m, d.PublishTime)
}
