package functions

import (
	"errors"
	"net/http"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/session"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/webhook"
)

// completeLogin is the OTP webhook the Apps Script posts to (CONTRACT
// section 4): it checks the signed request, then completes the newest
// pending login with the code. Answers never echo the code or a secret.
func completeLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		respondError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	d, err := completer.get(r.Context())
	if err != nil {
		respondError(w, http.StatusInternalServerError, "function misconfigured; see its logs")
		return
	}
	req, err := d.verifier.Read(r)
	if err != nil {
		var we *webhook.Error
		if errors.As(err, &we) {
			logger.WarnContext(r.Context(), "webhook request refused", "status", we.Status, "reason", we.Reason)
			respondError(w, we.Status, we.Reason)
			return
		}
		respondError(w, http.StatusBadRequest, "unreadable request")
		return
	}
	id, err := d.completer.Complete(r.Context(), session.Code{Code: req.Code, ReceivedAt: req.ReceivedAt,
		MessageID: req.MessageID, Source: req.Source})
	if err != nil {
		status, msg := completeAnswer(err)
		if status == http.StatusNotFound || status >= 500 {
			// The Apps Script retries these, possibly with the very same
			// signed request: it is not a replay.
			d.verifier.Forget(req)
		}
		if status >= 500 {
			logger.ErrorContext(r.Context(), "complete login failed", "status", status, "error", err)
		}
		respondError(w, status, msg)
		return
	}
	respond(w, http.StatusOK, map[string]string{"session_id": id, "status": "authenticated"})
}

func completeAnswer(err error) (int, string) {
	switch session.KindOf(err) {
	case session.KindNoPending:
		return http.StatusNotFound, "no pending login"
	case session.KindStaleCode:
		return http.StatusConflict, "the code is older than the newest pending login"
	case session.KindCodeRefused:
		return http.StatusUnprocessableEntity, "the web system refused the code"
	case session.KindWeb:
		return http.StatusBadGateway, "the web system failed; retry"
	case session.KindBus:
		return http.StatusServiceUnavailable, "Pub/Sub failed; retry"
	}
	return http.StatusInternalServerError, "internal error"
}
