package main

import (
	"strings"
	"testing"
)

// TestViewsAfterSummary: a run ends with the top lines of v_sla_mensal and
// v_backlog_diario; with --json they go to stderr, so every stdout line is
// still a JSON summary (runLocal checks) and the last is the session's.
func TestViewsAfterSummary(t *testing.T) {
	r := runLocal(t, "--tickets", "300")

	if r.exit != 0 || r.last().Outcome != "ok" {
		t.Fatalf("got exit %d, %+v; want ok\n%s", r.exit, r.last(), r.stderr)
	}
	if strings.Contains(r.stderr, "views:") {
		t.Errorf("a view failed:\n%s", r.stderr)
	}
	for _, want := range []string{
		"v_sla_mensal: SLA by month",
		"v_backlog_diario: open, created and resolved",
		"dia", "mesa", "abertos", "criados", "resolvidos",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	sla := strings.Index(r.stderr, "v_sla_mensal:")
	backlog := strings.Index(r.stderr, "v_backlog_diario:")
	if sla < 0 || backlog < sla {
		t.Errorf("views: got v_sla_mensal at %d and v_backlog_diario at %d, want the SLA first", sla, backlog)
	}
}
