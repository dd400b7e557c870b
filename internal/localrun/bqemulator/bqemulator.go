// Package bqemulator runs the BigQuery emulator (github.com/goccy/bigquery-emulator)
// as a separate process for tests, the local runner and the bench command. It is
// never imported by the deployed functions: the emulator is built from the tools
// module, so it stays out of their dependency graph.
//
// Where the emulator differs from BigQuery (see the warehouse package for how the
// loader copes): it accepts only a table as a MERGE source, returns no DML
// statistics, answers a reused job id with a 400 instead of a 409, and reports every
// job as DONE without its error on jobs.get.
package bqemulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Version is the emulator release pinned in tools/go.mod.
const Version = "v0.8.1"

const pkg = "github.com/goccy/bigquery-emulator/cmd/bigquery-emulator"

// Options configure Start.
type Options struct {
	// Project is the project the emulator serves. Required.
	Project string
	// Bin is the emulator binary; empty means BinaryPath's choice.
	Bin string
	// Stderr receives the emulator's own output; nil discards it.
	Stderr io.Writer
	// StartTimeout bounds the wait for the emulator to answer; 0 means 30 s.
	StartTimeout time.Duration
	// Progress, when set, hears about a first-time build of the binary: what
	// it is, that it happens once, and a line every 15 s while it lasts.
	Progress io.Writer
}

// Emulator is a running emulator (or the one BIGQUERY_EMULATOR_HOST names).
type Emulator struct {
	Host      string // "127.0.0.1:port", the REST endpoint without scheme
	ProjectID string

	cmd  *exec.Cmd
	done chan struct{}
}

// Start returns the emulator named by BIGQUERY_EMULATOR_HOST when it is set;
// otherwise it finds or builds the binary and starts it on free loopback ports,
// returning once it answers HTTP.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	if opts.Project == "" {
		return nil, errors.New("bqemulator: Options.Project is required")
	}
	if host := os.Getenv("BIGQUERY_EMULATOR_HOST"); host != "" {
		return &Emulator{Host: host, ProjectID: opts.Project}, nil
	}
	bin := opts.Bin
	if bin == "" {
		var err error
		if bin, err = EnsureBinaryProgress(ctx, opts.Progress); err != nil {
			return nil, err
		}
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	var lastErr error
	// A free port found by listening can be taken before the emulator binds it;
	// try a few times.
	for attempt := 0; attempt < 3; attempt++ {
		e, err := start(ctx, bin, opts, timeout)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, bin string, opts Options, timeout time.Duration) (*Emulator, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, fmt.Errorf("bqemulator: free port: %w", err)
	}
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	cmd := exec.Command(bin,
		"--project="+opts.Project,
		"--host=127.0.0.1",
		"--port="+strconv.Itoa(ports[0]),
		"--grpc-port="+strconv.Itoa(ports[1]),
		"--log-level=error",
	)
	cmd.Stdout = opts.Stderr
	cmd.Stderr = opts.Stderr
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bqemulator: start %s: %w", bin, err)
	}
	e := &Emulator{Host: host, ProjectID: opts.Project, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(e.done)
	}()
	if err := e.waitReady(ctx, timeout); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Emulator) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + e.Host + "/bigquery/v2/projects/" + e.ProjectID + "/datasets"
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-e.done:
			return fmt.Errorf("bqemulator: the emulator exited before answering on %s", e.Host)
		case <-ctx.Done():
			return fmt.Errorf("bqemulator: no answer on %s: %w", e.Host, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close stops the emulator process; it does nothing for one named by
// BIGQUERY_EMULATOR_HOST.
func (e *Emulator) Close() error {
	if e == nil || e.cmd == nil || e.cmd.Process == nil {
		return nil
	}
	select {
	case <-e.done:
		return nil
	default:
	}
	err := e.cmd.Process.Kill()
	<-e.done
	return err
}

// MustStart starts an emulator for a test and stops it at the end of it. It
// fails the test, never skips it, when no emulator can be had.
func MustStart(tb testing.TB, project string) *Emulator {
	tb.Helper()
	e, err := Start(context.Background(), Options{Project: project, Stderr: os.Stderr})
	if err != nil {
		tb.Fatalf("BigQuery emulator: %v", err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

// BinaryPath is where the emulator binary is looked for: $BIGQUERY_EMULATOR_BIN,
// else $HOME/.cache/tiflux-pipeline/bigquery-emulator-<Version>.
func BinaryPath() (string, error) {
	if p := os.Getenv("BIGQUERY_EMULATOR_BIN"); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("bqemulator: no home directory for the binary cache: %w", err)
	}
	return filepath.Join(home, ".cache", "tiflux-pipeline", "bigquery-emulator-"+Version), nil
}

// EnsureBinary returns BinaryPath, building the emulator there first from the
// tools module when no executable is there yet. Concurrent callers (parallel
// test binaries) wait for one build under a lock file; the binary appears by
// rename, so nobody runs a half-written file. The first build takes minutes.
func EnsureBinary(ctx context.Context) (string, error) {
	return EnsureBinaryProgress(ctx, nil)
}

// progressEvery is how often a first-time build says it is still going.
var progressEvery = 15 * time.Second

// EnsureBinaryProgress is EnsureBinary telling w (when not nil) what a
// first-time build is doing: it is a one-time build and where the result
// goes, a line every 15 s with the time spent, and the end.
func EnsureBinaryProgress(ctx context.Context, w io.Writer) (string, error) {
	bin, err := BinaryPath()
	if err != nil {
		return "", err
	}
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", fmt.Errorf("bqemulator: cache directory: %w", err)
	}
	say(w, "BigQuery emulator %s: not built yet. Building it once from the tools module into %s;"+
		" this takes about 5 to 10 minutes on a fresh machine (downloading and compiling), and later runs reuse it.", Version, bin)
	err = withProgress(w, "BigQuery emulator", progressEvery, func() error {
		unlock, err := lockFile(bin + ".lock")
		if err != nil {
			return fmt.Errorf("bqemulator: lock: %w", err)
		}
		defer unlock()
		if isExecutable(bin) { // built by another process while we waited for the lock
			return nil
		}
		root, err := repoRoot()
		if err != nil {
			return err
		}
		tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", tmp, pkg)
		cmd.Dir = filepath.Join(root, "tools")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("bqemulator: go build %s in %s: %w\n%s", pkg, cmd.Dir, err, out)
		}
		if err := os.Rename(tmp, bin); err != nil {
			return fmt.Errorf("bqemulator: install binary: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	say(w, "BigQuery emulator: ready at %s", bin)
	return bin, nil
}

func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// withProgress runs fn, the build of name, writing "<name>: still building
// (<elapsed> elapsed)" to w every interval until fn returns, then one line
// with the total time.
func withProgress(w io.Writer, name string, every time.Duration, fn func() error) error {
	if w == nil {
		return fn()
	}
	start := time.Now()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				say(w, "%s: still building (%s elapsed)", name, time.Since(start).Round(time.Second))
			}
		}
	}()
	err := fn()
	close(done)
	<-stopped
	if err != nil {
		say(w, "%s: build failed after %s", name, time.Since(start).Round(time.Second))
		return err
	}
	say(w, "%s: built in %s", name, time.Since(start).Round(time.Second))
	return nil
}

// repoRoot walks up from the working directory to the directory that holds
// tools/go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("bqemulator: working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bqemulator: no tools/go.mod above the working directory; set BIGQUERY_EMULATOR_BIN or BIGQUERY_EMULATOR_HOST")
		}
		dir = parent
	}
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// RunTests is a test binary's TestMain body: it starts one emulator for the
// whole binary, hands it to use, runs the tests and stops it. It fails the
// binary, never skips it, when no emulator can be had.
func RunTests(m *testing.M, project string, use func(*Emulator)) int {
	e, err := Start(context.Background(), Options{Project: project})
	if err != nil {
		fmt.Fprintf(os.Stderr, "BigQuery emulator: %v\n", err)
		return 1
	}
	defer e.Close()
	use(e)
	return m.Run()
}
