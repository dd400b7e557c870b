package warehouse_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
)

// TestStageStreams loads more NDJSON than it lets the heap grow by: rows go
// through the pipe into the upload as they are added, none are kept.
func TestStageStreams(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	const n = 30000
	st, err := e.wh.Stage(ctx, "big", "c0")
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	base := ticket(1, t1, "a title long enough to make the row a realistic size for a helpdesk")
	var bytes int
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := live()
	synced := time.Now()
	for i := int64(1); i <= n; i++ {
		tk := base
		tk.Number = &i
		row, err := tickets.ToRow(tk, saoPaulo, "big", synced)
		if err != nil {
			t.Fatalf("ToRow: %v", err)
		}
		bytes += len(row.AppendJSON(nil)) + 1
		if err := st.Add(row); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	during := live()
	staged, err := st.Close(ctx)
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	if staged != n {
		t.Errorf("staged: got %d, want %d", staged, n)
	}
	growth := int64(during) - int64(before)
	t.Logf("streamed %d rows, %d bytes of NDJSON; live heap grew %d bytes", n, bytes, growth)
	if growth > int64(bytes)/4 {
		t.Errorf("live heap grew %d bytes while staging %d bytes: want well under a quarter (rows must stream)", growth, bytes)
	}
	res, err := e.wh.Merge(ctx, "big", "c0")
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	wantResult(t, res, warehouse.MergeResult{Tickets: n, Inserted: n})
}
