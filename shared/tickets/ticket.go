// Package tickets holds the helpdesk ticket as the web system lists it. It has no
// outside dependencies: the web-system client decodes into it and the warehouse
// maps it to a table row.
//
// Every field is a pointer because the web system may send null for any of them;
// unknown fields are ignored. Timestamps stay strings here so that a malformed
// one costs only its own column (CONTRACT section 6: decoding is lenient per
// field).
package tickets

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
)

// Ref is an {id, name} reference to another object (client, desk, status, ...).
type Ref struct {
	ID   *int64  `json:"id"`
	Name *string `json:"name"`
}

// Person is the ticket's requestor.
type Person struct {
	ID        *int64  `json:"id"`
	Name      *string `json:"name"`
	Email     *string `json:"email"`
	Telephone *string `json:"telephone"`
}

// SLA is the ticket's service-level information. SolvedInTime is when the
// ticket was solved (a datetime, null while unsolved), not a yes/no.
type SLA struct {
	AttendExpiration  *string `json:"attend_expiration"`
	SolveExpiration   *string `json:"solve_expiration"`
	StageExpiration   *string `json:"stage_expiration"`
	SolvedInTime      *string `json:"solved_in_time"`
	AttendSLA         *bool   `json:"attend_sla"`
	AttendSLASolution *bool   `json:"attend_sla_solution"`
	Stopped           *bool   `json:"stopped"`
}

// Catalog is the ticket's services_catalog: null, or an object of names.
type Catalog struct {
	CatalogName *string `json:"catalog_name"`
	AreaName    *string `json:"area_name"`
	ItemName    *string `json:"item_name"`
}

// Channel is created_by_way_of: the API sends a label ("Tiflux Web"); older
// payloads, and the list filter of the same name, use a code 0–12. Exactly one
// of Label and Code is meaningful, as IsCode says.
type Channel struct {
	Label  string
	Code   int64
	IsCode bool
}

// UnmarshalJSON accepts a JSON string (a label) or a JSON integer (a code).
func (c *Channel) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Channel{Label: s}
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return errors.New("created_by_way_of: neither a label nor an integer code")
	}
	*c = Channel{Code: n, IsCode: true}
	return nil
}

// MarshalJSON writes the label, or the code when it was one.
func (c Channel) MarshalJSON() ([]byte, error) {
	if c.IsCode {
		return strconv.AppendInt(nil, c.Code, 10), nil
	}
	return json.Marshal(c.Label)
}

// Ticket is one ticket in the list shape of CONTRACT section 2 (the official
// API v2 reference, operation get_tickets).
type Ticket struct {
	Number          *int64   `json:"ticket_number"`
	Title           *string  `json:"title"`
	CreatedAt       *string  `json:"created_at"`
	UpdatedAt       *string  `json:"updated_at"`
	CreatedByID     *int64   `json:"created_by_id"`
	UpdatedByID     *int64   `json:"updated_by_id"`
	CreatedByWayOf  *Channel `json:"created_by_way_of"`
	IsClosed        *bool    `json:"is_closed"`
	IsRevised       *bool    `json:"is_revised"`
	ReopenCount     *int64   `json:"reopen_count"`
	LastAnswerType  *string  `json:"last_answer_type"`
	Client          *Ref     `json:"client"`
	Desk            *Ref     `json:"desk"`
	Priority        *Ref     `json:"priority"`
	Stage           *Ref     `json:"stage"`
	Status          *Ref     `json:"status"`
	Responsible     *Ref     `json:"responsible"`
	Requestor       *Person  `json:"requestor"`
	Followers       *string  `json:"followers"`
	ServicesCatalog *Catalog `json:"services_catalog"`
	SLA             *SLA     `json:"sla_info"`

	// Raw is the ticket object exactly as the web system sent it.
	Raw json.RawMessage `json:"-"`
	// FieldErrors names the JSON fields (e.g. "sla_info.solved_in_time") that
	// Decode found of an unexpected type; those fields are nil. A null or
	// missing field is not an error.
	FieldErrors []string `json:"-"`
}

// Decode decodes one ticket object of the list (or of the one-ticket
// endpoint), keeping its bytes in Raw. It fails only for what cannot be a
// ticket: not a JSON object, or no usable ticket_number (missing, null, or not
// an integer). Any other field of an unexpected type is left nil and named in
// FieldErrors; the ticket still decodes.
//
// A well-formed ticket is decoded in one pass of encoding/json; only a ticket
// with a field of the wrong type takes the slower field-by-field path.
func Decode(raw []byte) (Ticket, error) {
	var t Ticket
	if len(raw) == 0 || raw[0] != '{' {
		return t, &FieldError{Field: "ticket", Reason: "not a JSON object"}
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		if !json.Valid(raw) {
			return Ticket{}, &FieldError{Field: "ticket", Reason: "not a ticket object"}
		}
		t = Ticket{}
		decodeFields(raw, reflect.ValueOf(&t).Elem(), "", &t.FieldErrors)
	}
	for _, f := range t.FieldErrors {
		if f == "ticket_number" {
			return Ticket{}, &FieldError{Field: "ticket_number", Reason: "not an integer"}
		}
	}
	if t.Number == nil {
		return Ticket{}, &FieldError{Field: "ticket_number", Reason: "missing"}
	}
	t.Raw = append(json.RawMessage(nil), raw...)
	return t, nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// decodeFields decodes the JSON object raw into the struct v one field at a
// time, so that a field of the wrong type costs only itself: it is left zero
// and its dotted name (prefix + JSON name) appended to errs. Nested objects
// (pointers to structs without their own decoder) are walked the same way.
func decodeFields(raw []byte, v reflect.Value, prefix string, errs *[]string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return // the caller checked that raw is an object
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		val, ok := m[name]
		if !ok || string(val) == "null" {
			continue
		}
		fv := v.Field(i)
		ft := sf.Type
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && !ft.Implements(unmarshalerType) {
			if val[0] != '{' {
				*errs = append(*errs, prefix+name)
				continue
			}
			p := reflect.New(ft.Elem())
			decodeFields(val, p.Elem(), prefix+name+".", errs)
			fv.Set(p)
			continue
		}
		if err := json.Unmarshal(val, fv.Addr().Interface()); err != nil {
			fv.SetZero()
			*errs = append(*errs, prefix+name)
		}
	}
}
