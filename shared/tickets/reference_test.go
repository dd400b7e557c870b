package tickets_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// refRow is what a row of the reference's examples must hold, worked out by
// hand from testdata/get_tickets_*.json (see testdata/README.md): the times in
// America/Sao_Paulo are UTC-3 (no DST since 2019).
func refRow(n int64, clientID int64, client string, created string, createdBy any, deskID int64,
	followers string, prioID int64, prio string, email string, stageID int64, stage string, statusID int64,
	title, updated, attend, solve, stageExp string) map[string]any {
	return map[string]any{
		"numero_ticket":        json.Number(itoa(n)),
		"titulo":               title,
		"situacao":             "aberto",
		"status":               "Aberto",
		"status_id":            json.Number(itoa(statusID)),
		"estagio":              stage,
		"estagio_id":           json.Number(itoa(stageID)),
		"prioridade":           prio,
		"prioridade_id":        json.Number(itoa(prioID)),
		"cliente":              client,
		"cliente_id":           json.Number(itoa(clientID)),
		"mesa":                 "API",
		"mesa_id":              json.Number(itoa(deskID)),
		"responsavel":          "Alfonso Brakus",
		"responsavel_id":       json.Number("1"),
		"solicitante":          "teste",
		"solicitante_email":    email,
		"solicitante_telefone": "+45892156478",
		"seguidores":           followers,
		"catalogo":             nil,
		"canal":                "Tiflux Web",
		"fechado":              false,
		"revisado":             false,
		"reaberturas":          json.Number("0"),
		"ultima_resposta":      nil,
		"criado_por_id":        createdBy,
		"atualizado_por_id":    createdBy,
		"criado_em":            created + ".000000",
		"atualizado_em":        updated + ".000000",
		"resolvido_em":         nil,
		"prazo_atendimento":    attend,
		"prazo_solucao":        solve,
		"prazo_estagio":        stageExp,
		"sla_atendimento":      true,
		"sla_solucao":          true,
		"sla_pausado":          false,
		"solucao_no_prazo":     nil,
		"resolvido_no_prazo":   nil,
		"resolvido_em_utc":     nil,
		"sincronizado_em":      "2026-06-02T10:00:00.000000Z",
		"sessao":               "sess-ref",
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestReferenceExamples decodes the list examples of the official API v2
// reference (operation get_tickets) as the client does, element by element,
// into rows: none rejected, no field error, every column as worked out by hand.
func TestReferenceExamples(t *testing.T) {
	one := json.Number("1")
	t2978 := refRow(2978, 42, "Daniel LLC", "2026-09-01T17:24:08", one, 33, "brigitte_sauer@carter.test",
		66, "Baixa", "sergio@kovacek.example", 105, "N2", 97, "Ticket with stage changes", "2026-09-01T17:54:08",
		"2026-09-03T06:30:00.000000", "2026-09-09T12:00:00.000000",
		"2026-09-02T06:00:00.000000")
	t2978["criado_em_utc"], t2978["atualizado_em_utc"] = "2026-09-01T20:24:08.000000Z", "2026-09-01T20:54:08.000000Z"
	t2977 := refRow(2977, 40, "Rowe, Deckow and Keebler", "2026-09-01T17:54:08", one, 30,
		"scottie_thompson@stracke-weissnat.example", 60, "Baixa", "anneliese@macgyver-torp.example", 93, "Pending", 88,
		"To be, or not to be: that is the question", "2026-09-01T17:54:08",
		"2026-09-03T06:30:00.000000", "2026-09-09T12:00:00.000000",
		"2026-09-02T09:00:00.000000")
	t2977["criado_em_utc"], t2977["atualizado_em_utc"] = "2026-09-01T20:54:08.000000Z", "2026-09-01T20:54:08.000000Z"
	t2979 := refRow(2979, 40, "Rowe, Deckow and Keebler", "2026-09-01T17:54:08", nil, 27, "burt_kessler@fahey.example",
		53, "Alta", "cassey.friesen@walker.test", 84, "Pending", 79, "Only a test", "2026-09-01T17:54:08",
		"2026-09-02T09:00:00.000000", "2026-09-04T13:30:00.000000",
		"2026-09-02T09:00:00.000000")
	t2979["criado_em_utc"], t2979["atualizado_em_utc"] = "2026-09-01T20:54:08.000000Z", "2026-09-01T20:54:08.000000Z"

	tests := []struct {
		file string
		want []map[string]any
	}{
		{"get_tickets_default.json", []map[string]any{t2978, t2977}},
		{"get_tickets_entities.json", []map[string]any{t2978, t2977}},
		{"get_tickets_jira.json", []map[string]any{t2979}},
	}
	loc := saoPaulo(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var els []json.RawMessage
			if err := json.Unmarshal(b, &els); err != nil {
				t.Fatalf("fixture is not a JSON array: %v", err)
			}
			if len(els) != len(tt.want) {
				t.Fatalf("fixture has %d tickets, want %d", len(els), len(tt.want))
			}
			for i, el := range els {
				tk, err := tickets.Decode(el)
				if err != nil {
					t.Fatalf("ticket %d rejected by Decode: %v", i, err)
				}
				r, err := tickets.ToRow(tk, loc, "sess-ref", syncedAt)
				if err != nil {
					t.Fatalf("ticket %d rejected by ToRow: %v", i, err)
				}
				if r.FieldErrors != nil {
					t.Errorf("ticket %d: FieldErrors got %q, want none", i, r.FieldErrors)
				}
				got := encodeMap(t, r)
				want := tt.want[i]
				for k, w := range want {
					if g, ok := got[k]; !ok || g != w {
						t.Errorf("ticket %d: %s: got %#v (present %v), want %#v", i, k, g, ok, w)
					}
				}
				if g := canonical(t, got["dados"]); g != canonical(t, string(el)) {
					t.Errorf("ticket %d: dados: got %s, want the element as received", i, g)
				}
				for k := range got {
					if _, ok := want[k]; !ok && k != "dados" {
						t.Errorf("ticket %d: column %q not checked", i, k)
					}
				}
			}
		})
	}
}
