// Package session runs a web-system session's life: starting a login
// (StartLogin), completing it with the e-mailed code (CompleteLogin) and ending
// it (Logout). It speaks to the web system, the bus and the run log through the
// small interfaces below, so the entry points only wire adapters in.
//
// Secrets (password, tmp, code, token) never leave this package in clear: they
// travel sealed and are never put into an error or a log attribute.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/logging"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/seal"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// Web is the part of the web-system client a session needs.
type Web interface {
	// StartLogin posts the credentials and returns the temporary code tmp.
	// An error means no code was sent; its message never holds the
	// credentials.
	StartLogin(ctx context.Context, email, password string) (string, error)
	// FinishLogin trades tmp and the e-mailed code for a session token. An
	// error matching websystem.ErrUnauthorized means the system refused the
	// code (wrong, spent or expired); any other error, that the exchange
	// failed and may be tried again with the same code.
	FinishLogin(ctx context.Context, tmp, code string) (string, error)
	// Logout ends the session. An error matching websystem.ErrUnauthorized
	// means it had already ended; any other, that it may still be open.
	Logout(ctx context.Context, token string) error
}

// Publisher puts a chain message on a topic.
type Publisher interface {
	// Publish returns the message id once the message is stored. An error
	// means it may not have been: the step that published has failed.
	Publish(ctx context.Context, topic string, m chain.Message) (string, error)
}

// Puller takes the messages waiting on a subscription (the pending logins).
type Puller interface {
	// Pull returns messages waiting on sub, waiting up to wait for the first
	// one; it may return only some of those waiting (Pub/Sub returns at most
	// a batch), so a caller that needs all of them pulls until a pull comes
	// back empty. Each returned message is leased to the caller: no other
	// puller receives it until it is acked, nacked or its lease runs out.
	// No messages and a nil error: none arrived within wait. An error means
	// the subscription could not be read; no message was leased by this call.
	Pull(ctx context.Context, sub string, wait time.Duration) ([]Pulled, error)
}

// Pulled is one message a Puller took, with its lease.
type Pulled struct {
	chain.Message
	ID    string // the transport's message id, for logs
	Lease Lease
}

// Lease holds a pulled message for its puller until Ack or Nack.
type Lease interface {
	// Ack removes the message from the subscription for good. An error
	// means the ack may not have arrived: the message comes back to some
	// puller when its lease runs out.
	Ack(ctx context.Context) error
	// Nack hands the message back for redelivery now. An error means it
	// stays leased until its lease runs out, and then comes back.
	Nack(ctx context.Context) error
	// Extend renews the lease for d from now (whole seconds, 1 s to 600 s).
	// An error means the lease was not renewed: when the old one runs out
	// another puller may receive the message.
	Extend(ctx context.Context, d time.Duration) error
}

// FailedLogin is a session whose login never completed.
type FailedLogin struct {
	SessionID   string
	Mode        chain.Mode // as requested; the recorder resolves auto as ExtractLoad would
	RequestedAt time.Time
	FinishedAt  time.Time // when it was given up, by the injected clock
	Reason      string
	Requests    int64 // its HTTP requests to the web system (login, code, logout; retries included)
}

// RunRecorder writes a failed login to the run log (sync_runs).
type RunRecorder interface {
	// RecordFailedLogin records f as a failed run. An error means the row
	// may be missing: the caller only logs it (the login is over either way).
	RecordFailedLogin(ctx context.Context, f FailedLogin) error
}

// Kind says why a session step failed, so the caller can answer it.
type Kind int

// Kinds of failure.
const (
	KindInternal    Kind = iota // a bug or bad configuration
	KindNoPending               // no pending session to complete
	KindStaleCode               // the code predates the newest pending session
	KindCodeRefused             // the web system refused the code
	KindWeb                     // the web system failed or refused the credentials
	KindBus                     // Pub/Sub failed
)

// Error is a failed session step. Its message never holds a secret.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err, KindInternal when it carries none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

func fail(k Kind, msg string, err error) error { return &Error{Kind: k, Msg: msg, Err: err} }

// NewID returns a new session id: a UUIDv7, so ids sort by time.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// Starter starts logins (the StartLogin function).
type Starter struct {
	Web      Web
	Bus      Publisher
	Sealer   *seal.Sealer
	Email    string
	Password string
	APIToken string // set: api-token mode, no OTP
	OTPTTL   time.Duration

	TopicLoginPending, TopicSessionReady string

	// Pull and SubLoginPending, when set, let Start drain the expired
	// pending logins first (the pending subscription keeps a message only
	// as long as its code lives, so no later CompleteLogin would see it):
	// each is logged (event login.expired) and recorded in Runs (may be nil).
	Pull            Puller
	Runs            RunRecorder
	SubLoginPending string

	Now   func() time.Time
	Log   *slog.Logger
	NewID func() string
}

// Started is what Start did.
type Started struct {
	SessionID string     `json:"session_id"`
	Auth      chain.Auth `json:"auth"`
	Mode      chain.Mode `json:"mode"`
	Status    string     `json:"status"` // "pending" (waiting for the code) or "ready"
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Start begins a session. With an API token it publishes session-ready at
// once; otherwise it posts the login and publishes the pending session.
func (s *Starter) Start(ctx context.Context, mode chain.Mode) (Started, error) {
	if s.Pull != nil && s.SubLoginPending != "" {
		s.expire(ctx)
	}
	id := s.NewID()
	log := s.Log.With("session_id", id, "mode", mode)
	requestedAt := s.Now().UTC()
	if s.APIToken != "" {
		sealed, err := s.Sealer.Seal("Bearer "+s.APIToken, id)
		if err != nil {
			return Started{}, fail(KindInternal, "seal token", err)
		}
		msg, err := chain.EncodeSessionReady(chain.SessionReady{SessionID: id, TokenSealed: sealed,
			Auth: chain.AuthAPIToken, Mode: mode, RequestedAt: requestedAt})
		if err != nil {
			return Started{}, fail(KindInternal, "encode session-ready", err)
		}
		if _, err := s.Bus.Publish(ctx, s.TopicSessionReady, msg); err != nil {
			return Started{}, fail(KindBus, "publish session-ready", err)
		}
		log.Info("session ready (api-token mode)", "event", "session.ready", "auth", chain.AuthAPIToken)
		return Started{SessionID: id, Auth: chain.AuthAPIToken, Mode: mode, Status: "ready"}, nil
	}

	var sent websystem.Counter // the login's requests, for sync_runs (CONTRACT section 6)
	tmp, err := s.Web.StartLogin(websystem.CountRequests(ctx, &sent), s.Email, s.Password)
	if err != nil {
		return Started{}, fail(KindWeb, "login start", err)
	}
	defer logging.RedactScoped(s.Log, tmp)()
	sealed, err := s.Sealer.SealTmp(tmp, id)
	if err != nil {
		return Started{}, fail(KindInternal, "seal tmp", err)
	}
	expires := requestedAt.Add(s.OTPTTL)
	msg, err := chain.EncodeLoginPending(chain.LoginPending{SessionID: id, TmpSealed: sealed,
		RequestedAt: requestedAt, ExpiresAt: expires, Mode: mode, LoginRequests: sent.Requests()})
	if err != nil {
		return Started{}, fail(KindInternal, "encode login-pending", err)
	}
	if _, err := s.Bus.Publish(ctx, s.TopicLoginPending, msg); err != nil {
		return Started{}, fail(KindBus, "publish login-pending", err)
	}
	log.Info("login started; waiting for the e-mailed code", "event", "login.pending", "expires_at", expires)
	return Started{SessionID: id, Auth: chain.AuthOTP, Mode: mode, Status: "pending", ExpiresAt: &expires}, nil
}

// maxDrainPulls bounds the pulls of one drain of the pending subscription.
const maxDrainPulls = 20

// expire drains the pending subscription: expired logins are dropped as "the
// code never came"; live ones are handed back at once for CompleteLogin. A
// failure here is logged and does not stop the new login.
func (s *Starter) expire(ctx context.Context) {
	leased, err := drain(ctx, s.Pull, s.SubLoginPending, 0)
	if err != nil {
		s.Log.Warn("could not check the pending logins for expired ones", "error", err)
	}
	now := s.Now()
	for _, l := range leased {
		m, err := chain.DecodeLoginPending(l.Message)
		if err != nil {
			s.Log.Error("dropping a malformed pending-session message", "pubsub_message_id", l.ID, "error", err)
			_ = l.Lease.Ack(ctx)
			continue
		}
		if !now.Before(m.ExpiresAt) {
			dropPending(ctx, s.Runs, s.Log.With("session_id", m.SessionID), &pending{leased: l, msg: m},
				reasonExpired, now)
			continue
		}
		if err := l.Lease.Nack(context.WithoutCancel(ctx)); err != nil {
			s.Log.Warn("could not hand a live pending login back; it returns after its ack deadline", "error", err)
		}
	}
}

// drain pulls sub until a pull comes back empty (bounded by maxDrainPulls),
// waiting up to wait for the first message only: Pub/Sub may return a subset
// of what waits in one pull. On an error it returns what it leased before.
func drain(ctx context.Context, p Puller, sub string, wait time.Duration) ([]Pulled, error) {
	var all []Pulled
	for i := 0; i < maxDrainPulls; i++ {
		w := time.Duration(0)
		if len(all) == 0 {
			w = wait
		}
		got, err := p.Pull(ctx, sub, w)
		if err != nil {
			return all, err
		}
		if len(got) == 0 {
			return all, nil
		}
		all = append(all, got...)
	}
	return all, nil
}

// hold keeps l leased while its holder works: it renews the lease for lease
// now and again every third of lease, until stop is called (then Ack or Nack
// it). A failed renewal is tried again at the next tick. Calling stop more
// than once is harmless.
func hold(l Lease, lease time.Duration) (stop func()) {
	lease = max(lease, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			ectx, ecancel := context.WithTimeout(ctx, lease/3)
			_ = l.Extend(ectx, lease)
			ecancel()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// Code is an OTP as the webhook received it.
type Code struct {
	Code       string
	ReceivedAt time.Time
	MessageID  string
	Source     string
}

// Completer completes logins with their code (the CompleteLogin function).
type Completer struct {
	Web    Web
	Bus    Publisher
	Pull   Puller
	Runs   RunRecorder // may be nil: expired sessions are then only logged
	Sealer *seal.Sealer

	SubLoginPending, TopicSessionReady string

	PullWait  time.Duration // how long to wait for a pending session (10 s)
	ClockSkew time.Duration // how far a code may predate its session (60 s)

	// Work bounds the code exchange, sealing and publishing once a pending
	// session is chosen (0: DefaultWork). They run on a context of their
	// own, not the request's: a caller that goes away mid-exchange must not
	// strand a login whose code is spent. PullWait + Work + LogoutTimeout
	// must stay below the function's timeout (120 s).
	Work time.Duration
	// Lease is how long the chosen pending message stays leased between
	// extensions while the work runs (0: 60 s, the subscription's deadline).
	Lease time.Duration

	Now func() time.Time
	Log *slog.Logger
}

type pending struct {
	leased Pulled
	msg    chain.LoginPending
}

// Defaults of a Completer's bounds.
const (
	DefaultWork   = 60 * time.Second
	LogoutTimeout = 15 * time.Second
	defaultLease  = 60 * time.Second
)

const (
	reasonExpired    = "the login code never arrived"
	reasonSuperseded = "superseded by a newer login"
)

// Complete matches code to the newest pending session and finishes its login.
// It returns the session id on success; errors carry a Kind. Once a pending
// session is chosen, the rest runs to its end on its own deadline (Work),
// whatever becomes of ctx.
func (c *Completer) Complete(ctx context.Context, code Code) (string, error) {
	defer logging.RedactScoped(c.Log, code.Code)()
	log := c.Log.With("message_id", code.MessageID, "otp_source", code.Source)
	newest, err := c.newestPending(ctx, log)
	if err != nil {
		return "", err
	}
	lease := c.Lease
	if lease <= 0 {
		lease = defaultLease
	}
	stopHold := hold(newest.leased.Lease, lease)
	defer stopHold()
	work := c.Work
	if work <= 0 {
		work = DefaultWork
	}
	var sent websystem.Counter // the code exchange's (and a logout's) requests, for sync_runs
	wctx, cancel := context.WithTimeout(websystem.CountRequests(context.WithoutCancel(ctx), &sent), work)
	defer cancel()

	id := newest.msg.SessionID
	log = log.With("session_id", id)
	// Acking and nacking get a moment of their own: the work's deadline
	// may be what ended it.
	settle := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	}
	release := func() {
		stopHold()
		sctx, scancel := settle()
		defer scancel()
		if err := newest.leased.Lease.Nack(sctx); err != nil {
			log.Warn("could not hand the pending session back; it returns after its ack deadline", "error", err)
		}
	}

	if code.ReceivedAt.Before(newest.msg.RequestedAt.Add(-c.ClockSkew)) {
		release()
		log.Warn("stale code refused: received before the newest login was requested",
			"event", "login.stale_code", "received_at", code.ReceivedAt, "requested_at", newest.msg.RequestedAt)
		return "", fail(KindStaleCode, "the code predates the newest pending login", nil)
	}
	tmp, err := c.Sealer.OpenTmp(newest.msg.TmpSealed, id)
	if err != nil {
		// Sealed under another key: it can never complete, so drop it.
		stopHold()
		dropPending(ctx, c.Runs, log, newest, "pending session cannot be opened with TOKEN_SEAL_KEY", c.Now())
		return "", fail(KindNoPending, "pending session unreadable", err)
	}
	defer logging.RedactScoped(c.Log, tmp)()
	token, err := c.Web.FinishLogin(wctx, tmp, code.Code)
	if err != nil {
		release()
		if isUnauthorized(err) {
			log.Warn("the web system refused the code; the session stays pending", "event", "login.code_refused")
			return "", fail(KindCodeRefused, "the web system refused the code", nil)
		}
		return "", fail(KindWeb, "login finish", err)
	}
	defer logging.RedactScoped(c.Log, token, strings.TrimPrefix(token, "Bearer "))()

	sealed, err := c.Sealer.Seal(token, id)
	if err == nil {
		var msg chain.Message
		msg, err = chain.EncodeSessionReady(chain.SessionReady{SessionID: id, TokenSealed: sealed,
			Auth: chain.AuthOTP, Mode: newest.msg.Mode, RequestedAt: newest.msg.RequestedAt,
			LoginRequests: newest.msg.LoginRequests + sent.Requests()})
		if err == nil {
			_, err = c.Bus.Publish(wctx, c.TopicSessionReady, msg)
		}
	}
	stopHold()
	if err != nil {
		// Logged in but nobody will hear of it: end the web session now, so
		// none is left open, and drop the pending one (its tmp is spent).
		lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), LogoutTimeout)
		defer lcancel()
		if lerr := c.Web.Logout(websystem.CountRequests(lctx, &sent), token); lerr != nil && !isUnauthorized(lerr) {
			log.Error("logout after a failed publish failed too", "error", lerr)
		}
		newest.msg.LoginRequests += sent.Requests() // its run records them all
		dropPending(lctx, c.Runs, log, newest, "logged in but session-ready could not be published", c.Now())
		return "", fail(KindBus, "publish session-ready", err)
	}
	sctx, scancel := settle()
	defer scancel()
	if err := newest.leased.Lease.Ack(sctx); err != nil {
		// The session is live and announced; a redelivered pending message
		// would only meet a spent tmp (422) and then expire.
		log.Warn("could not ack the completed pending session", "error", err)
	}
	log.Info("login completed", "event", "session.ready", "auth", chain.AuthOTP)
	return id, nil
}

// newestPending drains the pending sessions (all of them, not one pull's
// batch), drops the expired and superseded ones and returns the newest live
// one, still leased.
func (c *Completer) newestPending(ctx context.Context, log *slog.Logger) (*pending, error) {
	deadline := c.Now().Add(c.PullWait)
	for {
		wait := deadline.Sub(c.Now())
		if wait <= 0 {
			return nil, fail(KindNoPending, "no pending session", nil)
		}
		leased, err := drain(ctx, c.Pull, c.SubLoginPending, wait)
		if err != nil {
			for _, l := range leased {
				_ = l.Lease.Nack(context.WithoutCancel(ctx))
			}
			return nil, fail(KindBus, "pull pending sessions", err)
		}
		if len(leased) == 0 {
			return nil, fail(KindNoPending, "no pending session", nil)
		}
		var live []*pending
		now := c.Now()
		for _, l := range leased {
			m, err := chain.DecodeLoginPending(l.Message)
			if err != nil {
				log.Error("dropping a malformed pending-session message", "pubsub_message_id", l.ID, "error", err)
				_ = l.Lease.Ack(ctx)
				continue
			}
			p := &pending{leased: l, msg: m}
			if !now.Before(m.ExpiresAt) {
				dropPending(ctx, c.Runs, log.With("session_id", m.SessionID), p, reasonExpired, now)
				continue
			}
			live = append(live, p)
		}
		if len(live) == 0 {
			continue // only expired or malformed ones: wait on for a live one
		}
		newest := live[0]
		for _, p := range live[1:] {
			if p.msg.RequestedAt.After(newest.msg.RequestedAt) {
				newest = p
			}
		}
		for _, p := range live {
			if p != newest {
				dropPending(ctx, c.Runs, log.With("session_id", p.msg.SessionID), p, reasonSuperseded, now)
			}
		}
		return newest, nil
	}
}

// dropPending acks a pending session that can never complete, logs it at
// ERROR (event login.expired) and records it in the run log when runs is set.
func dropPending(ctx context.Context, runs RunRecorder, log *slog.Logger, p *pending, reason string, now time.Time) {
	if err := p.leased.Lease.Ack(context.WithoutCancel(ctx)); err != nil {
		log.Warn("could not drop a pending session", "error", err)
	}
	log.Error("login failed: "+reason, "event", "login.expired", "session_id", p.msg.SessionID,
		"requested_at", p.msg.RequestedAt)
	if runs == nil {
		return
	}
	// The answer to the caller must not wait long on the run log.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := runs.RecordFailedLogin(ctx, FailedLogin{SessionID: p.msg.SessionID, Mode: p.msg.Mode,
		RequestedAt: p.msg.RequestedAt, FinishedAt: now.UTC(), Reason: reason, Requests: p.msg.LoginRequests}); err != nil {
		log.Error("could not record the failed login in sync_runs", "error", err)
	}
}

// Ender ends sessions (the Logout function).
type Ender struct {
	Web    Web
	Sealer *seal.Sealer
	Log    *slog.Logger
}

// End logs the session of m out. An api-token session needs no logout, and
// one already ended (401) is not an error; a transient failure is returned
// so the event is retried.
func (e *Ender) End(ctx context.Context, m chain.LoadFinished) (loggedOut bool, err error) {
	log := e.Log.With("session_id", m.SessionID)
	if m.Auth == chain.AuthAPIToken || m.TokenSealed == "" {
		log.Info("no logout needed", "event", "session.ended", "auth", m.Auth)
		return false, nil
	}
	token, err := e.Sealer.Open(m.TokenSealed, m.SessionID)
	if err != nil {
		log.Error("cannot open the session token; the session will time out on its own", "error", err)
		return false, nil
	}
	defer logging.RedactScoped(e.Log, token, strings.TrimPrefix(token, "Bearer "))()
	if err := e.Web.Logout(ctx, token); err != nil {
		if isUnauthorized(err) {
			log.Info("session had already ended", "event", "session.ended")
			return false, nil
		}
		return false, fmt.Errorf("logout: %w", err)
	}
	log.Info("logged out", "event", "session.ended")
	return true, nil
}

func isUnauthorized(err error) bool { return errors.Is(err, websystem.ErrUnauthorized) }
