package config_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/config"
)

var update = flag.Bool("update", false, "rewrite the README's configuration table from config.Table")

// The README's configuration table, between these lines, is generated from
// config.Table.
const (
	tableBegin = "<!-- configuration table: generated from shared/config.Table by `go test ./shared/config -run TestREADMETable -update`; do not edit -->"
	tableEnd   = "<!-- end of the configuration table -->"
)

var readmePath = filepath.Join("..", "..", "README.md")

// markdownTable renders the table's entries as the README shows them.
func markdownTable(vars []config.Var) string {
	var b strings.Builder
	b.WriteString("| variable | meaning | default | bounds | read by | set in the cloud |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, v := range vars {
		def := "unset"
		switch {
		case v.Required:
			def = "required"
		case v.Default != "":
			def = "`" + v.Default + "`"
		}
		bounds := ""
		if v.Min != 0 || v.Max != 0 {
			bounds = fmt.Sprintf("%d to %d", v.Min, v.Max)
		}
		readBy := "all"
		if len(v.ReadBy) != len(config.Functions) {
			var names []string
			for _, fn := range v.ReadBy {
				names = append(names, string(fn))
			}
			readBy = strings.Join(names, ", ")
		}
		var set string
		switch v.Set {
		case config.SetByVariable:
			set = "Terraform variable `" + v.From + "`"
		case config.SetBySecret:
			set = "Secret Manager `" + v.From + "`"
		case config.SetFixed:
			set = "Terraform: " + v.From
		case config.SetLocally:
			set = "never (local runs and tests)"
		}
		if v.AuthMode != "" {
			set += ", when `auth_mode` is `" + string(v.AuthMode) + "`"
		}
		if v.SwitchedBy != "" {
			set += ", while `" + v.SwitchedBy + "` is set"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", v.Name, v.Doc, def, bounds, readBy, set)
	}
	return b.String()
}

// The README's configuration table is the table's: a variable added, changed
// or given another reader shows there (run with -update to rewrite it).
func TestREADMETable(t *testing.T) {
	src, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	i, j := strings.Index(text, tableBegin), strings.Index(text, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no configuration table between %q and %q", tableBegin, tableEnd)
	}
	got := text[i+len(tableBegin) : j]
	want := "\n" + markdownTable(config.Table)
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(readmePath, []byte(text[:i+len(tableBegin)]+want+text[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's configuration table differs from config.Table; run go test ./shared/config -run TestREADMETable -update. Want:\n%s", want)
}

// Every entry is complete: how it is set, where from, who reads it, and
// bounds only on whole numbers with a default inside them.
func TestTableEntriesComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range config.Table {
		t.Run(v.Name, func(t *testing.T) {
			if seen[v.Name] {
				t.Errorf("listed twice")
			}
			seen[v.Name] = true
			if v.Doc == "" || len(v.ReadBy) == 0 || v.Set == 0 {
				t.Errorf("got doc %q, readers %v, set %d; want all given", v.Doc, v.ReadBy, v.Set)
			}
			if (v.From == "") != (v.Set == config.SetLocally) {
				t.Errorf("got From %q with set %d, want a source exactly when set in the cloud", v.From, v.Set)
			}
			if v.Min != 0 || v.Max != 0 {
				var n int
				if _, err := fmt.Sscan(v.Default, &n); err != nil || n < v.Min || n > v.Max {
					t.Errorf("default %q is not a whole number from %d to %d", v.Default, v.Min, v.Max)
				}
			}
		})
	}
}
