package functions

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/extract"
)

// connCounter forwards TCP connections to a server and counts them: how many
// were opened, how many are still open. It stands between a function and the
// real emulator, to see what a build leaves open.
type connCounter struct {
	addr         string
	opened, open atomic.Int64
}

// mustConnCounter forwards to target; with target "" it accepts and never
// answers (a server that hangs).
func mustConnCounter(t *testing.T, target string) *connCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &connCounter{addr: ln.Addr().String()}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			c.opened.Add(1)
			c.open.Add(1)
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.open.Add(-1)
				c.forward(in, target)
			}()
		}
	}()
	return c
}

// forward copies both ways until the client closes its end.
func (c *connCounter) forward(in net.Conn, target string) {
	defer in.Close()
	if target == "" {
		_, _ = io.Copy(io.Discard, in) // never answers; returns when the client closes
		return
	}
	out, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer out.Close()
	go func() { _, _ = io.Copy(in, out); in.Close() }()
	_, _ = io.Copy(out, in)
}

// waitClosed waits up to d for every connection to be closed by its client.
func (c *connCounter) waitClosed(d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for c.open.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return c.open.Load()
}

// Issue 11: an ExtractLoad build that fails after opening its clients
// (here BigQuery refuses the tables: the emulator does not serve the
// project) is tried again at every event. Each failed build must close
// what it opened, or every failing event leaves connections behind.
func TestFailedExtractLoadBuildClosesWhatItOpened(t *testing.T) {
	bq := mustConnCounter(t, bqHost)
	w := mustWorld(t, websim.Options{Tickets: 10}, map[string]string{"BIGQUERY_EMULATOR_HOST": bq.addr,
		"GOOGLE_CLOUD_PROJECT": "project-the-emulator-does-not-serve"})
	ps := mustConnCounter(t, w.ps.Addr)
	t.Setenv("PUBSUB_EMULATOR_HOST", ps.addr)
	msg := w.sessionReady(t, "0190e000-dddd-7000-8000-000000000005")

	const events = 3
	for i := 0; i < events; i++ {
		if status := deliver(t, "ExtractLoad", "session-ready", msg, time.Now()); status/100 == 2 {
			t.Fatalf("event %d: got %d, want a failure (the build cannot create the tables)", i+1, status)
		}
	}

	if n := bq.opened.Load(); n < events {
		t.Fatalf("BigQuery: %d connections opened by %d builds; want at least one each (did the builds reach it?)", n, events)
	}
	t.Logf("connections opened: BigQuery %d, Pub/Sub %d", bq.opened.Load(), ps.opened.Load())
	for _, c := range []struct {
		name string
		c    *connCounter
	}{{"BigQuery", bq}, {"Pub/Sub", ps}} {
		if open := c.c.waitClosed(3 * time.Second); open != 0 {
			t.Errorf("%s: %d of the %d connections the failed builds opened are still open; want 0", c.name, open, c.c.opened.Load())
		}
	}
}

// Issue 11: a build that hangs (BigQuery accepts the connection and never
// answers) ends at its deadline, closes what it opened, and the requests
// that waited for it, and those after, are answered: nothing blocks forever.
func TestHungExtractLoadBuildEndsAtItsDeadline(t *testing.T) {
	hung := mustConnCounter(t, "")
	w := mustWorld(t, websim.Options{Tickets: 10}, map[string]string{"BIGQUERY_EMULATOR_HOST": hung.addr})
	loader = lazy[*extract.Loader]{build: buildLoader, timeout: 2 * time.Second} // buildTimeout (30 s), shortened
	msg := w.sessionReady(t, "0190e000-eeee-7000-8000-000000000006")

	for i := 0; i < 2; i++ {
		start := time.Now()
		status := deliver(t, "ExtractLoad", "session-ready", msg, time.Now())
		if took := time.Since(start); status/100 == 2 || took > 10*time.Second {
			t.Fatalf("event %d: got %d after %s; want a failure within the build's deadline", i+1, status, took.Round(time.Millisecond))
		}
	}

	if hung.opened.Load() == 0 {
		t.Fatal("the builds never reached the hung BigQuery")
	}
	if open := hung.waitClosed(3 * time.Second); open != 0 {
		t.Errorf("%d connections to the hung BigQuery still open after the builds failed; want 0", open)
	}
}

// Every function's build runs on a deadline of buildTimeout, 30 s, whatever
// the request's context: a hung build ends.
func TestBuildDeadlineIs30Seconds(t *testing.T) {
	deadline := make(chan time.Time, 1)
	l := &lazy[int]{build: func(ctx context.Context) (int, error) {
		d, ok := ctx.Deadline()
		if !ok {
			d = time.Time{}
		}
		deadline <- d
		return 1, nil
	}}
	start := time.Now()

	if _, err := l.get(context.Background()); err != nil {
		t.Fatal(err)
	}

	d := <-deadline
	if got := d.Sub(start); d.IsZero() || got < 29*time.Second || got > 31*time.Second {
		t.Errorf("build deadline: got %v after the request, want 30s", d.Sub(start).Round(time.Second))
	}
}
