package websim

import "time"

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
		}
		if f.Situacao == SituacaoExcluido {
			v.Deleted++
			if len(rs) > 0 && rs[len(rs)-1].Situacao != SituacaoExcluido {
				v.WrongSituacao++
			}
			continue
		}
		if len(rs) == 0 {
			v.Missing++
			continue
		}
		r := rs[len(rs)-1]
		if !r.UpdatedAt.Equal(f.UpdatedAt) {
			v.Stale++
		}
		if r.Situacao != f.Situacao {
			v.WrongSituacao++
		}
	}
	for n := range byNumber {
		if !known[n] {
			v.Extra++
		}
	}
	return v
}
