// Package tickets holds the helpdesk ticket as the web system lists it. It has no
// outside dependencies: the web-system client decodes into it, the simulated web
// system encodes from it, and the warehouse maps it to a table row.
//
// Every field is a pointer because the web system may send null for any of them;
// unknown fields are ignored. Timestamps stay strings here so that one malformed
// ticket is rejected on its own instead of failing its whole page.
package tickets

import "encoding/json"

// Ref is an {id, name} reference to another object (client, desk, status, ...).
type Ref struct {
	ID   *int64  `json:"id"`
	Name *string `json:"name"`
}

// Person is a reference to a person, with an e-mail address.
type Person struct {
	ID    *int64  `json:"id"`
	Name  *string `json:"name"`
	Email *string `json:"email"`
}

// SLA is the ticket's service-level information.
type SLA struct {
	AttendExpiration *string `json:"attend_expiration"`
	SolveExpiration  *string `json:"solve_expiration"`
	SolvedInTime     *bool   `json:"solved_in_time"`
	Stopped          *bool   `json:"stopped"`
}

// Ticket is one ticket in the list shape of CONTRACT section 2.
type Ticket struct {
	Number         *int64  `json:"ticket_number"`
	Title          *string `json:"title"`
	CreatedAt      *string `json:"created_at"`
	UpdatedAt      *string `json:"updated_at"`
	CreatedByWayOf *int64  `json:"created_by_way_of"`
	IsClosed       *bool   `json:"is_closed"`
	IsRevised      *bool   `json:"is_revised"`
	ReopenCount    *int64  `json:"reopen_count"`
	LastAnswerType *string `json:"last_answer_type"`
	Client         *Ref    `json:"client"`
	Desk           *Ref    `json:"desk"`
	Priority       *Ref    `json:"priority"`
	Stage          *Ref    `json:"stage"`
	Status         *Ref    `json:"status"`
	Responsible    *Ref    `json:"responsible"`
	Requestor      *Person `json:"requestor"`
	SLA            *SLA    `json:"sla_info"`

	// Raw is the ticket object exactly as the web system sent it.
	Raw json.RawMessage `json:"-"`
}

// Decode decodes one ticket object of the list (or of the one-ticket
// endpoint), keeping its bytes in Raw. It fails only for what cannot be a
// ticket: not a JSON object, or no usable ticket_number.
func Decode(raw []byte) (Ticket, error) {
	var t Ticket
	if len(raw) == 0 || raw[0] != '{' {
		return t, &FieldError{Field: "ticket", Reason: "not a JSON object"}
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return Ticket{}, &FieldError{Field: "ticket", Reason: "not a ticket object"}
	}
	if t.Number == nil {
		return Ticket{}, &FieldError{Field: "ticket_number", Reason: "missing"}
	}
	t.Raw = append(json.RawMessage(nil), raw...)
	return t, nil
}
