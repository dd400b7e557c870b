package logging

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// Trace headers a request may carry.
const (
	HeaderTraceparent       = "traceparent"           // W3C Trace Context
	HeaderCloudTraceContext = "X-Cloud-Trace-Context" // TRACE_ID/SPAN_ID;o=OPTIONS
)

type traceKey struct{}

// trace is the Cloud Logging fields of one trace, built once per context.
type trace struct{ attrs []slog.Attr }

// WithTrace returns a context whose log records are correlated with a trace
// in project: header is the value of a W3C traceparent header
// ("00-<trace>-<span>-<flags>") or of X-Cloud-Trace-Context
// ("<trace>/<decimal span>;o=1"). When project is empty or the header does not
// parse, ctx is returned unchanged: a bad header never stops a request.
func WithTrace(ctx context.Context, project, header string) context.Context {
	if project == "" {
		return ctx
	}
	id, span, sampled, ok := parseTraceparent(header)
	if !ok {
		id, span, sampled, ok = parseCloudTrace(header)
	}
	if !ok {
		return ctx
	}
	attrs := []slog.Attr{slog.String(KeyTrace, "projects/"+project+"/traces/"+id)}
	if span != "" {
		attrs = append(attrs, slog.String(KeySpanID, span))
	}
	attrs = append(attrs, slog.Bool(KeyTraceSampled, sampled))
	return context.WithValue(ctx, traceKey{}, trace{attrs: attrs})
}

// TraceHeader returns the request's trace header: traceparent when present,
// else X-Cloud-Trace-Context. Pass it to WithTrace.
func TraceHeader(h http.Header) string {
	if v := h.Get(HeaderTraceparent); v != "" {
		return v
	}
	return h.Get(HeaderCloudTraceContext)
}

func traceFrom(ctx context.Context) (trace, bool) {
	if ctx == nil {
		return trace{}, false
	}
	t, ok := ctx.Value(traceKey{}).(trace)
	return t, ok
}

// parseTraceparent parses a W3C traceparent header. Versions after 00 may
// append fields; version ff is invalid.
func parseTraceparent(h string) (traceID, spanID string, sampled, ok bool) {
	h = strings.TrimSpace(h)
	parts := strings.Split(h, "-")
	if len(parts) < 4 {
		return "", "", false, false
	}
	version, id, span, flags := parts[0], parts[1], parts[2], parts[3]
	if !isHex(version, 2) || version == "ff" || (version == "00" && len(parts) != 4) {
		return "", "", false, false
	}
	if !isHex(id, 32) || isZeros(id) || !isHex(span, 16) || isZeros(span) || !isHex(flags, 2) {
		return "", "", false, false
	}
	f, _ := strconv.ParseUint(flags, 16, 8)
	return id, span, f&1 == 1, true
}

// parseCloudTrace parses X-Cloud-Trace-Context: TRACE_ID[/SPAN_ID][;o=0|1],
// where SPAN_ID is decimal. Cloud Logging wants the span as 16 hex digits.
func parseCloudTrace(h string) (traceID, spanID string, sampled, ok bool) {
	h = strings.TrimSpace(h)
	ids, opts, _ := strings.Cut(h, ";")
	id, span, hasSpan := strings.Cut(ids, "/")
	id = strings.ToLower(id)
	if !isHex(id, 32) || isZeros(id) {
		return "", "", false, false
	}
	if hasSpan && span != "" {
		n, err := strconv.ParseUint(span, 10, 64)
		if err != nil {
			return "", "", false, false
		}
		if n != 0 {
			spanID = strconv.FormatUint(n, 16)
			spanID = strings.Repeat("0", 16-len(spanID)) + spanID
		}
	}
	return id, spanID, opts == "o=1", true
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isZeros(s string) bool { return strings.Trim(s, "0") == "" }
