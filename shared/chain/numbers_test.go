package chain_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

func setOf(ns ...int64) chain.NumberSet {
	var s chain.NumberSet
	for _, n := range ns {
		s.Add(n)
	}
	return s
}

func TestNumberSetRoundTrip(t *testing.T) {
	consecutive := make([]int64, 30000)
	for i := range consecutive {
		consecutive[i] = int64(100000 + i)
	}
	tests := []struct {
		name    string
		numbers []int64
	}{
		{"Empty", nil},
		{"One", []int64{42}},
		{"Unsorted", []int64{9, 3, 7, 3}},
		{"Negative", []int64{-5, 0, 5}},
		{"Extremes", []int64{math.MinInt64, math.MaxInt64}},
		{"Consecutive30k", consecutive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(setOf(tt.numbers...))
			if err != nil {
				t.Fatal(err)
			}
			var got chain.NumberSet
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			want := slices.Compact(slices.Sorted(slices.Values(tt.numbers)))
			if !slices.Equal(got.Sorted(), want) && len(want)+got.Len() > 0 {
				t.Fatalf("got %d numbers, want %d", got.Len(), len(want))
			}
			for _, n := range tt.numbers {
				if !got.Has(n) {
					t.Fatalf("%d lost", n)
				}
			}
		})
	}
	// Consecutive numbers take one byte each (4/3 in base64).
	b, _ := json.Marshal(setOf(consecutive...))
	if len(b) > 41000 {
		t.Errorf("30 000 consecutive numbers: %d bytes of JSON, want about 40 000", len(b))
	}
}

func TestNumberSetRefusesGarbage(t *testing.T) {
	tests := []struct{ name, json string }{
		{"NotAString", `[1,2,3]`},
		{"Number", `12`},
		{"NotBase64", `"@@@"`},
		{"TruncatedFirst", `"gA"`},        // 0x80: a varint that never ends
		{"ZeroGap", `"AgA"`},              // 1, then a gap of 0: a number twice
		{"TruncatedGap", `"AoA"`},         // 1, then 0x80
		{"Overflow", `"/v//////////AQE"`}, // MaxInt64, then a gap of 1
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s chain.NumberSet
			err := json.Unmarshal([]byte(tt.json), &s)
			if err == nil || !strings.Contains(err.Error(), "number set") {
				t.Fatalf("got %v (%d numbers), want a number set error", err, s.Len())
			}
		})
	}
}

func TestNumberSetCloneSharesNothing(t *testing.T) {
	a := setOf(1, 2)
	b := a.Clone()
	b.Add(3)
	if a.Has(3) || a.Len() != 2 || b.Len() != 3 {
		t.Fatalf("clone shares its numbers: a %v, b %v", a.Sorted(), b.Sorted())
	}
}

func FuzzNumberSet(f *testing.F) {
	f.Add(`"AgI"`)
	f.Add(`""`)
	f.Add(`"/v//////////AQ"`)
	f.Fuzz(func(t *testing.T, in string) {
		var s chain.NumberSet
		if err := json.Unmarshal([]byte(in), &s); err != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var again chain.NumberSet
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if !slices.Equal(s.Sorted(), again.Sorted()) {
			t.Fatalf("round trip changed the set: %v → %v", s.Sorted(), again.Sorted())
		}
	})
}
