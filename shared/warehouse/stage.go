package warehouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// ErrAborted is what Add and Close return after Abort.
var ErrAborted = errors.New("staging aborted")

// ErrStaged is what Stage returns when the step's load ran before (it runs or
// succeeded): an earlier delivery staged that step, and its rows stand.
var ErrStaged = errors.New("step staged before")

// Stager streams rows into a session step's staging table through one load
// job. A Stager is not safe for concurrent use.
//
// Against BigQuery, Add encodes each row into a pipe that the job's resumable
// upload reads, one chunk (Config.UploadChunkSize) at a time: memory holds one
// chunk, however long the window, and each request is short however long the
// pull. Against the emulator, which reads every chunk as a whole file and
// allows a request 15 s, rows are spooled to a temporary file and uploaded in
// one request when Close is called.
type Stager struct {
	w       *Warehouse
	session string
	step    string
	table   string
	jobID   string

	enc    *tickets.Encoder
	finish func(ctx context.Context) (*bigquery.Job, error) // ends the upload
	abort  func()
	closed bool

	// pipe mode: the upload goroutine's outcome
	done    chan struct{}
	job     *bigquery.Job
	loadErr error
	// conflict: the upload found the job already existing (409); rows are
	// discarded and Close attaches to that job.
	conflict bool
}

// StageChunk stages one chunk of a session (ExtractLoad's chunk number) in a
// step of its own: c<chunk>, or, when an earlier delivery of the chunk staged
// that step, the first of c<chunk>_r1, c<chunk>_r2, ... it did not. A
// redelivered chunk reads again from its cursor, maybe further than the
// earlier delivery did, so its rows need a load of their own; merging a
// ticket twice changes nothing.
func (w *Warehouse) StageChunk(ctx context.Context, sessionID string, chunk int) (*Stager, error) {
	step := fmt.Sprintf("c%d", chunk)
	for retry := 1; ; retry++ {
		s, err := w.Stage(ctx, sessionID, step)
		if !errors.Is(err, ErrStaged) {
			return s, err
		}
		step = fmt.Sprintf("c%d_r%d", chunk, retry)
	}
}

// Stage starts the load job of a session's step (id tiflux_<session>_<step>_load)
// into the staging table _stg_<session>_<step>, which expires after
// Config.StagingTTL. When an earlier delivery already ran that load (it runs
// or succeeded), it returns an error matching ErrStaged. An earlier load that
// failed is retried under a suffixed id (see runJob).
//
// The upload runs under ctx; cancelling it fails the load.
func (w *Warehouse) Stage(ctx context.Context, sessionID, step string) (*Stager, error) {
	if sessionID == "" || step == "" {
		return nil, errors.New("stage: session and step are required")
	}
	s := &Stager{w: w, session: sessionID, step: step, table: stagingTable(sessionID, step)}
	base := jobID(sessionID, step, "load")
	for attempt := 0; ; attempt++ {
		if attempt == maxJobAttempts {
			return nil, fmt.Errorf("stage: load job %s failed %d times", base, maxJobAttempts)
		}
		jid := suffixed(base, attempt)
		job, err := w.lookupJob(ctx, jid)
		if err != nil {
			return nil, fmt.Errorf("stage: %w", err)
		}
		if job == nil {
			s.jobID = jid
			break
		}
		if st := job.LastStatus(); st != nil && st.Done() && st.Err() != nil {
			w.log.Warn("an earlier load failed; loading under a new id", "job", jid, "error", st.Err().Error())
			continue
		}
		return nil, fmt.Errorf("stage: load %s: %w", jid, ErrStaged)
	}

	ds := w.c.Dataset(w.cfg.Dataset)
	err := ds.Table(s.table).Create(ctx, &bigquery.TableMetadata{Schema: TicketsSchema(),
		ExpirationTime: w.cfg.Now().Add(w.cfg.StagingTTL),
		Description:    "Staging for one step of one sync session; expires."})
	if err != nil && !isStatus(err, http.StatusConflict) {
		return nil, fmt.Errorf("stage: create %s: %w", s.table, err)
	}

	loader := func(r io.Reader, chunk int) *bigquery.Loader {
		src := bigquery.NewReaderSource(r)
		src.SourceFormat = bigquery.JSON
		src.Schema = TicketsSchema()
		l := ds.Table(s.table).LoaderFrom(src)
		l.JobID = s.jobID
		l.Location = w.cfg.Location
		l.CreateDisposition = bigquery.CreateIfNeeded
		// A retry under a suffixed id replaces what a failed attempt left.
		l.WriteDisposition = bigquery.WriteTruncate
		l.MediaOptions = []googleapi.MediaOption{googleapi.ChunkSize(chunk)}
		return l
	}
	if w.spool {
		err = s.startSpool(loader)
	} else {
		s.startPipe(ctx, loader)
	}
	if err != nil {
		return nil, err
	}
	w.log.Info("staging started", "job", s.jobID, "table", s.table, "spool", w.spool)
	return s, nil
}

// startPipe runs the upload in a goroutine reading what Add encodes.
func (s *Stager) startPipe(ctx context.Context, loader func(io.Reader, int) *bigquery.Loader) {
	pr, pw := io.Pipe()
	uctx, cancel := context.WithCancel(ctx)
	s.done = make(chan struct{})
	s.enc = tickets.NewEncoder(pw)
	l := loader(pr, s.w.cfg.UploadChunkSize)
	go func() {
		defer close(s.done)
		job, err := l.Run(uctx)
		s.job, s.loadErr = job, err
		// Unblock Add if the upload ended before reading everything.
		if err == nil {
			err = errors.New("ended early")
		}
		pr.CloseWithError(fmt.Errorf("load upload: %w", err))
	}()
	s.finish = func(ctx context.Context) (*bigquery.Job, error) {
		defer cancel()
		if err := s.enc.Flush(); err != nil && !s.conflict {
			pw.CloseWithError(err)
			<-s.done
			return nil, err
		}
		pw.Close()
		select {
		case <-s.done:
		case <-ctx.Done():
			cancel()
			<-s.done
			return nil, ctx.Err()
		}
		return s.job, s.loadErr
	}
	s.abort = func() {
		pw.CloseWithError(ErrAborted)
		cancel()
		<-s.done
	}
}

// startSpool encodes into a temporary file that Close uploads in one request.
func (s *Stager) startSpool(loader func(io.Reader, int) *bigquery.Loader) error {
	f, err := os.CreateTemp("", "tiflux-stage-*.ndjson")
	if err != nil {
		return fmt.Errorf("stage: spool file: %w", err)
	}
	s.enc = tickets.NewEncoder(f)
	drop := func() {
		f.Close()
		os.Remove(f.Name())
	}
	s.finish = func(ctx context.Context) (*bigquery.Job, error) {
		defer drop()
		if err := s.enc.Flush(); err != nil {
			return nil, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return loader(f, 0).Run(ctx)
	}
	s.abort = drop
	return nil
}

// Add stages one row. Its error is the upload's: the load failed or was
// cancelled, and the step must be retried.
func (s *Stager) Add(row tickets.Row) error {
	if s.closed {
		return errors.New("stage: Add after Close or Abort")
	}
	if s.conflict {
		return nil
	}
	if err := s.enc.Encode(&row); err != nil {
		if s.done != nil && isStatus(s.loadErr, http.StatusConflict) {
			// The upload's first request found the job existing: another
			// delivery runs this load. Close attaches to it.
			s.conflict = true
			return nil
		}
		return fmt.Errorf("stage: %w", err)
	}
	return nil
}

// Close ends the upload, waits for the load job and returns the number of rows
// in the staging table (duplicates included).
func (s *Stager) Close(ctx context.Context) (int, error) {
	if s.closed {
		return 0, errors.New("stage: Close after Close or Abort")
	}
	s.closed = true
	job, err := s.finish(ctx)
	if isStatus(err, http.StatusConflict) {
		// Another delivery inserted this load between our lookup and our
		// upload. Its rows stand and ours are dropped: wait for it if it runs,
		// accept it if it succeeded. If it failed, our rows are gone with the
		// upload, so the step fails and its retry loads under the next id.
		s.w.log.Info("load already exists; fetching it", "job", s.jobID)
		job, err := s.w.lookupJob(ctx, s.jobID)
		if err != nil {
			return 0, fmt.Errorf("stage: %w", err)
		}
		if job == nil {
			return 0, fmt.Errorf("stage: load %s: insert said it exists, get says it does not", s.jobID)
		}
		return s.finished(ctx, job, false)
	}
	if err != nil {
		return 0, fmt.Errorf("stage: load %s: %w", s.jobID, err)
	}
	return s.finished(ctx, job, true)
}

// finished waits for the load job and counts what it loaded.
func (s *Stager) finished(ctx context.Context, job *bigquery.Job, ours bool) (int, error) {
	status, err := s.w.waitJob(ctx, job)
	if err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	if err := status.Err(); err != nil {
		return 0, fmt.Errorf("stage: load %s: %w", job.ID(), err)
	}
	n := -1
	if ours {
		n = s.enc.Rows() // WRITE_TRUNCATE: the table holds exactly what we sent
	} else if st := status.Statistics; st != nil {
		if ls, ok := st.Details.(*bigquery.LoadStatistics); ok {
			n = int(ls.OutputRows)
		}
	}
	if n < 0 { // the emulator keeps no load statistics
		md, err := s.w.c.Dataset(s.w.cfg.Dataset).Table(s.table).Metadata(ctx)
		if err != nil {
			return 0, fmt.Errorf("stage: read %s: %w", s.table, err)
		}
		n = int(md.NumRows)
	}
	s.w.log.Info("staging loaded", "job", job.ID(), "table", s.table, "rows", n, "reused", !ours)
	return n, nil
}

// Load ends the staging and moves its rows into the tickets table: Close,
// then Merge when it staged any row, then MarkDeleted of deleted, all under
// the Stager's step. It returns what they did: Tickets, Inserted and Updated
// of the merge, Reconciled the rows MarkDeleted changed. On an error the
// step must run again; the merge is one statement, so the table holds all of
// it or none.
func (s *Stager) Load(ctx context.Context, deleted []int64) (chain.Totals, error) {
	var t chain.Totals
	staged, err := s.Close(ctx)
	if err != nil {
		return t, fmt.Errorf("load staging: %w", err)
	}
	if staged > 0 {
		mr, err := s.w.Merge(ctx, s.session, s.step)
		if err != nil {
			return t, err
		}
		t.Tickets, t.Inserted, t.Updated = mr.Tickets, mr.Inserted, mr.Updated
	}
	if len(deleted) > 0 {
		// After the merge: a ticket staged in this step is in the table now.
		if t.Reconciled, err = s.w.MarkDeleted(ctx, s.session, s.step, deleted); err != nil {
			return t, err
		}
	}
	return t, nil
}

// Abort stops the upload; no load job is created from it. Add and Close
// afterwards fail. Aborting a closed Stager does nothing.
func (s *Stager) Abort() {
	if s.closed {
		return
	}
	s.closed = true
	s.abort()
}
