package tickets_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// contractTicket is the example ticket of CONTRACT section 2, as the official
// API v2 reference shapes it.
const contractTicket = `{"ticket_number": 48213, "title": "Impressora não imprime",
 "created_at": "2026-06-01T13:05:00Z", "updated_at": "2026-06-02T09:41:12Z",
 "created_by_id": 44, "updated_by_id": 44, "created_by_way_of": "Email",
 "is_closed": false, "is_revised": false, "reopen_count": 0, "last_answer_type": null,
 "client": {"id": 12, "name": "ACME Ltda"}, "desk": {"id": 3, "name": "Suporte N1"},
 "priority": {"id": 2, "name": "High"}, "stage": {"id": 7, "name": "N2"},
 "status": {"id": 1, "name": "Opened"}, "responsible": {"id": 44, "name": "Ana Souza"},
 "requestor": {"id": null, "email": "joao@acme.com.br", "name": "João Lima", "ramal": null, "telephone": "+5511999990000"},
 "followers": "maria@acme.com.br,pedro@acme.com.br",
 "services_catalog": {"catalog_name": "TI", "area_name": "Hardware", "item_name": "Impressora"},
 "sla_info": {"attend_expiration": "2026-06-01T15:05:00Z", "attend_sla": true, "attend_sla_solution": true,
              "solve_expiration": "2026-06-03T13:05:00Z", "solved_in_time": null,
              "stage_expiration": "2026-06-02T09:00:00Z", "stopped": false},
 "jira_issues": [{"id": "54034", "key": "TEST-897", "link": "https://example.atlassian.net/browse/TEST-897", "status": "In Progress"}]}`

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
	t, err := tickets.Decode([]byte(s))
	if err != nil {
		tb.Fatalf("Decode: %v", err)
	}
	return t
}

// with is the contract example with the top-level members of extra (JSON
// object members, without braces) replacing its own or added.
func with(extra string) string {
	var base, over map[string]json.RawMessage
	if err := json.Unmarshal([]byte(contractTicket), &base); err != nil {
		panic(err)
	}
	if err := json.Unmarshal([]byte("{"+extra+"}"), &over); err != nil {
		panic(fmt.Sprintf("with(%s): %v", extra, err))
	}
	for k, v := range over {
		base[k] = v
	}
	b, err := json.Marshal(base)
	if err != nil {
		panic(err)
	}
	return string(b)
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
	if r.FieldErrors != nil {
		t.Errorf("FieldErrors: got %v, want none", r.FieldErrors)
	}
	got := encodeMap(t, r)
	want := map[string]any{
		"numero_ticket":        json.Number("48213"),
		"titulo":               "Impressora não imprime",
		"situacao":             "aberto",
		"status":               "Aberto",
		"status_id":            json.Number("1"),
		"estagio":              "N2",
		"estagio_id":           json.Number("7"),
		"prioridade":           "Alta",
		"prioridade_id":        json.Number("2"),
		"cliente":              "ACME Ltda",
		"cliente_id":           json.Number("12"),
		"mesa":                 "Suporte N1",
		"mesa_id":              json.Number("3"),
		"responsavel":          "Ana Souza",
		"responsavel_id":       json.Number("44"),
		"solicitante":          "João Lima",
		"solicitante_email":    "joao@acme.com.br",
		"solicitante_telefone": "+5511999990000",
		"seguidores":           "maria@acme.com.br,pedro@acme.com.br",
		"catalogo":             "TI / Hardware / Impressora",
		"canal":                "E-mail",
		"fechado":              false,
		"revisado":             false,
		"reaberturas":          json.Number("0"),
		"ultima_resposta":      nil,
		"criado_por_id":        json.Number("44"),
		"atualizado_por_id":    json.Number("44"),
		"criado_em":            "2026-06-01T10:05:00.000000",
		"atualizado_em":        "2026-06-02T06:41:12.000000",
		"resolvido_em":         nil,
		"prazo_atendimento":    "2026-06-01T12:05:00.000000",
		"prazo_solucao":        "2026-06-03T10:05:00.000000",
		"prazo_estagio":        "2026-06-02T06:00:00.000000",
		"sla_atendimento":      true,
		"sla_solucao":          true,
		"sla_pausado":          false,
		"solucao_no_prazo":     nil,
		"resolvido_no_prazo":   nil,
		"criado_em_utc":        "2026-06-01T13:05:00.000000Z",
		"atualizado_em_utc":    "2026-06-02T09:41:12.000000Z",
		"resolvido_em_utc":     nil,
		"sincronizado_em":      "2026-06-02T10:00:00.000000Z",
		"sessao":               "sess-1",
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: got %v (present %v), want %v", k, g, ok, w)
		}
	}
	// dados is the ticket as received: the same JSON value.
	if g := canonical(t, got["dados"]); g != canonical(t, contractTicket) {
		t.Errorf("dados: got %s, want the ticket as received", g)
	}
	for k := range got {
		if _, ok := want[k]; !ok && k != "dados" {
			t.Errorf("unexpected column %q", k)
		}
	}
}

// canonical re-encodes a JSON value (a string of JSON, or one already decoded)
// so that two values compare equal when their JSON is.
func canonical(tb testing.TB, v any) string {
	tb.Helper()
	if s, ok := v.(string); ok {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			tb.Fatalf("canonical: %v", err)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("canonical: %v", err)
	}
	return string(b)
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
		{"StatusResolved", `"status":{"id":5,"name":"Resolved"}`, "status", "Resolvido"},
		{"StatusUnknownPassesThrough", `"status":{"id":9,"name":"Aguardando peça"}`, "status", "Aguardando peça"},
		{"StatusNull", `"status":null`, "status", nil},
		{"StatusNameNull", `"status":{"id":5,"name":null}`, "status", nil},
		{"StatusID", `"status":{"id":5,"name":null}`, "status_id", json.Number("5")},
		{"PriorityLow", `"priority":{"name":"Low"}`, "prioridade", "Baixa"},
		{"PriorityMedium", `"priority":{"name":"Medium"}`, "prioridade", "Média"},
		{"PriorityHigh", `"priority":{"name":"High"}`, "prioridade", "Alta"},
		{"PriorityUrgent", `"priority":{"name":"Urgent"}`, "prioridade", "Urgente"},
		{"PriorityCritical", `"priority":{"name":"Critical"}`, "prioridade", "Crítica"},
		{"PriorityUnknown", `"priority":{"name":"Blocker"}`, "prioridade", "Blocker"},
		{"PriorityIDWithoutName", `"priority":{"id":8}`, "prioridade_id", json.Number("8")},
		{"LabelTifluxWeb", `"created_by_way_of":"Tiflux Web"`, "canal", "Tiflux Web"},
		{"LabelTifluxAgent", `"created_by_way_of":"Tiflux Agent"`, "canal", "Tiflux Agent"},
		{"LabelChatWidget", `"created_by_way_of":"Chat Widget"`, "canal", "Widget de chat"},
		{"LabelWhatsapp", `"created_by_way_of":"Whatsapp"`, "canal", "WhatsApp"},
		{"LabelEmail", `"created_by_way_of":"Email"`, "canal", "E-mail"},
		{"LabelExternalForm", `"created_by_way_of":"External form"`, "canal", "Formulário externo"},
		{"LabelTifluxMobile", `"created_by_way_of":"Tiflux Mobile"`, "canal", "Tiflux Mobile"},
		{"LabelTifluxAPI", `"created_by_way_of":"Tiflux API"`, "canal", "API"},
		{"LabelChat", `"created_by_way_of":"Chat"`, "canal", "Chat"},
		{"LabelRecurrentActivity", `"created_by_way_of":"Recurrent activity"`, "canal", "Atividade recorrente"},
		{"LabelTrigger", `"created_by_way_of":"Trigger"`, "canal", "Gatilho"},
		{"LabelTicketGroup", `"created_by_way_of":"Ticket Group"`, "canal", "Grupo de tickets"},
		{"LabelAIAgent", `"created_by_way_of":"AI Agent"`, "canal", "Agente de IA"},
		{"LabelUnknownUnchanged", `"created_by_way_of":"Fax"`, "canal", "Fax"},
		{"Code0", `"created_by_way_of":0`, "canal", "Tiflux Web"},
		{"Code1", `"created_by_way_of":1`, "canal", "Tiflux Agent"},
		{"Code2", `"created_by_way_of":2`, "canal", "Widget de chat"},
		{"Code3", `"created_by_way_of":3`, "canal", "WhatsApp"},
		{"Code4", `"created_by_way_of":4`, "canal", "E-mail"},
		{"Code5", `"created_by_way_of":5`, "canal", "Formulário externo"},
		{"Code6", `"created_by_way_of":6`, "canal", "Tiflux Mobile"},
		{"Code7", `"created_by_way_of":7`, "canal", "API"},
		{"Code8", `"created_by_way_of":8`, "canal", "Chat"},
		{"Code9", `"created_by_way_of":9`, "canal", "Atividade recorrente"},
		{"Code10", `"created_by_way_of":10`, "canal", "Gatilho"},
		{"Code11", `"created_by_way_of":11`, "canal", "Grupo de tickets"},
		{"Code12", `"created_by_way_of":12`, "canal", "Agente de IA"},
		{"CodeUnknown", `"created_by_way_of":13`, "canal", "13"},
		{"CodeNegative", `"created_by_way_of":-1`, "canal", "-1"},
		{"ChannelNull", `"created_by_way_of":null`, "canal", nil},
		{"Unassigned", `"responsible":null`, "responsavel", nil},
		{"UnassignedID", `"responsible":null`, "responsavel_id", nil},
		{"LastAnswer", `"last_answer_type":"client"`, "ultima_resposta", "client"},
		{"Revised", `"is_revised":true`, "revisado", true},
		{"CreatedByNull", `"created_by_id":null`, "criado_por_id", nil},
		{"Closed", `"is_closed":true`, "situacao", "fechado"},
		{"CanceledByStatusName", `"is_closed":true,"status":{"id":3,"name":"Canceled"}`, "situacao", "cancelado"},
		{"CatalogNull", `"services_catalog":null`, "catalogo", nil},
		{"CatalogPartial", `"services_catalog":{"catalog_name":"TI","area_name":null,"item_name":"Mouse"}`, "catalogo", "TI / Mouse"},
		{"CatalogEmpty", `"services_catalog":{}`, "catalogo", nil},
		{"FollowersNull", `"followers":null`, "seguidores", nil},
		{"SLANull", `"sla_info":null`, "prazo_solucao", nil},
		{"SLANullFlags", `"sla_info":null`, "sla_pausado", nil},
		{"SLADeadlineNull", `"sla_info":{"solve_expiration":null}`, "prazo_solucao", nil},
		{"SLAStopped", `"sla_info":{"stopped":true}`, "sla_pausado", true},
		{"Solved", `"sla_info":{"solved_in_time":"2026-06-02T18:30:00Z"}`, "resolvido_em", "2026-06-02T15:30:00.000000"},
		{"SolvedUTC", `"sla_info":{"solved_in_time":"2026-06-02T18:30:00Z"}`, "resolvido_em_utc", "2026-06-02T18:30:00.000000Z"},
		{"SolvedWithoutDeadline", `"sla_info":{"solved_in_time":"2026-06-02T18:30:00Z"}`, "solucao_no_prazo", nil},
		{"SolvedInTime", `"sla_info":{"solved_in_time":"2026-06-02T18:30:00Z","solve_expiration":"2026-06-03T13:05:00Z"}`, "solucao_no_prazo", true},
		{"SolvedAtDeadline", `"sla_info":{"solved_in_time":"2026-06-03T13:05:00Z","solve_expiration":"2026-06-03T13:05:00Z"}`, "solucao_no_prazo", true},
		{"SolvedLate", `"sla_info":{"solved_in_time":"2026-06-03T13:05:01Z","solve_expiration":"2026-06-03T13:05:00Z"}`, "solucao_no_prazo", false},
		{"SolvedLateDeprecatedColumn", `"sla_info":{"solved_in_time":"2026-06-03T13:05:01Z","solve_expiration":"2026-06-03T13:05:00Z"}`, "resolvido_no_prazo", false},
		{"Unsolved", `"sla_info":{"solved_in_time":null,"solve_expiration":"2026-06-03T13:05:00Z"}`, "solucao_no_prazo", nil},
		{"UpdatedMissing", `"updated_at":null`, "atualizado_em_utc", "2026-06-01T13:05:00.000000Z"},
		{"UpdatedMissingLocal", `"updated_at":null`, "atualizado_em", "2026-06-01T10:05:00.000000"},
		{"TitleEscaped", `"title":"a \"b\"\n\\ \u0001 \u2028"`, "titulo", "a \"b\"\n\\ \u0001 \u2028"},
		// São Paulo has no DST since 2019; before that, summer time was UTC-2.
		{"DatetimeOldDST", `"created_at":"2018-12-01T12:00:00Z"`, "criado_em", "2018-12-01T10:00:00.000000"},
		{"OffsetInput", `"created_at":"2026-06-01T10:05:00.5-03:00"`, "criado_em_utc", "2026-06-01T13:05:00.500000Z"},
		{"NanosTruncatedToMicros", `"created_at":"2026-06-01T13:05:00.123456789Z"`, "criado_em_utc", "2026-06-01T13:05:00.123456Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tickets.ToRow(decode(t, with(tt.json)), loc, "s", syncedAt)
			if err != nil {
				t.Fatalf("ToRow: %v", err)
			}
			if r.FieldErrors != nil {
				t.Errorf("FieldErrors: got %v, want none", r.FieldErrors)
			}
			if got := encodeMap(t, r)[tt.column]; got != tt.want {
				t.Errorf("%s: got %#v, want %#v", tt.column, got, tt.want)
			}
		})
	}
}

// TestToRowLenient swaps one field for a value of another type or an
// unparsable one: the ticket still loads, that field's columns are NULL, the
// field is named in FieldErrors, and every other column is as in the example.
func TestToRowLenient(t *testing.T) {
	loc := saoPaulo(t)
	base := encodeMap(t, mustRow(t, contractTicket, loc))
	tests := []struct {
		name    string
		json    string
		errors  []string
		columns map[string]any // the columns that change, with their value
	}{
		{"TitleNumber", `"title":42`, []string{"title"}, map[string]any{"titulo": nil}},
		{"ChannelBool", `"created_by_way_of":true`, []string{"created_by_way_of"}, map[string]any{"canal": nil}},
		{"ChannelFloat", `"created_by_way_of":4.5`, []string{"created_by_way_of"}, map[string]any{"canal": nil}},
		{"ChannelObject", `"created_by_way_of":{"id":4}`, []string{"created_by_way_of"}, map[string]any{"canal": nil}},
		{"SolvedInTimeBool", `"sla_info":{"solved_in_time":true,"solve_expiration":"2026-06-03T13:05:00Z"}`,
			[]string{"sla_info.solved_in_time"}, map[string]any{"resolvido_em": nil, "resolvido_em_utc": nil,
				"solucao_no_prazo": nil, "prazo_atendimento": nil, "prazo_estagio": nil, "sla_atendimento": nil,
				"sla_solucao": nil, "sla_pausado": nil}},
		{"SolvedInTimeUnparsable", `"sla_info":{"solved_in_time":"yesterday","solve_expiration":"2026-06-03T13:05:00Z"}`,
			[]string{"sla_info.solved_in_time"}, map[string]any{"resolvido_em": nil, "resolvido_em_utc": nil,
				"solucao_no_prazo": nil, "prazo_atendimento": nil, "prazo_estagio": nil, "sla_atendimento": nil,
				"sla_solucao": nil, "sla_pausado": nil}},
		{"DeadlineUnparsable", `"sla_info":{"attend_expiration":"2026-06-01T15:05:00Z","solve_expiration":"soon"}`,
			[]string{"sla_info.solve_expiration"}, map[string]any{"prazo_solucao": nil, "prazo_estagio": nil,
				"sla_atendimento": nil, "sla_solucao": nil, "sla_pausado": nil}},
		{"DeadlineOutOfRange", `"sla_info":{"attend_expiration":"0000-01-01T00:00:00Z"}`,
			[]string{"sla_info.attend_expiration"}, map[string]any{"prazo_atendimento": nil, "prazo_solucao": nil,
				"prazo_estagio": nil, "sla_atendimento": nil, "sla_solucao": nil, "sla_pausado": nil}},
		{"SLAString", `"sla_info":"none"`, []string{"sla_info"}, map[string]any{"prazo_atendimento": nil,
			"prazo_solucao": nil, "prazo_estagio": nil, "sla_atendimento": nil, "sla_solucao": nil, "sla_pausado": nil}},
		{"UpdatedAtNumber", `"updated_at":1748857272`, []string{"updated_at"},
			map[string]any{"atualizado_em_utc": "2026-06-01T13:05:00.000000Z", "atualizado_em": "2026-06-01T10:05:00.000000"}},
		{"UpdatedAtUnparsable", `"updated_at":"2026-06-02 09:41"`, []string{"updated_at"},
			map[string]any{"atualizado_em_utc": "2026-06-01T13:05:00.000000Z", "atualizado_em": "2026-06-01T10:05:00.000000"}},
		{"FollowersArray", `"followers":[{"id":1,"name":"Maria"}]`, []string{"followers"}, map[string]any{"seguidores": nil}},
		{"CatalogString", `"services_catalog":"TI"`, []string{"services_catalog"}, map[string]any{"catalogo": nil}},
		{"CatalogNameNumber", `"services_catalog":{"catalog_name":7,"area_name":"Hardware","item_name":"Impressora"}`,
			[]string{"services_catalog.catalog_name"}, map[string]any{"catalogo": "Hardware / Impressora"}},
		{"ClientIDString", `"client":{"id":"12","name":"ACME Ltda"}`, []string{"client.id"}, map[string]any{"cliente_id": nil}},
		{"DeskArray", `"desk":[3,"Suporte N1"]`, []string{"desk"}, map[string]any{"mesa": nil, "mesa_id": nil}},
		{"IsClosedString", `"is_closed":"false"`, []string{"is_closed"}, map[string]any{"fechado": nil}},
		{"IsRevisedNumber", `"is_revised":0`, []string{"is_revised"}, map[string]any{"revisado": nil}},
		{"ReopenFloat", `"reopen_count":1.5`, []string{"reopen_count"}, map[string]any{"reaberturas": nil}},
		{"TelephoneNumber", `"requestor":{"name":"João Lima","email":"joao@acme.com.br","telephone":5511999990000}`,
			[]string{"requestor.telephone"}, map[string]any{"solicitante_telefone": nil}},
		{"UpdatedByString", `"updated_by_id":"44"`, []string{"updated_by_id"}, map[string]any{"atualizado_por_id": nil}},
		{"StatusNameNumber", `"status":{"id":1,"name":1}`, []string{"status.name"}, map[string]any{"status": nil}},
		{"SeveralFields", `"title":[],"sla_info":{"stopped":"no","attend_sla":1},"client":{"id":true,"name":null}`,
			[]string{"title", "client.id", "sla_info.attend_sla", "sla_info.stopped"},
			map[string]any{"titulo": nil, "cliente": nil, "cliente_id": nil, "prazo_atendimento": nil, "prazo_solucao": nil,
				"prazo_estagio": nil, "sla_atendimento": nil, "sla_solucao": nil, "sla_pausado": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := with(tt.json)
			r, err := tickets.ToRow(decode(t, src), loc, "sess-1", syncedAt)
			if err != nil {
				t.Fatalf("ToRow: got %v, want a row", err)
			}
			if !slices.Equal(r.FieldErrors, tt.errors) {
				t.Errorf("FieldErrors: got %q, want %q", r.FieldErrors, tt.errors)
			}
			got := encodeMap(t, r)
			for k, w := range base {
				if k == "dados" {
					continue
				}
				if c, ok := tt.columns[k]; ok {
					w = c
				}
				if got[k] != w {
					t.Errorf("%s: got %#v, want %#v", k, got[k], w)
				}
			}
			if g := canonical(t, got["dados"]); g != canonical(t, src) {
				t.Errorf("dados: got %s, want the ticket as received", g)
			}
		})
	}
}

func mustRow(tb testing.TB, src string, loc *time.Location) tickets.Row {
	tb.Helper()
	r, err := tickets.ToRow(decode(tb, src), loc, "sess-1", syncedAt)
	if err != nil {
		tb.Fatalf("ToRow: %v", err)
	}
	return r
}

func TestToRowRejects(t *testing.T) {
	tests := []struct {
		name      string
		json      string
		wantField string
		wantErr   error
	}{
		{"ZeroNumber", `"ticket_number":0`, "ticket_number", tickets.ErrMalformed},
		{"NegativeNumber", `"ticket_number":-3`, "ticket_number", tickets.ErrMalformed},
		{"NoCreatedAt", `"created_at":null`, "created_at", tickets.ErrMissing},
		{"EmptyCreatedAt", `"created_at":""`, "created_at", tickets.ErrMissing},
		{"BadCreatedAt", `"created_at":"01/06/2026"`, "created_at", tickets.ErrMalformed},
		{"CreatedAtOutOfRange", `"created_at":"0000-01-01T00:00:00Z"`, "created_at", tickets.ErrMalformed},
		{"CreatedAtNumber", `"created_at":1748783100`, "created_at", tickets.ErrMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tickets.ToRow(decode(t, with(tt.json)), time.UTC, "s", syncedAt)
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
			if r.NumeroTicket != 0 || r.Sessao != "" {
				t.Errorf("got a half-made row %+v, want the zero Row", r)
			}
		})
	}
}

// TestDecodeGarbage: Decode refuses only what is not a ticket object with a
// usable ticket_number, and never carries the ticket's content in its error.
func TestDecodeGarbage(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		wantField string // "" when the ticket decodes
	}{
		{"Empty", ``, "ticket"},
		{"Null", `null`, "ticket"},
		{"Array", `[{"ticket_number":1}]`, "ticket"},
		{"String", `"ticket"`, "ticket"},
		{"Number", `48213`, "ticket"},
		{"Truncated", `{"ticket_number":48213,"title":"Impressora`, "ticket"},
		{"TrailingGarbage", `{"ticket_number":48213}}`, "ticket"},
		{"LeadingSpace", ` {"ticket_number":48213}`, "ticket"},
		{"NoNumber", `{"title":"Impressora"}`, "ticket_number"},
		{"NullNumber", `{"ticket_number":null,"title":"Impressora"}`, "ticket_number"},
		{"StringNumber", `{"ticket_number":"48213","title":"Impressora"}`, "ticket_number"},
		{"FloatNumber", `{"ticket_number":48213.5}`, "ticket_number"},
		{"HugeNumber", `{"ticket_number":99999999999999999999}`, "ticket_number"},
		{"ObjectNumber", `{"ticket_number":{"id":1},"title":"Impressora"}`, "ticket_number"},
		{"NumberAndBadFields", `{"ticket_number":"x","title":5}`, "ticket_number"},
		{"EmptyObject", `{}`, "ticket_number"},
		{"OnlyNumber", `{"ticket_number":7}`, ""},
		{"UnknownFields", `{"ticket_number":7,"x":{"y":[1,2,{}]},"jira_issues":null}`, ""},
		{"EveryFieldWrong", `{"ticket_number":7,"title":{},"created_at":[],"updated_at":true,"created_by_id":"a",
			"updated_by_id":[],"created_by_way_of":[],"is_closed":"t","is_revised":{},"reopen_count":"1",
			"last_answer_type":1,"client":1,"desk":"d","priority":[],"stage":true,"status":"Opened",
			"responsible":2,"requestor":[],"followers":{},"services_catalog":[],"sla_info":1}`, ""},
		{"InvalidUTF8", "{\"ticket_number\":7,\"title\":\"\xff\xfe\"}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := tickets.Decode([]byte(tt.raw))
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Decode: got %v, want a ticket", err)
				}
				if string(tk.Raw) != tt.raw {
					t.Errorf("Raw: got %q, want the input", tk.Raw)
				}
				return
			}
			var fe *tickets.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("Decode: got %v, want a *FieldError on %q", err, tt.wantField)
			}
			if strings.Contains(err.Error(), "Impressora") {
				t.Errorf("error %q carries ticket content", err)
			}
		})
	}
}

// TestDecodeEveryFieldWrong: every known field of the wrong type is named
// once, in struct order, and the ticket still makes a row (created_at is the
// one it cannot do without, so it is given here).
func TestDecodeEveryFieldWrong(t *testing.T) {
	raw := `{"ticket_number":7,"title":{},"created_at":"2026-06-01T13:05:00Z","updated_at":true,"created_by_id":"a",
		"updated_by_id":[],"created_by_way_of":[],"is_closed":"t","is_revised":{},"reopen_count":"1",
		"last_answer_type":1,"client":1,"desk":"d","priority":[],"stage":true,"status":"Opened",
		"responsible":2,"requestor":[],"followers":{},"services_catalog":[],"sla_info":1}`
	tk, err := tickets.Decode([]byte(raw))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := []string{"title", "updated_at", "created_by_id", "updated_by_id", "created_by_way_of", "is_closed",
		"is_revised", "reopen_count", "last_answer_type", "client", "desk", "priority", "stage", "status",
		"responsible", "requestor", "followers", "services_catalog", "sla_info"}
	if !slices.Equal(tk.FieldErrors, want) {
		t.Errorf("FieldErrors: got %q, want %q", tk.FieldErrors, want)
	}
	r, err := tickets.ToRow(tk, time.UTC, "s", syncedAt)
	if err != nil {
		t.Fatalf("ToRow: %v", err)
	}
	m := encodeMap(t, r)
	for k, v := range m {
		switch k {
		case "numero_ticket", "situacao", "criado_em", "atualizado_em", "criado_em_utc", "atualizado_em_utc",
			"dados", "sincronizado_em", "sessao":
			if v == nil {
				t.Errorf("%s: got null, want a value", k)
			}
		default:
			if v != nil {
				t.Errorf("%s: got %v, want null", k, v)
			}
		}
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
