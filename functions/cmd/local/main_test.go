package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/bqemulator"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/testkit"
)

// These tests run the local runner as a user does, as its own process, each
// scenario with a dataset of its own in one shared BigQuery emulator.
var (
	localBin string
	bqHost   string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "local-test")
	if err != nil {
		panic(err)
	}
	localBin = filepath.Join(dir, "local")
	if out, err := exec.Command("go", "build", "-o", localBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the local runner: %v\n%s", err, out)
		os.Exit(1)
	}
	code := bqemulator.RunTests(m, project, func(e *bqemulator.Emulator) { bqHost = e.Host })
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	exit      int
	summaries []summary
	stderr    string
}

func runLocal(t *testing.T, args ...string) result {
	t.Helper()
	return runLocalEnv(t, []string{"BIGQUERY_EMULATOR_HOST=" + bqHost}, args...)
}

// runLocalEnv runs the local runner with env added to this process's own
// (the last value of a variable wins).
func runLocalEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	dataset := testkit.Dataset(t)
	args = append([]string{"--json", "--addr", "127.0.0.1:0", "--dataset", dataset}, args...)
	cmd := exec.Command(localBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if line == "" {
			continue
		}
		var s summary
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("a stdout line is not a JSON summary: %q (%v)\nstderr:\n%s", line, err, r.stderr)
		}
		r.summaries = append(r.summaries, s)
	}
	return r
}

func (r result) last() summary { return r.summaries[len(r.summaries)-1] }

func TestWholeChain(t *testing.T) {
	r := runLocal(t, "--tickets", "3000", "--audit")

	s := r.last()
	if r.exit != 0 || s.Outcome != "ok" || s.Tickets != 3000 || !s.Logout || s.RowsInTable != 3000 || s.Inserted != 3000 {
		t.Fatalf("got exit %d, %+v; want ok, 3000 tickets inserted and in the table, logged out\n%s", r.exit, s, r.stderr)
	}
	if s.Auth != "otp" || s.Mode != "full" || s.Logouts == nil || *s.Logouts != 1 {
		t.Errorf("got auth %q mode %q logouts %v; want otp, full (first run), exactly one logout", s.Auth, s.Mode, s.Logouts)
	}
	// login, code, 15 full pages, the short 16th, a one-page sweep, logout
	if s.Pages < 16 || s.Requests < s.Pages+3 {
		t.Errorf("got %d pages, %d requests; want at least 16 pages and pages+3 requests", s.Pages, s.Requests)
	}
	if s.Leaks == nil || len(*s.Leaks) != 0 {
		t.Errorf("secrets in clear: %v", s.Leaks)
	}
}

// An emulator started by hand for another project (BIGQUERY_EMULATOR_HOST)
// is used with GOOGLE_CLOUD_PROJECT; a project it does not serve gets an
// error that says how to fix it.
func TestOutsideEmulatorOtherProject(t *testing.T) {
	t.Setenv("BIGQUERY_EMULATOR_HOST", "") // this test's own emulator, not the shared one
	other := bqemulator.MustStart(t, "other-proj")

	tests := []struct {
		name       string
		project    string
		wantExit   int
		wantStderr string
	}{
		{"served_project", "other-proj", 0, "tables other-proj.{dataset}"},
		{"unserved_project", "wrong-proj", 1, "start it with --project=wrong-proj, or set GOOGLE_CLOUD_PROJECT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runLocalEnv(t, []string{"BIGQUERY_EMULATOR_HOST=" + other.Host, "GOOGLE_CLOUD_PROJECT=" + tt.project},
				"--tickets", "200")
			want := strings.ReplaceAll(tt.wantStderr, "{dataset}", testkit.Dataset(t))
			if r.exit != tt.wantExit || !strings.Contains(r.stderr, want) {
				t.Fatalf("got exit %d, stderr:\n%s\nwant exit %d and %q", r.exit, r.stderr, tt.wantExit, want)
			}
			if tt.wantExit != 0 {
				return
			}
			s := r.last()
			if s.Outcome != "ok" || s.Tickets != 200 || s.RowsInTable != 200 || s.Project != "other-proj" {
				t.Errorf("got %+v; want ok, 200 tickets in the table of project other-proj", s)
			}
		})
	}
}

func TestAPITokenMode(t *testing.T) {
	r := runLocal(t, "--tickets", "400", "--api-token", "--audit")

	s := r.last()
	if r.exit != 0 || s.Outcome != "ok" || s.Auth != "api-token" || !s.Logout || s.Tickets != 400 {
		t.Fatalf("got exit %d, %+v; want ok in api-token mode with 400 tickets\n%s", r.exit, s, r.stderr)
	}
	if s.Logouts == nil || *s.Logouts != 0 || s.Requests != s.Pages {
		t.Errorf("got %v logouts and %d requests for %d pages; want no login or logout requests at all", s.Logouts, s.Requests, s.Pages)
	}
	if s.Leaks == nil || len(*s.Leaks) != 0 {
		t.Errorf("secrets in clear: %v", s.Leaks)
	}
}

// Every message delivered twice: each consumer is idempotent.
func TestRedelivery(t *testing.T) {
	r := runLocal(t, "--tickets", "1000", "--redeliver", "--sessions", "2", "--verify", "--audit")

	if r.exit != 0 || len(r.summaries) != 2 {
		t.Fatalf("got exit %d, %d summaries; want 0 and 2\n%s", r.exit, len(r.summaries), r.stderr)
	}
	for i, s := range r.summaries {
		if s.Outcome != "ok" || s.Logouts == nil || *s.Logouts != 1 || s.RowsInTable != 1000 {
			t.Errorf("session %d: %+v; want ok, one logout, 1000 rows", i+1, s)
		}
	}
	if v := r.last().Verify; v == nil || v.Missing+v.Duplicated+v.Stale != 0 {
		t.Errorf("table against the web system: %+v; want 0 missing, duplicated, stale", v)
	}
}

// Faults, churn and a token that dies mid-pull, then a clean run: the table
// ends up equal to the web system's tickets.
func TestFaultsThenCleanRun(t *testing.T) {
	r := runLocal(t, "--tickets", "1500", "--sessions", "2", "--fault-rate", "0.1", "--churn", "0.02",
		"--token-ttl-requests", "5", "--verify", "--audit")

	if len(r.summaries) != 2 {
		t.Fatalf("got %d summaries, want 2\n%s", len(r.summaries), r.stderr)
	}
	first, last := r.summaries[0], r.summaries[1]
	if first.Outcome != "failed" || !strings.Contains(first.Error, "401") || !first.Logout {
		t.Errorf("faulty session: %+v; want failed on the expired token (401), logged out", first)
	}
	if first.RowsInTable != first.Tickets {
		t.Errorf("faulty session loaded %d of the %d tickets it fetched; want all of them (never half a merge)", first.RowsInTable, first.Tickets)
	}
	if last.Outcome != "ok" || last.Verify == nil || last.Verify.Missing+last.Verify.Duplicated+last.Verify.Stale != 0 {
		t.Errorf("clean session: %+v verify %+v; want ok and the table equal to the truth", last, last.Verify)
	}
	// The faulty session's token died, so its logout met a dead session
	// (401: logged out all the same); the clean one logs out once.
	if first.Logouts == nil || *first.Logouts != 0 {
		t.Errorf("faulty session: %v logouts accepted, want 0 (its token had died)", first.Logouts)
	}
	if last.Logouts == nil || *last.Logouts != 1 {
		t.Errorf("clean session: %v logouts accepted, want exactly 1", last.Logouts)
	}
	if last.Leaks == nil || len(*last.Leaks) != 0 {
		t.Errorf("secrets in clear: %v", last.Leaks)
	}
	if r.exit != 1 {
		t.Errorf("got exit %d, want 1: a session failed", r.exit)
	}
}

// A pull longer than one invocation continues through session.continue.
func TestContinuation(t *testing.T) {
	r := runLocal(t, "--tickets", "1200", "--chunk-seconds", "1", "--latency", "150ms", "--verify")

	s := r.last()
	if r.exit != 0 || s.Outcome != "ok" || s.Tickets < 1200 || s.Verify == nil || s.Verify.Missing+s.Verify.Duplicated+s.Verify.Stale != 0 {
		t.Fatalf("got exit %d, %+v verify %+v; want ok with the table equal to the truth\n%s", r.exit, s, s.Verify, r.stderr)
	}
}

// An outside web system (websim as its own process) and an outside caller
// of the webhook (this test, as the Apps Script would) drive the chain.
func TestOutsideWebSystemAndWebhook(t *testing.T) {
	dir := t.TempDir()
	websimBin := filepath.Join(dir, "websim")
	if out, err := exec.Command("go", "build", "-o", websimBin, "../websim").CombinedOutput(); err != nil {
		t.Fatalf("build websim: %v\n%s", err, out)
	}
	webAddr, fnAddr := freeAddr(t), freeAddr(t)
	mailbox := filepath.Join(dir, "mailbox.jsonl")
	sim := exec.Command(websimBin, "--addr", webAddr, "--tickets", "300", "--rate-limit", "0",
		"--email", "robo@example.com.br", "--password", "senha-do-robo-1", "--mailbox", mailbox)
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Process.Kill(); _ = sim.Wait() })
	waitTCP(t, webAddr)

	const secret = "segredo-do-webhook-de-teste"
	cmd := exec.Command(localBin, "--json", "--addr", fnAddr, "--dataset", "t_outside",
		"--web-url", "http://"+webAddr, "--otp-via", "webhook")
	cmd.Env = append(os.Environ(), "BIGQUERY_EMULATOR_HOST="+bqHost, "WEB_EMAIL=robo@example.com.br",
		"WEB_PASSWORD=senha-do-robo-1", "OTP_WEBHOOK_SECRET="+secret)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// Act as the Apps Script: wait for the e-mail, sign the code, post it.
	var m mail
	deadline := time.Now().Add(60 * time.Second)
	for m.Code == "" {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no code e-mailed\n%s", stderr.String())
		}
		if b, err := os.ReadFile(mailbox); err == nil && len(b) > 0 {
			_ = json.Unmarshal(bytes.SplitN(b, []byte("\n"), 2)[0], &m)
		}
		time.Sleep(100 * time.Millisecond)
	}
	script := &appsScript{url: "http://" + fnAddr + "/CompleteLogin", secret: []byte(secret)}
	if err := script.post(context.Background(), webhookBody{Code: m.Code, ReceivedAt: m.SentAt.UTC().Format(time.RFC3339),
		MessageID: m.MessageID, Source: "gmail"}, m.SentAt); err != nil {
		t.Fatalf("post the code: %v\n%s", err, stderr.String())
	}

	if err := cmd.Wait(); err != nil {
		t.Fatalf("local: %v\n%s", err, stderr.String())
	}
	var s summary
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatal(err)
	}
	if s.Outcome != "ok" || s.Tickets != 300 || !s.Logout || s.Auth != "otp" {
		t.Errorf("got %+v; want ok, 300 tickets, logged out", s)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitTCP(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// The real system's ways (issue 10): an unstable order, churn of every kind
// during the pull, then silent closes, cancels and deletes between two runs;
// after the second run the table equals the truth, situacao included.
func TestUnstableOrderChurnAndSilentChanges(t *testing.T) {
	// Both sessions full: churn during the first pull may close a ticket,
	// let it be read fechado, reopen it and delete it before any list shows
	// it again; only a full pull, which lists its whole window, finds such
	// a ticket (an incremental one leaves it to the next full pull: README).
	r := runLocal(t, "--tickets", "2000", "--sessions", "2", "--mode", "full", "--order", "jump", "--churn", "0.005",
		"--between-runs", "0.02", "--bad-field-rate", "0.02", "--verify", "--timeout", "5m")

	if len(r.summaries) != 2 {
		t.Fatalf("got %d summaries, want 2\n%s", len(r.summaries), r.stderr)
	}
	if !strings.Contains(r.stderr, "between sessions:") {
		t.Errorf("stderr: want the silent changes between the sessions reported\n%s", r.stderr)
	}
	last := r.last()
	if v := last.Verify; r.exit != 0 || last.Outcome != "ok" || v == nil || !v.OK() || v.Deleted == 0 {
		t.Fatalf("got exit %d, %+v verify %+v; want ok, some deleted tickets, and 0 missing, duplicated, stale, wrong situacao\n%s", r.exit, last, v, r.stderr)
	}
	// 2 % of the tickets carry a field of the wrong type: none rejected, each counted.
	if first := r.summaries[0]; first.Rejected != 0 || first.FieldErrors == 0 {
		t.Errorf("first session: got %d rejected, %d field errors; want 0 rejected and the wrong-typed fields counted", first.Rejected, first.FieldErrors)
	}
	// Between the runs 2 % of the open tickets were closed, canceled or
	// deleted without a new updated_at; the second run corrects them all
	// (verify above). A full pull lists the closed and canceled ones itself
	// (the MERGE corrects them as updated); the deleted ones no list shows
	// are read by number and counted in reconciled, with those the churn of
	// the first pull deleted after it read them.
	var closed, canceled, deleted int
	between := r.stderr[max(strings.Index(r.stderr, "between sessions:"), 0):]
	if _, err := fmt.Sscanf(between,
		"between sessions: %d tickets closed, %d canceled, %d deleted", &closed, &canceled, &deleted); err != nil || deleted == 0 {
		t.Fatalf("between sessions: got %d deleted (%v), want some\n%s", deleted, err, r.stderr)
	}
	if last.Reconciled < int64(deleted) {
		t.Errorf("second session: reconciled %d; want at least the %d tickets deleted between the runs", last.Reconciled, deleted)
	}
}

// A run answered 403 fails at once, and still logs out.
func TestForbidden(t *testing.T) {
	r := runLocal(t, "--tickets", "100", "--forbid", "40304", "--timeout", "2m")

	s := r.last()
	if r.exit == 0 || s.Outcome != "failed" || !strings.Contains(s.Error, "403") || !strings.Contains(s.Error, "40304") || !s.Logout {
		t.Fatalf("got exit %d, %+v; want failed with 403 and 40304 in the error, logged out\n%s", r.exit, s, r.stderr)
	}
	// login, code, one ticket request, logout.
	if s.Requests > 4 {
		t.Errorf("requests: got %d, want at most 4 (no retry of a 403)", s.Requests)
	}
}

// Issue 11: ExtractLoad records the run as finished, then publishes
// load-finished. When that publish fails, the event is delivered again; the
// redelivery finds the run finished and must publish load-finished again, or
// Logout never runs and the web session stays open. Every session's first
// publish of load-finished fails here: each is still logged out, once.
func TestEveryLoadFinishedPublishFailsOnce(t *testing.T) {
	r := runLocal(t, "--tickets", "300", "--sessions", "2", "--fail-publish-once", "load-finished", "--timeout", "2m")

	if r.exit != 0 || len(r.summaries) != 2 {
		t.Fatalf("got exit %d, %d summaries; want 0 and 2\n%s", r.exit, len(r.summaries), r.stderr)
	}
	for i, s := range r.summaries {
		if !strings.Contains(r.stderr, "fault: publish to load-finished failed once for session "+s.SessionID) {
			t.Errorf("session %d (%s): no failed publish of load-finished reported; the fault did not apply\n%s", i+1, s.SessionID, r.stderr)
		}
		if s.Outcome != "ok" || !s.Logout || s.LogoutsSent != 1 || s.Logouts == nil || *s.Logouts != 1 {
			t.Errorf("session %d: outcome %q, logout %v, %d logout requests, %v accepted; want ok and exactly one logout, accepted",
				i+1, s.Outcome, s.Logout, s.LogoutsSent, s.Logouts)
		}
	}
}

// The functions reach an outside web system through the meter, over
// loopback: the runner itself refuses a URL that would carry the
// credentials in clear over a network, as the functions do.
func TestOutsideWebSystemNeedsHTTPS(t *testing.T) {
	r := runLocalEnv(t, []string{"WEB_EMAIL=robo@example.com.br", "WEB_PASSWORD=senha-do-robo-1"},
		"--web-url", "http://helpdesk.example.com", "--otp-via", "webhook")

	if r.exit != 1 || !strings.Contains(r.stderr, "--web-url: websystem: the base URL must use https") || len(r.summaries) != 0 {
		t.Errorf("got exit %d, %d summaries, stderr:\n%s\nwant exit 1 and the https rule, no session", r.exit, len(r.summaries), r.stderr)
	}
}
