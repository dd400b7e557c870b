package warehouse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
)

var saoPaulo = func() *time.Location {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		panic(err)
	}
	return loc
}()

// ticket is a ticket as the web system lists it; updated is RFC 3339.
func ticket(n int64, updated, title string) tickets.Ticket {
	created := "2026-06-01T13:05:00.000Z"
	status, desk, client := "Opened", "Suporte N1", "ACME Ltda"
	way := tickets.Channel{Label: "Email"}
	return tickets.Ticket{Number: &n, Title: &title, CreatedAt: &created, UpdatedAt: &updated,
		CreatedByWayOf: &way, Status: &tickets.Ref{Name: &status}, Desk: &tickets.Ref{Name: &desk},
		Client: &tickets.Ref{Name: &client}}
}

// load stages ts as one step of a session and merges it, as ExtractLoad does.
func load(t *testing.T, e *env, session, step string, ts ...tickets.Ticket) (staged int, res warehouse.MergeResult) {
	t.Helper()
	ctx := context.Background()
	st := stageAll(t, func() (*warehouse.Stager, error) { return e.wh.Stage(ctx, session, step) }, session, ts...)
	var err error
	if staged, err = st.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if res, err = e.wh.Merge(ctx, session, step); err != nil {
		t.Fatalf("Merge(%s, %s): %v", session, step, err)
	}
	return staged, res
}

// loadChunk stages ts as a chunk of a session and loads it, as ExtractLoad
// does: StageChunk, then Load.
func loadChunk(t *testing.T, e *env, session string, chunk int, ts ...tickets.Ticket) chain.Totals {
	t.Helper()
	ctx := context.Background()
	st := stageAll(t, func() (*warehouse.Stager, error) { return e.wh.StageChunk(ctx, session, chunk) }, session, ts...)
	got, err := st.Load(ctx, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return got
}

// stageAll opens a Stager of a session with open and stages ts in it.
func stageAll(t *testing.T, open func() (*warehouse.Stager, error), session string, ts ...tickets.Ticket) *warehouse.Stager {
	t.Helper()
	st, err := open()
	if err != nil {
		t.Fatalf("stage %s: %v", session, err)
	}
	synced := time.Now()
	for _, tk := range ts {
		row, err := tickets.ToRow(tk, saoPaulo, session, synced)
		if err != nil {
			t.Fatalf("ToRow: %v", err)
		}
		if err := st.Add(row); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	return st
}

func wantResult(t *testing.T, got, want warehouse.MergeResult) {
	t.Helper()
	if got != want {
		t.Errorf("MergeResult: got %+v, want %+v", got, want)
	}
}

func wantRows(t *testing.T, e *env, want int64) {
	t.Helper()
	got, err := e.wh.CountRows(context.Background())
	if err != nil {
		t.Fatalf("CountRows: %v", err)
	}
	if got != want {
		t.Errorf("CountRows: got %d, want %d", got, want)
	}
	if dup := e.query(t, "SELECT numero_ticket FROM {tickets} GROUP BY numero_ticket HAVING COUNT(*) > 1"); len(dup) > 0 {
		t.Errorf("duplicate tickets in the table: got %v, want none", dup)
	}
}

// titleOf reads a ticket's titulo and sessao from the table.
func titleOf(t *testing.T, e *env, n int64) (title, session string) {
	t.Helper()
	rows := e.query(t, fmt.Sprintf("SELECT titulo, sessao FROM {tickets} WHERE numero_ticket = %d", n))
	if len(rows) != 1 {
		t.Fatalf("ticket %d: got %d rows, want 1", n, len(rows))
	}
	return fmt.Sprint(rows[0]["titulo"]), fmt.Sprint(rows[0]["sessao"])
}

func batch(from, to int64, updated, title string) []tickets.Ticket {
	var ts []tickets.Ticket
	for n := from; n <= to; n++ {
		ts = append(ts, ticket(n, updated, title))
	}
	return ts
}

const (
	t1 = "2026-06-02T09:00:00.000Z"
	t2 = "2026-06-03T09:00:00.000Z"
	t3 = "2026-06-04T09:00:00.000Z"
)

func TestLoadAndMerge(t *testing.T) {
	e := mustEnv(t)

	t.Run("FullLoad", func(t *testing.T) {
		staged, res := load(t, e, "s1", "c0", batch(1, 50, t1, "v1")...)
		if staged != 50 {
			t.Errorf("staged: got %d, want 50", staged)
		}
		wantResult(t, res, warehouse.MergeResult{Tickets: 50, Inserted: 50})
		wantRows(t, e, 50)
	})

	t.Run("ReplaySameSession", func(t *testing.T) {
		// A redelivered event: the load ran, so the step is not staged again;
		// the merge jobs exist, so merging again runs nothing.
		ctx := context.Background()
		if _, err := e.wh.Stage(ctx, "s1", "c0"); !errors.Is(err, warehouse.ErrStaged) {
			t.Errorf("Stage of a staged step: got %v, want ErrStaged", err)
		}
		res, err := e.wh.Merge(ctx, "s1", "c0")
		if err != nil {
			t.Fatalf("Merge: %v", err)
		}
		wantResult(t, res, warehouse.MergeResult{Tickets: 50})
		wantRows(t, e, 50)
	})

	t.Run("SecondSessionChanges", func(t *testing.T) {
		ts := append(batch(1, 10, t2, "v2"), batch(51, 55, t2, "v2")...)
		_, res := load(t, e, "s2", "c0", ts...)
		wantResult(t, res, warehouse.MergeResult{Tickets: 15, Inserted: 5, Updated: 10})
		wantRows(t, e, 55)
		if title, session := titleOf(t, e, 1); title != "v2" || session != "s2" {
			t.Errorf("ticket 1: got %q from %q, want \"v2\" from \"s2\"", title, session)
		}
		if title, session := titleOf(t, e, 11); title != "v1" || session != "s1" {
			t.Errorf("ticket 11: got %q from %q, want \"v1\" from \"s1\"", title, session)
		}
	})

	t.Run("StaleDoesNotOverwrite", func(t *testing.T) {
		_, res := load(t, e, "s3", "c0", ticket(1, t1, "stale"), ticket(2, t2, "same-time"))
		wantResult(t, res, warehouse.MergeResult{Tickets: 2})
		if title, _ := titleOf(t, e, 1); title != "v2" {
			t.Errorf("ticket 1: got %q, want \"v2\" (the newer version)", title)
		}
		if title, _ := titleOf(t, e, 2); title != "v2" {
			t.Errorf("ticket 2: got %q, want \"v2\" (equal updated_at is not newer)", title)
		}
	})

	t.Run("DuplicatesWithinPull", func(t *testing.T) {
		// Shifting pages: a ticket read twice, once before and once after it changed.
		_, res := load(t, e, "s4", "c0",
			ticket(60, t2, "new-old"), ticket(3, t3, "v3"), ticket(60, t3, "new-newest"), ticket(3, t3, "v3"))
		wantResult(t, res, warehouse.MergeResult{Tickets: 2, Inserted: 1, Updated: 1})
		wantRows(t, e, 56)
		if title, _ := titleOf(t, e, 60); title != "new-newest" {
			t.Errorf("ticket 60: got %q, want \"new-newest\"", title)
		}
	})

	t.Run("OutsideWindowKept", func(t *testing.T) {
		// An incremental pull that saw one ticket leaves all the others alone.
		_, res := load(t, e, "s5", "c0", ticket(4, t3, "v3"))
		wantResult(t, res, warehouse.MergeResult{Tickets: 1, Updated: 1})
		wantRows(t, e, 56)
		if title, _ := titleOf(t, e, 50); title != "v1" {
			t.Errorf("ticket 50: got %q, want \"v1\"", title)
		}
	})

	t.Run("StagedCrashedBeforeMergeRedelivered", func(t *testing.T) {
		ctx := context.Background()
		st := stageAll(t, func() (*warehouse.Stager, error) { return e.wh.Stage(ctx, "s6", "c0") },
			"s6", ticket(70, t1, "first"), ticket(5, t3, "first"))
		if _, err := st.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		// The crash: no Merge. The step's load stands, so staging it again is
		// refused; the redelivered chunk stages in a step of its own, with
		// what it reads again and what it reads further.
		if _, err := e.wh.Stage(ctx, "s6", "c0"); !errors.Is(err, warehouse.ErrStaged) {
			t.Errorf("Stage of a staged step: got %v, want ErrStaged", err)
		}
		got := loadChunk(t, e, "s6", 0, ticket(70, t1, "first"), ticket(5, t3, "first"), ticket(71, t1, "second"))
		if want := (chain.Totals{Tickets: 3, Inserted: 2, Updated: 1}); got != want {
			t.Errorf("Load: got %+v, want %+v", got, want)
		}
		wantRows(t, e, 58)
	})

	t.Run("AbortThenRetry", func(t *testing.T) {
		ctx := context.Background()
		st, err := e.wh.Stage(ctx, "s7", "c0")
		if err != nil {
			t.Fatalf("Stage: %v", err)
		}
		row, _ := tickets.ToRow(ticket(80, t1, "aborted"), saoPaulo, "s7", time.Now())
		if err := st.Add(row); err != nil {
			t.Fatalf("Add: %v", err)
		}
		st.Abort()
		if _, err := st.Close(ctx); err == nil {
			t.Errorf("Close after Abort: got nil error, want one")
		}
		staged, res := load(t, e, "s7", "c0", ticket(81, t1, "retried"))
		if staged != 1 {
			t.Errorf("staged: got %d, want 1", staged)
		}
		wantResult(t, res, warehouse.MergeResult{Tickets: 1, Inserted: 1})
	})

	t.Run("EmptyStep", func(t *testing.T) {
		staged, res := load(t, e, "s8", "c0")
		if staged != 0 {
			t.Errorf("staged: got %d, want 0", staged)
		}
		wantResult(t, res, warehouse.MergeResult{})
	})

	t.Run("ColumnsAsLoaded", func(t *testing.T) {
		rows := e.query(t, "SELECT status, canal, mesa, cliente, criado_em, criado_em_utc, atualizado_em_utc FROM {tickets} WHERE numero_ticket = 1")
		if len(rows) != 1 {
			t.Fatalf("got %d rows, want 1", len(rows))
		}
		r := rows[0]
		checks := []struct {
			col  string
			got  any
			want string
		}{
			{"status", r["status"], "Aberto"},
			{"canal", r["canal"], "E-mail"},
			{"mesa", r["mesa"], "Suporte N1"},
			{"cliente", r["cliente"], "ACME Ltda"},
			{"criado_em", fmt.Sprint(r["criado_em"]), "2026-06-01T10:05:00"},
			{"criado_em_utc", r["criado_em_utc"].(time.Time).UTC().Format(time.RFC3339), "2026-06-01T13:05:00Z"},
			{"atualizado_em_utc", r["atualizado_em_utc"].(time.Time).UTC().Format(time.RFC3339), "2026-06-03T09:00:00Z"},
		}
		for _, c := range checks {
			if fmt.Sprint(c.got) != c.want {
				t.Errorf("%s: got %v, want %s", c.col, c.got, c.want)
			}
		}
	})
}

func TestSessionIDsAreSanitized(t *testing.T) {
	e := mustEnv(t)
	// Two ids that differ only in characters a table name cannot hold.
	_, a := load(t, e, "2026-06-01.a", "c0", ticket(1, t1, "a"))
	_, b := load(t, e, "2026_06_01_a", "c0", ticket(2, t1, "b"))
	wantResult(t, a, warehouse.MergeResult{Tickets: 1, Inserted: 1})
	wantResult(t, b, warehouse.MergeResult{Tickets: 1, Inserted: 1})
}

func TestEnsureTables(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	if err := e.wh.EnsureTables(ctx); err != nil {
		t.Fatalf("EnsureTables again: got %v, want nil (idempotent)", err)
	}
	md, err := e.client.Dataset(e.cfg.Dataset).Table(e.cfg.Table).Metadata(ctx)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	if p := md.TimePartitioning; p == nil || p.Field != "criado_em_utc" || p.Type != bigquery.DayPartitioningType {
		t.Errorf("partitioning: got %+v, want DAY on criado_em_utc", p)
	}
	if c := md.Clustering; c == nil || !slices.Equal(c.Fields, []string{"situacao", "mesa", "cliente"}) {
		t.Errorf("clustering: got %+v, want [situacao mesa cliente]", c)
	}
	if got, want := len(md.Schema), len(warehouse.TicketsSchema()); got != want {
		t.Errorf("columns: got %d, want %d", got, want)
	}
}

// TestSchemaMatchesRow keeps the schema file and the NDJSON encoder in step:
// the same columns, and every REQUIRED column filled.
func TestSchemaMatchesRow(t *testing.T) {
	row, err := tickets.ToRow(ticket(1, t1, "x"), saoPaulo, "s", time.Now())
	if err != nil {
		t.Fatalf("ToRow: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(row.AppendJSON(nil), &m); err != nil {
		t.Fatalf("AppendJSON: %v", err)
	}
	var names []string
	for _, f := range warehouse.TicketsSchema() {
		names = append(names, f.Name)
		v, ok := m[f.Name]
		if !ok {
			t.Errorf("column %s: the encoder does not write it", f.Name)
		}
		if f.Required && v == nil {
			t.Errorf("column %s is REQUIRED: got null", f.Name)
		}
	}
	for k := range m {
		if !slices.Contains(names, k) {
			t.Errorf("the encoder writes %q, which the schema lacks", k)
		}
	}
}

// TestSchemaFilesForTerraform checks what Terraform needs of the files: a JSON
// array of {name, type, mode, description} with BigQuery type names.
func TestSchemaFilesForTerraform(t *testing.T) {
	types := []string{"STRING", "INTEGER", "INT64", "BOOLEAN", "BOOL", "TIMESTAMP", "DATETIME", "FLOAT", "FLOAT64", "DATE", "NUMERIC", "JSON"}
	for _, file := range []string{"schema/tickets.json", "schema/sync_runs.json", "schema/tickets_historico.json"} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var fields []map[string]string
			if err := json.Unmarshal(b, &fields); err != nil {
				t.Fatalf("got %v, want a JSON array of fields", err)
			}
			for _, f := range fields {
				if f["name"] == "" || !slices.Contains(types, f["type"]) || (f["mode"] != "NULLABLE" && f["mode"] != "REQUIRED") {
					t.Errorf("field %v: want a name, a BigQuery type and mode NULLABLE or REQUIRED", f)
				}
			}
		})
	}
}
