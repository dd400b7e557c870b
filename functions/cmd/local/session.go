package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

// summary is the JSON summary of CONTRACT section 7.
type summary struct {
	SessionID   string               `json:"session_id"`
	Auth        string               `json:"auth"`
	Mode        string               `json:"mode"`
	Outcome     string               `json:"outcome"`
	Error       string               `json:"error"`
	Pages       int64                `json:"pages"`
	Requests    int64                `json:"requests"`
	Tickets     int64                `json:"tickets"`
	Rejected    int64                `json:"rejected"`
	FieldErrors int64                `json:"field_errors"`
	Inserted    int64                `json:"inserted"`
	Updated     int64                `json:"updated"`
	Reconciled  int64                `json:"reconciled"`
	RowsInTable int64                `json:"rows_in_table"`
	Logout      bool                 `json:"logout"`
	Logouts     *int                 `json:"logouts_accepted,omitempty"` // simulated system: logouts it accepted for this session
	LogoutsSent int64                `json:"logout_requests"`            // logout requests the web system received for this session
	DurationsMS map[string]int64     `json:"durations_ms"`
	Verify      *websim.Verification `json:"verify,omitempty"`
	Leaks       *[]string            `json:"leaks,omitempty"` // with --audit: where a secret showed in clear

	// Where to look next: the tables in the emulator and the functions' logs.
	Project string `json:"project"`
	Dataset string `json:"dataset"`
	LogFile string `json:"log_file"`
	Table   string `json:"-"` // the tickets table and the run log, in Dataset
	Runs    string `json:"-"`
}

// session runs one session through the chain and sums it up.
func (e *env) session(parent context.Context, o options, stdin io.Reader, stderr io.Writer) summary {
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	defer cancel()
	t0 := time.Now()
	req0, pages0, logouts0Sent := e.meter.Requests.Load(), e.meter.Pages.Load(), e.meter.Logouts.Load()
	logouts0 := 0
	if e.sim != nil {
		logouts0 = e.sim.Stats().Logouts
	}
	sum := summary{Outcome: string(chain.OutcomeFailed), DurationsMS: map[string]int64{}, Project: project, Dataset: e.cfg.extract.Dataset, LogFile: e.logPath,
		Table: e.cfg.extract.Table, Runs: e.cfg.extract.RunsTable}
	failed := func(err error) summary {
		sum.Error = err.Error()
		sum.DurationsMS["total"] = time.Since(t0).Milliseconds()
		sum.Requests = e.meter.Requests.Load() - req0
		sum.LogoutsSent = e.meter.Logouts.Load() - logouts0Sent
		return sum
	}

	body, _ := json.Marshal(map[string]string{"mode": o.mode})
	resp, err := http.Post(e.funcsURL+"/StartLogin", "application/json", bytes.NewReader(body))
	if err != nil {
		return failed(fmt.Errorf("StartLogin: %w", err))
	}
	var started struct {
		SessionID string `json:"session_id"`
		Auth      string `json:"auth"`
		Status    string `json:"status"`
		Error     string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return failed(fmt.Errorf("StartLogin answered %d: %s", resp.StatusCode, started.Error))
	}
	sum.SessionID, sum.Auth = started.SessionID, started.Auth
	fmt.Fprintf(stderr, "session %s started (%s)\n", started.SessionID, started.Auth)

	if started.Status == "pending" {
		if err := e.bringCode(ctx, o, t0, stdin, stderr); err != nil {
			return failed(err)
		}
	}
	sum.DurationsMS["login"] = time.Since(t0).Milliseconds()
	tLoad := time.Now()

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		e.meter.Progress(stderr, isTerminal(stderr), o.rate, e.cfg.extract.PageLimit, stop)
		close(done)
	}()
	fin, err := e.awaitFinished(ctx, started.SessionID)
	close(stop)
	<-done
	if err != nil {
		return failed(err)
	}
	sum.DurationsMS["extract_load"] = time.Since(tLoad).Milliseconds()
	sum.Logout = true // the Logout function acked: logged out, already out (401) or none needed
	sum.Outcome, sum.Error = string(fin.Outcome), fin.Error
	sum.Tickets, sum.Inserted, sum.Updated = fin.Tickets, fin.Inserted, fin.Updated
	if run, err := e.wh.Run(ctx, started.SessionID); err == nil && run != nil {
		sum.Mode = string(run.Mode)
		sum.Rejected, sum.FieldErrors, sum.Reconciled = run.Rejected, run.FieldErrors, run.Reconciled
	}
	if n, err := e.wh.CountRows(ctx); err == nil {
		sum.RowsInTable = n
	}
	if e.sim != nil {
		// Logout acks before a duplicate delivery is done: let it land.
		time.Sleep(100 * time.Millisecond)
		n := e.sim.Stats().Logouts - logouts0
		sum.Logouts = &n
	}
	sum.LogoutsSent = e.meter.Logouts.Load() - logouts0Sent
	sum.Pages = e.meter.Pages.Load() - pages0
	sum.Requests = e.meter.Requests.Load() - req0
	sum.DurationsMS["total"] = time.Since(t0).Milliseconds()
	return sum
}

// bringCode gets the e-mailed code to CompleteLogin the way --otp-via says.
func (e *env) bringCode(ctx context.Context, o options, since time.Time, stdin io.Reader, stderr io.Writer) error {
	script := &appsScript{url: e.funcsURL + "/CompleteLogin", secret: e.secret}
	switch o.otpVia {
	case "simulated":
		m, err := e.mail.next(ctx, since)
		if err != nil {
			return err
		}
		return script.post(ctx, webhookBody{Code: m.Code, ReceivedAt: m.SentAt.UTC().Format(time.RFC3339),
			MessageID: m.MessageID, Source: "gmail"}, m.SentAt)
	case "prompt":
		code, err := prompt(ctx, stdin, stderr)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		return script.post(ctx, webhookBody{Code: code, ReceivedAt: now.Format(time.RFC3339),
			MessageID: "manual", Source: "manual"}, now)
	default: // webhook: an outside caller posts the code
		fmt.Fprintf(stderr, "waiting for the code at %s/CompleteLogin\n", e.funcsURL)
		return nil
	}
}

// awaitFinished waits until Logout has handled the session's load-finished.
func (e *env) awaitFinished(ctx context.Context, sessionID string) (chain.LoadFinished, error) {
	for {
		select {
		case <-ctx.Done():
			return chain.LoadFinished{}, fmt.Errorf("session did not finish: %w", ctx.Err())
		case d := <-e.finished:
			m, err := chain.DecodeLoadFinished(d.Message)
			if err != nil || m.SessionID != sessionID {
				continue // a redelivered or earlier session's message
			}
			return m, nil
		}
	}
}

// verify compares the table with the simulated system's tickets
// (websim.Verify): 0 missing, 0 duplicated, 0 stale, 0 wrong situacao.
func (e *env) verify(ctx context.Context) (*websim.Verification, error) {
	rows, err := e.tableVersions(ctx)
	if err != nil {
		return nil, err
	}
	v := websim.Verify(e.sim.Truth(), rows)
	return &v, nil
}

func printSummary(w io.Writer, s summary, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(s)
		fmt.Fprintln(w, string(b))
		return
	}
	fmt.Fprintf(w, "session %s (%s, %s): %s", s.SessionID, s.Auth, s.Mode, s.Outcome)
	if s.Error != "" {
		fmt.Fprintf(w, " — %s", s.Error)
	}
	fmt.Fprintf(w, "\n  %d tickets (%d inserted, %d updated), %d rows in the table\n", s.Tickets, s.Inserted, s.Updated, s.RowsInTable)
	fmt.Fprintf(w, "  %d rejected, %d with a field of the wrong type (NULL there), %d corrected by the reconciliation\n",
		s.Rejected, s.FieldErrors, s.Reconciled)
	fmt.Fprintf(w, "  %d pages, %d requests to the web system, logout: %v\n", s.Pages, s.Requests, s.Logout)
	fmt.Fprintf(w, "  login %.1fs, extract+load %.1fs, total %.1fs\n", float64(s.DurationsMS["login"])/1000,
		float64(s.DurationsMS["extract_load"])/1000, float64(s.DurationsMS["total"])/1000)
	if s.Leaks != nil {
		fmt.Fprintf(w, "  audit: %d secrets in clear %v\n", len(*s.Leaks), *s.Leaks)
	}
	if v := s.Verify; v != nil {
		fmt.Fprintf(w, "  verify: %d tickets in the web system (%d deleted); %d missing, %d duplicated, %d stale, %d wrong situacao, %d extra\n",
			v.Truth, v.Deleted, v.Missing, v.Duplicated, v.Stale, v.WrongSituacao, v.Extra)
	}
	if s.Project != "" {
		fmt.Fprintf(w, "  tables: %s.%s.%s, run log %s.%s.%s; function logs: %s\n", s.Project, s.Dataset, s.Table, s.Project, s.Dataset, s.Runs, s.LogFile)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

type version struct {
	Number    int64               `bigquery:"numero_ticket"`
	UpdatedAt time.Time           `bigquery:"atualizado_em_utc"`
	Situacao  bigquery.NullString `bigquery:"situacao"`
}

// tableVersions reads every row's key, version and situacao from the
// tickets table (the situacao column of CONTRACT section 6).
func (e *env) tableVersions(ctx context.Context) ([]websim.Row, error) {
	it, err := e.bq.Query("SELECT numero_ticket, atualizado_em_utc, situacao FROM `" + e.cfg.extract.Dataset + "." + e.cfg.extract.Table + "`").Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tickets: %w", err)
	}
	var out []websim.Row
	for {
		var v version
		err := it.Next(&v)
		if err == iterator.Done {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read tickets: %w", err)
		}
		out = append(out, websim.Row{Number: v.Number, UpdatedAt: v.UpdatedAt, Situacao: v.Situacao.StringVal})
	}
}
