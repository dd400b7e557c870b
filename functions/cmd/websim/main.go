// Command websim serves the simulated web system (package websim) alone, for
// pointing the functions, a browser or curl at it.
//
//	go run ./functions/cmd/websim --tickets 5000 --rate-limit 120 --mailbox /tmp/mail.jsonl
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("websim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o websim.Options
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	mailbox := fs.String("mailbox", "", "append each e-mailed code to this file as a JSON line")
	control := fs.Bool("control", false, "also serve POST /_sim/touch?share=S (updates that share of the tickets, for benchmarks) and POST /_sim/silent?share=S (closes, cancels and deletes open tickets silently)")
	fs.IntVar(&o.Tickets, "tickets", 5000, "tickets at the start")
	fs.IntVar(&o.Days, "days", 180, "spread the tickets' created_at over the last this many days")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the tickets, the churn and the faults")
	fs.StringVar(&o.Email, "email", "analista@example.com.br", "accepted e-mail")
	fs.StringVar(&o.Password, "password", "senha-simulada", "accepted password")
	fs.StringVar(&o.APIToken, "api-token", "", "accepted api token (no login needed)")
	fs.DurationVar(&o.Latency, "latency", 0, "latency added to every request")
	fs.IntVar(&o.RateLimit, "rate-limit", 120, "requests per minute (0 = no limit)")
	fs.Float64Var(&o.FaultRate, "fault-rate", 0, "share of requests answered 500")
	fs.Float64Var(&o.Churn, "churn", 0, "per ticket-list page, the share of tickets changed before the next page: created, updated, or closed, canceled or deleted without a new updated_at")
	fs.IntVar(&o.TokenTTLRequests, "token-ttl-requests", 0, "a session token dies after this many ticket requests (0 = never)")
	fs.StringVar(&o.Order, "order", websim.OrderNumberDesc, "the list's order: "+strings.Join(websim.Orders, ", ")+" (jump: unstable, a changed ticket moves to the end)")
	fs.Float64Var(&o.BadFieldRate, "bad-field-rate", 0, "share of tickets sent with one field of the wrong type")
	fs.IntVar(&o.Forbid, "forbid", 0, "answer every ticket request 403 with this error code: 40301 (permission) or 40304 (licence); 0 = off")
	fs.BoolVar(&o.AllIncludesCanceled, "all-includes-canceled", false, "filter_by=all lists canceled tickets too")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := check(o); err != nil {
		fmt.Fprintln(stderr, "websim:", err)
		return 2
	}
	if *mailbox != "" {
		f, err := os.OpenFile(*mailbox, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(stderr, "websim: mailbox:", err)
			return 1
		}
		defer f.Close()
		o.Mailbox = f
	}

	sim := websim.New(o)
	defer sim.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "websim:", err)
		return 1
	}
	var h http.Handler = sim
	if *control {
		mux := http.NewServeMux()
		mux.Handle("/_sim/", sim.ControlHandler())
		mux.Handle("/", sim)
		h = mux
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "websim: %d tickets, order %s, listening on http://%s\n", o.Tickets, o.Order, ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "websim:", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "websim: shutdown:", err)
		return 1
	}
	st := sim.Stats()
	fmt.Fprintf(stdout, "websim: stopped; requests %v, 429s %d, 500s %d, logouts %d\n",
		st.Requests, st.RateLimited, st.Faults, st.Logouts)
	return 0
}

// check refuses knob values the simulation has no meaning for.
func check(o websim.Options) error {
	switch {
	case !slices.Contains(websim.Orders, o.Order):
		return fmt.Errorf("--order %q: want one of %s", o.Order, strings.Join(websim.Orders, ", "))
	case o.Forbid != 0 && o.Forbid != 40301 && o.Forbid != 40304:
		return fmt.Errorf("--forbid %d: want 40301, 40304 or 0", o.Forbid)
	case o.BadFieldRate < 0 || o.BadFieldRate > 1:
		return fmt.Errorf("--bad-field-rate %v: want a share from 0 to 1", o.BadFieldRate)
	case o.Churn < 0 || o.Churn > 1 || o.FaultRate < 0 || o.FaultRate > 1:
		return fmt.Errorf("--churn and --fault-rate are shares from 0 to 1")
	}
	return nil
}
