// Command bench measures ExtractLoad: it starts the simulated web system and
// the BigQuery emulator as processes of their own, runs the ExtractLoad logic
// in this process (continuations included) and prints one line of figures:
//
//	go run ./functions/cmd/bench --tickets 100000 --latency 20ms
//	go run ./functions/cmd/bench --tickets 200000 --rate-limit 6000
//	go run ./functions/cmd/bench --tickets 100000 --incremental-after 0.01
//
// Peak RSS is this process's: the web system and the emulator run elsewhere.
// Budget use is requests ÷ (rate limit × minutes spent paging).
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/bqemulator"
	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/webmeter"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/bus"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/extract"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/seal"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/warehouse"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

const project = "bench-project"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	tickets := flag.Int("tickets", 10000, "tickets in the simulated web system")
	latency := flag.Duration("latency", 20*time.Millisecond, "simulated latency per request")
	rate := flag.Int("rate-limit", 0, "requests per minute: the web system's limit and ExtractLoad's budget (0 = none)")
	concurrency := flag.Int("concurrency", 8, "pages in flight")
	incremental := flag.Float64("incremental-after", 0, "after the full run, change this share of the tickets and measure an incremental run")
	chunk := flag.Duration("chunk", 360*time.Second, "ExtractLoad's fetch budget per invocation")
	flag.Parse()
	ctx := context.Background()

	// The web system, in its own process.
	token := randomString(24)
	addr, stopWeb, err := startWebsim(ctx, *tickets, *latency, *rate, token)
	if err != nil {
		return err
	}
	defer stopWeb()

	// BigQuery, in its own process (or BIGQUERY_EMULATOR_HOST).
	emu, err := bqemulator.Start(ctx, bqemulator.Options{Project: project})
	if err != nil {
		return fmt.Errorf("BigQuery emulator: %w", err)
	}
	defer emu.Close()
	bq, err := warehouse.NewClient(ctx, project, emu.Host)
	if err != nil {
		return err
	}
	wh := warehouse.New(bq, warehouse.Config{Dataset: "bench", Table: "tickets", RunsTable: "sync_runs",
		Location: "US", Now: time.Now, Logger: slog.New(slog.DiscardHandler)})
	if err := wh.EnsureTables(ctx); err != nil {
		return err
	}

	// Pub/Sub in memory, for the continuations and load-finished.
	ps := pstest.NewServer()
	defer ps.Close()
	conn, err := grpc.NewClient(ps.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	b, err := bus.New(ctx, project, option.WithGRPCConn(conn))
	if err != nil {
		return err
	}
	defer b.Close()
	for _, t := range []string{"session-ready", "load-finished"} {
		if err := b.EnsureTopic(ctx, t); err != nil {
			return err
		}
	}

	meter := webmeter.New(&url.URL{Scheme: "http", Host: addr}, webmeter.Paths{Tickets: "/tickets", Logout: "/logout"}, nil)
	if err := meter.Start(); err != nil {
		return err
	}
	defer meter.Close()
	web := websystem.New(meter.URL(), websystem.Paths{}, nil, websystem.Options{RatePerMinute: *rate})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, _ := seal.New(key)
	loader := &extract.Loader{Web: web, Store: ticketStore{wh}, Runs: wh, Bus: b, Sealer: sealer, WindowDays: 180, PageLimit: 200,
		FullRefresh: 24 * time.Hour, Overlap: 10 * time.Minute, MaxEventAge: time.Hour, ChunkBudget: *chunk,
		Concurrency: *concurrency, TimeZone: time.UTC, TopicSessionReady: "session-ready", TopicLoadFinished: "load-finished",
		Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	loader.TimeZone, _ = time.LoadLocation("America/Sao_Paulo")

	if err := measure(ctx, "full", loader, ps, sealer, meter, token, chain.ModeFull, *rate); err != nil {
		return err
	}
	if *incremental > 0 {
		changed, err := touch(addr, *incremental)
		if err != nil {
			return err
		}
		fmt.Printf("changed %d tickets\n", changed)
		time.Sleep(3 * time.Second) // past the sweep's margin for the Date header's whole seconds
		if err := measure(ctx, "incremental", loader, ps, sealer, meter, token, chain.ModeIncremental, *rate); err != nil {
			return err
		}
		fmt.Printf("incremental budget: requests must be ≤ 2 + changed/200 = %d\n", 2+changed/200)
	}
	return nil
}

// measure runs one session to its end, continuations included, and prints its figures.
func measure(ctx context.Context, name string, l *extract.Loader, ps *pstest.Server, s *seal.Sealer,
	meter *webmeter.Meter, token string, mode chain.Mode, rate int) error {
	id := fmt.Sprintf("bench-%s-%d", name, time.Now().UnixNano())
	sealed, err := s.Seal("Bearer "+token, id)
	if err != nil {
		return err
	}
	msg := chain.SessionReady{SessionID: id, TokenSealed: sealed, Auth: chain.AuthAPIToken, Mode: mode, RequestedAt: time.Now()}
	req0, pages0, tooMany0 := meter.Requests.Load(), meter.Pages.Load(), meter.TooMany.Load()
	seen := len(ps.Messages())
	start := time.Now()
	for chunks := 1; ; chunks++ {
		if err := l.Handle(ctx, msg, time.Now()); err != nil {
			return fmt.Errorf("%s: chunk %d: %w", name, chunks, err)
		}
		var next *chain.SessionReady
		var fin *chain.LoadFinished
		msgs := ps.Messages()
		for _, m := range msgs[seen:] {
			cm := chain.Message{Data: m.Data, Attributes: m.Attributes}
			switch m.Attributes[chain.AttrEvent] {
			case chain.EventSessionContinue:
				c, err := chain.DecodeSessionReady(cm)
				if err == nil && c.SessionID == id {
					next = &c
				}
			case chain.EventLoadFinished:
				f, err := chain.DecodeLoadFinished(cm)
				if err == nil && f.SessionID == id {
					fin = &f
				}
			}
		}
		seen = len(msgs)
		if fin != nil {
			if fin.Outcome != chain.OutcomeOK {
				return fmt.Errorf("%s: load failed: %s", name, fin.Error)
			}
			wall := time.Since(start).Seconds()
			var ru syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			requests := meter.Requests.Load() - req0
			budget := "n/a"
			if rate > 0 {
				if secs := meter.PagingSeconds(); secs > 0 {
					budget = fmt.Sprintf("%.0f%%", 100*float64(requests)/(float64(rate)*secs/60))
				}
			}
			fmt.Printf("%s: pages=%d requests=%d tickets=%d inserted=%d updated=%d chunks=%d wall_s=%.1f tickets_per_s=%.0f peak_rss_mib=%.1f budget_use=%s responses_429=%d\n",
				name, meter.Pages.Load()-pages0, requests, fin.Tickets, fin.Inserted, fin.Updated, chunks, wall,
				float64(fin.Tickets)/wall, float64(ru.Maxrss)/1024, budget, meter.TooMany.Load()-tooMany0)
			return nil
		}
		if next == nil {
			return fmt.Errorf("%s: chunk %d published neither a continuation nor load-finished", name, chunks)
		}
		msg = *next
	}
}

// startWebsim runs functions/cmd/websim as a child process.
func startWebsim(ctx context.Context, tickets int, latency time.Duration, rate int, token string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	bin, err := os.CreateTemp("", "websim-*")
	if err != nil {
		return "", nil, err
	}
	bin.Close()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin.Name(), "./functions/cmd/websim").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("build websim (run from the repository root): %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin.Name(), "--addr", addr, "--tickets", fmt.Sprint(tickets),
		"--latency", latency.String(), "--rate-limit", fmt.Sprint(rate), "--api-token", token, "--control")
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "error") {
				fmt.Fprintln(os.Stderr, "websim:", sc.Text())
			}
		}
	}()
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); os.Remove(bin.Name()) }
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("websim did not start on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// touch asks the simulated web system to change a share of its tickets.
func touch(addr string, share float64) (int, error) {
	resp, err := http.Post(fmt.Sprintf("http://%s/_sim/touch?share=%g", addr, share), "application/json", nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var n int
	if _, err := fmt.Fscanf(resp.Body, `{"changed":%d}`, &n); err != nil {
		return 0, fmt.Errorf("touch: %d %v", resp.StatusCode, err)
	}
	return n, nil
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// ticketStore is the warehouse as extract.Store, as functions/setup.go wires it.
type ticketStore struct{ *warehouse.Warehouse }

func (t ticketStore) Stage(ctx context.Context, sessionID string, chunk int) (extract.Sink, error) {
	return t.StageChunk(ctx, sessionID, chunk)
}
