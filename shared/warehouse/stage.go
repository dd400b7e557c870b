package warehouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// ErrAborted is what Add and Close return after Abort.
var ErrAborted = errors.New("staging aborted")

// Stager streams rows into a session step's staging table through one load
// job: Add encodes a row into a pipe that the job's upload reads, Close ends
// the upload and waits for the job. It holds no more than a buffer of rows.
// A Stager is not safe for concurrent use.
type Stager struct {
	w       *Warehouse
	table   string
	jobID   string
	reused  *bigquery.Job // the load job of an earlier delivery, when there is one
	pw      *io.PipeWriter
	enc     *tickets.Encoder
	cancel  context.CancelFunc
	done    chan struct{} // closed when the upload returned
	job     *bigquery.Job // set by the upload
	loadErr error         // set by the upload
	closed  bool
}

// Stage starts the load job of a session's step (id tiflux_<session>_<step>_load)
// into the staging table _stg_<session>_<step>, which expires after
// Config.StagingTTL. When an earlier delivery already ran that load (it runs
// or succeeded), the Stager attaches to it instead: Reused reports true, Add
// discards rows and Close returns the earlier load's row count. An earlier
// load that failed is retried under a suffixed id (see runJob).
//
// The upload runs under ctx; cancelling it fails the load.
func (w *Warehouse) Stage(ctx context.Context, sessionID, step string) (*Stager, error) {
	if sessionID == "" || step == "" {
		return nil, errors.New("stage: session and step are required")
	}
	s := &Stager{w: w, table: stagingTable(sessionID, step), done: make(chan struct{})}
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
		w.log.Info("load ran before; attaching to it", "job", jid, "table", s.table)
		s.jobID, s.reused = jid, job
		close(s.done)
		return s, nil
	}

	ds := w.c.Dataset(w.cfg.Dataset)
	err := ds.Table(s.table).Create(ctx, &bigquery.TableMetadata{Schema: TicketsSchema(),
		ExpirationTime: w.cfg.Now().Add(w.cfg.StagingTTL),
		Description:    "Staging for one step of one sync session; expires."})
	if err != nil && !isStatus(err, http.StatusConflict) {
		return nil, fmt.Errorf("stage: create %s: %w", s.table, err)
	}

	pr, pw := io.Pipe()
	src := bigquery.NewReaderSource(pr)
	src.SourceFormat = bigquery.JSON
	src.Schema = TicketsSchema()
	loader := ds.Table(s.table).LoaderFrom(src)
	loader.JobID = s.jobID
	loader.Location = w.cfg.Location
	loader.CreateDisposition = bigquery.CreateIfNeeded
	// A retry under a suffixed id replaces what a failed attempt left.
	loader.WriteDisposition = bigquery.WriteTruncate
	loader.MediaOptions = []googleapi.MediaOption{googleapi.ChunkSize(w.cfg.UploadChunkSize)}

	uctx, cancel := context.WithCancel(ctx)
	s.pw, s.cancel = pw, cancel
	s.enc = tickets.NewEncoder(pw)
	go func() {
		defer close(s.done)
		job, err := loader.Run(uctx)
		// Unblock Add if the upload ended before reading everything.
		pr.CloseWithError(errUploadEnded(err))
		s.job, s.loadErr = job, err
	}()
	w.log.Info("staging started", "job", s.jobID, "table", s.table)
	return s, nil
}

func errUploadEnded(err error) error {
	if err != nil {
		return fmt.Errorf("load upload: %w", err)
	}
	return errors.New("load upload ended early")
}

// Reused reports whether the Stager attached to a load an earlier delivery
// ran; its rows are then the ones merged, and Add discards.
func (s *Stager) Reused() bool { return s.reused != nil }

// Add stages one row. Its error is the upload's: the load failed or was
// cancelled, and the step must be retried.
func (s *Stager) Add(row tickets.Row) error {
	if s.closed {
		return errors.New("stage: Add after Close")
	}
	if s.reused != nil {
		return nil
	}
	if err := s.enc.Encode(&row); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	return nil
}

// Close ends the upload, waits for the load job and returns the number of rows
// in the staging table (duplicates included).
func (s *Stager) Close(ctx context.Context) (int, error) {
	if s.closed {
		return 0, errors.New("stage: Close called twice")
	}
	s.closed = true
	if s.reused != nil {
		return s.finished(ctx, s.reused, false)
	}
	defer s.cancel()
	if err := s.enc.Flush(); err != nil {
		s.pw.CloseWithError(err)
		<-s.done
		return 0, fmt.Errorf("stage: %w", err)
	}
	s.pw.Close()
	select {
	case <-s.done:
	case <-ctx.Done():
		s.cancel()
		<-s.done
		return 0, fmt.Errorf("stage: %w", ctx.Err())
	}
	if isStatus(s.loadErr, http.StatusConflict) {
		// Another delivery inserted this load between our lookup and our
		// upload. Its rows stand; ours are lost, which is fine while it ran or
		// succeeded. If it failed, the retry of this step takes the next id.
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
	if s.loadErr != nil {
		return 0, fmt.Errorf("stage: load %s: %w", s.jobID, s.loadErr)
	}
	return s.finished(ctx, s.job, true)
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

// Abort stops the upload; no load job is created from it. Add and Close
// afterwards fail. Aborting a reused or closed Stager does nothing.
func (s *Stager) Abort() {
	if s.reused != nil || s.closed {
		return
	}
	s.closed = true
	s.pw.CloseWithError(ErrAborted)
	s.cancel()
	<-s.done
}
