package warehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

func TestRecordRun(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

	if got, err := e.wh.LastSuccessfulRun(ctx, ""); err != nil || got != nil {
		t.Fatalf("LastSuccessfulRun on an empty table: got %+v, %v; want nil, nil", got, err)
	}

	running := chain.Run{SessionID: "s1", Auth: chain.AuthOTP, Mode: chain.ModeFull,
		WindowFrom: start.AddDate(0, 0, -180), WindowTo: start, StartedAt: start,
		Totals: chain.Totals{Pages: 3, Requests: 5, Tickets: 600}, Outcome: chain.OutcomeRunning}
	if err := e.wh.RecordRun(ctx, running); err != nil {
		t.Fatalf("RecordRun running: %v", err)
	}
	done := running
	done.FinishedAt = start.Add(4 * time.Minute)
	done.Pages, done.Requests, done.Tickets, done.Rejected, done.Inserted, done.Updated = 10, 13, 2000, 2, 1990, 8
	done.Outcome = chain.OutcomeOK
	for i := 0; i < 2; i++ { // the second write is a redelivery: still one row
		if err := e.wh.RecordRun(ctx, done); err != nil {
			t.Fatalf("RecordRun ok: %v", err)
		}
	}
	failed := chain.Run{SessionID: "s2", Auth: chain.AuthAPIToken, Mode: chain.ModeIncremental,
		StartedAt: start.Add(time.Hour), FinishedAt: start.Add(time.Hour + time.Minute),
		Outcome: chain.OutcomeFailed, Error: "web system: 401"}
	if err := e.wh.RecordRun(ctx, failed); err != nil {
		t.Fatalf("RecordRun failed: %v", err)
	}
	incr := chain.Run{SessionID: "s3", Auth: chain.AuthOTP, Mode: chain.ModeIncremental,
		StartedAt: start.Add(30 * time.Minute), FinishedAt: start.Add(31 * time.Minute), Outcome: chain.OutcomeOK}
	if err := e.wh.RecordRun(ctx, incr); err != nil {
		t.Fatalf("RecordRun incremental: %v", err)
	}

	if rows := e.query(t, "SELECT session_id FROM `"+project+"."+e.cfg.Dataset+".sync_runs`"); len(rows) != 3 {
		t.Errorf("sync_runs rows: got %d, want 3 (one per session)", len(rows))
	}

	tests := []struct {
		name string
		get  func() (*chain.Run, error)
		want *chain.Run
	}{
		{"RunBySession", func() (*chain.Run, error) { return e.wh.Run(ctx, "s1") }, &done},
		{"RunFailed", func() (*chain.Run, error) { return e.wh.Run(ctx, "s2") }, &failed},
		{"RunUnknown", func() (*chain.Run, error) { return e.wh.Run(ctx, "nope") }, nil},
		{"LastSuccessfulAny", func() (*chain.Run, error) { return e.wh.LastSuccessfulRun(ctx, "") }, &incr},
		{"LastSuccessfulFull", func() (*chain.Run, error) { return e.wh.LastSuccessfulRun(ctx, "full") }, &done},
		{"LastSuccessfulNone", func() (*chain.Run, error) { return e.wh.LastSuccessfulRun(ctx, "other") }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			switch {
			case tt.want == nil && got != nil:
				t.Errorf("got %+v, want nil", got)
			case tt.want != nil && got == nil:
				t.Errorf("got nil, want %+v", tt.want)
			case tt.want != nil && *got != *tt.want:
				t.Errorf("got  %+v\nwant %+v", *got, *tt.want)
			}
		})
	}

	t.Run("RejectsBadOutcome", func(t *testing.T) {
		if err := e.wh.RecordRun(ctx, chain.Run{SessionID: "x", Outcome: "done"}); err == nil {
			t.Errorf("got nil error for outcome \"done\", want one")
		}
	})
}

// A run's outcome only moves forward: running → ok|failed. A late write of
// running, or of the other final outcome, does not overwrite a final one; the
// same final outcome again (a redelivery) still updates the row.
func TestRecordRunOutcomeIsOneWay(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	run := func(id string, outcome chain.Outcome, requests int64) chain.Run {
		return chain.Run{SessionID: id, Auth: chain.AuthOTP, Mode: chain.ModeFull, StartedAt: start,
			Totals: chain.Totals{Requests: requests}, Outcome: outcome}
	}
	tests := []struct {
		name         string
		writes       []chain.Run
		wantOutcome  chain.Outcome
		wantRequests int64
	}{
		{"RunningThenOK", []chain.Run{run("a", "running", 1), run("a", "ok", 2)}, "ok", 2},
		{"OKThenLateRunning", []chain.Run{run("b", "ok", 2), run("b", "running", 1)}, "ok", 2},
		{"OKThenLateFailed", []chain.Run{run("c", "ok", 2), run("c", "failed", 3)}, "ok", 2},
		{"FailedThenLateOK", []chain.Run{run("d", "failed", 2), run("d", "ok", 3)}, "failed", 2},
		{"OKRedelivered", []chain.Run{run("e", "ok", 2), run("e", "ok", 4)}, "ok", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range tt.writes {
				if err := e.wh.RecordRun(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			got, err := e.wh.Run(ctx, tt.writes[0].SessionID)
			if err != nil || got == nil {
				t.Fatalf("Run: %+v, %v", got, err)
			}
			if got.Outcome != tt.wantOutcome || got.Requests != tt.wantRequests {
				t.Errorf("got %s with %d requests, want %s with %d", got.Outcome, got.Requests, tt.wantOutcome, tt.wantRequests)
			}
		})
	}
}
