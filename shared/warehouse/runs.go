package warehouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

// RecordRun writes r to sync_runs with a MERGE on session_id: the first call
// of a session inserts its row, later ones (and redeliveries) update it. The
// outcome only moves forward (running → ok|failed): a write meeting a final
// row with another outcome (a late running, or the other final one) changes
// nothing; the same final outcome again (a redelivery) updates the row. A
// row Logout has closed (logged_out_at set, RecordLogout) changes no more,
// so a late write never drops the logout's requests. The
// emulator takes only a table as a MERGE source, so the row goes through a
// temporary table of the same multi-statement query.
func (w *Warehouse) RecordRun(ctx context.Context, r chain.Run) error {
	if r.SessionID == "" {
		return errors.New("record run: session_id is required")
	}
	switch r.Outcome {
	case chain.OutcomeOK, chain.OutcomeFailed, chain.OutcomeRunning:
	default:
		return fmt.Errorf("record run: outcome %q is not ok, failed or running", r.Outcome)
	}
	var cols, sel, set, vals []string
	for _, f := range runsSchema {
		if f.Name == loggedOutAt {
			continue // RecordLogout's alone
		}
		cols = append(cols, f.Name)
		p := "@" + f.Name
		if f.Type == bigquery.TimestampFieldType {
			// NULL parameters lose their type in the emulator; '' stands for NULL.
			p = fmt.Sprintf("IF(@%s = '', NULL, TIMESTAMP(@%s))", f.Name, f.Name)
		}
		sel = append(sel, p+" AS "+f.Name)
		vals = append(vals, "S."+f.Name)
		if f.Name != "session_id" {
			set = append(set, f.Name+" = S."+f.Name)
		}
	}
	sql := fmt.Sprintf(`CREATE TEMP TABLE run AS SELECT %s;
MERGE %s AS T
USING run AS S
ON T.session_id = S.session_id
WHEN MATCHED AND T.logged_out_at IS NULL AND (T.outcome IS NULL OR T.outcome = '%s' OR T.outcome = S.outcome) THEN
  UPDATE SET %s
WHEN NOT MATCHED THEN
  INSERT (%s) VALUES (%s);`,
		strings.Join(sel, ", "), w.tableRef(w.cfg.RunsTable), chain.OutcomeRunning,
		strings.Join(set, ", "), strings.Join(cols, ", "), strings.Join(vals, ", "))
	// The emulator matches no query parameter in the MERGE's condition (the
	// script's second statement): the constant goes into the text.
	params := runParams(r)
	// Each write is its own job: a redelivered write of the same row is
	// harmless (it sets the same values), so the id need not be fixed.
	q := w.c.Query(sql)
	q.Location = w.cfg.Location
	q.Parameters = params
	job, err := q.Run(ctx)
	if err != nil {
		return fmt.Errorf("record run %s: %w", r.SessionID, err)
	}
	status, err := w.waitJob(ctx, job)
	if err != nil {
		return fmt.Errorf("record run %s: %w", r.SessionID, err)
	}
	if err := status.Err(); err != nil {
		return fmt.Errorf("record run %s: %w", r.SessionID, err)
	}
	w.log.Info("run recorded", "session_id", r.SessionID, "outcome", r.Outcome)
	return nil
}

func tsParam(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// runParams and runRow.run map a Run to its sync_runs row and back: the one
// place that knows the row's columns.
func runParams(r chain.Run) []bigquery.QueryParameter {
	return []bigquery.QueryParameter{
		{Name: "session_id", Value: r.SessionID},
		{Name: "auth", Value: string(r.Auth)},
		{Name: "mode", Value: string(r.Mode)},
		{Name: "window_from", Value: tsParam(r.WindowFrom)},
		{Name: "window_to", Value: tsParam(r.WindowTo)},
		{Name: "started_at", Value: tsParam(r.StartedAt)},
		{Name: "finished_at", Value: tsParam(r.FinishedAt)},
		{Name: "pages", Value: r.Pages},
		{Name: "requests", Value: r.Requests},
		{Name: "tickets", Value: r.Tickets},
		{Name: "rejected", Value: r.Rejected},
		{Name: "field_errors", Value: r.FieldErrors},
		{Name: "inserted", Value: r.Inserted},
		{Name: "updated", Value: r.Updated},
		{Name: "reconciled", Value: r.Reconciled},
		{Name: "outcome", Value: string(r.Outcome)},
		{Name: "error", Value: r.Error},
	}
}

// runRow is a sync_runs row as the client reads it.
type runRow struct {
	SessionID   string                 `bigquery:"session_id"`
	Auth        bigquery.NullString    `bigquery:"auth"`
	Mode        bigquery.NullString    `bigquery:"mode"`
	WindowFrom  bigquery.NullTimestamp `bigquery:"window_from"`
	WindowTo    bigquery.NullTimestamp `bigquery:"window_to"`
	StartedAt   bigquery.NullTimestamp `bigquery:"started_at"`
	FinishedAt  bigquery.NullTimestamp `bigquery:"finished_at"`
	Pages       bigquery.NullInt64     `bigquery:"pages"`
	Requests    bigquery.NullInt64     `bigquery:"requests"`
	Tickets     bigquery.NullInt64     `bigquery:"tickets"`
	Rejected    bigquery.NullInt64     `bigquery:"rejected"`
	FieldErrors bigquery.NullInt64     `bigquery:"field_errors"`
	Inserted    bigquery.NullInt64     `bigquery:"inserted"`
	Updated     bigquery.NullInt64     `bigquery:"updated"`
	Reconciled  bigquery.NullInt64     `bigquery:"reconciled"`
	Outcome     bigquery.NullString    `bigquery:"outcome"`
	Error       bigquery.NullString    `bigquery:"error"`
	LoggedOutAt bigquery.NullTimestamp `bigquery:"logged_out_at"`
}

func (r runRow) run() *chain.Run {
	ts := func(t bigquery.NullTimestamp) time.Time {
		if !t.Valid {
			return time.Time{}
		}
		return t.Timestamp.UTC()
	}
	return &chain.Run{SessionID: r.SessionID, Auth: chain.Auth(r.Auth.StringVal), Mode: chain.Mode(r.Mode.StringVal),
		WindowFrom: ts(r.WindowFrom), WindowTo: ts(r.WindowTo),
		StartedAt: ts(r.StartedAt), FinishedAt: ts(r.FinishedAt),
		Totals: chain.Totals{Pages: r.Pages.Int64, Requests: r.Requests.Int64, Tickets: r.Tickets.Int64,
			Rejected: r.Rejected.Int64, FieldErrors: r.FieldErrors.Int64,
			Inserted: r.Inserted.Int64, Updated: r.Updated.Int64, Reconciled: r.Reconciled.Int64},
		Outcome: chain.Outcome(r.Outcome.StringVal), Error: r.Error.StringVal, LoggedOutAt: ts(r.LoggedOutAt)}
}

// Run returns the sync_runs row of a session, or nil when there is none.
func (w *Warehouse) Run(ctx context.Context, sessionID string) (*chain.Run, error) {
	sql := fmt.Sprintf("SELECT * FROM %s WHERE session_id = @session_id LIMIT 1", w.tableRef(w.cfg.RunsTable))
	r, err := w.oneRun(ctx, sql, bigquery.QueryParameter{Name: "session_id", Value: sessionID})
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", sessionID, err)
	}
	return r, nil
}

// LastSuccessfulRun returns the newest run (by started_at) with outcome ok and
// the given mode ("" for any), or nil when there is none.
func (w *Warehouse) LastSuccessfulRun(ctx context.Context, mode chain.Mode) (*chain.Run, error) {
	sql := fmt.Sprintf(`SELECT * FROM %s
WHERE outcome = @outcome_ok AND (@mode = '' OR mode = @mode)
ORDER BY started_at DESC
LIMIT 1`, w.tableRef(w.cfg.RunsTable))
	r, err := w.oneRun(ctx, sql, bigquery.QueryParameter{Name: "outcome_ok", Value: string(chain.OutcomeOK)},
		bigquery.QueryParameter{Name: "mode", Value: string(mode)})
	if err != nil {
		return nil, fmt.Errorf("read last successful run: %w", err)
	}
	return r, nil
}

func (w *Warehouse) oneRun(ctx context.Context, sql string, params ...bigquery.QueryParameter) (*chain.Run, error) {
	it, err := w.read(ctx, sql, params...)
	if err != nil {
		return nil, err
	}
	var row runRow
	switch err := it.Next(&row); err {
	case nil:
		return row.run(), nil
	case iterator.Done:
		return nil, nil
	default:
		return nil, err
	}
}

// CountRows returns the number of rows in the tickets table.
func (w *Warehouse) CountRows(ctx context.Context) (int64, error) {
	it, err := w.read(ctx, "SELECT COUNT(*) FROM "+w.tableRef(w.cfg.Table))
	if err != nil {
		return 0, fmt.Errorf("count rows: %w", err)
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		return 0, fmt.Errorf("count rows: %w", err)
	}
	return asInt(row[0]), nil
}
