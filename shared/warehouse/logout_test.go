package warehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

// RecordLogout adds a Logout's requests to the run's requests and closes the
// row once: a redelivered Logout adds nothing, a failed attempt's requests
// count without closing it, and a late RecordRun cannot drop them.
func TestRecordLogoutAddsItsRequestsOnce(t *testing.T) {
	start := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	at, later := start.Add(5*time.Minute), start.Add(9*time.Minute)
	e, ctx := mustEnv(t), context.Background()
	finished := func(id string) chain.Run {
		return chain.Run{SessionID: id, Auth: chain.AuthOTP, Mode: chain.ModeFull, StartedAt: start,
			FinishedAt: start.Add(4 * time.Minute), Totals: chain.Totals{Requests: 10}, Outcome: chain.OutcomeOK}
	}
	type logout struct {
		requests int64
		at       time.Time
	}
	tests := []struct {
		name         string
		id           string
		logouts      []logout
		after        *chain.Run // a late RecordRun, after the logouts
		wantRequests int64
		wantLoggedAt time.Time
	}{
		{"AddsAndCloses", "a", []logout{{1, at}}, nil, 11, at},
		{"RedeliveredAddsNothing", "b", []logout{{1, at}, {1, later}}, nil, 11, at},
		{"FailedAttemptCountsRowStaysOpen", "c", []logout{{3, time.Time{}}}, nil, 13, time.Time{}},
		{"FailedAttemptThenDone", "d", []logout{{3, time.Time{}}, {1, at}, {1, later}}, nil, 14, at},
		{"LateRecordRunKeepsTheLogout", "e", []logout{{1, at}}, func() *chain.Run { r := finished("e"); return &r }(), 11, at},
		{"NoLogoutYet", "f", nil, nil, 10, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.wh.RecordRun(ctx, finished(tt.id)); err != nil {
				t.Fatal(err)
			}
			for _, l := range tt.logouts {
				if err := e.wh.RecordLogout(ctx, tt.id, l.requests, l.at); err != nil {
					t.Fatalf("RecordLogout: %v", err)
				}
			}
			if tt.after != nil {
				if err := e.wh.RecordRun(ctx, *tt.after); err != nil {
					t.Fatal(err)
				}
			}
			got, err := e.wh.Run(ctx, tt.id)
			if err != nil || got == nil {
				t.Fatalf("Run: %+v, %v", got, err)
			}
			if got.Requests != tt.wantRequests || !got.LoggedOutAt.Equal(tt.wantLoggedAt) {
				t.Errorf("got %d requests, logged out at %v; want %d, %v", got.Requests, got.LoggedOutAt, tt.wantRequests, tt.wantLoggedAt)
			}
		})
	}
	t.Run("NoRowChangesNothing", func(t *testing.T) {
		if err := e.wh.RecordLogout(ctx, "nobody", 1, at); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		if r, err := e.wh.Run(ctx, "nobody"); err != nil || r != nil {
			t.Errorf("got %+v, %v; want no row", r, err)
		}
	})
	t.Run("RejectsNegativeCount", func(t *testing.T) {
		if err := e.wh.RecordLogout(ctx, "a", -1, at); err == nil {
			t.Error("got nil error for -1 requests, want one")
		}
	})
}
