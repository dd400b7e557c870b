package warehouse

import (
	"context"
	"embed"
	"fmt"
	"strings"
	"time"
)

// The views' SQL is the one source for both Terraform (templatefile) and the
// local runner and tests (ViewSQL): each file is a query with the
// placeholders ${project}, ${dataset}, ${tickets_table}, ${history_table} and
// ${timezone}, and nothing else written ${...} or %{...}.
//
//go:embed views/*.sql
var viewFiles embed.FS

// Views are the views of CONTRACT section 9, in the order EnsureViews
// creates them. Each reads only the tables, never another view.
var Views = []string{"v_tickets", "v_backlog_diario", "v_tempo_por_estagio", "v_sla_mensal"}

// ViewSQL is the query of the named view (one of Views) for this Warehouse's
// project, dataset and tables, local dates in timezone (an IANA name,
// TIMEZONE).
func (w *Warehouse) ViewSQL(name, timezone string) (string, error) {
	b, err := viewFiles.ReadFile("views/" + name + ".sql")
	if err != nil {
		return "", fmt.Errorf("view %s: %w", name, err)
	}
	// The zone is written into the SQL as a string literal: only a name Go
	// knows, which holds no quote, goes there.
	if _, err := time.LoadLocation(timezone); err != nil || timezone == "" || timezone == "Local" || strings.ContainsAny(timezone, `'"\`) {
		return "", fmt.Errorf("view %s: time zone %q is not an IANA name", name, timezone)
	}
	return strings.NewReplacer(
		"${project}", w.c.Project(),
		"${dataset}", w.cfg.Dataset,
		"${tickets_table}", w.cfg.Table,
		"${history_table}", HistoryTable,
		"${timezone}", timezone,
	).Replace(string(b)), nil
}

// EnsureViews (re)creates the views in the dataset with DROP VIEW IF EXISTS,
// then CREATE VIEW: the emulator reports CREATE OR REPLACE VIEW on an
// existing view as a duplicate yet half-applies it. In the cloud Terraform
// creates the views from the same files; this is for the local runner and
// the tests.
func (w *Warehouse) EnsureViews(ctx context.Context, timezone string) error {
	for _, name := range Views {
		query, err := w.ViewSQL(name, timezone)
		if err != nil {
			return err
		}
		ref := w.tableRef(name)
		for _, stmt := range []string{"DROP VIEW IF EXISTS " + ref, "CREATE VIEW " + ref + " AS\n" + query} {
			if _, err := w.read(ctx, stmt); err != nil {
				return fmt.Errorf("view %s: %w", name, err)
			}
		}
	}
	return nil
}
