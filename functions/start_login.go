package functions

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/session"
)

// startLogin is called by Cloud Scheduler with an optional body
// {"mode":"full"|"incremental"|"auto"}. It answers 202 with the session id
// once the login is started (or, with an API token, the session is ready).
func startLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		respondError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	var body struct {
		Mode string `json:"mode"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<10))
	if err == nil && len(raw) > 0 {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil {
		respondError(w, http.StatusBadRequest, "body must be JSON like {\"mode\":\"full\"}")
		return
	}
	mode, err := chain.ParseMode(body.Mode)
	if err != nil {
		respondError(w, http.StatusBadRequest, err.Error())
		return
	}
	s, err := starter.get(r.Context())
	if err != nil {
		respondError(w, http.StatusInternalServerError, "function misconfigured; see its logs")
		return
	}
	started, err := s.Start(r.Context(), mode)
	if err != nil {
		logger.ErrorContext(r.Context(), "start login failed", "error", err)
		respondError(w, startStatus(err), startMessage(err))
		return
	}
	respond(w, http.StatusAccepted, started)
}

func startStatus(err error) int {
	switch session.KindOf(err) {
	case session.KindWeb:
		return http.StatusBadGateway
	case session.KindBus:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func startMessage(err error) string {
	var e *session.Error
	if errors.As(err, &e) {
		return e.Msg + " failed"
	}
	return "internal error"
}
