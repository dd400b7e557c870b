package warehouse_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/bqemulator"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/testkit"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
)

const project = "test-project"

// emu is the one emulator process of this test binary; each test gets its own
// dataset in it.
var emu *bqemulator.Emulator

func TestMain(m *testing.M) {
	os.Exit(bqemulator.RunTests(m, project, func(e *bqemulator.Emulator) { emu = e }))
}

// env is a Warehouse on a fresh dataset of the emulator.
type env struct {
	wh     *warehouse.Warehouse
	client *bigquery.Client
	cfg    warehouse.Config
}

func mustEnv(tb testing.TB) *env {
	tb.Helper()
	ctx := context.Background()
	client, err := warehouse.NewClient(ctx, project, emu.Host)
	if err != nil {
		tb.Fatalf("NewClient: %v", err)
	}
	tb.Cleanup(func() { client.Close() })
	cfg := warehouse.Config{
		Dataset:    testkit.Dataset(tb),
		Table:      "tickets",
		RunsTable:  "sync_runs",
		Location:   "US",
		StagingTTL: time.Hour,
		Logger:     slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	wh := warehouse.New(client, cfg)
	if err := wh.EnsureTables(ctx); err != nil {
		tb.Fatalf("EnsureTables: %v", err)
	}
	return &env{wh: wh, client: client, cfg: cfg}
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// query reads all rows of sql as maps.
func (e *env) query(tb testing.TB, sql string) []map[string]bigquery.Value {
	tb.Helper()
	sql = strings.ReplaceAll(sql, "{tickets}", fmt.Sprintf("`%s.%s.%s`", project, e.cfg.Dataset, e.cfg.Table))
	it, err := e.client.Query(sql).Read(context.Background())
	if err != nil {
		tb.Fatalf("query %q: %v", sql, err)
	}
	var rows []map[string]bigquery.Value
	for {
		row := map[string]bigquery.Value{}
		err := it.Next(&row)
		if err != nil {
			break
		}
		rows = append(rows, row)
	}
	return rows
}
