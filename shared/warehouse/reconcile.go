package warehouse

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// OpenNumbers returns the numbers of the tickets the table holds as aberto:
// the set a pull's reconciliation checks against the web system's open list
// (CONTRACT section 6).
func (w *Warehouse) OpenNumbers(ctx context.Context) ([]int64, error) {
	sql := fmt.Sprintf("SELECT numero_ticket FROM %s WHERE situacao = @aberto",
		w.tableRef(w.cfg.Table))
	it, err := w.read(ctx, sql, bigquery.QueryParameter{Name: "aberto", Value: tickets.SituacaoAberto})
	if err != nil {
		return nil, fmt.Errorf("read open tickets: %w", err)
	}
	return readNumbers(it, "read open tickets")
}

// NumbersCreated returns the numbers of the tickets the table holds as
// created in [from, to) that are not excluido: the set a full pull checks
// against the tickets its lists showed, so that a ticket deleted after the
// table held it as fechado or cancelado (which no list shows any more) is
// found too.
func (w *Warehouse) NumbersCreated(ctx context.Context, from, to time.Time) ([]int64, error) {
	sql := fmt.Sprintf(`SELECT numero_ticket FROM %s
WHERE criado_em_utc >= TIMESTAMP(@from) AND criado_em_utc < TIMESTAMP(@to) AND (situacao IS NULL OR situacao != @excluido)`,
		w.tableRef(w.cfg.Table))
	it, err := w.read(ctx, sql,
		bigquery.QueryParameter{Name: "from", Value: tsParam(from)},
		bigquery.QueryParameter{Name: "to", Value: tsParam(to)},
		bigquery.QueryParameter{Name: "excluido", Value: tickets.SituacaoExcluido})
	if err != nil {
		return nil, fmt.Errorf("read the window's tickets: %w", err)
	}
	return readNumbers(it, "read the window's tickets")
}

// readNumbers reads a one-column result of ticket numbers.
func readNumbers(it *bigquery.RowIterator, what string) ([]int64, error) {
	var out []int64
	for {
		var row []bigquery.Value
		switch err := it.Next(&row); err {
		case nil:
			out = append(out, asInt(row[0]))
		case iterator.Done:
			return out, nil
		default:
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
}

// MarkDeleted stores the given tickets as excluido (the web system answers
// 404 for them: deleted or merged away), stamping sincronizado_em and sessao,
// and returns how many rows it changed (those not excluido already). The
// UPDATE runs as job tiflux_<session>_<step>_deleted, so a redelivered step
// attaches to it instead of running again; running it again would change
// nothing anyway.
func (w *Warehouse) MarkDeleted(ctx context.Context, sessionID, step string, numbers []int64) (int64, error) {
	if len(numbers) == 0 {
		return 0, nil
	}
	params := []bigquery.QueryParameter{
		{Name: "numbers", Value: numbers},
		{Name: "excluido", Value: tickets.SituacaoExcluido},
		{Name: "at", Value: tsParam(w.cfg.Now())},
		{Name: "sessao", Value: sessionID},
	}
	// The emulator types an INT64 array parameter as ARRAY<STRING>; the
	// CAST makes the query right in both.
	where := "numero_ticket IN (SELECT CAST(n AS INT64) FROM UNNEST(@numbers) AS n) AND (situacao IS NULL OR situacao != @excluido)"
	it, err := w.read(ctx, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s", w.tableRef(w.cfg.Table), where), params...)
	if err != nil {
		return 0, fmt.Errorf("count deleted tickets: %w", err)
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		return 0, fmt.Errorf("count deleted tickets: %w", err)
	}
	changed := asInt(row[0])
	sql := fmt.Sprintf(`UPDATE %s
SET situacao = @excluido, sincronizado_em = TIMESTAMP(@at), sessao = @sessao
WHERE %s`, w.tableRef(w.cfg.Table), where)
	if _, err := w.query(ctx, jobID(sessionID, step, "deleted"), sql, params...); err != nil {
		return 0, fmt.Errorf("mark deleted tickets: %w", err)
	}
	w.log.Info("tickets marked excluido", "session_id", sessionID, "step", step,
		"tickets", len(numbers), "changed", changed)
	return changed, nil
}
