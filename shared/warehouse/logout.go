package warehouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/bigquery"
)

// loggedOutAt is the sync_runs column only RecordLogout writes.
const loggedOutAt = "logged_out_at"

// RecordLogout adds a Logout's HTTP requests to its session's sync_runs row
// (requests counts every request of the session, CONTRACT section 6). With
// a non-zero at (the logout is done: logged out, or the session had already
// ended) it also sets logged_out_at, once: a row whose logged_out_at is set
// takes nothing more, so a redelivered Logout never adds twice (and
// RecordRun no longer changes the row). A zero at records a failed attempt
// that will be retried: its requests count, the row stays open. A session
// without a row changes nothing.
func (w *Warehouse) RecordLogout(ctx context.Context, sessionID string, requests int64, at time.Time) error {
	if sessionID == "" {
		return errors.New("record logout: session_id is required")
	}
	if requests < 0 {
		return fmt.Errorf("record logout %s: negative request count", sessionID)
	}
	// NULL parameters lose their type in the emulator; '' stands for NULL.
	sql := fmt.Sprintf(`UPDATE %s
SET requests = IFNULL(requests, 0) + @requests, %s = IF(@at = '', NULL, TIMESTAMP(@at))
WHERE session_id = @session_id AND %s IS NULL`, w.tableRef(w.cfg.RunsTable), loggedOutAt, loggedOutAt)
	q := w.c.Query(sql)
	q.Location = w.cfg.Location
	q.Parameters = []bigquery.QueryParameter{
		{Name: "session_id", Value: sessionID},
		{Name: "requests", Value: requests},
		{Name: "at", Value: tsParam(at)},
	}
	// A job of its own id each time: the WHERE makes a repeat of the
	// closing write change nothing.
	job, err := q.Run(ctx)
	if err != nil {
		return fmt.Errorf("record logout %s: %w", sessionID, err)
	}
	status, err := w.waitJob(ctx, job)
	if err == nil {
		err = status.Err()
	}
	if err != nil {
		return fmt.Errorf("record logout %s: %w", sessionID, err)
	}
	w.log.Info("logout recorded", "session_id", sessionID, "requests", requests, "closed", !at.IsZero())
	return nil
}
