package tickets_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// FuzzToRow feeds arbitrary bytes to the Decode → ToRow → AppendJSON path: it
// must never panic, a decoded ticket keeps its bytes, and whatever row it
// makes must encode to one line of valid JSON.
func FuzzToRow(f *testing.F) {
	f.Add([]byte(contractTicket))
	f.Add([]byte(`{"ticket_number":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"ticket_number":1,"created_at":"9999-12-31T23:59:59Z","updated_at":"0001-01-01T00:00:00Z","title":"\xff"}`))
	f.Add([]byte(`{"ticket_number":-5,"created_by_way_of":99,"status":{"name":"\u2028"}}`))
	f.Add([]byte(`{"ticket_number":1,"created_at":"2026-01-01T00:00:00Z","sla_info":{"solved_in_time":true},"followers":[]}`))
	f.Add([]byte("{\"ticket_number\":1,\n\"created_at\":\"2026-01-01T00:00:00Z\",\r\n\"title\":\"a\\nb\"}"))
	f.Add([]byte(`null`))
	loc := saoPaulo(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := tickets.Decode(data)
		if err != nil {
			return
		}
		if string(tk.Raw) != string(data) {
			t.Fatalf("Raw: got %q, want the input", tk.Raw)
		}
		r, err := tickets.ToRow(tk, loc, "s", time.Unix(1, 0))
		if err != nil {
			return
		}
		b := r.AppendJSON(nil)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		if strings.ContainsAny(string(b), "\n\r") {
			t.Fatalf("a row spans lines: %q", b)
		}
	})
}

// swappable are the top-level fields of the contract example a fuzzed value
// may replace; each must cost at most itself.
var swappable = []string{"title", "updated_at", "created_by_id", "updated_by_id", "created_by_way_of",
	"is_closed", "is_revised", "reopen_count", "last_answer_type", "client", "desk", "priority", "stage",
	"status", "responsible", "requestor", "followers", "services_catalog", "sla_info", "jira_issues"}

// FuzzDecodeTypeSwap replaces one field of the contract example with an
// arbitrary JSON value (of any type): the ticket must still decode and make a
// row, any field error must name that field (or a field inside it), and the
// columns of the untouched fields must stay as they were.
func FuzzDecodeTypeSwap(f *testing.F) {
	for i := range swappable {
		for _, v := range []string{`null`, `true`, `0`, `-1.5e300`, `"x"`, `""`, `[]`, `{}`, `[{"id":1}]`,
			`{"id":"1","name":2}`, `"2026-06-02T09:41:12Z"`, `{"solved_in_time":true,"stopped":"no"}`} {
			f.Add(uint8(i), []byte(v))
		}
	}
	loc := saoPaulo(f)
	base := encodeMap(f, mustRow(f, contractTicket, loc))
	f.Fuzz(func(t *testing.T, which uint8, value []byte) {
		if !json.Valid(value) {
			return
		}
		field := swappable[int(which)%len(swappable)]
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(contractTicket), &m); err != nil {
			t.Fatal(err)
		}
		m[field] = value
		src, err := json.Marshal(m)
		if err != nil {
			return // a value json.Marshal will not re-encode (e.g. invalid UTF-8)
		}
		tk, err := tickets.Decode(src)
		if err != nil {
			t.Fatalf("Decode with %s=%s: got %v, want a ticket", field, value, err)
		}
		r, err := tickets.ToRow(tk, loc, "sess-1", syncedAt)
		if err != nil {
			t.Fatalf("ToRow with %s=%s: got %v, want a row", field, value, err)
		}
		for _, e := range r.FieldErrors {
			if e != field && !strings.HasPrefix(e, field+".") {
				t.Fatalf("with %s=%s: field error %q names another field", field, value, e)
			}
		}
		b := r.AppendJSON(nil)
		var got map[string]any
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		if err := d.Decode(&got); err != nil {
			t.Fatalf("invalid JSON %s: %v", b, err)
		}
		for _, col := range untouched[field] {
			if got[col] != base[col] {
				t.Fatalf("with %s=%s: %s got %#v, want %#v", field, value, col, got[col], base[col])
			}
		}
	})
}

// untouched lists, per swapped field, columns that do not depend on it.
var untouched = func() map[string][]string {
	all := []string{"numero_ticket", "titulo", "status", "status_id", "prioridade", "cliente", "mesa",
		"canal", "fechado", "criado_em_utc", "seguidores", "catalogo", "prazo_solucao", "sessao"}
	dependsOn := map[string][]string{
		"title": {"titulo"}, "status": {"status", "status_id"}, "priority": {"prioridade"},
		"client": {"cliente"}, "desk": {"mesa"}, "created_by_way_of": {"canal"}, "is_closed": {"fechado"},
		"followers": {"seguidores"}, "services_catalog": {"catalogo"}, "sla_info": {"prazo_solucao"},
	}
	out := map[string][]string{}
	for _, f := range swappable {
		for _, c := range all {
			skip := false
			for _, d := range dependsOn[f] {
				skip = skip || d == c
			}
			if !skip {
				out[f] = append(out[f], c)
			}
		}
	}
	return out
}()
