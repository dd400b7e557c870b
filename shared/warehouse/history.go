package warehouse

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/bigquery"
)

// HistoryTable is the table of every distinct version of a ticket the
// pipeline has read (CONTRACT section 9), in the tickets table's dataset.
const HistoryTable = "tickets_historico"

var (
	historySchema       = mustSchema("schema/tickets_historico.json")
	historyPartitioning = &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "atualizado_em_utc"}
	historyClustering   = &bigquery.Clustering{Fields: []string{"numero_ticket"}}
)

// HistorySchema is the schema of tickets_historico (schema/tickets_historico.json).
func HistorySchema() bigquery.Schema { return copySchema(historySchema) }

// historyTableMetadata is how EnsureTables creates tickets_historico: by day of
// atualizado_em_utc, clustered by numero_ticket (the views read it per ticket).
func historyTableMetadata() *bigquery.TableMetadata {
	return &bigquery.TableMetadata{Schema: HistorySchema(),
		TimePartitioning: historyPartitioning, Clustering: historyClustering,
		Description: "Every distinct version (numero_ticket, atualizado_em_utc, situacao) of a ticket read; append-only (CONTRACT section 9)."}
}

// recordHistory appends to tickets_historico every version in a session
// step's staging table that the history lacks, under the job
// tiflux_<session>_<step>_history. A version is (numero_ticket,
// atualizado_em_utc, situacao); of the staged rows of one version, the one
// written last is kept, as the merge's deduplication keeps it, so the history
// row of a ticket's current version matches its row in tickets.
//
// It is safe to repeat: a redelivery attaches to the finished job, and a
// version already in the history (read by an earlier step, chunk or session)
// is not inserted again.
func (w *Warehouse) recordHistory(ctx context.Context, sessionID, step, staging string) error {
	sql := w.historyInsertSQL(staging, "")
	if _, err := w.query(ctx, jobID(sessionID, step, "history"), sql); err != nil {
		return fmt.Errorf("history: append versions of %s: %w", staging, err)
	}
	return nil
}

// RecordVersions appends to tickets_historico the current version of the
// given tickets as the tickets table holds them, when the history lacks it;
// with no numbers, of every ticket in the table. Call it after changing rows
// of the tickets table outside Merge (the reconciliation marking a ticket
// excluido keeps its atualizado_em_utc: a new situacao makes it a new
// version). The job id is tiflux_<session>_<step>_versions: a redelivery
// attaches to the finished job, so give each distinct call its own step.
func (w *Warehouse) RecordVersions(ctx context.Context, sessionID, step string, numbers []int64) error {
	filter := ""
	var params []bigquery.QueryParameter
	if numbers != nil {
		if len(numbers) == 0 {
			return nil
		}
		// The CAST is for the emulator, which types an ARRAY<INT64> parameter
		// as ARRAY<STRING>; on BigQuery it changes nothing.
		filter = "numero_ticket IN (SELECT CAST(n AS INT64) FROM UNNEST(@numbers) AS n)"
		params = append(params, bigquery.QueryParameter{Name: "numbers", Value: numbers})
	}
	sql := w.historyInsertSQL(w.cfg.Table, filter)
	if _, err := w.query(ctx, jobID(sessionID, step, "versions"), sql, params...); err != nil {
		return fmt.Errorf("history: record versions from %s: %w", w.cfg.Table, err)
	}
	return nil
}

// historyInsertSQL inserts the versions of source (a table with the tickets
// columns) that tickets_historico lacks, one row per version, optionally only
// the rows matching filter.
//
// A version is compared as one string key, NULL situacao as empty: a scalar
// NOT IN is an anti-join on BigQuery, and the emulator runs it in linear time
// (1000 staged × 1000 recorded: 0.1 s), where a correlated NOT EXISTS or an
// outer join costs time in proportion to both sizes (7 s and 9 s). The key
// is never NULL, so NOT IN's NULL rule cannot bite.
func (w *Warehouse) historyInsertSQL(source, filter string) string {
	cols := strings.Join(columns(historySchema), ", ")
	where := ""
	if filter != "" {
		where = "S." + filter + " AND "
	}
	return fmt.Sprintf(`INSERT INTO %[1]s (%[2]s)
SELECT %[2]s FROM %[3]s AS S
WHERE %[4]s%[5]s NOT IN (SELECT %[5]s FROM %[1]s)
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY numero_ticket, atualizado_em_utc, COALESCE(situacao, '')
  ORDER BY sincronizado_em DESC) = 1`,
		w.tableRef(HistoryTable), cols, w.tableRef(source), where, versionKey)
}

// versionKey is a version's key as one string: ticket, atualizado_em_utc in
// microseconds, situacao.
const versionKey = `CONCAT(CAST(numero_ticket AS STRING), '|', CAST(UNIX_MICROS(atualizado_em_utc) AS STRING), '|', COALESCE(situacao, ''))`
