package warehouse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/option"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// uploadAPI is an HTTP-level stand-in of BigQuery's resumable load upload,
// the path the Stager takes against BigQuery. The emulator cannot test it: it
// reads every chunk as a whole file.
type uploadAPI struct {
	mu       sync.Mutex
	body     bytes.Buffer
	chunks   []int
	finished bool
	// conflict: another delivery's load of the same id exists by the time
	// the upload starts (after Stage looked it up): the upload gets a 409,
	// jobs.get then finds that load done with 42 rows.
	conflict bool
	gets     int
}

func (a *uploadAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && strings.Contains(p, "/jobs/"):
		a.gets++
		if !a.conflict || a.gets == 1 {
			writeError(w, http.StatusNotFound, "notFound", "no such job")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"jobReference":{"projectId":"p","jobId":"tiflux_s_c0_load","location":"US"},
			"configuration":{"load":{"destinationTable":{"projectId":"p","datasetId":"d","tableId":"_stg_s_c0"}}},
			"status":{"state":"DONE"},"statistics":{"load":{"outputRows":"42"}}}`)
	case r.Method == http.MethodPost && strings.Contains(p, "/upload/") && a.conflict:
		io.Copy(io.Discard, r.Body)
		writeError(w, http.StatusConflict, "duplicate", "Already Exists: Job p:US.tiflux_s_c0_load")
	case r.Method == http.MethodPost && strings.Contains(p, "/upload/") && r.URL.Query().Get("uploadType") == "multipart":
		n, _ := io.Copy(&a.body, r.Body)
		a.chunks = append(a.chunks, int(n))
		a.finished = true
		writeJob(w, "load", "DONE")
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/tables"):
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"tableReference":{"projectId":"p","datasetId":"d","tableId":"_stg_s_c0"}}`)
	case r.Method == http.MethodPost && strings.Contains(p, "/upload/") && r.URL.Query().Get("uploadType") == "resumable":
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Location", "http://"+r.Host+"/upload/session/1")
		w.WriteHeader(http.StatusOK)
	case p == "/upload/session/1": // chunks come as PUT or POST
		n, _ := io.Copy(&a.body, r.Body)
		a.chunks = append(a.chunks, int(n))
		// Content-Range: bytes a-b/total, or bytes a-b/* while the total is unknown.
		cr := r.Header.Get("Content-Range")
		if !strings.HasSuffix(cr, "/*") {
			a.finished = true
			writeJob(w, "load", "DONE")
			return
		}
		// "Resume Incomplete", spelled as Google's upload endpoint does for
		// clients that send X-GUploader-No-308.
		w.Header().Set("Range", "bytes=0-"+strconv.Itoa(a.body.Len()-1))
		w.Header().Set("X-Http-Status-Code-Override", "308")
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.String(), http.StatusNotImplemented)
	}
}

// TestStagePipeUpload follows rows through the pipe into the upload: a load
// bigger than a chunk goes as a resumable upload, chunk by chunk, a smaller
// one as one request when Close ends the pipe.
func TestStagePipeUpload(t *testing.T) {
	const chunk = 256 << 10 // the smallest chunk the upload takes
	tests := []struct {
		name       string
		rows       int
		wantChunks func(int) bool
	}{
		{"ResumableChunks", 5000, func(n int) bool { return n > 1 }},
		{"OneRequest", 3, func(n int) bool { return n == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &uploadAPI{}
			w := newUploadWarehouse(t, api, chunk)
			if w.spool {
				t.Fatal("a client not made for an emulator must not spool")
			}
			ctx := context.Background()
			st, err := w.Stage(ctx, "s", "c0")
			if err != nil {
				t.Fatalf("Stage: %v", err)
			}
			title, created, updated := "título", "2026-06-01T13:05:00Z", "2026-06-02T13:05:00Z"
			for i := int64(1); i <= int64(tt.rows); i++ {
				num := i
				row, err := tickets.ToRow(tickets.Ticket{Number: &num, Title: &title, CreatedAt: &created, UpdatedAt: &updated},
					time.UTC, "s", time.Now())
				if err != nil {
					t.Fatalf("ToRow: %v", err)
				}
				if err := st.Add(row); err != nil {
					t.Fatalf("Add: %v", err)
				}
			}
			staged, err := st.Close(ctx)
			if err != nil {
				t.Fatalf("Close: %v", err)
			}

			api.mu.Lock()
			defer api.mu.Unlock()
			if staged != tt.rows {
				t.Errorf("staged: got %d, want %d", staged, tt.rows)
			}
			if !api.finished || !tt.wantChunks(len(api.chunks)) {
				t.Fatalf("requests with data: got %v (finished %v)", api.chunks, api.finished)
			}
			for i, c := range api.chunks {
				if tt.rows > 100 && c > chunk {
					t.Errorf("chunk %d: got %d bytes, want at most %d", i, c, chunk)
				}
			}
			// A multipart request carries the job's metadata before the rows.
			body := api.body.Bytes()
			if i := bytes.Index(body, []byte(`{"numero_ticket"`)); i > 0 {
				body = body[i:]
			}
			lines := 0
			sc := bufio.NewScanner(bytes.NewReader(body))
			for sc.Scan() && lines < tt.rows {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("line %d: %v", lines+1, err)
				}
				lines++
				if got, want := m["numero_ticket"], float64(lines); got != want {
					t.Fatalf("line %d: numero_ticket got %v, want %v", lines, got, want)
				}
			}
			if lines != tt.rows {
				t.Errorf("uploaded lines: got %d, want %d", lines, tt.rows)
			}
			t.Logf("%d rows in %d requests", lines, len(api.chunks))
		})
	}
}

func newUploadWarehouse(t *testing.T, api *uploadAPI, chunk int) *Warehouse {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	client, err := bigquery.NewClient(context.Background(), "p", option.WithEndpoint(srv.URL), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	w := New(client, Config{Dataset: "d", Location: "US", UploadChunkSize: chunk})
	w.pollEvery = time.Millisecond
	return w
}

// TestStageUploadConflict covers a load inserted by another delivery between
// Stage's lookup and the upload: the 409 makes the Stager attach to that load
// (here done, with 42 rows) instead of failing or loading twice.
func TestStageUploadConflict(t *testing.T) {
	tests := []struct {
		name string
		rows int // enough for several chunks, or less than one (one request at Close)
	}{
		{"ConflictOnFirstChunk", 5000},
		{"ConflictOnSingleRequest", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &uploadAPI{conflict: true}
			w := newUploadWarehouse(t, api, 256<<10)
			ctx := context.Background()
			st, err := w.Stage(ctx, "s", "c0")
			if err != nil {
				t.Fatalf("Stage: %v", err)
			}
			title, created, updated := "t", "2026-06-01T13:05:00Z", "2026-06-02T13:05:00Z"
			for i := int64(1); i <= int64(tt.rows); i++ {
				num := i
				row, _ := tickets.ToRow(tickets.Ticket{Number: &num, Title: &title, CreatedAt: &created, UpdatedAt: &updated},
					time.UTC, "s", time.Now())
				if err := st.Add(row); err != nil {
					t.Fatalf("Add %d: got %v, want nil (the conflict is settled at Close)", i, err)
				}
			}
			staged, err := st.Close(ctx)
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
			if staged != 42 {
				t.Errorf("staged: got %d, want 42 (the rows of the load that exists)", staged)
			}
		})
	}
}
