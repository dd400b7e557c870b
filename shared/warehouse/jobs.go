package warehouse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
)

// maxJobAttempts bounds the suffixed retries of a job whose earlier runs failed.
const maxJobAttempts = 8

// suffixed is the id of the given attempt: id itself first, then id_r1, id_r2...
func suffixed(id string, attempt int) string {
	if attempt == 0 {
		return id
	}
	return fmt.Sprintf("%s_r%d", id, attempt)
}

// startFunc inserts a job under the given id.
type startFunc func(ctx context.Context, id string) (*bigquery.Job, error)

// runJob runs the job that start inserts under the deterministic id, or
// attaches to an earlier run of it, and waits until it is done:
//
//   - insert it first: no job with that id yet means it simply runs;
//   - the insert answers that it exists (BigQuery's 409 "already exists", the
//     emulator's 400 "is already created"): fetch it; while it runs, wait for
//     it; when it succeeded, accept it (nothing runs twice);
//   - the one that exists failed: go on under id_r1, id_r2, ..., up to
//     maxJobAttempts.
//
// The job is never looked up before it is inserted: BigQuery grants
// bigquery.jobs.get to the creator of a job on that job (and to project
// owners), so a lookup of an id nobody has run may be refused with 403
// (https://cloud.google.com/bigquery/docs/jobs-overview, "Required
// permissions"; jobs.get: "Requires that you're the person who ran the job").
//
// A job this call inserted itself that fails is returned as an error, not
// retried here: the caller's retry (the event's redelivery) finds it failed and
// moves to the next suffix.
func (w *Warehouse) runJob(ctx context.Context, id string, start startFunc) (*bigquery.Job, error) {
	for attempt := 0; attempt < maxJobAttempts; attempt++ {
		jid := suffixed(id, attempt)
		inserted := false
		job, err := start(ctx, jid)
		switch {
		case alreadyExists(err):
			w.log.Info("job already exists; fetching it", "job", jid)
			if job, err = w.lookupJob(ctx, jid); err != nil {
				return nil, err
			}
			if job == nil {
				return nil, fmt.Errorf("job %s: insert said it exists, get says it does not", jid)
			}
		case err != nil:
			return nil, fmt.Errorf("start job %s: %w", jid, err)
		default:
			inserted = true
		}
		status, err := w.waitJob(ctx, job)
		if err != nil {
			return nil, err
		}
		if err := status.Err(); err != nil {
			if inserted {
				return nil, fmt.Errorf("job %s: %w", jid, err)
			}
			w.log.Warn("an earlier run of the job failed; retrying under a new id",
				"job", jid, "next", suffixed(id, attempt+1), "error", err.Error())
			continue
		}
		return job, nil
	}
	return nil, fmt.Errorf("job %s: failed %d times", id, maxJobAttempts)
}

// alreadyExists reports whether a jobs.insert was refused because the id is
// taken: BigQuery answers 409; the emulator answers 400 "job ... is already
// created" (EMULATOR.md).
func alreadyExists(err error) bool {
	if isStatus(err, http.StatusConflict) {
		return true
	}
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == http.StatusBadRequest &&
		strings.Contains(gerr.Message, "is already created")
}

// lookupJob fetches the job with that id, or returns nil when there is none.
func (w *Warehouse) lookupJob(ctx context.Context, id string) (*bigquery.Job, error) {
	job, err := w.c.JobFromIDLocation(ctx, id, w.cfg.Location)
	if isStatus(err, http.StatusNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return job, nil
}

// waitJob polls the job's status until it is done. Unlike Job.Wait it uses
// jobs.get for every kind of job, so the same code waits for queries and loads.
func (w *Warehouse) waitJob(ctx context.Context, job *bigquery.Job) (*bigquery.JobStatus, error) {
	status := job.LastStatus()
	every := w.pollEvery
	for status == nil || !status.Done() {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for job %s: %w", job.ID(), ctx.Err())
		case <-time.After(every):
		}
		if every < 5*time.Second {
			every = every * 3 / 2
		}
		var err error
		if status, err = job.Status(ctx); err != nil {
			return nil, fmt.Errorf("job %s status: %w", job.ID(), err)
		}
	}
	return status, nil
}

// query runs sql as a job under the deterministic id (see runJob).
func (w *Warehouse) query(ctx context.Context, id, sql string, params ...bigquery.QueryParameter) (*bigquery.Job, error) {
	return w.runJob(ctx, id, func(ctx context.Context, jid string) (*bigquery.Job, error) {
		q := w.c.Query(sql)
		q.JobID = jid
		q.Location = w.cfg.Location
		q.Parameters = params
		return q.Run(ctx)
	})
}

// read runs a read-only query (no fixed job id: reading twice is harmless) and
// returns its rows.
func (w *Warehouse) read(ctx context.Context, sql string, params ...bigquery.QueryParameter) (*bigquery.RowIterator, error) {
	q := w.c.Query(sql)
	q.Location = w.cfg.Location
	q.Parameters = params
	it, err := q.Read(ctx)
	if err != nil {
		return nil, err
	}
	return it, nil
}
