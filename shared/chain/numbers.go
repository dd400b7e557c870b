package chain

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// NumberSet is a set of ticket numbers that travels in a cursor. Its JSON is
// one string, the numbers sorted and delta-encoded as varints, then base64:
// ticket numbers are mostly consecutive, so a full pull's 30 000 numbers take
// about 40 KB of a message (Pub/Sub allows 10 MB). The zero value is empty.
type NumberSet struct {
	m map[int64]struct{}
}

// Add puts n in the set.
func (s *NumberSet) Add(n int64) {
	if s.m == nil {
		s.m = make(map[int64]struct{})
	}
	s.m[n] = struct{}{}
}

// Has reports whether n is in the set.
func (s NumberSet) Has(n int64) bool {
	_, ok := s.m[n]
	return ok
}

// Len is the number of numbers in the set.
func (s NumberSet) Len() int { return len(s.m) }

// IsZero reports whether the set is empty (omitzero leaves it out of JSON).
func (s NumberSet) IsZero() bool { return len(s.m) == 0 }

// Clone returns a set with the same numbers that shares nothing with s.
func (s NumberSet) Clone() NumberSet {
	if len(s.m) == 0 {
		return NumberSet{}
	}
	m := make(map[int64]struct{}, len(s.m))
	for n := range s.m {
		m[n] = struct{}{}
	}
	return NumberSet{m: m}
}

// Sorted returns the numbers in increasing order.
func (s NumberSet) Sorted() []int64 {
	out := make([]int64, 0, len(s.m))
	for n := range s.m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// MarshalJSON encodes the set as a base64 string: the first number as a
// zig-zag varint, then each gap to the next as an unsigned varint.
func (s NumberSet) MarshalJSON() ([]byte, error) {
	var buf []byte
	prev := int64(0)
	for i, n := range s.Sorted() {
		if i == 0 {
			buf = binary.AppendVarint(buf, n)
		} else {
			buf = binary.AppendUvarint(buf, uint64(n)-uint64(prev)) // the true gap, also across zero
		}
		prev = n
	}
	return json.Marshal(base64.RawStdEncoding.EncodeToString(buf))
}

// errNumberSet is what a malformed set fails with.
var errNumberSet = errors.New("number set")

// UnmarshalJSON decodes what MarshalJSON wrote. A gap of zero (a number
// twice), a truncated varint or a sum past int64 is an error, so a damaged
// cursor is refused rather than read as other numbers.
func (s *NumberSet) UnmarshalJSON(b []byte) error {
	var text string
	if err := json.Unmarshal(b, &text); err != nil {
		return fmt.Errorf("%w: want a base64 string: %v", errNumberSet, err)
	}
	buf, err := base64.RawStdEncoding.DecodeString(text)
	if err != nil {
		return fmt.Errorf("%w: %v", errNumberSet, err)
	}
	*s = NumberSet{}
	var prev int64
	for i := 0; len(buf) > 0; i++ {
		if i == 0 {
			n, k := binary.Varint(buf)
			if k <= 0 {
				return fmt.Errorf("%w: bad first number", errNumberSet)
			}
			prev, buf = n, buf[k:]
		} else {
			gap, k := binary.Uvarint(buf)
			if k <= 0 || gap == 0 || gap > uint64(math.MaxInt64)-uint64(prev) {
				return fmt.Errorf("%w: bad gap after %d numbers", errNumberSet, i)
			}
			prev, buf = int64(uint64(prev)+gap), buf[k:]
		}
		s.Add(prev)
	}
	return nil
}
