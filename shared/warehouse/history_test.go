package warehouse_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// historyOf lists the history as "ticket@updated/situacao" lines, in order.
func historyOf(t *testing.T, e *env) []string {
	t.Helper()
	rows := e.query(t, fmt.Sprintf(`SELECT numero_ticket, FORMAT_TIMESTAMP('%%FT%%TZ', atualizado_em_utc) AS ver, COALESCE(situacao, 'NULL') AS situacao
FROM `+"`%s.%s.tickets_historico`"+` ORDER BY numero_ticket, atualizado_em_utc, situacao`, project, e.cfg.Dataset))
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v@%v/%v", r["numero_ticket"], r["ver"], r["situacao"]))
	}
	return got
}

func wantHistory(t *testing.T, e *env, want ...string) {
	t.Helper()
	if got := historyOf(t, e); !slices.Equal(got, want) {
		t.Errorf("tickets_historico:\n got %v\nwant %v", got, want)
	}
}

// TestHistoryOncePerVersion: every version the pipeline reads lands in the
// history once, however often it is redelivered, read by later chunks or
// sessions, or read twice within one pull.
func TestHistoryOncePerVersion(t *testing.T) {
	e := mustEnv(t)
	const (
		h1 = "2026-06-02T09:00:00Z"
		h2 = "2026-06-03T09:00:00Z"
		h3 = "2026-06-04T09:00:00Z"
	)
	// The rows are open tickets: each version is (number, updated_at, aberto).
	sit := "aberto"

	t.Run("FirstChunk", func(t *testing.T) {
		load(t, e, "hist1", "c0", batch(1, 3, t1, "v1")...)
		wantHistory(t, e, "1@"+h1+"/"+sit, "2@"+h1+"/"+sit, "3@"+h1+"/"+sit)
	})

	t.Run("Redelivered", func(t *testing.T) {
		// A redelivered chunk stages in a step of its own and merges the
		// same versions again.
		loadChunk(t, e, "hist1", 0, batch(1, 3, t1, "v1")...)
		wantHistory(t, e, "1@"+h1+"/"+sit, "2@"+h1+"/"+sit, "3@"+h1+"/"+sit)
	})

	t.Run("NextChunkRereadsAndChanges", func(t *testing.T) {
		// Ticket 1 read again unchanged, ticket 2 changed, ticket 3 read twice
		// in this chunk (two versions), ticket 4 twice with one version.
		ts := append(batch(1, 1, t1, "v1"), ticket(2, t2, "v2"), ticket(3, t2, "v2"), ticket(3, t3, "v3"),
			ticket(4, t2, "v2"), ticket(4, t2, "v2"))
		load(t, e, "hist1", "c1", ts...)
		wantHistory(t, e, "1@"+h1+"/"+sit, "2@"+h1+"/"+sit, "2@"+h2+"/"+sit,
			"3@"+h1+"/"+sit, "3@"+h2+"/"+sit, "3@"+h3+"/"+sit, "4@"+h2+"/"+sit)
	})

	t.Run("NextSessionSameVersions", func(t *testing.T) {
		load(t, e, "hist2", "c0", ticket(1, t1, "v1"), ticket(2, t2, "v2"), ticket(3, t3, "v3"), ticket(4, t2, "v2"))
		wantHistory(t, e, "1@"+h1+"/"+sit, "2@"+h1+"/"+sit, "2@"+h2+"/"+sit,
			"3@"+h1+"/"+sit, "3@"+h2+"/"+sit, "3@"+h3+"/"+sit, "4@"+h2+"/"+sit)
	})

	t.Run("CurrentVersionMatchesTickets", func(t *testing.T) {
		// Every ticket's newest history version is its row in tickets.
		rows := e.query(t, fmt.Sprintf(`SELECT t.numero_ticket FROM {tickets} AS t
LEFT JOIN (
  SELECT numero_ticket, MAX(atualizado_em_utc) AS ver FROM `+"`%s.%s.tickets_historico`"+` GROUP BY numero_ticket
) AS h ON h.numero_ticket = t.numero_ticket
WHERE h.ver IS NULL OR h.ver != t.atualizado_em_utc`, project, e.cfg.Dataset))
		if len(rows) > 0 {
			t.Errorf("tickets whose newest history version is not their row: got %v, want none", rows)
		}
	})

	t.Run("RecordVersionsAfterReconciliation", func(t *testing.T) {
		// The reconciliation marks ticket 1 excluido without a new updated_at.
		e.query(t, "UPDATE {tickets} SET situacao = 'excluido' WHERE numero_ticket = 1")
		ctx := context.Background()
		for i := 0; i < 2; i++ { // the second call is a redelivery
			if err := e.wh.RecordVersions(ctx, "hist3", "reconcile", []int64{1}); err != nil {
				t.Fatalf("RecordVersions: %v", err)
			}
		}
		// A later, wider call finds nothing new.
		if err := e.wh.RecordVersions(ctx, "hist3", "all", nil); err != nil {
			t.Fatalf("RecordVersions(all): %v", err)
		}
		if err := e.wh.RecordVersions(ctx, "hist3", "none", []int64{}); err != nil {
			t.Fatalf("RecordVersions(none): %v", err)
		}
		wantHistory(t, e, "1@"+h1+"/"+sit, "1@"+h1+"/excluido", "2@"+h1+"/"+sit, "2@"+h2+"/"+sit,
			"3@"+h1+"/"+sit, "3@"+h2+"/"+sit, "3@"+h3+"/"+sit, "4@"+h2+"/"+sit)
	})
}
