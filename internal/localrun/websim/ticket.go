package websim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Ticket is one ticket as the ticket list sends it: the shape of the
// examples of operation get_tickets in Tiflux's OpenAPI document (API v2;
// public copy: leoalves43/dashboard-tiflux, docs/reference/openapi-spec-tiflux.json),
// field for field and type for type. It is websim's own wire type: the
// pipeline's decoder (shared/tickets) is what is under test, so the
// simulation never encodes from it.
type Ticket struct {
	TicketNumber    int64       `json:"ticket_number"`
	Client          Ref         `json:"client"`
	CreatedAt       string      `json:"created_at"`
	CreatedByID     *int64      `json:"created_by_id"`
	CreatedByWayOf  string      `json:"created_by_way_of"` // a label: "Tiflux Web", "Email", ...
	Desk            Ref         `json:"desk"`
	Followers       *string     `json:"followers"` // e-mail addresses separated by ","
	IsClosed        bool        `json:"is_closed"`
	IsRevised       bool        `json:"is_revised"`
	JiraIssues      []JiraIssue `json:"jira_issues,omitempty"` // only on tickets linked to Jira, as in the reference
	LastAnswerType  *string     `json:"last_answer_type"`
	Priority        Ref         `json:"priority"`
	ReopenCount     int64       `json:"reopen_count"`
	Requestor       Requestor   `json:"requestor"`
	Responsible     *Ref        `json:"responsible"`
	ServicesCatalog *Catalog    `json:"services_catalog"`
	SLAInfo         SLAInfo     `json:"sla_info"`
	Stage           Ref         `json:"stage"`
	Status          Ref         `json:"status"`
	Title           string      `json:"title"`
	UpdatedAt       string      `json:"updated_at"`
	UpdatedByID     *int64      `json:"updated_by_id"`
}

// Ref is an {id, name} object: client, desk, priority, stage, status, responsible.
type Ref struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Requestor is the ticket's requestor; id is null when only an e-mail was given.
type Requestor struct {
	ID        *int64  `json:"id"`
	Email     *string `json:"email"`
	Name      *string `json:"name"`
	Ramal     *string `json:"ramal"`
	Telephone *string `json:"telephone"`
}

// Catalog is the services catalog item a ticket was opened on.
type Catalog struct {
	CatalogName string `json:"catalog_name"`
	AreaName    string `json:"area_name"`
	ItemName    string `json:"item_name"`
}

// SLAInfo holds the deadlines; SolvedInTime is when the ticket was solved
// (a datetime, null while unsolved), not a yes/no.
type SLAInfo struct {
	AttendExpiration  *string `json:"attend_expiration"`
	AttendSLA         bool    `json:"attend_sla"`
	AttendSLASolution bool    `json:"attend_sla_solution"`
	SolveExpiration   *string `json:"solve_expiration"`
	SolvedInTime      *string `json:"solved_in_time"`
	StageExpiration   *string `json:"stage_expiration"`
	Stopped           bool    `json:"stopped"`
}

// JiraIssue is a Jira issue linked to a ticket.
type JiraIssue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Link   string `json:"link"`
	Status string `json:"status"`
}

// Detail is the answer of the one-ticket endpoint (operation
// get_tickets_ticket_number): the list's fields and a few more.
type Detail struct {
	Ticket
	Description     string   `json:"description"`
	IsDuplicating   bool     `json:"is_duplicating"`
	IsGrouped       bool     `json:"is_grouped"`
	LastReopenDate  *string  `json:"last_reopen_date"`
	TicketChildren  []string `json:"ticket_children"`
	TicketReference struct{} `json:"ticket_reference"`
	WorkedHours     string   `json:"worked_hours"`
	URLInternalPath string   `json:"url_internal_path"`
}

// The situacao of a ticket in Truth, as CONTRACT section 6 names them.
const (
	SituacaoAberto    = "aberto"
	SituacaoFechado   = "fechado"
	SituacaoCancelado = "cancelado"
	SituacaoExcluido  = "excluido"
)

// Fact is what the simulated system knows of one ticket, for tests and
// --verify to compare a copy with: its key, its version, its situation.
type Fact struct {
	Number    int64
	CreatedAt time.Time
	UpdatedAt time.Time // as the list shows it (whole seconds)
	Situacao  string    // aberto, fechado, cancelado or excluido (deleted or merged away: 404)
	BadField  string    // the field sent with a wrong type (Options.BadFieldRate), "" when none; "sla_info.solved_in_time" for a nested one
	JSON      []byte    // the ticket as the list sends it now; nil for a deleted ticket
}

// rec is one ticket, stored compactly: times in Unix milliseconds (whole
// seconds), the rest as indexes into the vocabulary of data.go. It renders
// to the wire shape only when a page or Truth asks for it.
type rec struct {
	created, updated int64
	solved           int64 // 0: unsolved (null)
	seq              int64 // order of the last change, for the "jump" order
	number           int64
	requestor        uint16
	responsible      int8 // index into staff; -1: unassigned (null)
	createdBy        int8 // index into staff; -1: null
	updatedBy        int8
	title            uint8
	status           uint8
	stage            uint8
	priority         uint8
	desk             uint8
	way              uint8 // created_by_way_of: index into ways
	reopen           uint8
	answer           uint8 // index into answerTypes; 0: null
	followers        uint8 // 0: null, else that many addresses
	catalog          uint8 // 0: null, else 1 + index into catalogs
	bad              uint8 // 0: none, else 1 + index into badFields
	flags            uint8
}

const (
	fRevised uint8 = 1 << iota
	fStopped
	fDeleted
	fJira
	fNoPhone
	fNoRequestorID // requestor given by e-mail only: id null, as in the reference's examples
)

const day = int64(24 * time.Hour / time.Millisecond)

// sec truncates Unix milliseconds to whole seconds: the list writes
// datetimes in whole seconds, so the simulation keeps them so too.
func sec(ms int64) int64 { return ms - ms%1000 }

func (t *rec) deleted() bool  { return t.flags&fDeleted != 0 }
func (t *rec) canceled() bool { return t.status == stCanceled || t.status == stDiscarded }
func (t *rec) closed() bool   { return t.status == stClosed || t.canceled() }

func (t *rec) situacao() string {
	switch {
	case t.deleted():
		return SituacaoExcluido
	case t.canceled():
		return SituacaoCancelado
	case t.closed():
		return SituacaoFechado
	}
	return SituacaoAberto
}

// generate fills s.tix with n tickets created over the last days days.
func (s *Server) generate(r *rand.Rand, n, days int, now time.Time) {
	end := sec(now.UnixMilli())
	span := int64(days) * day
	created := make([]int64, n)
	for i := range created {
		created[i] = sec(end - r.Int64N(span))
	}
	slices.Sort(created)
	s.tix = make([]rec, n)
	s.nextNumber = 10001
	for i, c := range created {
		t := &s.tix[i]
		t.created, t.number, t.seq = c, s.nextNumber, int64(i)
		s.nextNumber++
		if age := end - c; age > 0 {
			t.updated = sec(c + r.Int64N(min(age, 20*day)+1))
		}
		fill(t, r, end, false)
		s.markBad(t, r)
	}
	s.nextSeq = int64(n)
}

// markBad gives t a field of the wrong type with probability BadFieldRate.
func (s *Server) markBad(t *rec, r *rand.Rand) {
	if s.opts.BadFieldRate > 0 && r.Float64() < s.opts.BadFieldRate {
		t.bad = uint8(1 + r.IntN(len(badFields)))
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
		t.way = uint8(len(ways) - 1) // a channel the contract does not list
	} else {
		t.way = uint8(pick(r, 15, 20, 6, 14, 25, 4, 3, 4, 3, 2, 2, 1, 1))
	}
	t.createdBy, t.updatedBy = int8(r.IntN(len(staff))), int8(r.IntN(len(staff)))
	if r.IntN(20) == 0 {
		t.createdBy = -1 // created by the client or an integration
	}
	if r.IntN(10) == 0 {
		t.flags |= fRevised
	}
	if r.IntN(20) == 0 {
		t.flags |= fJira
	}
	if r.IntN(4) == 0 {
		t.flags |= fNoPhone
	}
	if r.IntN(3) == 0 {
		t.flags |= fNoRequestorID
	}
	t.followers = uint8(pick(r, 50, 35, 15))
	if r.IntN(10) < 3 {
		t.catalog = uint8(1 + r.IntN(len(catalogs)))
	}
	if fresh {
		t.setStatus(r, stOpened, now)
		return
	}
	if now-t.created > 14*day {
		t.setStatus(r, pick(r, 9, 70, 5, 5, 1, 5), t.updated)
	} else {
		t.setStatus(r, pick(r, 39, 33, 3, 20, 1, 2), t.updated)
	}
}

// update changes a ticket as an attendant or the client would, with a new updated_at.
func (t *rec) update(r *rand.Rand, now int64) {
	t.updated = max(sec(now), t.created)
	t.updatedBy = int8(r.IntN(len(staff)))
	was := t.status
	next := pick(r, 30, 35, 3, 25, 5, 2)
	if (was == stClosed || was == stCanceled || was == stDiscarded) && next == stOpened {
		t.reopen = min(t.reopen+1, 250)
	}
	t.setStatus(r, next, t.updated)
	if r.IntN(5) == 0 {
		t.title = uint8(r.IntN(len(titles)))
	}
	if r.IntN(5) == 0 {
		t.priority = uint8(r.IntN(len(priorities)))
	}
}

// setStatus sets the status and what follows from it: stage, responsible,
// SLA state, last answer; a close at `at` is the ticket's solution time.
func (t *rec) setStatus(r *rand.Rand, st int, at int64) {
	t.status = uint8(st)
	t.flags &^= fStopped
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
		t.solved = max(sec(at), t.created)
		t.answer = 2
	case stCanceled, stDiscarded:
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

// slaHours are the attend, solve and stage deadlines by priority index.
var slaHours = [][3]int64{{8, 120, 24}, {4, 72, 12}, {2, 48, 8}, {1, 24, 4}, {1, 8, 2}}

// wire renders t in the list shape.
func (t *rec) wire() Ticket {
	p := requestors[t.requestor]
	sla := slaHours[t.priority]
	tk := Ticket{
		TicketNumber:   t.number,
		Client:         Ref{int64(p.client + 1), companies[p.client]},
		CreatedAt:      ms(t.created),
		CreatedByWayOf: ways[t.way],
		Desk:           refOf(desks[t.desk]),
		IsClosed:       t.closed(),
		IsRevised:      t.flags&fRevised != 0,
		Priority:       refOf(priorities[t.priority]),
		ReopenCount:    int64(t.reopen),
		Requestor:      Requestor{ID: ptr(p.id), Email: ptr(p.email), Name: ptr(p.name)},
		Stage:          refOf(stages[t.stage]),
		Status:         refOf(statuses[t.status]),
		Title:          titles[t.title],
		UpdatedAt:      ms(t.updated),
		SLAInfo: SLAInfo{
			AttendExpiration:  ptr(ms(t.created + sla[0]*3600_000)),
			AttendSLA:         true,
			AttendSLASolution: t.priority != 0,
			SolveExpiration:   ptr(ms(t.created + sla[1]*3600_000)),
			Stopped:           t.flags&fStopped != 0,
		},
	}
	if t.flags&fNoRequestorID != 0 {
		tk.Requestor.ID = nil
	}
	if t.flags&fNoPhone == 0 {
		tk.Requestor.Telephone = ptr(fmt.Sprintf("+55119%08d", p.id*7919%100_000_000))
	} else {
		tk.Requestor.Telephone = ptr("")
	}
	if t.createdBy >= 0 {
		tk.CreatedByID = ptr(staff[t.createdBy].id)
	}
	if t.updatedBy >= 0 {
		tk.UpdatedByID = ptr(staff[t.updatedBy].id)
	}
	if t.answer > 0 {
		tk.LastAnswerType = ptr(answerTypes[t.answer])
	}
	if t.responsible >= 0 {
		tk.Responsible = ptr(refOf(staff[t.responsible]))
	}
	if t.followers > 0 {
		var f []string
		for i := range int(t.followers) {
			f = append(f, requestors[(int(t.requestor)+17*(i+1))%len(requestors)].email)
		}
		tk.Followers = ptr(strings.Join(f, ","))
	}
	if t.catalog > 0 {
		tk.ServicesCatalog = ptr(catalogs[t.catalog-1])
	}
	if t.solved > 0 {
		tk.SLAInfo.SolvedInTime = ptr(ms(t.solved))
	}
	if !t.closed() {
		tk.SLAInfo.StageExpiration = ptr(ms(t.updated + sla[2]*3600_000))
	}
	if t.flags&fJira != 0 {
		key := fmt.Sprintf("SUP-%d", t.number%997)
		tk.JiraIssues = []JiraIssue{{ID: fmt.Sprint(50000 + t.number%997), Key: key,
			Link: "https://example.atlassian.net/browse/" + key, Status: []string{"To Do", "In Progress", "Done"}[t.number%3]}}
	}
	return tk
}

// detail renders t as the one-ticket endpoint does.
func (t *rec) detail() Detail {
	return Detail{Ticket: t.wire(), Description: "Descrição: " + titles[t.title], TicketChildren: []string{},
		WorkedHours: fmt.Sprintf("%02d:%02d", t.number%7, t.number%60), URLInternalPath: fmt.Sprintf("https://app.example.test/v/tickets/%d/basic_info", t.number)}
}

// badFields are the wrong-typed fields Options.BadFieldRate puts in a
// ticket: each keeps ticket_number, created_at, updated_at and is_closed
// right, so the ticket stays loadable and its situacao known.
var badFields = []struct{ name, value string }{
	{"reopen_count", `"2"`},
	{"desk", `7`},
	{"priority", `"High"`},
	{"title", `12345`},
	{"responsible", `"Ana Souza"`},
	{"followers", `[{"id":1,"name":"Maria"}]`},
	{"is_revised", `"no"`},
	{"created_by_id", `"44"`},
	{"sla_info.solved_in_time", `true`},
}

// encode writes v (a Ticket or Detail of t) as JSON, with t's wrong-typed
// field swapped in.
func (t *rec) encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil || t.bad == 0 {
		return b
	}
	bf := badFields[t.bad-1]
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	if outer, inner, ok := strings.Cut(bf.name, "."); ok {
		var n map[string]json.RawMessage
		if json.Unmarshal(m[outer], &n) != nil {
			return b
		}
		n[inner] = json.RawMessage(bf.value)
		m[outer], _ = json.Marshal(n)
	} else {
		m[bf.name] = json.RawMessage(bf.value)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return b
	}
	return out
}

func (t *rec) fact() Fact {
	f := Fact{Number: t.number, CreatedAt: time.UnixMilli(t.created).UTC(), UpdatedAt: time.UnixMilli(t.updated).UTC(), Situacao: t.situacao()}
	if t.bad > 0 {
		f.BadField = badFields[t.bad-1].name
	}
	if !t.deleted() {
		f.JSON = t.encode(t.wire())
	}
	return f
}

func refOf(r ref) Ref { return Ref{r.id, r.name} }

func ptr[T any](v T) *T { return &v }

func ms(v int64) string { return time.UnixMilli(v).UTC().Format(TimeLayout) }
