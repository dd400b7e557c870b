package webhook

import (
	"encoding/json"
	"net/http"
	"time"
	"unicode/utf8"
)

// MaxMessageIDLen is the longest message_id accepted, in characters.
const MaxMessageIDLen = 256

var (
	errNotJSON         = Error{http.StatusBadRequest, "body must be a JSON object"}
	errCodeMissing     = Error{http.StatusBadRequest, "code missing"}
	errCodeMalformed   = Error{http.StatusBadRequest, "code must be a string of 4 to 8 digits"}
	errReceivedMissing = Error{http.StatusBadRequest, "received_at missing"}
	errReceivedBad     = Error{http.StatusBadRequest, "received_at must be a date-time with a zone offset"}
	errMessageMissing  = Error{http.StatusBadRequest, "message_id missing"}
	errMessageBad      = Error{http.StatusBadRequest, "message_id must be a string of 1 to 256 characters"}
	errSourceMissing   = Error{http.StatusBadRequest, "source missing"}
	errSourceBad       = Error{http.StatusBadRequest, `source must be "gmail" or "manual"`}
)

// DecodeBody decodes and checks a webhook body, which Read has already
// authenticated: a JSON object with code (4 to 8 ASCII digits), received_at
// (RFC 3339: a date-time with a zone offset), message_id (1 to 256 characters) and source ("gmail" or
// "manual"), all strings; keys match exactly and unknown keys are ignored. A
// field that is missing or null, or malformed, is a 400 *Error naming it; the
// fields are checked in that order.
func DecodeBody(body []byte) (Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return Request{}, refuse(errNotJSON)
	}
	var req Request
	code, err := stringField(fields, "code", errCodeMissing, errCodeMalformed)
	if err != nil {
		return Request{}, err
	}
	if !isCode(code) {
		return Request{}, refuse(errCodeMalformed)
	}
	req.Code = code

	received, err := stringField(fields, "received_at", errReceivedMissing, errReceivedBad)
	if err != nil {
		return Request{}, err
	}
	if req.ReceivedAt, err = time.Parse(time.RFC3339, received); err != nil {
		return Request{}, refuse(errReceivedBad)
	}

	if req.MessageID, err = stringField(fields, "message_id", errMessageMissing, errMessageBad); err != nil {
		return Request{}, err
	}
	if n := utf8.RuneCountInString(req.MessageID); n == 0 || n > MaxMessageIDLen {
		return Request{}, refuse(errMessageBad)
	}

	if req.Source, err = stringField(fields, "source", errSourceMissing, errSourceBad); err != nil {
		return Request{}, err
	}
	if req.Source != SourceGmail && req.Source != SourceManual {
		return Request{}, refuse(errSourceBad)
	}
	return req, nil
}

// stringField returns fields[name] as a string: missing when absent or null,
// malformed when another JSON type.
func stringField(fields map[string]json.RawMessage, name string, missing, malformed Error) (string, error) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return "", refuse(missing)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", refuse(malformed)
	}
	return s, nil
}

func isCode(s string) bool {
	if len(s) < 4 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
