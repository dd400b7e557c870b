package websystem_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// hostile streams a body of a hostile size without holding it: prefix, n
// units joined by sep, suffix.
type hostile struct {
	unit, block, suffix []byte // block: k copies of sep+unit
	k, n                int    // units per block, units left
	started, ended      bool
	buf                 []byte // what is left of the current part
}

func newHostile(prefix, unit, sep, suffix string, n int) *hostile {
	if unit == "" && sep == "" {
		n = 0
	}
	k := max(1, 4096/(len(unit)+len(sep)+1))
	block := bytes.Repeat([]byte(sep+unit), k)
	return &hostile{unit: []byte(unit), block: block, suffix: []byte(suffix), k: k, n: n, buf: []byte(prefix)}
}

func (h *hostile) next() bool {
	switch {
	case h.n > 0 && !h.started:
		h.buf, h.started = h.unit, true
		h.n--
	case h.n > 0:
		m := min(h.k, h.n)
		h.buf = h.block[:m*len(h.block)/h.k]
		h.n -= m
	case !h.ended:
		h.buf, h.ended = h.suffix, true
	default:
		return false
	}
	return true
}

func (h *hostile) Read(p []byte) (int, error) {
	total := 0
	for total < len(p) {
		if len(h.buf) == 0 {
			if !h.next() {
				break
			}
			continue
		}
		n := copy(p[total:], h.buf)
		h.buf = h.buf[n:]
		total += n
	}
	if total == 0 {
		return 0, io.EOF
	}
	return total, nil
}

// gzipped compresses r on the fly; closing the returned reader stops it.
func gzipped(r io.Reader) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		w, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		_, err := io.Copy(w, r)
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	gr, err := gzip.NewReader(pr)
	if err != nil {
		pr.Close()
		return io.NopCloser(bytes.NewReader(nil))
	}
	return struct {
		io.Reader
		io.Closer
	}{gr, pr}
}

// memoryBound is what ReadPage may allocate for one body, whatever its
// size: a few times the 8 MiB body cap (the decoder's buffer, each
// element's bytes kept twice, the decoded fields).
const memoryBound = 64 << 20

// FuzzReadPageHostile feeds ReadPage bodies of hostile sizes (millions of
// elements, deep nesting, one huge element, all optionally gzipped as a
// server may send them) and asserts that it never allocates more than
// memoryBound nor keeps more than limit+limit/2 elements.
func FuzzReadPageHostile(f *testing.F) {
	f.Add(uint8(0), uint32(11_000_000), []byte("{}"), false, uint8(200))
	f.Add(uint8(0), uint32(11_000_000), []byte("{}"), true, uint8(200))
	f.Add(uint8(0), uint32(250), []byte(`{"ticket_number":1}`), false, uint8(200))
	f.Add(uint8(1), uint32(1_000_000), []byte(nil), true, uint8(10))
	f.Add(uint8(2), uint32(100_000), []byte(`"a"`), false, uint8(10))
	f.Add(uint8(3), uint32(40<<20), []byte("x"), true, uint8(200))
	f.Add(uint8(4), uint32(0), []byte(`[{"ticket_number":1},{}]`), false, uint8(1))
	f.Fuzz(func(t *testing.T, shape uint8, n uint32, unit []byte, gz bool, limit uint8) {
		n %= 64 << 20 // at most 64 Mi units: far past every cap
		if len(unit) > 1024 {
			unit = unit[:1024]
		}
		var r io.Reader
		switch shape % 5 {
		case 0: // an array of n copies of unit
			r = newHostile("[", string(unit), ",", "]", int(n))
		case 1: // n nested arrays
			r = io.MultiReader(newHostile("[", "[", "", "", int(n)), newHostile("", "]", "", "]", int(n)))
		case 2: // one element of n nested objects
			r = io.MultiReader(newHostile(`[{"ticket_number":1,"x":`, `{"a":`, "", string(unit), int(n)),
				newHostile("", "}", "", "}]", int(n)))
		case 3: // one element with a string of n copies of unit
			r = newHostile(`[{"ticket_number":1,"title":"`, string(bytes.ReplaceAll(unit, []byte(`"`), nil)), "", `"}]`, int(n))
		default:
			r = bytes.NewReader(unit)
		}
		if gz {
			rc := gzipped(r)
			defer rc.Close()
			r = rc
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p, err := websystem.ReadPage(r, int(limit))
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > memoryBound {
			t.Fatalf("allocated %d MiB: want at most %d", alloc>>20, memoryBound>>20)
		}
		if (p == nil) == (err == nil) {
			t.Fatalf("got %v, %v: want a page or an error", p, err)
		}
		if err != nil {
			var e *websystem.Error
			if !errors.As(err, &e) || e.Kind != websystem.KindMalformed {
				t.Fatalf("got %v, want a KindMalformed *Error", err)
			}
			return
		}
		lim := min(max(1, int(limit)), websystem.MaxLimit)
		if p.Raw > lim+lim/2 || p.Raw != len(p.Tickets)+p.Rejected {
			t.Fatalf("Raw %d, tickets %d, rejected %d, limit %d: want Raw = tickets + rejected <= 1.5 limit", p.Raw, len(p.Tickets), p.Rejected, lim)
		}
		kept := 0
		for _, tk := range p.Tickets {
			kept += len(tk.Raw)
		}
		if kept > 8<<20 {
			t.Fatalf("kept %d bytes of tickets: want at most the 8 MiB body cap", kept)
		}
	})
}
