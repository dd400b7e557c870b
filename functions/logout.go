package functions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/eventarc"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// logout ends the web session on load-finished and adds its requests to the
// session's sync_runs row, once (CONTRACT section 6: requests counts every
// request of the session, logout included). Returning an error asks for
// redelivery (the web system or BigQuery failed transiently); nil means
// done: logged out, already logged out (a redelivery: the run's
// logged_out_at is set, and no request is sent again), nothing to do
// (api-token mode), or given up because the event is older than
// MAX_EVENT_AGE_MINUTES.
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
	return deps.end(ctx, m)
}

// end logs m's session out and adds the requests it sent to the session's
// sync_runs row: once, as a session already logged out is left alone.
func (d *enderDeps) end(ctx context.Context, m chain.LoadFinished) error {
	if m.Auth == chain.AuthAPIToken {
		_, err := d.ender.End(ctx, m) // sends nothing: nothing to record
		return err
	}
	run, err := d.runs.Run(ctx, m.SessionID)
	if err != nil {
		return fmt.Errorf("read run log: %w", err)
	}
	if run != nil && !run.LoggedOutAt.IsZero() {
		logger.InfoContext(ctx, "session already logged out; nothing to do", "event", "session.ended",
			"session_id", m.SessionID, "logged_out_at", run.LoggedOutAt)
		return nil
	}
	var sent websystem.Counter
	_, endErr := d.ender.End(websystem.CountRequests(ctx, &sent), m)
	if sent.Requests() == 0 {
		return endErr // nothing sent (the token could not be opened): nothing to add
	}
	// A failed attempt's requests count too, without closing the row: the
	// redelivery sends (and adds) its own.
	var at time.Time
	if endErr == nil {
		at = d.now().UTC()
	}
	// Recorded even when the event's context is ending: the requests are sent.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	recErr := d.runs.RecordLogout(rctx, m.SessionID, sent.Requests(), at)
	if recErr != nil {
		logger.ErrorContext(ctx, "could not add the logout's requests to sync_runs", "session_id", m.SessionID, "error", recErr)
	}
	if endErr != nil {
		return endErr
	}
	return recErr
}

// recordTimeout bounds Logout's write to sync_runs (the function has 60 s).
const recordTimeout = 20 * time.Second

// runLog is the part of the warehouse Logout uses.
type runLog interface {
	Run(ctx context.Context, sessionID string) (*chain.Run, error)
	RecordLogout(ctx context.Context, sessionID string, requests int64, at time.Time) error
}
