package warehouse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
)

// ticketRow is ticket n as a row with the given situacao (as ExtractLoad sets it
// after ToRow: the canceled pass and reconciliation override it).
func situacaoRow(t *testing.T, n int64, updated, title, situacao string) tickets.Row {
	t.Helper()
	r, err := tickets.ToRow(ticket(n, updated, title), saoPaulo, "s", time.Now())
	if err != nil {
		t.Fatalf("ToRow: %v", err)
	}
	r.Situacao = situacao
	return r
}

// loadRows stages rows as one step of a session and merges it.
func loadRows(t *testing.T, e *env, session, step string, rows ...tickets.Row) warehouse.MergeResult {
	t.Helper()
	ctx := context.Background()
	st, err := e.wh.Stage(ctx, session, step)
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	for _, r := range rows {
		r.Sessao = session
		if err := st.Add(r); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	if _, err := st.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	res, err := e.wh.Merge(ctx, session, step)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	return res
}

// stateOf reads a ticket's titulo and situacao.
func stateOf(t *testing.T, e *env, n int64) (title, situacao string) {
	t.Helper()
	rows := e.query(t, fmt.Sprintf("SELECT titulo, situacao FROM {tickets} WHERE numero_ticket = %d", n))
	if len(rows) != 1 {
		t.Fatalf("ticket %d: got %d rows, want 1", n, len(rows))
	}
	return fmt.Sprint(rows[0]["titulo"]), fmt.Sprint(rows[0]["situacao"])
}

// TestMergeRule: the dedup and MERGE rule of CONTRACT section 6.
func TestMergeRule(t *testing.T) {
	e := mustEnv(t)
	const (
		ab, fe, ca, ex = tickets.SituacaoAberto, tickets.SituacaoFechado, tickets.SituacaoCancelado, tickets.SituacaoExcluido
	)
	res := loadRows(t, e, "m1", "c0", situacaoRow(t, 1, t1, "v1", ab), situacaoRow(t, 2, t2, "v2", ab), situacaoRow(t, 3, t2, "v2", fe),
		situacaoRow(t, 4, t1, "v1", ab))
	wantResult(t, res, warehouse.MergeResult{Tickets: 4, Inserted: 4})

	t.Run("SilentClose", func(t *testing.T) {
		// Closed without a new updated_at: the same atualizado_em_utc, fechado.
		res := loadRows(t, e, "m2", "c0", situacaoRow(t, 1, t1, "closed", fe))
		wantResult(t, res, warehouse.MergeResult{Tickets: 1, Updated: 1})
		if title, sit := stateOf(t, e, 1); title != "closed" || sit != fe {
			t.Errorf("ticket 1: got %q %q, want \"closed\" %q", title, sit, fe)
		}
	})
	t.Run("SameVersionNoop", func(t *testing.T) {
		res := loadRows(t, e, "m3", "c0", situacaoRow(t, 2, t2, "again", ab))
		wantResult(t, res, warehouse.MergeResult{Tickets: 1})
		if title, _ := stateOf(t, e, 2); title != "v2" {
			t.Errorf("ticket 2: got %q, want \"v2\" (same updated_at, same situacao)", title)
		}
	})
	t.Run("StaleNeverOverwrites", func(t *testing.T) {
		// An older read, whatever its situacao, leaves the newer row alone.
		res := loadRows(t, e, "m4", "c0", situacaoRow(t, 2, t1, "stale", fe), situacaoRow(t, 3, t1, "stale", ab))
		wantResult(t, res, warehouse.MergeResult{Tickets: 2})
		if title, sit := stateOf(t, e, 2); title != "v2" || sit != ab {
			t.Errorf("ticket 2: got %q %q, want \"v2\" %q", title, sit, ab)
		}
		if title, sit := stateOf(t, e, 3); title != "v2" || sit != fe {
			t.Errorf("ticket 3: got %q %q, want \"v2\" %q", title, sit, fe)
		}
	})
	t.Run("Deleted", func(t *testing.T) {
		res := loadRows(t, e, "m5", "c0", situacaoRow(t, 4, t1, "gone", ex))
		wantResult(t, res, warehouse.MergeResult{Tickets: 1, Updated: 1})
		if _, sit := stateOf(t, e, 4); sit != ex {
			t.Errorf("ticket 4: got %q, want %q", sit, ex)
		}
	})
	t.Run("DuplicatesWithinStaging", func(t *testing.T) {
		// One staging table holding several reads of the same tickets: the
		// newest wins; on a tie, excluido > cancelado > fechado > aberto,
		// whatever the order they were staged in.
		res := loadRows(t, e, "m6", "c0",
			situacaoRow(t, 10, t1, "aberto", ab), situacaoRow(t, 10, t1, "fechado", fe), situacaoRow(t, 10, t1, "aberto2", ab),
			situacaoRow(t, 11, t1, "excluido", ex), situacaoRow(t, 11, t1, "cancelado", ca), situacaoRow(t, 11, t1, "fechado", fe),
			situacaoRow(t, 12, t2, "newer-open", ab), situacaoRow(t, 12, t1, "older-deleted", ex),
			situacaoRow(t, 13, t1, "cancelado", ca), situacaoRow(t, 13, t1, "aberto", ab))
		wantResult(t, res, warehouse.MergeResult{Tickets: 4, Inserted: 4})
		wantRows(t, e, 8)
		for n, want := range map[int64][2]string{10: {"fechado", fe}, 11: {"excluido", ex}, 12: {"newer-open", ab},
			13: {"cancelado", ca}} {
			if title, sit := stateOf(t, e, n); title != want[0] || sit != want[1] {
				t.Errorf("ticket %d: got %q %q, want %q %q", n, title, sit, want[0], want[1])
			}
		}
	})
	t.Run("FirstSchemaRowFilled", func(t *testing.T) {
		// A row written before situacao existed has it NULL: re-read with the
		// same updated_at, it is replaced, which fills the columns added since.
		e.query(t, "UPDATE {tickets} SET situacao = NULL, mesa_id = NULL WHERE numero_ticket = 2")
		res := loadRows(t, e, "m8", "c0", situacaoRow(t, 2, t2, "filled", ab))
		wantResult(t, res, warehouse.MergeResult{Tickets: 1, Updated: 1})
		if title, sit := stateOf(t, e, 2); title != "filled" || sit != ab {
			t.Errorf("ticket 2: got %q %q, want \"filled\" %q", title, sit, ab)
		}
	})
	t.Run("NewerReopens", func(t *testing.T) {
		res := loadRows(t, e, "m7", "c0", situacaoRow(t, 3, t3, "reopened", ab))
		wantResult(t, res, warehouse.MergeResult{Tickets: 1, Updated: 1})
		if title, sit := stateOf(t, e, 3); title != "reopened" || sit != ab {
			t.Errorf("ticket 3: got %q %q, want \"reopened\" %q", title, sit, ab)
		}
	})
}

// rawTicket is a ticket as the official API sends it, pretty-printed as a
// system may, with text a JSON column must keep exactly.
const rawTicket = `{
  "ticket_number": %d,
  "title": "Impressora não imprime \"já\"",
  "created_at": "2026-06-01T13:05:00Z",
  "updated_at": "%s",
  "created_by_way_of": "Email",
  "is_closed": false,
  "services_catalog": {"catalog_name": "TI", "area_name": "Hardware", "item_name": "Impressora"},
  "sla_info": {"solve_expiration": "2026-06-03T13:05:00Z", "solved_in_time": null},
  "jira_issues": [{"id": "54034", "key": "TEST-897"}],
  "custom": {"nested": [1, 2.5, true, null, "\u2028"]}
}`

// TestJSONColumn: dados, a JSON column, goes through the NDJSON load job and
// the MERGE (insert and update) and comes back as the ticket sent.
func TestJSONColumn(t *testing.T) {
	e := mustEnv(t)
	decodeRow := func(n int64, updated string) tickets.Row {
		tk, err := tickets.Decode([]byte(fmt.Sprintf(rawTicket, n, updated)))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		r, err := tickets.ToRow(tk, saoPaulo, "j", time.Now())
		if err != nil {
			t.Fatalf("ToRow: %v", err)
		}
		return r
	}
	read := func(n int64) map[string]bigquery.Value {
		rows := e.query(t, fmt.Sprintf(`SELECT TO_JSON_STRING(dados) AS d,
  JSON_VALUE(dados, '$.title') AS title, JSON_VALUE(dados, '$.updated_at') AS updated,
  JSON_VALUE(dados, '$.jira_issues[0].key') AS jira, catalogo
FROM {tickets} WHERE numero_ticket = %d`, n))
		if len(rows) != 1 {
			t.Fatalf("ticket %d: got %d rows, want 1", n, len(rows))
		}
		return rows[0]
	}
	check := func(n int64, updated string) {
		t.Helper()
		got := read(n)
		want := map[string]string{"title": `Impressora não imprime "já"`, "updated": updated, "jira": "TEST-897",
			"catalogo": "TI / Hardware / Impressora"}
		for k, w := range want {
			if fmt.Sprint(got[k]) != w {
				t.Errorf("ticket %d: %s: got %v, want %q", n, k, got[k], w)
			}
		}
		var sent, stored any
		mustJSON(t, fmt.Sprintf(rawTicket, n, updated), &sent)
		mustJSON(t, fmt.Sprint(got["d"]), &stored)
		if a, b := canonicalJSON(t, sent), canonicalJSON(t, stored); a != b {
			t.Errorf("ticket %d: dados: got %s, want %s", n, b, a)
		}
	}
	t.Run("Insert", func(t *testing.T) {
		res := loadRows(t, e, "j1", "c0", decodeRow(1, "2026-06-02T09:00:00Z"), decodeRow(2, "2026-06-02T09:00:00Z"))
		wantResult(t, res, warehouse.MergeResult{Tickets: 2, Inserted: 2})
		check(1, "2026-06-02T09:00:00Z")
	})
	t.Run("Update", func(t *testing.T) {
		res := loadRows(t, e, "j2", "c0", decodeRow(1, "2026-06-03T09:00:00Z"))
		wantResult(t, res, warehouse.MergeResult{Tickets: 1, Updated: 1})
		check(1, "2026-06-03T09:00:00Z")
		check(2, "2026-06-02T09:00:00Z")
	})
	t.Run("NullWithoutRaw", func(t *testing.T) {
		loadRows(t, e, "j3", "c0", situacaoRow(t, 3, t1, "no raw", tickets.SituacaoAberto))
		if rows := e.query(t, "SELECT numero_ticket FROM {tickets} WHERE numero_ticket = 3 AND dados IS NULL"); len(rows) != 1 {
			t.Errorf("ticket 3: got %d rows with NULL dados, want 1", len(rows))
		}
	})
}

// TestMigrateFirstSchema: a tickets table of the first deployment (the schema
// of main at 90ff867, clustered by status, mesa, cliente), with rows in it, is
// migrated in place by EnsureTables: every column of the schema file added,
// the rows kept with the new columns NULL, the clustering set to situacao,
// mesa, cliente; then a pull's MERGE works on it, and a re-read of an old row
// fills its new columns.
func TestMigrateFirstSchema(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t) // a fresh dataset; its tickets table is replaced below
	old, err := os.ReadFile("testdata/tickets_schema_90ff867.json")
	if err != nil {
		t.Fatal(err)
	}
	oldSchema, err := bigquery.SchemaFromJSON(old)
	if err != nil {
		t.Fatal(err)
	}
	tbl := e.client.Dataset(e.cfg.Dataset).Table("tickets_v1")
	if err := tbl.Create(ctx, &bigquery.TableMetadata{Schema: oldSchema,
		TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "criado_em_utc"},
		Clustering:       &bigquery.Clustering{Fields: []string{"status", "mesa", "cliente"}}}); err != nil {
		t.Fatalf("create the first-schema table: %v", err)
	}
	insert := fmt.Sprintf("INSERT INTO `%s.%s.tickets_v1` (numero_ticket, titulo, status, mesa, cliente, canal, fechado, resolvido_no_prazo, criado_em, atualizado_em, criado_em_utc, atualizado_em_utc, sincronizado_em, sessao) VALUES "+
		"(1, 'old one', 'Aberto', 'Suporte N1', 'ACME Ltda', 'E-mail', false, NULL, DATETIME '2026-06-01 10:05:00', DATETIME '2026-06-02 06:00:00', TIMESTAMP '2026-06-01 13:05:00+00', TIMESTAMP '2026-06-02 09:00:00+00', TIMESTAMP '2026-06-02 10:00:00+00', 'v1'), "+
		"(2, 'old two', 'Fechado', 'Suporte N1', 'ACME Ltda', 'E-mail', true, true, DATETIME '2026-06-01 10:05:00', DATETIME '2026-06-02 06:00:00', TIMESTAMP '2026-06-01 13:05:00+00', TIMESTAMP '2026-06-02 09:00:00+00', TIMESTAMP '2026-06-02 10:00:00+00', 'v1')",
		project, e.cfg.Dataset)
	if _, err := e.client.Query(insert).Read(ctx); err != nil {
		t.Fatalf("insert first-schema rows: %v", err)
	}

	cfg := e.cfg
	cfg.Table = "tickets_v1"
	wh := warehouse.New(e.client, cfg)
	if err := wh.EnsureTables(ctx); err != nil {
		t.Fatalf("EnsureTables on the first-schema table: %v", err)
	}
	if err := wh.EnsureTables(ctx); err != nil {
		t.Fatalf("EnsureTables again: %v", err)
	}
	md, err := tbl.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, f := range md.Schema {
		have = append(have, f.Name)
	}
	var want []string
	for _, f := range warehouse.TicketsSchema() {
		want = append(want, f.Name)
	}
	if !slices.Equal(have, want) {
		t.Errorf("columns after migration:\n got %v\nwant %v", have, want)
	}
	if c := md.Clustering; c == nil || !slices.Equal(c.Fields, []string{"situacao", "mesa", "cliente"}) {
		t.Errorf("clustering after migration: got %+v, want [situacao mesa cliente]", c)
	}
	if p := md.TimePartitioning; p == nil || p.Field != "criado_em_utc" {
		t.Errorf("partitioning after migration: got %+v, want DAY on criado_em_utc", p)
	}

	// The rows are all there, unchanged. (The emulator adds columns to the
	// metadata only, its query engine never sees them, so the new columns'
	// NULLs and a MERGE into the migrated table can only be checked on
	// BigQuery; TestMergeRule/FirstSchemaRowFilled checks the MERGE on rows
	// whose new columns are NULL.)
	m := &env{wh: wh, client: e.client, cfg: cfg}
	rows := m.query(t, "SELECT numero_ticket, titulo, fechado, resolvido_no_prazo, atualizado_em_utc FROM {tickets} ORDER BY numero_ticket")
	if len(rows) != 2 {
		t.Fatalf("rows after migration: got %d, want the 2 of before", len(rows))
	}
	if rows[0]["titulo"] != "old one" || rows[1]["titulo"] != "old two" || rows[1]["fechado"] != true ||
		rows[1]["resolvido_no_prazo"] != true || rows[0]["resolvido_no_prazo"] != nil {
		t.Errorf("old rows changed by the migration: %v", rows)
	}
	if md.NumRows != 2 {
		t.Errorf("NumRows after migration: got %d, want 2", md.NumRows)
	}
}

// TestMigrateRefusesRequired: a REQUIRED column of the schema file that an
// existing table lacks cannot be added; EnsureTables says which.
func TestMigrateRefusesRequired(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t)
	var schema bigquery.Schema
	for _, f := range warehouse.TicketsSchema() {
		if f.Name != "sessao" {
			schema = append(schema, f)
		}
	}
	if err := e.client.Dataset(e.cfg.Dataset).Table("tickets_nosessao").Create(ctx, &bigquery.TableMetadata{Schema: schema}); err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.Table = "tickets_nosessao"
	err := warehouse.New(e.client, cfg).EnsureTables(ctx)
	if err == nil || !strings.Contains(err.Error(), "sessao") {
		t.Errorf("EnsureTables: got %v, want an error naming sessao", err)
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	d := jsonDecoder(s)
	if err := d.Decode(v); err != nil {
		t.Fatalf("not JSON %q: %v", s, err)
	}
}

func canonicalJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func jsonDecoder(s string) *json.Decoder {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	return d
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// TestSchemaOnlyAppendsNullable: the schema file keeps every column of the
// first deployment (testdata/tickets_schema_90ff867.json) with its type and
// mode, in its place, and only appends NULLABLE columns after them; that is
// what lets BigQuery, EnsureTables and Terraform's provider migrate an
// existing table in place (terraform/bigquery.tf says where in the provider).
func TestSchemaOnlyAppendsNullable(t *testing.T) {
	b, err := os.ReadFile("testdata/tickets_schema_90ff867.json")
	if err != nil {
		t.Fatal(err)
	}
	first, err := bigquery.SchemaFromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	now := warehouse.TicketsSchema()
	if len(now) < len(first) {
		t.Fatalf("the schema file has %d columns, fewer than the first's %d", len(now), len(first))
	}
	for i, f := range first {
		g := now[i]
		if g.Name != f.Name || g.Type != f.Type || g.Required != f.Required || g.Repeated != f.Repeated {
			t.Errorf("column %d: got %s %s required=%v, want %s %s required=%v (as first deployed)",
				i, g.Name, g.Type, g.Required, f.Name, f.Type, f.Required)
		}
	}
	for _, g := range now[len(first):] {
		if g.Required || g.Repeated {
			t.Errorf("added column %s must be NULLABLE", g.Name)
		}
	}
}
