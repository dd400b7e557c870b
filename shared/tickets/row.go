package tickets

import (
	// The report time zone must resolve on a bare runtime (no /usr/share/zoneinfo),
	// so the tz database is compiled in.
	_ "time/tzdata"

	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// NullString is a STRING column that may be NULL.
type NullString struct {
	String string
	Valid  bool
}

// NullInt64 is an INT64 column that may be NULL.
type NullInt64 struct {
	Int64 int64
	Valid bool
}

// NullBool is a BOOL column that may be NULL.
type NullBool struct {
	Bool  bool
	Valid bool
}

// Row is one row of the tickets table (CONTRACT section 6). Field names follow
// the column names; the DATETIME columns hold the local time in the report time
// zone and the TIMESTAMP columns hold an instant. A zero time.Time is NULL.
type Row struct {
	NumeroTicket        int64
	Titulo              NullString
	Situacao            string // SituacaoAberto, SituacaoFechado, SituacaoCancelado or SituacaoExcluido
	Status              NullString
	StatusID            NullInt64
	Estagio             NullString
	EstagioID           NullInt64
	Prioridade          NullString
	PrioridadeID        NullInt64
	Cliente             NullString
	ClienteID           NullInt64
	Mesa                NullString
	MesaID              NullInt64
	Responsavel         NullString
	ResponsavelID       NullInt64
	Solicitante         NullString
	SolicitanteEmail    NullString
	SolicitanteTelefone NullString
	Seguidores          NullString
	Catalogo            NullString
	Canal               NullString
	Fechado             NullBool
	Revisado            NullBool
	Reaberturas         NullInt64
	UltimaResposta      NullString
	CriadoPorID         NullInt64
	AtualizadoPorID     NullInt64
	CriadoEm            time.Time // DATETIME
	AtualizadoEm        time.Time // DATETIME
	ResolvidoEm         time.Time // DATETIME, NULL when zero
	PrazoAtendimento    time.Time // DATETIME, NULL when zero
	PrazoSolucao        time.Time // DATETIME, NULL when zero
	PrazoEstagio        time.Time // DATETIME, NULL when zero
	SLAAtendimento      NullBool
	SLASolucao          NullBool
	SLAPausado          NullBool
	SolucaoNoPrazo      NullBool
	CriadoEmUTC         time.Time // TIMESTAMP
	AtualizadoEmUTC     time.Time // TIMESTAMP
	ResolvidoEmUTC      time.Time // TIMESTAMP, NULL when zero
	Dados               []byte    // JSON: the ticket as received (Ticket.Raw); NULL when empty
	SincronizadoEm      time.Time // TIMESTAMP
	Sessao              string

	// FieldErrors names the JSON fields of the ticket that were of an
	// unexpected type or unparsable (e.g. "sla_info.solved_in_time"); their
	// columns are NULL. Not a column: the run counts them.
	FieldErrors []string
}

// The situacao values of CONTRACT section 6.
const (
	SituacaoAberto    = "aberto"    // is_closed false
	SituacaoFechado   = "fechado"   // closed, not canceled
	SituacaoCancelado = "cancelado" // read by the canceled pass, or a status name starting with "Cancel"
	SituacaoExcluido  = "excluido"  // the system answers 404 for it
)

// FieldError says which field of a ticket made it unloadable. It never carries
// the ticket itself, only its number when that is known.
type FieldError struct {
	Ticket int64  // the ticket_number, 0 when it is the missing field
	Field  string // the JSON field name, e.g. "updated_at" or "sla_info.solve_expiration"
	Reason string // "missing" or why the value is malformed
}

// Error says which ticket and field, never the ticket's content.
func (e *FieldError) Error() string {
	if e.Ticket != 0 {
		return fmt.Sprintf("ticket %d: %s: %s", e.Ticket, e.Field, e.Reason)
	}
	return fmt.Sprintf("ticket: %s: %s", e.Field, e.Reason)
}

// ErrMissing and ErrMalformed classify a FieldError for errors.Is.
var (
	ErrMissing   = errors.New("missing")
	ErrMalformed = errors.New("malformed")
)

// Is reports whether target is ErrMissing or ErrMalformed matching this error.
func (e *FieldError) Is(target error) bool {
	switch target {
	case ErrMissing:
		return e.Reason == "missing"
	case ErrMalformed:
		return e.Reason != "missing"
	}
	return false
}

var statusNames = map[string]string{
	"Opened":   "Aberto",
	"Closed":   "Fechado",
	"Canceled": "Cancelado",
	"Pending":  "Pendente",
	"Resolved": "Resolvido",
}

var priorityNames = map[string]string{
	"Low":      "Baixa",
	"Medium":   "Média",
	"High":     "Alta",
	"Urgent":   "Urgente",
	"Critical": "Crítica",
}

// channelNames are the created_by_way_of labels in code order (0–12, the
// list filter's codes in the official reference) with the table's names.
var channelNames = [...]struct{ label, name string }{
	{"Tiflux Web", "Tiflux Web"},
	{"Tiflux Agent", "Tiflux Agent"},
	{"Chat Widget", "Widget de chat"},
	{"Whatsapp", "WhatsApp"},
	{"Email", "E-mail"},
	{"External form", "Formulário externo"},
	{"Tiflux Mobile", "Tiflux Mobile"},
	{"Tiflux API", "API"},
	{"Chat", "Chat"},
	{"Recurrent activity", "Atividade recorrente"},
	{"Trigger", "Gatilho"},
	{"Ticket Group", "Grupo de tickets"},
	{"AI Agent", "Agente de IA"},
}

// StatusName maps a status name to the table's Portuguese name; names it does
// not know pass through unchanged.
func StatusName(name string) string {
	if m, ok := statusNames[name]; ok {
		return m
	}
	return name
}

// PriorityName maps a priority name to the table's Portuguese name; names it
// does not know pass through unchanged.
func PriorityName(name string) string {
	if m, ok := priorityNames[name]; ok {
		return m
	}
	return name
}

// ChannelName maps a created_by_way_of value to the table's channel name: a
// known label or a code 0–12 to its name; any other label unchanged, any
// other code as its decimal number.
func ChannelName(c Channel) string {
	if c.IsCode {
		if c.Code >= 0 && c.Code < int64(len(channelNames)) {
			return channelNames[c.Code].name
		}
		return strconv.FormatInt(c.Code, 10)
	}
	for _, n := range channelNames {
		if n.label == c.Label {
			return n.name
		}
	}
	return c.Label
}

// ToRow maps a ticket to its tickets-table row. loc is the report time zone of
// the DATETIME columns, session and syncedAt fill sessao and sincronizado_em.
//
// Only what the table cannot hold a row without is refused, with a
// *FieldError naming it: a missing or non-positive ticket_number, a missing or
// unusable created_at, an empty session or a zero syncedAt. Any other field
// that is unparsable becomes NULL in its column(s) and is named in
// Row.FieldErrors, after the ones Decode found. A missing or unusable
// updated_at takes created_at's value (atualizado_em_utc is REQUIRED).
func ToRow(t Ticket, loc *time.Location, session string, syncedAt time.Time) (Row, error) {
	var r Row
	if t.Number == nil {
		return r, &FieldError{Field: "ticket_number", Reason: "missing"}
	}
	n := *t.Number
	if n <= 0 {
		return r, &FieldError{Field: "ticket_number", Reason: "not a positive number: " + strconv.FormatInt(n, 10)}
	}
	if loc == nil {
		loc = time.UTC
	}
	created, err := requiredTime(n, "created_at", t.CreatedAt)
	if err != nil {
		return Row{}, err
	}
	if session == "" {
		return Row{}, &FieldError{Ticket: n, Field: "session", Reason: "missing"}
	}
	if syncedAt.IsZero() {
		return Row{}, &FieldError{Ticket: n, Field: "synced_at", Reason: "missing"}
	}
	r.FieldErrors = t.FieldErrors[:len(t.FieldErrors):len(t.FieldErrors)]

	r.NumeroTicket = n
	r.Titulo = str(t.Title)
	if t.Status != nil {
		if t.Status.Name != nil {
			r.Status = NullString{StatusName(*t.Status.Name), true}
		}
		r.StatusID = i64(t.Status.ID)
	}
	if t.Stage != nil {
		r.Estagio = str(t.Stage.Name)
		r.EstagioID = i64(t.Stage.ID)
	}
	if t.Priority != nil {
		if t.Priority.Name != nil {
			r.Prioridade = NullString{PriorityName(*t.Priority.Name), true}
		}
		r.PrioridadeID = i64(t.Priority.ID)
	}
	if t.Client != nil {
		r.Cliente = str(t.Client.Name)
		r.ClienteID = i64(t.Client.ID)
	}
	if t.Desk != nil {
		r.Mesa = str(t.Desk.Name)
		r.MesaID = i64(t.Desk.ID)
	}
	if t.Responsible != nil {
		r.Responsavel = str(t.Responsible.Name)
		r.ResponsavelID = i64(t.Responsible.ID)
	}
	if t.Requestor != nil {
		r.Solicitante = str(t.Requestor.Name)
		r.SolicitanteEmail = str(t.Requestor.Email)
		r.SolicitanteTelefone = str(t.Requestor.Telephone)
	}
	r.Seguidores = str(t.Followers)
	r.Catalogo = catalog(t.ServicesCatalog)
	if t.CreatedByWayOf != nil {
		r.Canal = NullString{ChannelName(*t.CreatedByWayOf), true}
	}
	r.Fechado = boolean(t.IsClosed)
	r.Revisado = boolean(t.IsRevised)
	r.Situacao = situacao(t)
	r.Reaberturas = i64(t.ReopenCount)
	r.UltimaResposta = str(t.LastAnswerType)
	r.CriadoPorID = i64(t.CreatedByID)
	r.AtualizadoPorID = i64(t.UpdatedByID)

	updated := optional(&r.FieldErrors, "updated_at", t.UpdatedAt)
	if updated.IsZero() {
		updated = created
	}
	if s := t.SLA; s != nil {
		attend := optional(&r.FieldErrors, "sla_info.attend_expiration", s.AttendExpiration)
		solve := optional(&r.FieldErrors, "sla_info.solve_expiration", s.SolveExpiration)
		stage := optional(&r.FieldErrors, "sla_info.stage_expiration", s.StageExpiration)
		solved := optional(&r.FieldErrors, "sla_info.solved_in_time", s.SolvedInTime)
		r.PrazoAtendimento = local(attend, loc)
		r.PrazoSolucao = local(solve, loc)
		r.PrazoEstagio = local(stage, loc)
		r.ResolvidoEm = local(solved, loc)
		r.ResolvidoEmUTC = solved
		if !solved.IsZero() && !solve.IsZero() {
			r.SolucaoNoPrazo = NullBool{!solved.After(solve), true}
		}
		r.SLAAtendimento = boolean(s.AttendSLA)
		r.SLASolucao = boolean(s.AttendSLASolution)
		r.SLAPausado = boolean(s.Stopped)
	}
	r.CriadoEm = created.In(loc)
	r.AtualizadoEm = updated.In(loc)
	r.CriadoEmUTC = created
	r.AtualizadoEmUTC = updated
	r.Dados = t.Raw
	r.SincronizadoEm = syncedAt.UTC()
	r.Sessao = session
	return r, nil
}

// catalog joins the services_catalog names present, catalog / area / item;
// NULL when there is none. One allocation at most.
func catalog(c *Catalog) NullString {
	if c == nil {
		return NullString{}
	}
	parts := [...]*string{c.CatalogName, c.AreaName, c.ItemName}
	n, size := 0, 0
	var only string
	for _, p := range parts {
		if p != nil && *p != "" {
			n++
			size += len(*p)
			only = *p
		}
	}
	if n <= 1 {
		return NullString{only, n == 1}
	}
	var b strings.Builder
	b.Grow(size + 3*(n-1))
	for _, p := range parts {
		if p == nil || *p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" / ")
		}
		b.WriteString(*p)
	}
	return NullString{b.String(), true}
}

func local(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}

// situacao is the state a ticket's own fields tell: canceled by its status
// name, else closed or open by is_closed. The canceled pass and the
// reconciliation override it with what they learn.
func situacao(t Ticket) string {
	if t.Status != nil && t.Status.Name != nil && strings.HasPrefix(*t.Status.Name, "Cancel") {
		return SituacaoCancelado
	}
	if t.IsClosed != nil && *t.IsClosed {
		return SituacaoFechado
	}
	return SituacaoAberto
}

func requiredTime(n int64, field string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, &FieldError{Ticket: n, Field: field, Reason: "missing"}
	}
	return parseTime(n, field, *s)
}

// optional parses an optional time, appending field to errs when it is
// unusable.
func optional(errs *[]string, field string, s *string) time.Time {
	v, ok := optionalTime(s)
	if !ok {
		*errs = append(*errs, field)
	}
	return v
}

// optionalTime parses s; a nil or empty s is NULL and fine, an unusable one is
// NULL and not ok.
func optionalTime(s *string) (time.Time, bool) {
	if s == nil || *s == "" {
		return time.Time{}, true
	}
	t, err := parseTime(0, "", *s)
	return t, err == nil
}

// BigQuery TIMESTAMP covers years 0001..9999; anything else could not load.
var (
	minTime = time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC)
)

func parseTime(n int64, field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &FieldError{Ticket: n, Field: field, Reason: "not an RFC 3339 time"}
	}
	t = t.UTC()
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, &FieldError{Ticket: n, Field: field, Reason: "out of range"}
	}
	return t, nil
}

func str(p *string) NullString {
	if p == nil {
		return NullString{}
	}
	return NullString{*p, true}
}

func i64(p *int64) NullInt64 {
	if p == nil {
		return NullInt64{}
	}
	return NullInt64{*p, true}
}

func boolean(p *bool) NullBool {
	if p == nil {
		return NullBool{}
	}
	return NullBool{*p, true}
}
