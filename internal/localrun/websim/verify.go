package websim

import (
	"fmt"
	"time"
)

// Row is one row of a copy of the tickets (the pipeline's tickets table),
// as a check against Truth reads it.
type Row struct {
	Number    int64     // numero_ticket
	UpdatedAt time.Time // atualizado_em_utc
	Situacao  string    // situacao; "" for NULL
}

// Verification is how a copy of the tickets differs from Truth.
type Verification struct {
	Truth         int `json:"truth"`          // tickets in the system, deleted ones included
	Deleted       int `json:"deleted"`        // of them, deleted or merged away
	Missing       int `json:"missing"`        // tickets that exist and have no row
	Duplicated    int `json:"duplicated"`     // tickets with more than one row
	Stale         int `json:"stale"`          // tickets that exist whose row has another updated_at
	WrongSituacao int `json:"wrong_situacao"` // rows whose situacao is not the ticket's (a deleted ticket's row must say excluido)
	Extra         int `json:"extra"`          // rows of tickets the system never had

	Examples []string `json:"examples,omitempty"` // the first few differences, one line each (ticket number, row, system)
}

// maxExamples bounds Verification.Examples.
const maxExamples = 10

// example notes one difference, up to maxExamples.
func (v *Verification) example(format string, args ...any) {
	if len(v.Examples) < maxExamples {
		v.Examples = append(v.Examples, fmt.Sprintf(format, args...))
	}
}

// OK reports whether the copy equals the truth.
func (v Verification) OK() bool {
	return v.Missing == 0 && v.Duplicated == 0 && v.Stale == 0 && v.WrongSituacao == 0 && v.Extra == 0
}

// Verify compares rows with truth. A ticket that exists must have exactly
// one row, with its updated_at and its situacao. A deleted ticket may have
// no row (it may never have been loaded); a row it has must say excluido,
// whatever its updated_at (deleting does not change it).
func Verify(truth []Fact, rows []Row) Verification {
	v := Verification{Truth: len(truth)}
	byNumber := make(map[int64][]Row, len(rows))
	for _, r := range rows {
		byNumber[r.Number] = append(byNumber[r.Number], r)
	}
	known := make(map[int64]bool, len(truth))
	for _, f := range truth {
		known[f.Number] = true
		rs := byNumber[f.Number]
		if len(rs) > 1 {
			v.Duplicated++
			v.example("ticket %d: %d rows", f.Number, len(rs))
		}
		if f.Situacao == SituacaoExcluido {
			v.Deleted++
			if len(rs) > 0 && rs[len(rs)-1].Situacao != SituacaoExcluido {
				v.WrongSituacao++
				v.example("ticket %d: row %s, system deleted", f.Number, rs[len(rs)-1].Situacao)
			}
			continue
		}
		if len(rs) == 0 {
			v.Missing++
			v.example("ticket %d: no row, system %s updated %s", f.Number, f.Situacao, f.UpdatedAt.Format(time.RFC3339))
			continue
		}
		r := rs[len(rs)-1]
		if !r.UpdatedAt.Equal(f.UpdatedAt) {
			v.Stale++
			v.example("ticket %d: row updated %s, system %s", f.Number, r.UpdatedAt.Format(time.RFC3339), f.UpdatedAt.Format(time.RFC3339))
		}
		if r.Situacao != f.Situacao {
			v.WrongSituacao++
			v.example("ticket %d: row %s, system %s (updated %s)", f.Number, r.Situacao, f.Situacao, f.UpdatedAt.Format(time.RFC3339))
		}
	}
	for n := range byNumber {
		if !known[n] {
			v.Extra++
			v.example("ticket %d: a row, the system never had it", n)
		}
	}
	return v
}
