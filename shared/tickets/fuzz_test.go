package tickets_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// FuzzToRow feeds arbitrary JSON to the decode → ToRow → AppendJSON path: it
// must never panic, and whatever row it makes must encode to valid JSON.
func FuzzToRow(f *testing.F) {
	f.Add([]byte(contractTicket))
	f.Add([]byte(`{"ticket_number":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"ticket_number":1,"created_at":"9999-12-31T23:59:59Z","updated_at":"0001-01-01T00:00:00Z","title":"\xff"}`))
	f.Add([]byte(`{"ticket_number":-5,"created_by_way_of":99,"status":{"name":"\u2028"}}`))
	f.Add([]byte(`null`))
	loc := saoPaulo(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var tk tickets.Ticket
		if err := json.Unmarshal(data, &tk); err != nil {
			return
		}
		r, err := tickets.ToRow(tk, loc, "s", time.Unix(1, 0))
		if err != nil {
			return
		}
		if b := r.AppendJSON(nil); !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
	})
}
