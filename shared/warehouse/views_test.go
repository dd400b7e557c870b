package warehouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
)

const zone = "America/Sao_Paulo"

// row is one hand-built row of tickets or tickets_historico, by column name.
type row map[string]any

// mustLoad appends rows to a table through a load job (not DDL, not
// streaming), with the schema the pipeline gives that table.
func (e *env) mustLoad(tb testing.TB, table string, schema bigquery.Schema, rows ...row) {
	tb.Helper()
	var buf bytes.Buffer
	for _, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			tb.Fatalf("encode %v: %v", r, err)
		}
		buf.Write(append(b, '\n'))
	}
	src := bigquery.NewReaderSource(&buf)
	src.SourceFormat = bigquery.JSON
	src.Schema = schema
	l := e.client.Dataset(e.cfg.Dataset).Table(table).LoaderFrom(src)
	l.WriteDisposition = bigquery.WriteAppend
	ctx := context.Background()
	job, err := l.Run(ctx)
	if err != nil {
		tb.Fatalf("load into %s: %v", table, err)
	}
	status, err := job.Wait(ctx)
	if err != nil {
		tb.Fatalf("load into %s: %v", table, err)
	}
	if err := status.Err(); err != nil {
		tb.Fatalf("load into %s: %v", table, err)
	}
}

// mustViews creates the views in e's dataset.
func (e *env) mustViews(tb testing.TB) {
	tb.Helper()
	if err := e.wh.EnsureViews(context.Background(), zone); err != nil {
		tb.Fatalf("EnsureViews: %v", err)
	}
}

// view reads every row of a view.
func (e *env) view(tb testing.TB, name, orderBy string) []map[string]bigquery.Value {
	tb.Helper()
	return e.query(tb, fmt.Sprintf("SELECT * FROM `%s.%s.%s` ORDER BY %s", project, e.cfg.Dataset, name, orderBy))
}

// ts is a TIMESTAMP value; lt is the DATETIME of the same instant in zone, as
// the pipeline writes local times.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
func lt(t time.Time) string { return t.In(saoPaulo).Format("2006-01-02T15:04:05.000000") }

// version is a history row; synced orders versions with the same instant.
func version(n int64, at time.Time, situacao string, estagio, mesa any, synced time.Time) row {
	return row{"numero_ticket": n, "atualizado_em_utc": ts(at), "situacao": situacao, "estagio": estagio,
		"mesa": mesa, "status": "x", "prioridade": "Alta", "responsavel": nil,
		"sincronizado_em": ts(synced), "sessao": "s"}
}

// ticketRow is a tickets row; resolved may be zero.
func ticketRow(n int64, created, updated, resolved time.Time, situacao string, mesa, prioridade any) row {
	r := row{"numero_ticket": n, "situacao": situacao, "mesa": mesa, "prioridade": prioridade,
		"criado_em": lt(created), "criado_em_utc": ts(created),
		"atualizado_em": lt(updated), "atualizado_em_utc": ts(updated),
		"sincronizado_em": ts(updated), "sessao": "s"}
	if !resolved.IsZero() {
		r["resolvido_em"], r["resolvido_em_utc"] = lt(resolved), ts(resolved)
	}
	return r
}

func float(v bigquery.Value) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return math.NaN()
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func str(v bigquery.Value) string {
	if v == nil {
		return "<NULL>"
	}
	return fmt.Sprint(v)
}

// TestViewTempoPorEstagio: a ticket 3 h in N1 then 5 h in N2 and closed; an
// open ticket whose current stage runs until now; a ticket the reconciliation
// marked excluido at the same atualizado_em_utc (ordered by sincronizado_em);
// a tie on both broken by situacao; a NULL stage as a group of its own.
func TestViewTempoPorEstagio(t *testing.T) {
	e := mustEnv(t)
	t0 := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	now := time.Now()
	e.mustLoad(t, warehouse.HistoryTable, warehouse.HistorySchema(),
		version(1, t0, "aberto", "N1", "M", t0),
		version(1, t0.Add(3*time.Hour), "aberto", "N2", "M", t0.Add(3*time.Hour)),
		version(1, t0.Add(8*time.Hour), "fechado", "N2", "M", t0.Add(8*time.Hour)),
		version(2, now.Add(-10*time.Hour), "aberto", "N1", "M", now.Add(-10*time.Hour)),
		version(2, now.Add(-4*time.Hour), "aberto", "N3", "M", now.Add(-4*time.Hour)),
		// The close found later: same atualizado_em_utc, later sincronizado_em.
		// Loaded first, so only the ordering can put it last.
		version(3, t0, "excluido", "N1", "M", t0.Add(48*time.Hour)),
		version(3, t0, "aberto", "N1", "M", t0),
		// Two passes of one pull read it open and canceled at the same
		// instants: canceled ranks last, as in the MERGE.
		version(5, t0, "cancelado", "N1", "M", t0),
		version(5, t0, "aberto", "N1", "M", t0),
		version(4, t0, "aberto", nil, "M", t0),
		version(4, t0.Add(2*time.Hour+30*time.Minute), "fechado", "N1", "M", t0.Add(3*time.Hour)),
	)
	e.mustViews(t)

	before := time.Now()
	rows := e.view(t, "v_tempo_por_estagio", "numero_ticket, estagio")
	after := time.Now()

	type key struct {
		n       int64
		estagio string
	}
	got := map[key]float64{}
	for _, r := range rows {
		got[key{r["numero_ticket"].(int64), str(r["estagio"])}] = float(r["horas"])
	}
	exact := map[key]float64{
		{1, "N1"}: 3, {1, "N2"}: 5,
		{2, "N1"}:     6,
		{3, "N1"}:     0,
		{5, "N1"}:     0,
		{4, "<NULL>"}: 2.5, {4, "N1"}: 0,
	}
	for k, want := range exact {
		if g, ok := got[k]; !ok || !near(g, want) {
			t.Errorf("ticket %d in %s: got %v hours (present %v), want %v", k.n, k.estagio, g, ok, want)
		}
	}
	// The open ticket's current stage: from 4 h before the test's now until
	// the query ran.
	lo := before.Sub(now.Add(-4*time.Hour)).Hours() - 1e-6
	hi := after.Sub(now.Add(-4*time.Hour)).Hours() + 1e-6
	if g := got[key{2, "N3"}]; g < lo || g > hi {
		t.Errorf("ticket 2 in N3 (open): got %v hours, want between %v and %v", g, lo, hi)
	}
	if len(rows) != len(exact)+1 {
		t.Errorf("rows: got %d %v, want %d", len(rows), rows, len(exact)+1)
	}
}

// TestViewBacklogDiario: four tickets over the last six local days; a desk
// change late in the local evening (the next day in UTC); a ticket created
// and closed on one day; an open one carried to today; a NULL desk.
func TestViewBacklogDiario(t *testing.T) {
	for attempt := 0; ; attempt++ {
		today := civil.DateOf(time.Now().In(saoPaulo))
		if backlogCase(t, today) || attempt == 1 {
			return
		}
		// The local date changed while the test ran: once more.
	}
}

// backlogCase runs the backlog case with today as the local date; it reports
// false, without failing, when the date changed before the view was read.
func backlogCase(t *testing.T, today civil.Date) bool {
	e := mustEnv(t)
	d0 := today.AddDays(-5)
	at := func(day, hour, minute int) time.Time {
		d := d0.AddDays(day)
		return time.Date(d.Year, d.Month, d.Day, hour, minute, 0, 0, saoPaulo)
	}
	var none time.Time
	e.mustLoad(t, warehouse.HistoryTable, warehouse.HistorySchema(),
		version(1, at(0, 10, 0), "aberto", "N1", "M1", at(0, 10, 0)),
		version(1, at(2, 9, 0), "fechado", "N1", "M1", at(2, 9, 0)),
		version(2, at(1, 10, 0), "aberto", "N1", "M1", at(1, 10, 0)),
		version(2, at(3, 22, 30), "aberto", "N1", "M2", at(3, 22, 30)), // 01:30 UTC of day 4
		version(3, at(1, 8, 0), "aberto", "N1", "M2", at(1, 8, 0)),
		version(3, at(1, 20, 0), "fechado", "N1", "M2", at(1, 20, 0)),
		version(4, at(2, 10, 0), "aberto", "N1", nil, at(2, 10, 0)),
		version(4, at(4, 10, 0), "excluido", "N1", nil, at(4, 10, 0)),
	)
	e.mustLoad(t, e.cfg.Table, warehouse.TicketsSchema(),
		ticketRow(1, at(0, 10, 0), at(2, 9, 0), at(2, 9, 0), "fechado", "M1", "Alta"),
		ticketRow(2, at(1, 10, 0), at(3, 22, 30), none, "aberto", "M2", "Alta"),
		ticketRow(3, at(1, 8, 0), at(1, 20, 0), at(1, 20, 0), "fechado", "M2", "Alta"),
		ticketRow(4, at(2, 10, 0), at(4, 10, 0), none, "excluido", nil, "Alta"),
	)
	e.mustViews(t)

	rows := e.view(t, "v_backlog_diario", "dia, mesa")
	if civil.DateOf(time.Now().In(saoPaulo)) != today {
		return false
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v %s abertos=%v criados=%v resolvidos=%v",
			r["dia"], str(r["mesa"]), r["abertos"], r["criados"], r["resolvidos"]))
	}
	day := func(i int) string { return d0.AddDays(i).String() }
	want := []string{
		day(0) + " M1 abertos=1 criados=1 resolvidos=0",
		day(1) + " M1 abertos=2 criados=0 resolvidos=0",
		day(1) + " M2 abertos=0 criados=2 resolvidos=1", // tickets 2 and 3 by current desk
		day(2) + " <NULL> abertos=1 criados=1 resolvidos=0",
		day(2) + " M1 abertos=1 criados=0 resolvidos=1",
		day(3) + " <NULL> abertos=1 criados=0 resolvidos=0",
		day(3) + " M2 abertos=1 criados=0 resolvidos=0", // moved at 22:30 local
		day(4) + " M2 abertos=1 criados=0 resolvidos=0",
		day(5) + " M2 abertos=1 criados=0 resolvidos=0", // today
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("v_backlog_diario:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	return true
}

// TestViewSlaMensal: one month, desk and priority with 1, 2, 3, 4 and 10
// hours to resolution (median 3; p90 at position 0.9 × 4 = 3.6, so
// 4 + 0.6 × (10 − 4) = 7.6), three of five on time, one with no verdict;
// the 10-hour one resolved at 23:00 local on March 31 (April 1 in UTC); a
// NULL desk; a ticket not resolved, left out.
func TestViewSlaMensal(t *testing.T) {
	e := mustEnv(t)
	c := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	resolved := func(n int64, created time.Time, hours float64, noPrazo any, mesa any, prioridade string) row {
		r := ticketRow(n, created, created, created.Add(time.Duration(hours*float64(time.Hour))), "fechado", mesa, prioridade)
		r["solucao_no_prazo"] = noPrazo
		return r
	}
	late := time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC) // + 10 h = 2026-04-01T02:00Z = 23:00 local
	open := ticketRow(9, c, c, time.Time{}, "aberto", "Suporte", "Alta")
	e.mustLoad(t, e.cfg.Table, warehouse.TicketsSchema(),
		resolved(1, c, 1, true, "Suporte", "Alta"),
		resolved(2, c, 2, true, "Suporte", "Alta"),
		resolved(3, c, 3, false, "Suporte", "Alta"),
		resolved(4, c, 4, nil, "Suporte", "Alta"),
		resolved(5, late, 10, true, "Suporte", "Alta"),
		resolved(6, c, 5, nil, nil, "Baixa"),
		open,
	)
	e.mustViews(t)

	rows := e.view(t, "v_sla_mensal", "mes, mesa, prioridade")
	type out struct {
		mes, mesa, prioridade string
		resolvidos, noPrazo   int64
		pct, mediana, p90     float64
	}
	var got []out
	for _, r := range rows {
		got = append(got, out{str(r["mes"]), str(r["mesa"]), str(r["prioridade"]),
			r["resolvidos"].(int64), r["resolvidos_no_prazo"].(int64),
			float(r["pct_no_prazo"]), float(r["horas_mediana"]), float(r["horas_p90"])})
	}
	want := []out{
		{"2026-03-01", "<NULL>", "Baixa", 1, 0, 0, 5, 5},
		{"2026-03-01", "Suporte", "Alta", 5, 3, 0.6, 3, 7.6},
	}
	if len(got) != len(want) {
		t.Fatalf("v_sla_mensal: got %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.mes != w.mes || g.mesa != w.mesa || g.prioridade != w.prioridade || g.resolvidos != w.resolvidos ||
			g.noPrazo != w.noPrazo || !near(g.pct, w.pct) || !near(g.mediana, w.mediana) || !near(g.p90, w.p90) {
			t.Errorf("row %d: got %+v, want %+v", i, g, w)
		}
	}
}

// TestViewTickets: hours to resolution, overdue only for an open ticket past
// its solve deadline (FALSE when situacao or the deadline is NULL), age in
// whole 24-hour periods, and every tickets column but dados.
func TestViewTickets(t *testing.T) {
	e := mustEnv(t)
	now := time.Now()
	created := now.Add(-(3*24*time.Hour + time.Hour))    // 3 days and 1 hour ago: 3
	younger := now.Add(-(2*24*time.Hour + 23*time.Hour)) // 2 days 23 hours ago: 2
	past, future := lt(now.Add(-time.Hour)), lt(now.Add(time.Hour))
	with := func(r row, kv ...any) row {
		for i := 0; i < len(kv); i += 2 {
			r[kv[i].(string)] = kv[i+1]
		}
		return r
	}
	e.mustLoad(t, e.cfg.Table, warehouse.TicketsSchema(),
		with(ticketRow(1, created, created, created.Add(7*time.Hour+30*time.Minute), "fechado", "M", "Alta"), "prazo_solucao", past),
		with(ticketRow(2, created, created, time.Time{}, "aberto", "M", "Alta"), "prazo_solucao", past),
		with(ticketRow(3, younger, younger, time.Time{}, "aberto", "M", "Alta"), "prazo_solucao", future),
		ticketRow(4, younger, younger, time.Time{}, "aberto", "M", "Alta"),
		with(ticketRow(5, younger, younger, time.Time{}, "", "M", "Alta"), "situacao", nil, "prazo_solucao", past),
	)
	e.mustViews(t)

	it, err := e.client.Query(fmt.Sprintf("SELECT * FROM `%s.%s.v_tickets` ORDER BY numero_ticket", project, e.cfg.Dataset)).Read(context.Background())
	if err != nil {
		t.Fatalf("read v_tickets: %v", err)
	}
	type out struct {
		horas    any
		atrasado any
		idade    any
	}
	var got []out
	for {
		r := map[string]bigquery.Value{}
		if err := it.Next(&r); err != nil {
			break
		}
		got = append(got, out{r["horas_ate_resolucao"], r["atrasado"], r["idade_dias"]})
	}
	want := []out{
		{7.5, false, int64(3)},
		{nil, true, int64(3)},
		{nil, false, int64(2)},
		{nil, false, int64(2)},
		{nil, false, int64(2)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("v_tickets (horas_ate_resolucao, atrasado, idade_dias):\n got %v\nwant %v", got, want)
	}

	var cols []string
	for _, f := range it.Schema {
		cols = append(cols, f.Name)
	}
	var wantCols []string
	for _, f := range warehouse.TicketsSchema() {
		if f.Name != "dados" {
			wantCols = append(wantCols, f.Name)
		}
	}
	wantCols = append(wantCols, "horas_ate_resolucao", "atrasado", "idade_dias")
	if !slices.Equal(cols, wantCols) {
		t.Errorf("v_tickets columns:\n got %v\nwant %v", cols, wantCols)
	}
}

// TestViewsRecreated: EnsureViews twice (the local runner's second run on the
// same emulator) leaves working views.
func TestViewsRecreated(t *testing.T) {
	e := mustEnv(t)
	e.mustViews(t)
	e.mustViews(t)
	for _, v := range warehouse.Views {
		if rows := e.query(t, fmt.Sprintf("SELECT COUNT(*) AS n FROM `%s.%s.%s`", project, e.cfg.Dataset, v)); len(rows) != 1 || rows[0]["n"] != int64(0) {
			t.Errorf("%s over empty tables: got %v, want one row n=0", v, rows)
		}
	}
}
