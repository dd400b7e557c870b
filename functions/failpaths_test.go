package functions

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/extract"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/logging"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/session"
)

// A panic in any function is one redacted ERROR line and a 500 (HTTP) or a
// non-2xx (events, so Eventarc redelivers), never the framework's raw stack.
func TestPanicsAreOneRedactedErrorLine(t *testing.T) {
	const canary = "panic-canary-secret-9f1c"
	tests := []struct {
		name    string
		arrange func()
		call    func(t *testing.T, w *world) int
		status  int
	}{
		{"HTTP", func() {
			// A Starter without its web client: Start panics on a nil interface.
			starter = lazy[*session.Starter]{build: func(context.Context) (*session.Starter, error) {
				return &session.Starter{Password: canary, Now: time.Now, Log: logger, NewID: func() string { panic("id " + canary) }}, nil
			}}
		}, func(t *testing.T, w *world) int {
			return post(t, "/StartLogin", []byte(`{}`), nil).status
		}, 500},
		{"Event", func() {
			loader = lazy[*extract.Loader]{build: func(context.Context) (*extract.Loader, error) {
				return &extract.Loader{Now: func() time.Time { panic(errors.New("clock " + canary)) }, Log: logger}, nil
			}}
		}, func(t *testing.T, w *world) int {
			return deliver(t, "ExtractLoad", "session-ready", w.sessionReady(t, "0190e000-eeee-7000-8000-000000000009"), time.Now())
		}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWorld(t, websim.Options{}, nil)
			defer logging.RedactScoped(logger, canary)()
			stderr := captureStderr(t)
			tt.arrange()
			if got := tt.call(t, w); got/100 != tt.status/100 {
				t.Errorf("got %d, want %d", got, tt.status)
			}
			logs := w.readLogs(t)
			var panics []string
			for _, l := range strings.Split(logs, "\n") {
				if strings.Contains(l, "function.panic") {
					panics = append(panics, l)
				}
			}
			if len(panics) != 1 || !strings.Contains(panics[0], `"severity":"ERROR"`) {
				t.Errorf("got %d panic lines, want one ERROR line:\n%s", len(panics), logs)
			}
			all := logs + stderr()
			if strings.Contains(all, canary) || strings.Contains(all, "goroutine ") {
				t.Errorf("the secret or a raw stack was written:\n%s", all)
			}
		})
	}
}

// captureStderr sends os.Stderr to a file until the test ends; the returned
// function reads what was written.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = f
	t.Cleanup(func() { os.Stderr = old })
	return func() string {
		b, _ := os.ReadFile(f.Name())
		return string(b)
	}
}

// A build that hangs does not block the requests after it: each waits at
// most the build timeout, and once the hang ends a new build is tried.
func TestHungBuildDoesNotBlockLaterRequests(t *testing.T) {
	release := make(chan struct{})
	var builds atomic.Int32
	l := &lazy[int]{timeout: 100 * time.Millisecond, build: func(ctx context.Context) (int, error) {
		if builds.Add(1) == 1 {
			<-release // hangs, ignoring its context
		}
		return 42, nil
	}}
	answered := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { _, err := l.get(context.Background()); answered <- err }()
	}
	for i := 0; i < 3; i++ {
		select {
		case err := <-answered:
			if err == nil {
				t.Errorf("request %d: got a value from a hung build", i)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a request is still blocked behind the hung build")
		}
	}
	close(release)
	time.Sleep(50 * time.Millisecond)
	if v, err := l.get(context.Background()); err != nil || v != 42 {
		t.Errorf("after the hang: got %d, %v; want 42", v, err)
	}
}
