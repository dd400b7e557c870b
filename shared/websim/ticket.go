package websim

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// rec is one ticket, stored compactly: times in Unix milliseconds, the rest
// as indexes into the vocabulary of data.go. It renders to a tickets.Ticket
// only when a page or Truth asks for it.
type rec struct {
	created, updated int64
	number           int64
	requestor        uint16
	responsible      int8 // index into staff; -1: unassigned (null)
	title            uint8
	status           uint8
	stage            uint8
	priority         uint8
	desk             uint8
	way              uint8 // created_by_way_of
	reopen           uint8
	answer           uint8 // index into answerTypes; 0: null
	flags            uint8
}

const (
	fRevised uint8 = 1 << iota
	fSolvedKnown
	fSolvedInTime
	fStopped
)

const day = int64(24 * time.Hour / time.Millisecond)

// generate fills s.tix with n tickets created over the last days days.
func (s *Server) generate(r *rand.Rand, n, days int, now time.Time) {
	end := now.UnixMilli()
	span := int64(days) * day
	created := make([]int64, n)
	for i := range created {
		created[i] = end - r.Int64N(span)
	}
	slices.Sort(created)
	s.tix = make([]rec, n)
	s.nextNumber = 10001
	for i, c := range created {
		t := &s.tix[i]
		t.created, t.number = c, s.nextNumber
		s.nextNumber++
		fill(t, r, end, false)
		if age := end - c; age > 0 {
			t.updated = c + r.Int64N(min(age, 20*day)+1)
		}
	}
}

// fill draws a ticket's content; fresh tickets are open.
func fill(t *rec, r *rand.Rand, now int64, fresh bool) {
	t.updated = max(t.updated, t.created)
	t.title = uint8(r.IntN(len(titles)))
	t.requestor = uint16(r.IntN(len(requestors)))
	t.desk = uint8(r.IntN(len(desks)))
	t.priority = uint8(pick(r, 30, 35, 20, 10, 5))
	if r.IntN(100) == 0 {
		t.way = 99 // a channel the contract does not list
	} else {
		t.way = uint8(pick(r, 15, 20, 6, 14, 25, 4, 3, 4, 3, 2, 2, 1, 1))
	}
	if r.IntN(10) == 0 {
		t.flags |= fRevised
	}
	if fresh {
		t.setStatus(r, stOpened)
		return
	}
	if now-t.created > 14*day {
		t.setStatus(r, pick(r, 9, 75, 10, 5, 1))
	} else {
		t.setStatus(r, pick(r, 39, 35, 5, 20, 1))
	}
}

// update changes a ticket as an attendant or the client would.
func (t *rec) update(r *rand.Rand, now int64) {
	t.updated = max(now, t.created)
	was := t.status
	next := pick(r, 30, 35, 5, 25, 5)
	if (was == stClosed || was == stCanceled) && next == stOpened {
		t.reopen = min(t.reopen+1, 250)
	}
	t.setStatus(r, next)
	if r.IntN(5) == 0 {
		t.title = uint8(r.IntN(len(titles)))
	}
	if r.IntN(5) == 0 {
		t.priority = uint8(r.IntN(len(priorities)))
	}
}

// setStatus sets the status and what follows from it: stage, responsible,
// SLA outcome, last answer.
func (t *rec) setStatus(r *rand.Rand, st int) {
	t.status = uint8(st)
	t.flags &^= fSolvedKnown | fSolvedInTime | fStopped
	t.responsible = int8(r.IntN(len(staff)))
	switch st {
	case stOpened:
		t.stage = uint8(r.IntN(2)) // Novo, Em atendimento
		if t.stage == 0 && r.IntN(2) == 0 || r.IntN(20) == 0 {
			t.responsible = -1
		}
		t.answer = uint8(r.IntN(3))
	case stPending:
		t.stage = uint8(2 + r.IntN(2)) // Aguardando cliente / terceiros
		t.flags |= fStopped
		t.answer = 2
	case stClosed:
		t.stage = uint8(4 + r.IntN(2))
		t.flags |= fSolvedKnown
		if r.IntN(10) < 8 {
			t.flags |= fSolvedInTime
		}
		t.answer = 2
	case stCanceled:
		t.stage = 5
		t.answer = uint8(1 + r.IntN(2))
	default:
		t.stage = uint8(r.IntN(len(stages)))
		t.answer = uint8(r.IntN(3))
	}
}

// pick returns an index drawn with the given weights.
func pick(r *rand.Rand, weights ...int) int {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	x := r.IntN(sum)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// slaHours are the attend and solve deadlines by priority index.
var slaHours = [][2]int64{{8, 120}, {4, 72}, {2, 48}, {1, 24}, {1, 8}}

// ticket renders t in the list shape.
func (t *rec) ticket() tickets.Ticket {
	p := requestors[t.requestor]
	c := companies[p.client]
	cid := int64(p.client + 1)
	sla := slaHours[t.priority]
	tk := tickets.Ticket{
		Number:         ptr(t.number),
		Title:          ptr(titles[t.title]),
		CreatedAt:      ptr(ms(t.created)),
		UpdatedAt:      ptr(ms(t.updated)),
		CreatedByWayOf: &tickets.Channel{Code: int64(t.way), IsCode: true},
		IsClosed:       ptr(t.status == stClosed || t.status == stCanceled),
		IsRevised:      ptr(t.flags&fRevised != 0),
		ReopenCount:    ptr(int64(t.reopen)),
		Client:         &tickets.Ref{ID: &cid, Name: &c},
		Desk:           refOf(desks[t.desk]),
		Priority:       refOf(priorities[t.priority]),
		Stage:          refOf(stages[t.stage]),
		Status:         refOf(statuses[t.status]),
		Requestor:      &tickets.Person{ID: ptr(p.id), Name: ptr(p.name), Email: ptr(p.email)},
		SLA: &tickets.SLA{
			AttendExpiration: ptr(ms(t.created + sla[0]*3600_000)),
			SolveExpiration:  ptr(ms(t.created + sla[1]*3600_000)),
			Stopped:          ptr(t.flags&fStopped != 0),
		},
	}
	if t.answer > 0 {
		tk.LastAnswerType = ptr(answerTypes[t.answer])
	}
	if t.responsible >= 0 {
		tk.Responsible = refOf(staff[t.responsible])
	}
	if t.flags&fSolvedKnown != 0 {
		tk.SLA.SolvedInTime = ptr(ms(t.updated)) // solved_in_time is when it was solved
	}
	return tk
}

func refOf(r ref) *tickets.Ref { return &tickets.Ref{ID: ptr(r.id), Name: ptr(r.name)} }

func ptr[T any](v T) *T { return &v }

func ms(v int64) string { return time.UnixMilli(v).UTC().Format(TimeLayout) }
