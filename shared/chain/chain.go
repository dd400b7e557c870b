// Package chain defines the messages that join the four functions (CONTRACT
// section 3): their event names, bodies and attributes, and how they are
// encoded and checked, and the record of a session's run (Run, one sync_runs
// row). It has no outside dependencies. Secrets travel only
// sealed (see package seal); nothing here holds a token in clear.
package chain

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event names, carried in the "event" attribute of every message.
const (
	EventLoginPending    = "login.pending"
	EventSessionReady    = "session.ready"
	EventSessionContinue = "session.continue"
	EventLoadFinished    = "load.finished"
)

// Mode is the kind of pull a session asks for.
type Mode string

// Modes of a pull. ModeAuto is resolved by ExtractLoad to full or incremental.
const (
	ModeAuto        Mode = "auto"
	ModeFull        Mode = "full"
	ModeIncremental Mode = "incremental"
)

// ParseMode accepts "", "auto", "full" or "incremental"; "" means auto.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeAuto:
		return ModeAuto, nil
	case ModeFull, ModeIncremental:
		return Mode(s), nil
	}
	return "", fmt.Errorf("mode must be full, incremental or auto, got %q", truncate(s))
}

// Auth says how a session logged in.
type Auth string

// Ways to log in.
const (
	AuthOTP      Auth = "otp"
	AuthAPIToken Auth = "api-token"
)

// Outcome is how a session's load ended, or that it runs.
type Outcome string

// Outcomes of a load. A run only moves from running to ok or failed; a
// load-finished message carries ok or failed.
const (
	OutcomeRunning Outcome = "running"
	OutcomeOK      Outcome = "ok"
	OutcomeFailed  Outcome = "failed"
)

// Run is the record of one session: its sync_runs row (CONTRACT section 6).
// Zero times are NULL.
type Run struct {
	SessionID   string
	Auth        Auth
	Mode        Mode // resolved: full or incremental (auto when a login failed before it could be resolved)
	WindowFrom  time.Time
	WindowTo    time.Time
	StartedAt   time.Time
	FinishedAt  time.Time // zero while running
	Totals                // pages, requests, tickets and the rest, over all chunks
	Outcome     Outcome
	Error       string    // why it failed; no secrets
	LoggedOutAt time.Time // when Logout closed the row (warehouse.RecordLogout); zero before
}

// LoginPending is published by StartLogin while the code is on its way.
type LoginPending struct {
	SessionID   string    `json:"session_id"`
	TmpSealed   string    `json:"tmp_sealed"`
	RequestedAt time.Time `json:"requested_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	Mode        Mode      `json:"mode"`
	// LoginRequests are the HTTP requests the login has sent to the web
	// system so far (the login POST, retries included), so that sync_runs
	// counts every request of the session (CONTRACT section 6). Optional:
	// a message from before it existed reads as 0.
	LoginRequests int64 `json:"login_requests,omitempty"`
}

// SessionReady starts (EventSessionReady) or continues (EventSessionContinue,
// with Cursor and Chunk set) a session's load.
type SessionReady struct {
	SessionID   string    `json:"session_id"`
	TokenSealed string    `json:"token_sealed"`
	Auth        Auth      `json:"auth"`
	Mode        Mode      `json:"mode"`
	RequestedAt time.Time `json:"requested_at"`
	Cursor      *Cursor   `json:"cursor,omitempty"`
	Chunk       int       `json:"chunk,omitempty"`
	// LoginRequests are the HTTP requests of the login (login POST and code
	// exchange, retries included; 0 in api-token mode): ExtractLoad starts
	// the session's request count from it. Optional: a message from before
	// it existed reads as 0. A continuation carries it unchanged; the
	// cursor's totals already include it.
	LoginRequests int64 `json:"login_requests,omitempty"`
}

// Cursor is where a pull too long for one invocation goes on.
//
// A pull runs its passes in order: main (the window), changed (full mode,
// what changed since the previous successful pull began), changed_canceled
// (the same window with filter_by=canceled), canceled (the
// filter_by=canceled pass over the created window), reconcile (the open
// list), sweeps (what changed while the pull ran), then reconcile again (the
// tickets the table holds as aberto missing from the open list, by number).
// The created-window passes read the window in slices (SliceFrom..SliceTo);
// a pass or slice that read fewer distinct tickets than the list said it
// matched (X-Total-Items) is read again, at most maxRereads times, so the
// cursor carries the numbers the current slice has read (Seen).
type Cursor struct {
	Mode       Mode      `json:"mode"` // resolved: full or incremental
	WindowFrom time.Time `json:"window_from"`
	WindowTo   time.Time `json:"window_to"`  // the pull's start: the main pass reads up to here
	StartedAt  time.Time `json:"started_at"` // when the first chunk started
	Phase      Phase     `json:"phase"`
	Page       int       `json:"page"`       // next 1-based page of the current pass
	SweepFrom  time.Time `json:"sweep_from"` // in PhaseSweep: changes since then
	PassStart  time.Time `json:"pass_start"` // when the current pass (main or sweep) read its first page
	Sweeps     int       `json:"sweeps"`     // sweeps begun so far
	// SweepCanceled: the sweep reads its first part, filter_by=canceled
	// over its changed window (filter_by=all may leave canceled tickets
	// out); then filter_by=all. SweepLong: its first part took more than
	// one page.
	SweepCanceled bool   `json:"sweep_canceled,omitempty"`
	SweepLong     bool   `json:"sweep_long,omitempty"`
	Totals        Totals `json:"totals"` // of the chunks before this one

	// ChangedFrom is where "changed since the previous successful pull
	// began" starts (its started_at less the overlap); zero: no such pull.
	ChangedFrom time.Time `json:"changed_from,omitzero"`
	// CanceledFrom is the canceled pass's created_at window start.
	CanceledFrom time.Time `json:"canceled_from,omitzero"`
	// SliceFrom, SliceTo are the created_at slice the current pass reads;
	// zero in a pass that is not sliced.
	SliceFrom time.Time `json:"slice_from,omitzero"`
	SliceTo   time.Time `json:"slice_to,omitzero"`
	// Seen are the distinct ticket numbers the current slice (or unsliced
	// pass) has read, over its re-reads; Rereads counts those re-reads.
	Seen    []int64 `json:"seen,omitempty"`
	Rereads int     `json:"rereads,omitempty"`
	// Matched is what X-Total-Items said so far in the current reading of
	// the slice or pass, when that reading goes on in the next chunk; nil:
	// nothing yet.
	Matched *Matched `json:"matched,omitempty"`
	// ListDone: the reconciliation's open list is read; Open holds its
	// numbers and those of the tickets read by number since. Once the
	// sweeps are over, PhaseReconcile reads by number the tickets the table
	// holds as aberto that are not in Open.
	ListDone bool    `json:"list_done,omitempty"`
	Open     []int64 `json:"open,omitempty"`
	// Listed (full mode) are the numbers every list pass of this pull has
	// read so far. The reconciliation reads by number each ticket the table
	// holds as created in the window that no list showed: deleted, or
	// skipped by an unstable list.
	Listed NumberSet `json:"listed,omitzero"`
	// FieldsLogged are the field names already logged as field errors in
	// this pull (each is logged once per run).
	FieldsLogged []string `json:"fields_logged,omitempty"`
}

// Matched is what the list's X-Total-Items said over one reading of a
// slice or pass: a reading that read fewer distinct tickets than the
// smallest total, or saw the total fall between two pages, skipped some.
type Matched struct {
	Min  int  `json:"min"`            // the smallest total; -1: none sent
	Last int  `json:"last"`           // the previous page's total; -1: none
	Fell bool `json:"fell,omitempty"` // a total fell between two pages
}

// Phase is the pass a pull is in.
type Phase string

// Passes of a pull, in order (see Cursor).
const (
	PhaseMain    Phase = "main"
	PhaseChanged Phase = "changed"
	// PhaseChangedCanceled reads filter_by=canceled over the changed
	// window: a ticket canceled since the previous pull that was created
	// before the window shows in no other list (filter_by=all may leave
	// canceled tickets out). CONTRACT section 2, from Tiflux's API v2
	// reference (get_tickets): "tickets by change" takes filter_by, and
	// canceled is one of its values.
	PhaseChangedCanceled Phase = "changed_canceled"
	PhaseCanceled        Phase = "canceled"
	PhaseSweep           Phase = "sweep"
	PhaseReconcile       Phase = "reconcile"
)

// Totals add up a session's work across chunks.
type Totals struct {
	Pages       int64 `json:"pages"`
	Requests    int64 `json:"requests"`
	Tickets     int64 `json:"tickets"`
	Rejected    int64 `json:"rejected"`
	Inserted    int64 `json:"inserted"`
	Updated     int64 `json:"updated"`
	FieldErrors int64 `json:"field_errors"` // tickets loaded with at least one unusable field
	Reconciled  int64 `json:"reconciled"`   // tickets whose situacao the reconciliation corrected
}

// Add returns t plus u.
func (t Totals) Add(u Totals) Totals {
	return Totals{t.Pages + u.Pages, t.Requests + u.Requests, t.Tickets + u.Tickets,
		t.Rejected + u.Rejected, t.Inserted + u.Inserted, t.Updated + u.Updated,
		t.FieldErrors + u.FieldErrors, t.Reconciled + u.Reconciled}
}

// LoadFinished is published by ExtractLoad when a session's load ends, also
// when it gives up, so that Logout always follows.
type LoadFinished struct {
	SessionID   string  `json:"session_id"`
	TokenSealed string  `json:"token_sealed"`
	Auth        Auth    `json:"auth"`
	Outcome     Outcome `json:"outcome"`
	Tickets     int64   `json:"tickets"`
	Inserted    int64   `json:"inserted"`
	Updated     int64   `json:"updated"`
	Error       string  `json:"error"`
}

// Message is a chain message as it goes on the bus.
type Message struct {
	Data       []byte
	Attributes map[string]string
}

// Attribute keys every message carries.
const (
	AttrSessionID = "session_id"
	AttrEvent     = "event"
)

// ErrMalformed wraps every decoding failure: the message can never be
// processed, so retrying it is pointless.
var ErrMalformed = errors.New("malformed chain message")

// EncodeLoginPending encodes m for the login-pending topic. An empty mode is
// written as auto.
func EncodeLoginPending(m LoginPending) (Message, error) {
	m.Mode = orAuto(m.Mode)
	return encode(EventLoginPending, m.SessionID, m, m.validate())
}

// EncodeSessionReady encodes m for the session-ready topic; the event is
// session.continue when m carries a cursor. An empty mode is written as auto.
func EncodeSessionReady(m SessionReady) (Message, error) {
	m.Mode = orAuto(m.Mode)
	return encode(m.Event(), m.SessionID, m, m.validate())
}

// EncodeLoadFinished encodes m for the load-finished topic.
func EncodeLoadFinished(m LoadFinished) (Message, error) {
	return encode(EventLoadFinished, m.SessionID, m, m.validate())
}

// Event is EventSessionContinue when m continues a pull, else EventSessionReady.
func (m SessionReady) Event() string {
	if m.Cursor != nil {
		return EventSessionContinue
	}
	return EventSessionReady
}

// DecodeLoginPending decodes and checks a login-pending message. A missing
// mode reads as auto, so Mode is always one of the three modes.
func DecodeLoginPending(msg Message) (LoginPending, error) {
	var m LoginPending
	err := decode(msg, &m, func() error { return m.validate() }, EventLoginPending)
	m.Mode = orAuto(m.Mode)
	return m, err
}

// DecodeSessionReady decodes and checks a session-ready or session-continue
// message. A missing mode reads as auto, so Mode is always one of the three.
func DecodeSessionReady(msg Message) (SessionReady, error) {
	var m SessionReady
	err := decode(msg, &m, func() error {
		if err := m.validate(); err != nil {
			return err
		}
		if got := msg.Attributes[AttrEvent]; got != "" && got != m.Event() {
			return fmt.Errorf("event attribute %q does not match the body (%s)", truncate(got), m.Event())
		}
		return nil
	}, EventSessionReady, EventSessionContinue)
	m.Mode = orAuto(m.Mode)
	return m, err
}

// DecodeLoadFinished decodes and checks a load-finished message.
func DecodeLoadFinished(msg Message) (LoadFinished, error) {
	var m LoadFinished
	err := decode(msg, &m, func() error { return m.validate() }, EventLoadFinished)
	return m, err
}

// orAuto resolves the empty mode, which ParseMode accepts as auto, so that a
// consumer switching on the three modes never sees it.
func orAuto(m Mode) Mode {
	if m == "" {
		return ModeAuto
	}
	return m
}

func encode(event, session string, body any, invalid error) (Message, error) {
	if invalid != nil {
		return Message{}, fmt.Errorf("encode %s: %w", event, invalid)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return Message{}, fmt.Errorf("encode %s: %w", event, err)
	}
	return Message{Data: data, Attributes: map[string]string{AttrSessionID: session, AttrEvent: event}}, nil
}

func decode(msg Message, v any, validate func() error, events ...string) error {
	fail := func(err error) error { return fmt.Errorf("%w: %w", ErrMalformed, err) }
	ev := msg.Attributes[AttrEvent]
	okEvent := ev == ""
	for _, e := range events {
		okEvent = okEvent || ev == e
	}
	if !okEvent {
		return fail(fmt.Errorf("unexpected event %q", truncate(ev)))
	}
	if err := json.Unmarshal(msg.Data, v); err != nil {
		return fail(fmt.Errorf("body: %w", err))
	}
	if err := validate(); err != nil {
		return fail(err)
	}
	if s := msg.Attributes[AttrSessionID]; s != "" && s != sessionOf(v) {
		return fail(errors.New("session_id attribute does not match the body"))
	}
	return nil
}

func sessionOf(v any) string {
	switch m := v.(type) {
	case *LoginPending:
		return m.SessionID
	case *SessionReady:
		return m.SessionID
	case *LoadFinished:
		return m.SessionID
	}
	return ""
}

func (m LoginPending) validate() error {
	switch {
	case !validSession(m.SessionID):
		return errors.New("session_id missing or malformed")
	case m.TmpSealed == "":
		return errors.New("tmp_sealed missing")
	case m.RequestedAt.IsZero(), m.ExpiresAt.IsZero():
		return errors.New("requested_at and expires_at are required")
	case !m.ExpiresAt.After(m.RequestedAt):
		return errors.New("expires_at must be after requested_at")
	case m.LoginRequests < 0:
		return errors.New("login_requests must not be negative")
	}
	_, err := ParseMode(string(m.Mode))
	return err
}

func (m SessionReady) validate() error {
	switch {
	case !validSession(m.SessionID):
		return errors.New("session_id missing or malformed")
	case m.TokenSealed == "":
		return errors.New("token_sealed missing")
	case m.Auth != AuthOTP && m.Auth != AuthAPIToken:
		return fmt.Errorf("auth must be otp or api-token, got %q", truncate(string(m.Auth)))
	case m.RequestedAt.IsZero():
		return errors.New("requested_at is required")
	case m.Chunk < 0:
		return errors.New("chunk must not be negative")
	case (m.Cursor == nil) != (m.Chunk == 0):
		return errors.New("a continuation has both a cursor and a chunk number > 0")
	case m.LoginRequests < 0:
		return errors.New("login_requests must not be negative")
	}
	if _, err := ParseMode(string(m.Mode)); err != nil {
		return err
	}
	if c := m.Cursor; c != nil {
		switch {
		case c.Mode != ModeFull && c.Mode != ModeIncremental:
			return fmt.Errorf("cursor mode must be full or incremental, got %q", truncate(string(c.Mode)))
		case !c.Phase.valid():
			return fmt.Errorf("cursor phase must be main, changed, canceled, sweep or reconcile, got %q", truncate(string(c.Phase)))
		case c.Page < 1:
			return errors.New("cursor page must be 1 or more")
		case c.WindowTo.IsZero() || c.StartedAt.IsZero() || c.WindowFrom.After(c.WindowTo):
			return errors.New("cursor window malformed")
		}
	}
	return nil
}

func (p Phase) valid() bool {
	switch p {
	case PhaseMain, PhaseChanged, PhaseChangedCanceled, PhaseCanceled, PhaseSweep, PhaseReconcile:
		return true
	}
	return false
}

func (m LoadFinished) validate() error {
	switch {
	case !validSession(m.SessionID):
		return errors.New("session_id missing or malformed")
	case m.Auth != AuthOTP && m.Auth != AuthAPIToken:
		return fmt.Errorf("auth must be otp or api-token, got %q", truncate(string(m.Auth)))
	case m.Auth == AuthOTP && m.TokenSealed == "":
		return errors.New("token_sealed missing")
	case m.Outcome != OutcomeOK && m.Outcome != OutcomeFailed:
		return fmt.Errorf("outcome must be ok or failed, got %q", truncate(string(m.Outcome)))
	case m.Tickets < 0 || m.Inserted < 0 || m.Updated < 0:
		return errors.New("counts must not be negative")
	}
	return nil
}

// validSession accepts the ids the pipeline makes: 1..64 of [A-Za-z0-9-], so
// that they are safe in BigQuery job and table names.
func validSession(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// ValidSessionID reports whether s is a well-formed session id.
func ValidSessionID(s string) bool { return validSession(s) }

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
