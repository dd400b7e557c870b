package bqemulator_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/bqemulator"
)

func TestVersionMatchesToolsModule(t *testing.T) {
	b, err := os.ReadFile("../../../tools/go.mod")
	if err != nil {
		t.Fatalf("read tools/go.mod: %v", err)
	}
	want := "github.com/goccy/bigquery-emulator " + bqemulator.Version
	if !strings.Contains(string(b), want) {
		t.Errorf("tools/go.mod does not pin %q; bqemulator.Version drifted", want)
	}
}

func TestStartAnswersAndCloses(t *testing.T) {
	t.Setenv("BIGQUERY_EMULATOR_HOST", "")
	e := bqemulator.MustStart(t, "p")
	resp, err := http.Get("http://" + e.Host + "/bigquery/v2/projects/p/datasets")
	if err != nil {
		t.Fatalf("GET datasets: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status: got %d, want 200", resp.StatusCode)
	}
	if err := e.Close(); err != nil {
		t.Logf("Close: %v", err)
	}
	if _, err := http.Get("http://" + e.Host + "/bigquery/v2/projects/p/datasets"); err == nil {
		t.Errorf("emulator still answers after Close")
	}
}

func TestStartUsesEmulatorHost(t *testing.T) {
	t.Setenv("BIGQUERY_EMULATOR_HOST", "127.0.0.1:1")
	e := bqemulator.MustStart(t, "p")
	if e.Host != "127.0.0.1:1" || e.ProjectID != "p" {
		t.Errorf("got %+v, want Host 127.0.0.1:1, ProjectID p", e)
	}
}
