package tickets_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// contractTicket is the example ticket of CONTRACT section 2.
const contractTicket = `{"ticket_number": 48213, "title": "Impressora não imprime", "created_at": "2026-06-01T13:05:00.000Z",
 "updated_at": "2026-06-02T09:41:12.120Z", "created_by_way_of": 4, "is_closed": false, "is_revised": false,
 "reopen_count": 0, "last_answer_type": "client",
 "client": {"id": 12, "name": "ACME Ltda"}, "desk": {"id": 3, "name": "Suporte N1"},
 "priority": {"id": 2, "name": "High"}, "stage": {"id": 7, "name": "Em atendimento"},
 "status": {"id": 1, "name": "Opened"}, "responsible": {"id": 44, "name": "Ana Souza"},
 "requestor": {"id": 901, "name": "João Lima", "email": "joao@acme.com.br"},
 "services_catalog": null, "followers": [],
 "sla_info": {"attend_expiration": "2026-06-01T15:05:00.000Z", "solve_expiration": "2026-06-03T13:05:00.000Z",
              "solved_in_time": null, "stopped": false}}`

var syncedAt = time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)

func saoPaulo(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		tb.Fatalf("LoadLocation: %v", err)
	}
	return loc
}

func decode(tb testing.TB, s string) tickets.Ticket {
	tb.Helper()
	var t tickets.Ticket
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		tb.Fatalf("decode ticket: %v", err)
	}
	return t
}

// encodeMap encodes r and decodes the JSON back into a map, so tests compare
// what BigQuery will read.
func encodeMap(tb testing.TB, r tickets.Row) map[string]any {
	tb.Helper()
	b := r.AppendJSON(nil)
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		tb.Fatalf("AppendJSON wrote invalid JSON %s: %v", b, err)
	}
	return m
}

func TestToRowContractExample(t *testing.T) {
	r, err := tickets.ToRow(decode(t, contractTicket), saoPaulo(t), "sess-1", syncedAt)
	if err != nil {
		t.Fatalf("ToRow: %v", err)
	}
	got := encodeMap(t, r)
	want := map[string]any{
		"numero_ticket":      json.Number("48213"),
		"titulo":             "Impressora não imprime",
		"situacao":           "aberto",
		"status":             "Aberto",
		"status_id":          json.Number("1"),
		"estagio":            "Em atendimento",
		"prioridade":         "Alta",
		"cliente":            "ACME Ltda",
		"cliente_id":         json.Number("12"),
		"mesa":               "Suporte N1",
		"responsavel":        "Ana Souza",
		"solicitante":        "João Lima",
		"solicitante_email":  "joao@acme.com.br",
		"canal":              "E-mail",
		"fechado":            false,
		"reaberturas":        json.Number("0"),
		"resolvido_no_prazo": nil,
		"criado_em":          "2026-06-01T10:05:00.000000",
		"atualizado_em":      "2026-06-02T06:41:12.120000",
		"prazo_atendimento":  "2026-06-01T12:05:00.000000",
		"prazo_solucao":      "2026-06-03T10:05:00.000000",
		"criado_em_utc":      "2026-06-01T13:05:00.000000Z",
		"atualizado_em_utc":  "2026-06-02T09:41:12.120000Z",
		"sincronizado_em":    "2026-06-02T10:00:00.000000Z",
		"sessao":             "sess-1",
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: got %v (present %v), want %v", k, g, ok, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected column %q", k)
		}
	}
}

func TestToRowMaps(t *testing.T) {
	loc := saoPaulo(t)
	tests := []struct {
		name   string
		json   string
		column string
		want   any
	}{
		{"StatusOpened", `"status":{"id":1,"name":"Opened"}`, "status", "Aberto"},
		{"StatusClosed", `"status":{"id":2,"name":"Closed"}`, "status", "Fechado"},
		{"StatusCanceled", `"status":{"id":3,"name":"Canceled"}`, "status", "Cancelado"},
		{"StatusPending", `"status":{"id":4,"name":"Pending"}`, "status", "Pendente"},
		{"StatusUnknownPassesThrough", `"status":{"id":9,"name":"Aguardando peça"}`, "status", "Aguardando peça"},
		{"StatusNull", `"status":null`, "status", nil},
		{"StatusNameNull", `"status":{"id":5,"name":null}`, "status", nil},
		{"PriorityLow", `"priority":{"name":"Low"}`, "prioridade", "Baixa"},
		{"PriorityMedium", `"priority":{"name":"Medium"}`, "prioridade", "Média"},
		{"PriorityHigh", `"priority":{"name":"High"}`, "prioridade", "Alta"},
		{"PriorityUrgent", `"priority":{"name":"Urgent"}`, "prioridade", "Urgente"},
		{"PriorityCritical", `"priority":{"name":"Critical"}`, "prioridade", "Crítica"},
		{"PriorityUnknown", `"priority":{"name":"Blocker"}`, "prioridade", "Blocker"},
		{"Channel0", `"created_by_way_of":0`, "canal", "Tiflux Web"},
		{"Channel1", `"created_by_way_of":1`, "canal", "Atendente"},
		{"Channel2", `"created_by_way_of":2`, "canal", "Widget de chat"},
		{"Channel3", `"created_by_way_of":3`, "canal", "WhatsApp"},
		{"Channel4", `"created_by_way_of":4`, "canal", "E-mail"},
		{"Channel5", `"created_by_way_of":5`, "canal", "Formulário externo"},
		{"Channel6", `"created_by_way_of":6`, "canal", "Mobile"},
		{"Channel7", `"created_by_way_of":7`, "canal", "API"},
		{"Channel8", `"created_by_way_of":8`, "canal", "Chat"},
		{"Channel9", `"created_by_way_of":9`, "canal", "Atividade recorrente"},
		{"Channel10", `"created_by_way_of":10`, "canal", "Gatilho"},
		{"Channel11", `"created_by_way_of":11`, "canal", "Grupo de tickets"},
		{"Channel12", `"created_by_way_of":12`, "canal", "Agente de IA"},
		{"ChannelUnknown", `"created_by_way_of":13`, "canal", "13"},
		{"ChannelNegative", `"created_by_way_of":-1`, "canal", "-1"},
		{"ChannelNull", `"created_by_way_of":null`, "canal", nil},
		{"Unassigned", `"responsible":null`, "responsavel", nil},
		{"SLANull", `"sla_info":null`, "prazo_solucao", nil},
		{"SLADeadlineNull", `"sla_info":{"solve_expiration":null}`, "prazo_solucao", nil},
		{"SolvedInTime", `"sla_info":{"solved_in_time":true}`, "resolvido_no_prazo", true},
		{"TitleEscaped", `"title":"a \"b\"\n\\ \u0001 \u2028"`, "titulo", "a \"b\"\n\\ \u0001 \u2028"},
		// São Paulo has no DST since 2019; before that, summer time was UTC-2.
		{"DatetimeOldDST", `"created_at":"2018-12-01T12:00:00Z"`, "criado_em", "2018-12-01T10:00:00.000000"},
		{"OffsetInput", `"created_at":"2026-06-01T10:05:00.5-03:00"`, "criado_em_utc", "2026-06-01T13:05:00.500000Z"},
		{"NanosTruncatedToMicros", `"created_at":"2026-06-01T13:05:00.123456789Z"`, "criado_em_utc", "2026-06-01T13:05:00.123456Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Later keys win in encoding/json, so the case overrides the example.
			s := strings.TrimSuffix(strings.TrimSpace(contractTicket), "}") + "," + tt.json + "}"
			r, err := tickets.ToRow(decode(t, s), loc, "s", syncedAt)
			if err != nil {
				t.Fatalf("ToRow: %v", err)
			}
			if got := encodeMap(t, r)[tt.column]; got != tt.want {
				t.Errorf("%s: got %#v, want %#v", tt.column, got, tt.want)
			}
		})
	}
}

func TestToRowRejects(t *testing.T) {
	tests := []struct {
		name      string
		json      string
		wantField string
		wantErr   error
	}{
		{"NoNumber", `"ticket_number":null`, "ticket_number", tickets.ErrMissing},
		{"ZeroNumber", `"ticket_number":0`, "ticket_number", tickets.ErrMalformed},
		{"NoCreatedAt", `"created_at":null`, "created_at", tickets.ErrMissing},
		{"EmptyCreatedAt", `"created_at":""`, "created_at", tickets.ErrMissing},
		{"NoUpdatedAt", `"updated_at":null`, "updated_at", tickets.ErrMissing},
		{"BadCreatedAt", `"created_at":"01/06/2026"`, "created_at", tickets.ErrMalformed},
		{"BadUpdatedAt", `"updated_at":"2026-06-02 09:41"`, "updated_at", tickets.ErrMalformed},
		{"YearOutOfRange", `"updated_at":"0000-01-01T00:00:00Z"`, "updated_at", tickets.ErrMalformed},
		{"BadSLA", `"sla_info":{"solve_expiration":"soon"}`, "sla_info.solve_expiration", tickets.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := strings.TrimSuffix(strings.TrimSpace(contractTicket), "}") + "," + tt.json + "}"
			r, err := tickets.ToRow(decode(t, s), time.UTC, "s", syncedAt)
			var fe *tickets.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got err %v, want a *FieldError", err)
			}
			if fe.Field != tt.wantField {
				t.Errorf("field: got %q, want %q", fe.Field, tt.wantField)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v): got false, want true", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "Impressora") {
				t.Errorf("error %q carries ticket content", err)
			}
			if !reflect.DeepEqual(r, tickets.Row{}) {
				t.Errorf("got a half-made row %+v, want the zero Row", r)
			}
		})
	}
}

func TestEncoderWritesLines(t *testing.T) {
	var buf bytes.Buffer
	enc := tickets.NewEncoder(&buf)
	r, err := tickets.ToRow(decode(t, contractTicket), time.UTC, "s", syncedAt)
	if err != nil {
		t.Fatalf("ToRow: %v", err)
	}
	const n = 2000 // several flushes' worth
	for i := 0; i < n; i++ {
		r.NumeroTicket = int64(i + 1)
		if err := enc.Encode(&r); err != nil {
			t.Fatalf("Encode: %v", err)
		}
	}
	if err := enc.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != n || enc.Rows() != n {
		t.Fatalf("got %d lines, Rows()=%d, want %d", len(lines), enc.Rows(), n)
	}
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("line %d is not JSON: %s", i, l)
		}
	}
}

func TestAppendJSONAllocs(t *testing.T) {
	r, err := tickets.ToRow(decode(t, contractTicket), saoPaulo(t), "s", syncedAt)
	if err != nil {
		t.Fatalf("ToRow: %v", err)
	}
	buf := make([]byte, 0, 4096)
	if got := testing.AllocsPerRun(100, func() { buf = r.AppendJSON(buf[:0]) }); got != 0 {
		t.Errorf("AppendJSON allocs: got %v, want 0", got)
	}
}
