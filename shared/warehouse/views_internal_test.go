package warehouse

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/option"
)

func offlineWarehouse(t *testing.T) *Warehouse {
	t.Helper()
	c, err := bigquery.NewClient(context.Background(), "proj-1", option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return New(c, Config{Dataset: "ds", Table: "chamados"})
}

// TestViewFilesAreTheViews: every SQL file is a view of the list and back, and
// each renders with no placeholder left (Terraform's templatefile would fail
// on one it does not know, Go would leave it in the SQL).
func TestViewFilesAreTheViews(t *testing.T) {
	names, err := fs.Glob(viewFiles, "views/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range names {
		got = append(got, strings.TrimSuffix(strings.TrimPrefix(n, "views/"), ".sql"))
	}
	want := slices.Clone(Views)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("view files: got %v, want %v", got, want)
	}
	w := offlineWarehouse(t)
	for _, v := range Views {
		t.Run(v, func(t *testing.T) {
			sql, err := w.ViewSQL(v, "America/Manaus")
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"${", "%{"} {
				if strings.Contains(sql, bad) {
					t.Errorf("rendered SQL holds %q:\n%s", bad, sql)
				}
			}
			if !strings.Contains(sql, "`proj-1.ds.chamados`") && !strings.Contains(sql, "`proj-1.ds.tickets_historico`") {
				t.Errorf("rendered SQL reads neither proj-1.ds.chamados nor proj-1.ds.tickets_historico:\n%s", sql)
			}
		})
	}
}

// TestViewSQLRejectsZone: the zone is written into the SQL as a literal, so
// only an IANA name gets there.
func TestViewSQLRejectsZone(t *testing.T) {
	w := offlineWarehouse(t)
	for _, tz := range []string{"", "Local", "America/Sao_Paulo') OR ('1", "Nowhere/Atlantis"} {
		t.Run(tz, func(t *testing.T) {
			if sql, err := w.ViewSQL("v_backlog_diario", tz); err == nil {
				t.Errorf("ViewSQL(%q): got no error and\n%s\nwant an error", tz, sql)
			}
		})
	}
	if _, err := w.ViewSQL("v_nada", "UTC"); err == nil {
		t.Error("ViewSQL(v_nada): got no error, want one")
	}
}
