package warehouse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/option"
)

// jobsAPI is an HTTP-level stand-in of BigQuery's jobs.insert and jobs.get.
// It exists because the emulator cannot produce the path under test: it
// answers a reused job id with a 400 (after running the job again and rolling
// it back), never with the 409 "already exists" BigQuery sends.
type jobsAPI struct {
	mu      sync.Mutex
	insert  map[string]string   // job id → "409", "ok" or "fail": what jobs.insert answers
	states  map[string][]string // job id → what successive jobs.get answer: "404", "RUNNING", "DONE", "FAILED"
	inserts []string            // job ids inserted, in order
	gets    map[string]int
	calls   []string // "insert j", "get j", in order
}

func (a *jobsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := strings.Index(r.URL.Path, "/projects/p/jobs")
	if i < 0 {
		http.Error(w, `{"error":{"code":404,"message":"no such path"}}`, http.StatusNotFound)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path[i:], "/projects/p/jobs")
	switch {
	case r.Method == http.MethodPost && rest == "":
		var body struct {
			JobReference struct{ JobID string } `json:"jobReference"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := body.JobReference.JobID
		a.inserts = append(a.inserts, id)
		a.calls = append(a.calls, "insert "+id)
		switch a.insert[id] {
		case "409":
			writeError(w, http.StatusConflict, "duplicate", "Already Exists: Job p:US."+id)
		case "400":
			// The emulator's answer to a reused id (EMULATOR.md).
			writeError(w, http.StatusBadRequest, "invalid", "failed to add job: job "+id+" is already created")
		case "fail":
			writeJob(w, id, "FAILED")
		default:
			writeJob(w, id, "DONE")
		}
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/"):
		id := strings.TrimPrefix(rest, "/")
		a.calls = append(a.calls, "get "+id)
		n := a.gets[id]
		a.gets[id]++
		seq := a.states[id]
		state := "404"
		if len(seq) > 0 {
			state = seq[min(n, len(seq)-1)]
		}
		if state == "404" {
			writeError(w, http.StatusNotFound, "notFound", "Not found: Job p:US."+id)
			return
		}
		writeJob(w, id, state)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotImplemented)
	}
}

func writeError(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"errors":[{"reason":%q,"message":%q}]}}`, code, msg, reason, msg)
}

func writeJob(w http.ResponseWriter, id, state string) {
	status := map[string]any{"state": state}
	if state == "FAILED" {
		status = map[string]any{"state": "DONE",
			"errorResult": map[string]string{"reason": "backendError", "message": "the earlier run failed"}}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jobReference":  map[string]string{"projectId": "p", "jobId": id, "location": "US"},
		"configuration": map[string]any{"query": map[string]any{"query": "SELECT 1"}},
		"status":        status,
	})
}

func TestRunJobAlreadyExists(t *testing.T) {
	tests := []struct {
		name        string
		insert      map[string]string
		states      map[string][]string
		wantJob     string
		wantInserts []string
		wantErr     bool
	}{
		{
			name:        "RunningIsWaitedFor",
			insert:      map[string]string{"j": "409"},
			states:      map[string][]string{"j": {"RUNNING", "RUNNING", "DONE"}},
			wantJob:     "j",
			wantInserts: []string{"j"},
		},
		{
			name:        "SucceededIsAccepted",
			insert:      map[string]string{"j": "409"},
			states:      map[string][]string{"j": {"DONE"}},
			wantJob:     "j",
			wantInserts: []string{"j"},
		},
		{
			name:        "FailedIsRetriedUnderSuffixedID",
			insert:      map[string]string{"j": "409"},
			states:      map[string][]string{"j": {"FAILED"}},
			wantJob:     "j_r1",
			wantInserts: []string{"j", "j_r1"},
		},
		{
			name:        "FailedTwiceFoundByLookup",
			insert:      map[string]string{"j": "409", "j_r1": "409"},
			states:      map[string][]string{"j": {"FAILED"}, "j_r1": {"FAILED"}},
			wantJob:     "j_r2",
			wantInserts: []string{"j", "j_r1", "j_r2"},
		},
		{
			name:        "SucceededFoundAfterInsertIsAccepted",
			insert:      map[string]string{"j": "409"},
			states:      map[string][]string{"j": {"DONE"}},
			wantJob:     "j",
			wantInserts: []string{"j"},
		},
		{
			name:        "OwnRunFailingIsAnError",
			insert:      map[string]string{"j": "fail"},
			wantInserts: []string{"j"},
			wantErr:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &jobsAPI{insert: tt.insert, states: tt.states, gets: map[string]int{}}
			ctx := context.Background()
			w := mustJobsWarehouse(t, api)

			job, err := w.query(ctx, "j", "SELECT 1")

			if tt.wantErr {
				if err == nil {
					t.Fatalf("got job %s, want an error", job.ID())
				}
			} else if err != nil {
				t.Fatalf("runJob: %v", err)
			} else if job.ID() != tt.wantJob {
				t.Errorf("job: got %s, want %s", job.ID(), tt.wantJob)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if !slices.Equal(api.inserts, tt.wantInserts) {
				t.Errorf("inserts: got %v, want %v", api.inserts, tt.wantInserts)
			}
		})
	}
}

// BigQuery grants jobs.get only on one's own jobs (the creator is granted
// bigquery.jobs.get and bigquery.jobs.update on the job it creates:
// https://cloud.google.com/bigquery/docs/jobs-overview), so a lookup of a job
// id nobody has run yet may be refused. The job is inserted first and looked up
// only when the insert says it exists (409, or the emulator's 400).
func TestRunJobInsertsBeforeAnyLookup(t *testing.T) {
	tests := []struct {
		name      string
		insert    map[string]string
		states    map[string][]string
		wantCalls []string
	}{
		{"NewJob", nil, map[string][]string{"j": {"DONE"}}, []string{"insert j"}},
		{"ExistingJob409", map[string]string{"j": "409"}, map[string][]string{"j": {"DONE"}}, []string{"insert j", "get j"}},
		{"ExistingJobEmulator400", map[string]string{"j": "400"}, map[string][]string{"j": {"DONE"}}, []string{"insert j", "get j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &jobsAPI{insert: tt.insert, states: tt.states, gets: map[string]int{}}
			ctx := context.Background()
			w := mustJobsWarehouse(t, api)
			if _, err := w.query(ctx, "j", "SELECT 1"); err != nil {
				t.Fatalf("runJob: %v", err)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if !slices.Equal(api.calls, tt.wantCalls) {
				t.Errorf("calls: got %v, want %v", api.calls, tt.wantCalls)
			}
		})
	}
}

// mustJobsWarehouse is a Warehouse whose BigQuery is api, polling jobs
// every millisecond.
func mustJobsWarehouse(t *testing.T, api *jobsAPI) *Warehouse {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	client, err := bigquery.NewClient(context.Background(), "p", option.WithEndpoint(srv.URL), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	w := New(client, Config{Dataset: "d", Location: "US"})
	w.pollEvery = time.Millisecond
	return w
}
