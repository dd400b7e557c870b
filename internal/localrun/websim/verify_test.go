package websim_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
)

func TestVerify(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 20, 24, 8, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	truth := []websim.Fact{
		{Number: 1, UpdatedAt: t0, Situacao: websim.SituacaoAberto},
		{Number: 2, UpdatedAt: t0, Situacao: websim.SituacaoFechado},
		{Number: 3, UpdatedAt: t0, Situacao: websim.SituacaoCancelado},
		{Number: 4, UpdatedAt: t0, Situacao: websim.SituacaoExcluido},
	}
	right := []websim.Row{
		{1, t0, websim.SituacaoAberto}, {2, t0, websim.SituacaoFechado}, {3, t0, websim.SituacaoCancelado}, {4, t0, websim.SituacaoExcluido},
	}
	with := func(i int, r websim.Row) []websim.Row {
		out := append([]websim.Row(nil), right...)
		out[i] = r
		return out
	}
	tests := []struct {
		name string
		rows []websim.Row
		want websim.Verification
	}{
		{"Equal", right, websim.Verification{}},
		{"DeletedNeverLoaded", right[:3], websim.Verification{}},
		{"DeletedRowKeepsOldVersion", with(3, websim.Row{4, t0.Add(-time.Hour), websim.SituacaoExcluido}), websim.Verification{}},
		{"DeletedStillOpen", with(3, websim.Row{4, t0, websim.SituacaoAberto}), websim.Verification{WrongSituacao: 1}},
		{"Missing", right[1:], websim.Verification{Missing: 1}},
		{"Duplicated", append(append([]websim.Row(nil), right...), websim.Row{2, t0, websim.SituacaoFechado}), websim.Verification{Duplicated: 1}},
		{"Stale", with(0, websim.Row{1, t1, websim.SituacaoAberto}), websim.Verification{Stale: 1}},
		{"GhostOpen", with(1, websim.Row{2, t0, websim.SituacaoAberto}), websim.Verification{WrongSituacao: 1}},
		{"CanceledAsClosed", with(2, websim.Row{3, t0, websim.SituacaoFechado}), websim.Verification{WrongSituacao: 1}},
		{"NullSituacao", with(0, websim.Row{1, t0, ""}), websim.Verification{WrongSituacao: 1}},
		{"StaleAndWrong", with(1, websim.Row{2, t1, websim.SituacaoAberto}), websim.Verification{Stale: 1, WrongSituacao: 1}},
		{"Extra", append(append([]websim.Row(nil), right...), websim.Row{9, t0, websim.SituacaoAberto}), websim.Verification{Extra: 1}},
		{"Empty", nil, websim.Verification{Missing: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Truth, tt.want.Deleted = 4, 1
			got := websim.Verify(truth, tt.rows)
			examples := got.Examples
			got.Examples = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if got.OK() != reflect.DeepEqual(tt.want, websim.Verification{Truth: 4, Deleted: 1}) {
				t.Fatalf("OK() = %v for %+v", got.OK(), got)
			}
			// Each difference is shown once, naming its ticket.
			if n := got.Missing + got.Duplicated + got.Stale + got.WrongSituacao + got.Extra; len(examples) != n {
				t.Errorf("examples: got %q, want %d lines", examples, n)
			}
		})
	}
}
