package bqemulator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/testkit"
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

// A first-time build says it is alive: a line per interval with the time
// spent, then how long it took.
func TestWithProgressTicksWhileBuilding(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantLast string
	}{
		{"built", nil, "emu: built in "},
		{"failed", errors.New("boom"), "emu: build failed after "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out testkit.Buffer
			release := make(chan struct{})
			go func() {
				// Let the build run until three ticks have been written.
				for strings.Count(out.String(), "still building") < 3 {
					time.Sleep(time.Millisecond)
				}
				close(release)
			}()
			err := withProgress(&out, "emu", 5*time.Millisecond, func() error {
				<-release
				return tt.err
			})
			if !errors.Is(err, tt.err) {
				t.Errorf("got error %v, want %v", err, tt.err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) < 4 {
				t.Fatalf("got %q, want at least three progress lines and a last one", lines)
			}
			for _, l := range lines[:len(lines)-1] {
				if !strings.HasPrefix(l, "emu: still building (") || !strings.HasSuffix(l, " elapsed)") {
					t.Errorf("got progress line %q, want \"emu: still building (<elapsed> elapsed)\"", l)
				}
			}
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, tt.wantLast) {
				t.Errorf("got last line %q, want it to start %q", last, tt.wantLast)
			}
		})
	}
}

func TestWithProgressSilentWithoutWriter(t *testing.T) {
	called := false
	if err := withProgress(nil, "emu", time.Millisecond, func() error { called = true; return nil }); err != nil || !called {
		t.Errorf("got called=%v err=%v, want fn run once without error", called, err)
	}
}
