package warehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
)

func TestRecordRun(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

	if got, err := e.wh.LastSuccessfulRun(ctx, ""); err != nil || got != nil {
		t.Fatalf("LastSuccessfulRun on an empty table: got %+v, %v; want nil, nil", got, err)
	}

	running := warehouse.Run{SessionID: "s1", Auth: "otp", Mode: "full",
		WindowFrom: start.AddDate(0, 0, -180), WindowTo: start, StartedAt: start,
		Pages: 3, Requests: 5, Tickets: 600, Outcome: warehouse.OutcomeRunning}
	if err := e.wh.RecordRun(ctx, running); err != nil {
		t.Fatalf("RecordRun running: %v", err)
	}
	done := running
	done.FinishedAt = start.Add(4 * time.Minute)
	done.Pages, done.Requests, done.Tickets, done.Rejected, done.Inserted, done.Updated = 10, 13, 2000, 2, 1990, 8
	done.Outcome = warehouse.OutcomeOK
	for i := 0; i < 2; i++ { // the second write is a redelivery: still one row
		if err := e.wh.RecordRun(ctx, done); err != nil {
			t.Fatalf("RecordRun ok: %v", err)
		}
	}
	failed := warehouse.Run{SessionID: "s2", Auth: "api-token", Mode: "incremental",
		StartedAt: start.Add(time.Hour), FinishedAt: start.Add(time.Hour + time.Minute),
		Outcome: warehouse.OutcomeFailed, Error: "web system: 401"}
	if err := e.wh.RecordRun(ctx, failed); err != nil {
		t.Fatalf("RecordRun failed: %v", err)
	}
	incr := warehouse.Run{SessionID: "s3", Auth: "otp", Mode: "incremental",
		StartedAt: start.Add(30 * time.Minute), FinishedAt: start.Add(31 * time.Minute), Outcome: warehouse.OutcomeOK}
	if err := e.wh.RecordRun(ctx, incr); err != nil {
		t.Fatalf("RecordRun incremental: %v", err)
	}

	if rows := e.query(t, "SELECT session_id FROM `"+project+"."+e.cfg.Dataset+".sync_runs`"); len(rows) != 3 {
		t.Errorf("sync_runs rows: got %d, want 3 (one per session)", len(rows))
	}

	tests := []struct {
		name string
		get  func() (*warehouse.Run, error)
		want *warehouse.Run
	}{
		{"RunBySession", func() (*warehouse.Run, error) { return e.wh.Run(ctx, "s1") }, &done},
		{"RunFailed", func() (*warehouse.Run, error) { return e.wh.Run(ctx, "s2") }, &failed},
		{"RunUnknown", func() (*warehouse.Run, error) { return e.wh.Run(ctx, "nope") }, nil},
		{"LastSuccessfulAny", func() (*warehouse.Run, error) { return e.wh.LastSuccessfulRun(ctx, "") }, &incr},
		{"LastSuccessfulFull", func() (*warehouse.Run, error) { return e.wh.LastSuccessfulRun(ctx, "full") }, &done},
		{"LastSuccessfulNone", func() (*warehouse.Run, error) { return e.wh.LastSuccessfulRun(ctx, "other") }, nil},
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
		if err := e.wh.RecordRun(ctx, warehouse.Run{SessionID: "x", Outcome: "done"}); err == nil {
			t.Errorf("got nil error for outcome \"done\", want one")
		}
	})
}
