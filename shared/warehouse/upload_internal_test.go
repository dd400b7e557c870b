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
}

func (a *uploadAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && strings.Contains(p, "/jobs/"):
		writeError(w, http.StatusNotFound, "notFound", "no such job")
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

func TestStagePipeResumableChunks(t *testing.T) {
	api := &uploadAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	ctx := context.Background()
	client, err := bigquery.NewClient(ctx, "p", option.WithEndpoint(srv.URL), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer client.Close()
	const chunk = 256 << 10 // the smallest chunk the upload takes
	w := New(client, Config{Dataset: "d", Location: "US", UploadChunkSize: chunk})
	w.pollEvery = time.Millisecond
	if w.spool {
		t.Fatal("a client not made for an emulator must not spool")
	}

	st, err := w.Stage(ctx, "s", "c0")
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	const n = 5000
	title, created, updated := "título", "2026-06-01T13:05:00Z", "2026-06-02T13:05:00Z"
	for i := int64(1); i <= n; i++ {
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
	if staged != n {
		t.Errorf("staged: got %d, want %d", staged, n)
	}
	if !api.finished || len(api.chunks) < 2 {
		t.Fatalf("chunks: got %v (finished %v), want several and a final one", api.chunks, api.finished)
	}
	for i, c := range api.chunks {
		if c > chunk {
			t.Errorf("chunk %d: got %d bytes, want at most %d", i, c, chunk)
		}
	}
	lines := 0
	sc := bufio.NewScanner(&api.body)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		lines++
		if got, want := m["numero_ticket"], float64(lines); got != want {
			t.Fatalf("line %d: numero_ticket got %v, want %v", lines, got, want)
		}
	}
	if lines != n {
		t.Errorf("uploaded lines: got %d, want %d", lines, n)
	}
	t.Logf("%d rows in %d chunks", lines, len(api.chunks))
}
