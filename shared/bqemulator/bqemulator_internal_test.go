package bqemulator

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRepoRootFindsToolsModule(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("repoRoot: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "go.mod")); err != nil {
		t.Errorf("repoRoot %s: got no tools/go.mod (%v), want one", root, err)
	}
}

func TestBinaryPathHonoursEnv(t *testing.T) {
	t.Setenv("BIGQUERY_EMULATOR_BIN", "/x/emu")
	if got, err := BinaryPath(); err != nil || got != "/x/emu" {
		t.Errorf("BinaryPath: got %q, %v; want /x/emu, nil", got, err)
	}
	t.Setenv("BIGQUERY_EMULATOR_BIN", "")
	t.Setenv("HOME", "/home/u")
	want := "/home/u/.cache/tiflux-pipeline/bigquery-emulator-" + Version
	if got, err := BinaryPath(); err != nil || got != want {
		t.Errorf("BinaryPath: got %q, %v; want %q, nil", got, err, want)
	}
}
