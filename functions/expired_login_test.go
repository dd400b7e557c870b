package functions

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
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
		RequestedAt: requested, ExpiresAt: requested.Add(10 * time.Minute), Mode: chain.ModeAuto, LoginRequests: 2})
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
	if run.Mode != "full" {
		t.Errorf("got mode %q, want full: auto resolved as ExtractLoad would with no run before", run.Mode)
	}
	if run.Requests != 2 {
		t.Errorf("got %d requests, want the 2 its login sent", run.Requests)
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

// The pending subscription keeps a message only as long as its code lives,
// so the next StartLogin drains the expired pending logins: each is recorded
// in sync_runs as failed and logged login.expired at ERROR; a live one stays
// for CompleteLogin.
func TestStartLoginRecordsExpiredPendingLogins(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	ctx := context.Background()
	wh := w.mustWarehouse(t)
	const expired, live = "0190e000-dead-7000-8000-000000000011", "0190e000-1111-7000-8000-000000000012"
	for _, p := range []struct {
		id  string
		age time.Duration
	}{{expired, 30 * time.Minute}, {live, time.Minute}} {
		sealed, _ := w.sealer.SealTmp("tmp-"+p.id, p.id)
		requested := time.Now().Add(-p.age)
		msg, err := chain.EncodeLoginPending(chain.LoginPending{SessionID: p.id, TmpSealed: sealed,
			RequestedAt: requested, ExpiresAt: requested.Add(10 * time.Minute), Mode: chain.ModeIncremental, LoginRequests: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.bus.Publish(ctx, "login-pending", msg); err != nil {
			t.Fatal(err)
		}
	}
	if a := post(t, "/StartLogin", []byte(`{"mode":"full"}`), nil); a.status != 202 {
		t.Fatalf("StartLogin: %d %v", a.status, a.body)
	}
	run, err := wh.Run(ctx, expired)
	if err != nil || run == nil {
		t.Fatalf("sync_runs has no row for the expired session (%v)", err)
	}
	if run.Outcome != "failed" || !strings.Contains(run.Error, "never arrived") || run.Mode != "incremental" || run.FinishedAt.IsZero() || run.Requests != 3 {
		t.Errorf("got %+v, want failed, the code never arrived, incremental, finished, the 3 requests of its login", run)
	}
	if r, err := wh.Run(ctx, live); err != nil || r != nil {
		t.Errorf("the live pending login was recorded: %+v %v", r, err)
	}
	logs := w.readLogs(t)
	if !strings.Contains(logs, `"event":"login.expired"`) || !strings.Contains(logs, expired) {
		t.Errorf("no login.expired line naming %s:\n%s", expired, logs)
	}
}

// A login that succeeded but whose session-ready could not be published is
// logged out at once and recorded failed, with every request it sent: the
// login, the code exchange and the logout, as the web system counts them.
func TestFailedLoginCountsEveryRequestOfItsSession(t *testing.T) {
	w := mustWorld(t, websim.Options{}, nil)
	wh := w.mustWarehouse(t)
	id, code := w.mustPending(t)
	if err := w.bus.Client().TopicAdminClient.DeleteTopic(context.Background(),
		&pubsubpb.DeleteTopicRequest{Topic: "projects/" + testProject + "/topics/session-ready"}); err != nil {
		t.Fatal(err)
	}
	if a := w.postCode(t, code, time.Now()); a.status != 503 {
		t.Fatalf("got %d %v, want 503", a.status, a.body)
	}
	run, err := wh.Run(context.Background(), id)
	if err != nil || run == nil {
		t.Fatalf("sync_runs has no row for the failed login (%v)", err)
	}
	st := w.sim.Stats().Requests
	want := int64(st["login"] + st["otp"] + st["logout"])
	if run.Outcome != "failed" || run.Requests != want || want != 3 {
		t.Errorf("got %s with %d requests, want failed with the web system's %d (%v)", run.Outcome, run.Requests, want, st)
	}
}
