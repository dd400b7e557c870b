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
	NumeroTicket     int64
	Titulo           NullString
	Situacao         string // SituacaoAberto, SituacaoFechado, SituacaoCancelado or SituacaoExcluido
	Status           NullString
	StatusID         NullInt64
	Estagio          NullString
	Prioridade       NullString
	Cliente          NullString
	ClienteID        NullInt64
	Mesa             NullString
	Responsavel      NullString
	Solicitante      NullString
	SolicitanteEmail NullString
	Canal            NullString
	Fechado          NullBool
	Reaberturas      NullInt64
	ResolvidoNoPrazo NullBool
	CriadoEm         time.Time // DATETIME
	AtualizadoEm     time.Time // DATETIME
	PrazoAtendimento time.Time // DATETIME, NULL when zero
	PrazoSolucao     time.Time // DATETIME, NULL when zero
	CriadoEmUTC      time.Time // TIMESTAMP
	AtualizadoEmUTC  time.Time // TIMESTAMP
	SincronizadoEm   time.Time // TIMESTAMP
	// FieldErrors names the ticket's JSON fields that were missing, null,
	// of another type or unparsable (not a column; counted in field_errors).
	FieldErrors []string
	Sessao      string
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
}

var priorityNames = map[string]string{
	"Low":      "Baixa",
	"Medium":   "Média",
	"High":     "Alta",
	"Urgent":   "Urgente",
	"Critical": "Crítica",
}

var channelNames = [...]string{
	0:  "Tiflux Web",
	1:  "Atendente",
	2:  "Widget de chat",
	3:  "WhatsApp",
	4:  "E-mail",
	5:  "Formulário externo",
	6:  "Mobile",
	7:  "API",
	8:  "Chat",
	9:  "Atividade recorrente",
	10: "Gatilho",
	11: "Grupo de tickets",
	12: "Agente de IA",
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

// ChannelName maps a created_by_way_of code to its channel name; unknown codes
// become their decimal number.
func ChannelName(code int64) string {
	if code >= 0 && code < int64(len(channelNames)) {
		return channelNames[code]
	}
	return strconv.FormatInt(code, 10)
}

// ToRow maps a ticket to its tickets-table row. loc is the report time zone of
// the DATETIME columns, session and syncedAt fill sessao and sincronizado_em.
//
// A ticket without ticket_number, created_at or updated_at, or with a
// timestamp that is not RFC 3339, is refused with a *FieldError naming the
// field: a row is either whole or not produced.
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
	updated, err := requiredTime(n, "updated_at", t.UpdatedAt)
	if err != nil {
		return Row{}, err
	}
	if session == "" {
		return Row{}, &FieldError{Ticket: n, Field: "session", Reason: "missing"}
	}
	if syncedAt.IsZero() {
		return Row{}, &FieldError{Ticket: n, Field: "synced_at", Reason: "missing"}
	}

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
	}
	if t.Priority != nil && t.Priority.Name != nil {
		r.Prioridade = NullString{PriorityName(*t.Priority.Name), true}
	}
	if t.Client != nil {
		r.Cliente = str(t.Client.Name)
		r.ClienteID = i64(t.Client.ID)
	}
	if t.Desk != nil {
		r.Mesa = str(t.Desk.Name)
	}
	if t.Responsible != nil {
		r.Responsavel = str(t.Responsible.Name)
	}
	if t.Requestor != nil {
		r.Solicitante = str(t.Requestor.Name)
		r.SolicitanteEmail = str(t.Requestor.Email)
	}
	if t.CreatedByWayOf != nil {
		r.Canal = NullString{ChannelName(*t.CreatedByWayOf), true}
	}
	r.Fechado = boolean(t.IsClosed)
	r.Situacao = situacao(t)
	r.Reaberturas = i64(t.ReopenCount)
	if t.SLA != nil {
		r.ResolvidoNoPrazo = boolean(t.SLA.SolvedInTime)
		attend, err := optionalTime(n, "sla_info.attend_expiration", t.SLA.AttendExpiration)
		if err != nil {
			return Row{}, err
		}
		solve, err := optionalTime(n, "sla_info.solve_expiration", t.SLA.SolveExpiration)
		if err != nil {
			return Row{}, err
		}
		if !attend.IsZero() {
			r.PrazoAtendimento = attend.In(loc)
		}
		if !solve.IsZero() {
			r.PrazoSolucao = solve.In(loc)
		}
	}
	r.CriadoEm = created.In(loc)
	r.AtualizadoEm = updated.In(loc)
	r.CriadoEmUTC = created
	r.AtualizadoEmUTC = updated
	r.SincronizadoEm = syncedAt.UTC()
	r.Sessao = session
	return r, nil
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

func optionalTime(n int64, field string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	return parseTime(n, field, *s)
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
