package warehouse

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"
)

// MergeResult is what a Merge did to the tickets table.
type MergeResult struct {
	Tickets  int64 // distinct tickets in the staging table
	Inserted int64 // tickets the table did not have
	Updated  int64 // tickets the table had and the MERGE replaced (see Merge)
}

// situacaoRank orders the situacao values for a tie on atualizado_em_utc: a
// close, cancel or delete the system made without a new updated_at beats the
// state it ends (excluido > cancelado > fechado > aberto).
const situacaoRank = `CASE situacao WHEN 'excluido' THEN 4 WHEN 'cancelado' THEN 3 WHEN 'fechado' THEN 2 WHEN 'aberto' THEN 1 ELSE 0 END`

// replaces is the MERGE rule of CONTRACT section 6 on source S and table T:
// S replaces T when its atualizado_em_utc is newer, or equal with a different
// situacao. A row of the first schema has a NULL situacao: any S with the
// same atualizado_em_utc replaces it (COALESCE: S.situacao is never NULL), so
// the next pull that reads such a ticket fills the columns added since.
const replaces = `(S.atualizado_em_utc > T.atualizado_em_utc OR (S.atualizado_em_utc = T.atualizado_em_utc AND COALESCE(T.situacao, '') != S.situacao))`

// Merge moves a session step's staged rows into the tickets table:
//
//  1. job tiflux_<session>_<step>_dedup builds _stg_<session>_<step>_dedup with
//     one row per numero_ticket: the one with the greatest atualizado_em_utc;
//     on a tie, the higher situacao (excluido > cancelado > fechado > aberto);
//     then the last synced (a ticket read twice in one pull must not make the
//     MERGE fail or duplicate; the emulator takes no subquery as a MERGE
//     source);
//  2. it counts, against the tickets table, the keys it lacks (inserted) and
//     the keys the MERGE will replace (updated), since DML statistics are not
//     to be had from the emulator;
//  3. job tiflux_<session>_<step>_merge runs the MERGE: replace a row when the
//     staged one has a newer atualizado_em_utc, or the same one with a
//     different situacao (a close, cancel or delete found by reconciliation);
//     insert when absent; leave every other row alone (history is kept).
//
// Replaying a step that merged attaches to its jobs and counts 0 inserted,
// 0 updated. Replaying one that staged but did not merge merges the rows of
// the earlier load.
func (w *Warehouse) Merge(ctx context.Context, sessionID, step string) (MergeResult, error) {
	var res MergeResult
	stg := stagingTable(sessionID, step)
	dedup := stg + "_dedup"

	dedupSQL := fmt.Sprintf(`CREATE OR REPLACE TABLE %s AS
SELECT * FROM %s
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY numero_ticket ORDER BY atualizado_em_utc DESC, %s DESC, sincronizado_em DESC) = 1`,
		w.tableRef(dedup), w.tableRef(stg), situacaoRank)
	if _, err := w.query(ctx, jobID(sessionID, step, "dedup"), dedupSQL); err != nil {
		return res, fmt.Errorf("merge: deduplicate %s: %w", stg, err)
	}
	if _, err := w.c.Dataset(w.cfg.Dataset).Table(dedup).Update(ctx,
		bigquery.TableMetadataToUpdate{ExpirationTime: w.cfg.Now().Add(w.cfg.StagingTTL)}, ""); err != nil {
		return res, fmt.Errorf("merge: set expiration of %s: %w", dedup, err)
	}

	countSQL := fmt.Sprintf(`SELECT
  COUNT(*) AS tickets,
  COUNTIF(T.numero_ticket IS NULL) AS inserted,
  COUNTIF(T.numero_ticket IS NOT NULL AND %s) AS updated
FROM %s AS S LEFT JOIN %s AS T ON T.numero_ticket = S.numero_ticket`,
		replaces, w.tableRef(dedup), w.tableRef(w.cfg.Table))
	it, err := w.read(ctx, countSQL)
	if err != nil {
		return res, fmt.Errorf("merge: count: %w", err)
	}
	var counts []bigquery.Value
	if err := it.Next(&counts); err != nil && err != iterator.Done {
		return res, fmt.Errorf("merge: count: %w", err)
	}
	if len(counts) == 3 {
		res.Tickets, res.Inserted, res.Updated = asInt(counts[0]), asInt(counts[1]), asInt(counts[2])
	}

	if _, err := w.query(ctx, jobID(sessionID, step, "merge"), w.mergeSQL(dedup)); err != nil {
		return MergeResult{}, fmt.Errorf("merge into %s: %w", w.cfg.Table, err)
	}
	if err := w.recordHistory(ctx, sessionID, step, stg); err != nil {
		return MergeResult{}, err
	}
	w.log.Info("merged", "session_id", sessionID, "step", step, "tickets", res.Tickets,
		"inserted", res.Inserted, "updated", res.Updated)
	return res, nil
}

// mergeSQL is the MERGE of source into the tickets table, keyed on
// numero_ticket, replacing a row as replaces says.
func (w *Warehouse) mergeSQL(source string) string {
	cols := columns(ticketsSchema)
	var set, values []string
	for _, c := range cols {
		values = append(values, "S."+c)
		if c != "numero_ticket" {
			set = append(set, c+" = S."+c)
		}
	}
	return fmt.Sprintf(`MERGE %s AS T
USING %s AS S
ON T.numero_ticket = S.numero_ticket
WHEN MATCHED AND %s THEN
  UPDATE SET %s
WHEN NOT MATCHED THEN
  INSERT (%s) VALUES (%s)`,
		w.tableRef(w.cfg.Table), w.tableRef(source), replaces,
		strings.Join(set, ", "), strings.Join(cols, ", "), strings.Join(values, ", "))
}

// asInt reads an INT64 result column.
func asInt(v bigquery.Value) int64 {
	n, _ := v.(int64)
	return n
}
