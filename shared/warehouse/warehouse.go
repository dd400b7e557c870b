// Package warehouse is the BigQuery adapter: it creates the tables of CONTRACT
// section 6, streams ticket rows into a per-session staging table through a load
// job, merges them into the tickets table (newest updated_at wins, history kept)
// and writes one sync_runs row per session. After each MERGE it appends the
// staged versions the history lacks to tickets_historico (history.go); the
// views of CONTRACT section 9 are SQL files shared with Terraform (views.go).
//
// Every step that changes data runs as a job with an id derived from the session
// and the step, so a redelivered event attaches to the job an earlier delivery
// started instead of running it again; see runJob for the rules. Loads are the
// exception: a redelivered chunk may read more than the earlier delivery did,
// so it stages in a step of its own (StageChunk).
//
// Limits worth knowing. A load is a resumable upload fed through a pipe as rows
// come: memory holds one upload chunk (Config.UploadChunkSize), and a load that
// breaks mid-upload creates no job, so the retry starts it afresh. Staging
// tables are left to expire (Config.StagingTTL) rather than dropped, because a
// redelivery after a merge attaches to the finished jobs and recounts against
// them.
//
// Against the BigQuery emulator: loads are spooled to a temporary file and
// uploaded in one request (see Stager); the MERGE source must be a table (hence the
// dedup table and the temp table in RecordRun); DML returns no statistics
// (inserted and updated are counted before the MERGE); a reused job id is a 400
// rather than a 409 (jobs are looked up before they are inserted, so this path
// is not taken); and jobs.get reports every job DONE without its error.
package warehouse

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/option"
)

// Config names the destination and tunes the loader.
type Config struct {
	Dataset   string // BQ_DATASET
	Table     string // BQ_TABLE, the tickets table
	RunsTable string // BQ_RUNS_TABLE
	Location  string // BQ_LOCATION, for the dataset and the jobs

	// StagingTTL is how long staging tables live. It must outlast the time in
	// which an event can be redelivered (MAX_EVENT_AGE_MINUTES). 0 means 24 h.
	StagingTTL time.Duration

	// UploadChunkSize is the chunk of the resumable load uploads, the most
	// of a load held in memory. 0 means 8 MiB.
	UploadChunkSize int

	// Spool stages rows in a temporary file uploaded in one request at Close,
	// instead of a resumable upload fed as rows come. The emulator needs it:
	// it reads every upload chunk as a whole file and gives a request 15 s.
	// Clients made by NewClient for an emulator spool whatever this says.
	Spool bool

	Logger *slog.Logger     // nil discards
	Now    func() time.Time // nil means time.Now
}

// Warehouse writes tickets and runs to BigQuery. It is safe for concurrent use;
// a Stager is not.
type Warehouse struct {
	c   *bigquery.Client
	cfg Config
	log *slog.Logger

	// pollEvery is the first interval of the job status polling.
	pollEvery time.Duration
	spool     bool
}

// emulatorClients remembers the clients NewClient made for an emulator, so
// that New picks the upload the emulator can take without every caller
// having to say so.
var emulatorClients sync.Map // *bigquery.Client → struct{}

// New returns a Warehouse writing through client.
func New(client *bigquery.Client, cfg Config) *Warehouse {
	if cfg.StagingTTL <= 0 {
		cfg.StagingTTL = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Table == "" {
		cfg.Table = "tickets"
	}
	if cfg.RunsTable == "" {
		cfg.RunsTable = "sync_runs"
	}
	if cfg.UploadChunkSize <= 0 {
		cfg.UploadChunkSize = 8 << 20
	}
	_, emulated := emulatorClients.Load(client)
	return &Warehouse{c: client, cfg: cfg, log: cfg.Logger.With("component", "warehouse"),
		pollEvery: 200 * time.Millisecond, spool: cfg.Spool || emulated}
}

// NewClient returns a BigQuery client for project. With emulatorHost
// ("host:port", BIGQUERY_EMULATOR_HOST) set, it talks to that emulator over
// plain HTTP without credentials; otherwise it uses the default credentials.
func NewClient(ctx context.Context, project, emulatorHost string, opts ...option.ClientOption) (*bigquery.Client, error) {
	if emulatorHost != "" {
		endpoint := emulatorHost
		if !strings.Contains(endpoint, "://") {
			endpoint = "http://" + endpoint
		}
		opts = append([]option.ClientOption{option.WithEndpoint(endpoint), option.WithoutAuthentication()}, opts...)
	}
	c, err := bigquery.NewClient(ctx, project, opts...)
	if err != nil {
		return nil, fmt.Errorf("bigquery client: %w", err)
	}
	if emulatorHost != "" {
		emulatorClients.Store(c, struct{}{})
	}
	return c, nil
}

// tableRef is `project.dataset.table`, quoted for GoogleSQL.
func (w *Warehouse) tableRef(table string) string {
	return fmt.Sprintf("`%s.%s.%s`", w.c.Project(), w.cfg.Dataset, table)
}

// ident makes s usable in a table or job id: letters, digits and underscores.
// When anything had to be replaced, a hash of s keeps distinct inputs distinct.
func ident(s string) string {
	clean := true
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
			clean = false
		}
	}
	if clean && s != "" {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%s_%08x", b, h.Sum32())
}

// stagingTable is the staging table of a session's step.
func stagingTable(sessionID, step string) string {
	return "_stg_" + ident(sessionID) + "_" + ident(step)
}

// jobID is the deterministic id of a session's step's job of the given kind.
func jobID(sessionID, step, kind string) string {
	return "tiflux_" + ident(sessionID) + "_" + ident(step) + "_" + kind
}
