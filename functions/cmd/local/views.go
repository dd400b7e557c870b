package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/iterator"
)

// viewPreviews are the top lines printed after the summary: the answers a
// first run ends with (CONTRACT section 9).
var viewPreviews = []struct{ title, sql string }{
	{"v_sla_mensal: SLA by month of resolution, desk and priority (latest first)",
		"SELECT mes, mesa, prioridade, resolvidos, resolvidos_no_prazo, pct_no_prazo, horas_mediana, horas_p90 FROM `%s.v_sla_mensal` ORDER BY mes DESC, resolvidos DESC, mesa, prioridade LIMIT 8"},
	{"v_backlog_diario: open, created and resolved tickets by local day and desk (latest first)",
		"SELECT dia, mesa, abertos, criados, resolvidos FROM `%s.v_backlog_diario` ORDER BY dia DESC, abertos DESC, mesa LIMIT 8"},
}

// showViews prints the views' top lines after the summaries: on stdout, or
// with --json on stderr, so that the JSON summary stays the last line of
// stdout. A view that cannot be read is reported on stderr; it does not
// change the exit code, which says how the session went.
func (e *env) showViews(ctx context.Context, stdout, stderr io.Writer) {
	w := stdout
	if e.o.json {
		w = stderr
	}
	if err := e.printViews(ctx, w); err != nil {
		fmt.Fprintln(stderr, "views:", err)
	}
}

// printViews creates the views in the emulator from the same SQL files
// Terraform deploys, then prints the top lines of v_sla_mensal and
// v_backlog_diario. Local dates are in TIMEZONE, as the functions read it.
func (e *env) printViews(ctx context.Context, w io.Writer) error {
	if err := e.wh.EnsureViews(ctx, e.cfg.extract.TimeZone.String()); err != nil {
		return fmt.Errorf("create views: %w", err)
	}
	for _, p := range viewPreviews {
		it, err := e.bq.Query(fmt.Sprintf(p.sql, e.cfg.extract.Dataset)).Read(ctx)
		if err != nil {
			return fmt.Errorf("read %s: %w", strings.Fields(p.title)[0], err)
		}
		fmt.Fprintf(w, "\n%s\n", p.title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		header := false
		rows := 0
		for {
			var r []bigquery.Value
			err := it.Next(&r)
			if err == iterator.Done {
				break
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", strings.Fields(p.title)[0], err)
			}
			if !header {
				for _, f := range it.Schema {
					fmt.Fprintf(tw, "%s\t", f.Name)
				}
				fmt.Fprintln(tw)
				header = true
			}
			for _, v := range r {
				fmt.Fprintf(tw, "%s\t", cell(v))
			}
			fmt.Fprintln(tw)
			rows++
		}
		if rows == 0 {
			fmt.Fprintln(tw, "  (no rows yet)")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// cell formats one value for the preview.
func cell(v bigquery.Value) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case float64:
		return fmt.Sprintf("%.2f", x)
	case civil.Date:
		return x.String()
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}
