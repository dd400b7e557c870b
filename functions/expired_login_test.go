package functions

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websim"
)

// A login whose code never came is dropped when CompleteLogin next pulls,
// logged at ERROR with its session id, and recorded in sync_runs as failed.
func TestCompleteLoginDropsExpiredSession(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	ctx := context.Background()
	wh := w.mustWarehouse(t)
	const id = "0190e000-dead-7000-8000-000000000001"
	sealed, _ := w.sealer.SealTmp("tmp-that-expired", id)
	requested := time.Now().Add(-30 * time.Minute)
	msg, err := chain.EncodeLoginPending(chain.LoginPending{SessionID: id, TmpSealed: sealed,
		RequestedAt: requested, ExpiresAt: requested.Add(10 * time.Minute), Mode: chain.ModeAuto})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.bus.Publish(ctx, "login-pending", msg); err != nil {
		t.Fatal(err)
	}

	a := w.postCode(t, "123456", time.Now())

	if a.status != 404 {
		t.Fatalf("got %d %v, want 404: the only pending session had expired", a.status, a.body)
	}
	run, err := wh.Run(ctx, id)
	if err != nil || run == nil {
		t.Fatalf("sync_runs has no row for the expired session (%v)", err)
	}
	if run.Outcome != "failed" || !strings.Contains(run.Error, "never arrived") {
		t.Errorf("got outcome %q error %q, want failed, the code never arrived", run.Outcome, run.Error)
	}
	logs := w.readLogs(t)
	if !strings.Contains(logs, `"severity":"ERROR"`) || !strings.Contains(logs, `"event":"login.expired"`) || !strings.Contains(logs, id) {
		t.Errorf("no ERROR login.expired line naming %s:\n%s", id, logs)
	}
	if strings.Contains(logs, "tmp-that-expired") {
		t.Error("the tmp shows in the logs")
	}
}

// mustWarehouse creates the test's dataset and tables in the emulator.
func (w *world) mustWarehouse(t *testing.T) *warehouse.Warehouse {
	t.Helper()
	ctx := context.Background()
	c, err := warehouse.NewClient(ctx, testProject, bqHost)
	if err != nil {
		t.Fatal(err)
	}
	wh := warehouse.New(c, warehouse.Config{Dataset: datasetFor(t), Table: "tickets", RunsTable: "sync_runs",
		Location: "US", Now: time.Now})
	if err := wh.EnsureTables(ctx); err != nil {
		t.Fatal(err)
	}
	return wh
}
