package functions

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// recoverHTTP answers a panic in h with a 500 and one ERROR line through the
// redacting logger: the panic's text and the functions on the stack (names
// and lines only, never argument values), instead of the Functions
// Framework's raw stack.
func recoverHTTP(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				logPanic(r.Context(), name, p)
				respondError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		h(w, r)
	}
}

// recoverEvent turns a panic in h into an error (Eventarc redelivers) and
// one redacted ERROR line.
func recoverEvent(name string, h func(context.Context, event.Event) error) func(context.Context, event.Event) error {
	return func(ctx context.Context, e event.Event) (err error) {
		defer func() {
			if p := recover(); p != nil {
				logPanic(ctx, name, p)
				err = fmt.Errorf("%s: internal error", name)
			}
		}()
		return h(ctx, e)
	}
}

func logPanic(ctx context.Context, name string, p any) {
	logger.ErrorContext(ctx, "panic recovered", "event", "function.panic", "function", name,
		"panic", panicText(p), "stack", frames(4))
}

// panicText is the panic's value as text (the logger redacts registered
// secrets in it).
func panicText(p any) string {
	if err, ok := p.(error); ok {
		return err.Error()
	}
	return fmt.Sprint(p)
}

// frames lists the calling functions as "name file:line", skipping skip
// frames: no argument values, unlike runtime/debug.Stack.
func frames(skip int) string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(skip, pcs)
	it := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	for {
		f, more := it.Next()
		if b.Len() > 0 {
			b.WriteString(" < ")
		}
		fmt.Fprintf(&b, "%s %s:%d", f.Function, f.File[strings.LastIndex(f.File, "/")+1:], f.Line)
		if !more {
			break
		}
	}
	return b.String()
}
