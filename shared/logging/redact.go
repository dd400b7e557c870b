package logging

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// MinRedactLen is the shortest value a Redactor matches; shorter values would
// blank out ordinary text.
const MinRedactLen = 4

// Redactor is a registry of secret values that must never be written. Values
// are either long-lived (Add: a password, an API key, for the life of the
// process) or scoped (Scope: a session's tmp, code and token, until the
// session ends and its release function is called). It is safe for
// concurrent use; Replace takes no lock.
type Redactor struct {
	mu     sync.Mutex // serialises changes
	perm   map[string]bool
	scoped map[string]int // value → scopes holding it
	state  atomic.Pointer[redactState]
}

// redactState is immutable once stored.
type redactState struct {
	values []string // longest first
	rep    *strings.Replacer
}

// NewRedactor returns a Redactor holding values for good.
func NewRedactor(values ...string) *Redactor {
	r := &Redactor{}
	r.Add(values...)
	return r
}

// Add registers values for the life of the Redactor. Values shorter than
// MinRedactLen bytes are ignored.
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, v := range values {
		if len(v) >= MinRedactLen && !r.perm[v] {
			if r.perm == nil {
				r.perm = map[string]bool{}
			}
			r.perm[v] = true
			changed = true
		}
	}
	if changed {
		r.rebuild()
	}
}

// Scope registers values until the returned function is called (once is
// enough; later calls do nothing). A value held by several scopes, or also
// added with Add, stays registered until the last of them lets it go.
func (r *Redactor) Scope(values ...string) (release func()) {
	var held []string
	r.mu.Lock()
	for _, v := range values {
		if len(v) >= MinRedactLen {
			if r.scoped == nil {
				r.scoped = map[string]int{}
			}
			r.scoped[v]++
			held = append(held, v)
		}
	}
	if len(held) > 0 {
		r.rebuild()
	}
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			if len(held) == 0 {
				return
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, v := range held {
				if r.scoped[v]--; r.scoped[v] <= 0 {
					delete(r.scoped, v)
				}
			}
			r.rebuild()
		})
	}
}

// Len is the number of distinct values registered now.
func (r *Redactor) Len() int {
	st := r.state.Load()
	if st == nil {
		return 0
	}
	return len(st.values)
}

// rebuild stores the state for the union of the long-lived and scoped
// values; r.mu is held.
func (r *Redactor) rebuild() {
	next := make([]string, 0, len(r.perm)+len(r.scoped))
	for v := range r.perm {
		next = append(next, v)
	}
	for v := range r.scoped {
		if !r.perm[v] {
			next = append(next, v)
		}
	}
	if len(next) == 0 {
		r.state.Store(nil)
		return
	}
	// strings.Replacer tries its patterns in argument order at each position:
	// longest first, so a value that contains another is replaced whole.
	slices.SortFunc(next, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	pairs := make([]string, 0, 2*len(next))
	for _, v := range next {
		pairs = append(pairs, v, Redacted)
	}
	r.state.Store(&redactState{values: next, rep: strings.NewReplacer(pairs...)})
}

// Replace returns s with every registered value replaced by "[REDACTED]".
func (r *Redactor) Replace(s string) string {
	if r == nil {
		return s
	}
	st := r.state.Load()
	if st == nil {
		return s
	}
	// The registry is small (a token, a code, a password): looking for each
	// value first keeps the common case, nothing to replace, free of allocations.
	for _, v := range st.values {
		if strings.Contains(s, v) {
			return st.rep.Replace(s)
		}
	}
	return s
}

// value redacts a resolved attribute value. Values of kind Any are written
// through their JSON form, so that struct fields are subject to the same key
// and value checks as attributes.
func (r *Redactor) value(v slog.Value) slog.Value {
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); r.Replace(s) != s {
			return slog.StringValue(r.Replace(s))
		}
		return v
	case slog.KindAny:
		return r.anyValue(v.Any())
	default:
		return v
	}
}

func (r *Redactor) anyValue(x any) slog.Value {
	switch x := x.(type) {
	case error:
		return slog.StringValue(r.Replace(x.Error()))
	case []byte:
		return slog.StringValue(r.Replace(string(x)))
	}
	b, err := json.Marshal(x)
	if err != nil {
		return slog.StringValue(r.Replace(fmt.Sprintf("%+v", x)))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return slog.StringValue(r.Replace(string(b)))
	}
	return slog.AnyValue(r.tree(tree))
}

// tree redacts a decoded JSON value: sensitive keys and registered
// values, at any depth.
func (r *Redactor) tree(x any) any {
	switch x := x.(type) {
	case string:
		return r.Replace(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			if SensitiveKey(k) {
				out[r.Replace(k)] = Redacted
				continue
			}
			out[r.Replace(k)] = r.tree(v)
		}
		return out
	case []any:
		for i, v := range x {
			x[i] = r.tree(v)
		}
		return x
	default:
		return x
	}
}

// sensitiveNames are keys that name a secret when they are the whole key
// (case-insensitive). They are short or common words, so they are not looked
// for inside longer keys ("status_code" is not a secret).
var sensitiveNames = map[string]bool{
	"password": true, "senha": true, "token": true, "authorization": true,
	"code": true, "otp": true, "tmp": true, "secret": true, "key": true,
	"signature": true, "cookie": true,
	"otp_code": true, "api_key": true, "apikey": true, "private_key": true,
}

// sensitiveParts name a secret wherever they appear in a key
// ("session_token", "WEB_PASSWORD", "X-OTP-Signature", "Set-Cookie").
var sensitiveParts = []string{"token", "password", "passwd", "secret", "senha", "signature", "authorization", "cookie"}

// SensitiveKey reports whether an attribute key names a secret, so that its
// value is never written: the key is one of password, senha, token,
// authorization, code, otp, tmp, secret, key, signature, cookie (or otp_code,
// api_key, apikey, private_key), or contains token, password, passwd, secret,
// senha, signature, authorization or cookie; case-insensitive.
func SensitiveKey(key string) bool {
	lower := strings.ToLower(key)
	if sensitiveNames[lower] {
		return true
	}
	for _, p := range sensitiveParts {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// Secret is a string that never shows itself: it logs, prints (with any fmt
// verb) and marshals as "[REDACTED]". Reveal returns the value.
type Secret string

// Reveal returns the secret value, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// String implements fmt.Stringer.
func (Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return Redacted }

// Format implements fmt.Formatter, so no verb (%s, %v, %q, %x, %#v) shows the value.
func (Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = f.Write([]byte(strconv.Quote(Redacted)))
		return
	}
	_, _ = f.Write([]byte(Redacted))
}

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
