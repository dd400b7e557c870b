// Package logging writes structured logs that Cloud Logging reads from a
// function's standard output: one JSON object per line with "severity",
// "message" and "time", the attributes as fields, and trace correlation
// ("logging.googleapis.com/trace") when the context carries a trace (WithTrace).
//
// The handler is built so that a secret cannot reach the output:
//
//   - an attribute whose key names a secret (password, token, code, otp, ...;
//     see SensitiveKey) is written as "[REDACTED]", at any group depth;
//   - a Secret value logs, prints and marshals as "[REDACTED]";
//   - any value registered with a Redactor is replaced inside the message and
//     every string, error text and marshalled value, however it reached the
//     record: long-lived secrets (Redact) for the life of the process, a
//     session's tmp, code and token (RedactScoped) until the session ends.
//
// Limits: registered values shorter than four bytes are not matched (they
// would blank out ordinary text); the names of groups and attribute keys are
// not searched for registered values; a value the caller encodes on its own
// (base64, hex) before logging is not recognised.
package logging

import (
	"context"
	"io"
	"log/slog"
	"slices"
)

// Redacted is what a secret is written as.
const Redacted = "[REDACTED]"

// Keys of the fields Cloud Logging reads specially.
const (
	KeySeverity     = "severity"
	KeyMessage      = "message"
	KeyTrace        = "logging.googleapis.com/trace"
	KeySpanID       = "logging.googleapis.com/spanId"
	KeyTraceSampled = "logging.googleapis.com/trace_sampled"
	KeySource       = "logging.googleapis.com/sourceLocation"
)

// Option configures a handler made by New or NewHandler.
type Option func(*options)

type options struct {
	redactor  *Redactor
	addSource bool
}

// WithRedactor makes the handler replace the values registered with r. Several
// handlers may share one Redactor. Without this option each handler has its
// own, reachable through Handler.Redact.
func WithRedactor(r *Redactor) Option {
	return func(o *options) { o.redactor = r }
}

// WithSource adds the caller's file, line and function as
// "logging.googleapis.com/sourceLocation".
func WithSource() Option {
	return func(o *options) { o.addSource = true }
}

// New returns a logger that writes Cloud Logging's structured JSON to w, one
// object per line, for records at level or above (nil: slog.LevelInfo).
func New(w io.Writer, level slog.Leveler, opts ...Option) *slog.Logger {
	return slog.New(NewHandler(w, level, opts...))
}

// Redact registers values that the handler behind l must never write (see
// Redactor.Add). It reports false, registering nothing, when l is nil or its
// handler is not a *Handler.
func Redact(l *slog.Logger, values ...string) bool {
	if l == nil {
		return false
	}
	h, ok := l.Handler().(*Handler)
	if ok {
		h.Redact(values...)
	}
	return ok
}

// RedactScoped registers values that the handler behind l must not write
// until the returned function is called: a session's tmp, code and token,
// dropped when the session ends (see Redactor.Scope). When l's handler is not
// a *Handler nothing is registered and the function does nothing.
func RedactScoped(l *slog.Logger, values ...string) (release func()) {
	if l != nil {
		if h, ok := l.Handler().(*Handler); ok {
			return h.redactor.Scope(values...)
		}
	}
	return func() {}
}

// Handler is the slog.Handler behind New. It is safe for concurrent use.
//
// It formats with slog.JSONHandler and redacts in its ReplaceAttr. Attributes
// and groups added with WithAttrs and WithGroup are kept unformatted and
// joined to each record at Handle time, for two reasons: a value registered
// after With must still be redacted, and the trace fields must stay at the top
// level of the object whatever groups are open.
type Handler struct {
	json     slog.Handler
	redactor *Redactor
	attrs    []slog.Attr // top-level attributes, before any group
	groups   []group     // open groups, outermost first
}

type group struct {
	name  string
	attrs []slog.Attr
}

// NewHandler returns the handler New uses.
func NewHandler(w io.Writer, level slog.Leveler, opts ...Option) *Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.redactor == nil {
		o.redactor = NewRedactor()
	}
	if level == nil {
		level = slog.LevelInfo
	}
	r := o.redactor
	return &Handler{
		redactor: r,
		json: slog.NewJSONHandler(w, &slog.HandlerOptions{
			AddSource:   o.addSource,
			Level:       level,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr { return replaceAttr(r, groups, a) },
		}),
	}
}

// Redact registers values the handler must never write; see Redactor.Add.
func (h *Handler) Redact(values ...string) { h.redactor.Add(values...) }

// Registered is the number of distinct values the handler redacts now.
func (h *Handler) Registered() int { return h.redactor.Len() }

// Enabled reports whether the handler writes records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.json.Enabled(ctx, level)
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	if len(h.groups) == 0 {
		h2.attrs = slices.Concat(h.attrs, attrs)
		return &h2
	}
	h2.groups = slices.Clone(h.groups)
	last := &h2.groups[len(h2.groups)-1]
	last.attrs = slices.Concat(last.attrs, attrs)
	return &h2
}

// WithGroup returns a handler that nests later attributes under name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.groups = append(slices.Clip(h.groups), group{name: name})
	return &h2
}

// Handle writes r as one JSON line, with the trace from ctx (WithTrace).
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	tr, traced := traceFrom(ctx)
	if !traced && len(h.attrs) == 0 && len(h.groups) == 0 {
		return h.json.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if traced {
		out.AddAttrs(tr.attrs...)
	}
	out.AddAttrs(h.attrs...)
	if len(h.groups) == 0 {
		r.Attrs(func(a slog.Attr) bool { out.AddAttrs(a); return true })
		return h.json.Handle(ctx, out)
	}
	// Build the nesting from the innermost group out: the last group holds
	// its own attributes and the record's.
	inner := make([]slog.Attr, 0, len(h.groups[len(h.groups)-1].attrs)+r.NumAttrs())
	inner = append(inner, h.groups[len(h.groups)-1].attrs...)
	r.Attrs(func(a slog.Attr) bool { inner = append(inner, a); return true })
	for i := len(h.groups) - 1; i > 0; i-- {
		outer := make([]slog.Attr, 0, len(h.groups[i-1].attrs)+1)
		outer = append(outer, h.groups[i-1].attrs...)
		inner = append(outer, slog.Attr{Key: h.redactor.Replace(h.groups[i].name), Value: slog.GroupValue(inner...)})
	}
	out.AddAttrs(slog.Attr{Key: h.redactor.Replace(h.groups[0].name), Value: slog.GroupValue(inner...)})
	return h.json.Handle(ctx, out)
}

// replaceAttr gives the built-in fields Cloud Logging's names and redacts
// everything else.
func replaceAttr(r *Redactor, groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.LevelKey:
			if l, ok := a.Value.Any().(slog.Level); ok {
				return slog.String(KeySeverity, Severity(l))
			}
			return a
		case slog.MessageKey:
			return slog.String(KeyMessage, r.Replace(a.Value.String()))
		case slog.TimeKey:
			return a
		case slog.SourceKey:
			a.Key = KeySource
			return a
		case KeyTrace, KeySpanID, KeyTraceSampled:
			return a
		}
	}
	if SensitiveKey(a.Key) || slices.ContainsFunc(groups, SensitiveKey) {
		return slog.String(r.Replace(a.Key), Redacted)
	}
	a.Key = r.Replace(a.Key)
	a.Value = r.value(a.Value)
	return a
}

// Severity maps a slog level to Cloud Logging's severity: below Info is DEBUG,
// below Warn INFO, below Error WARNING, and Error or above ERROR.
func Severity(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	default:
		return "ERROR"
	}
}
