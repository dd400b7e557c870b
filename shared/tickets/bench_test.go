package tickets_test

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// BenchmarkTransformEncode measures the per-ticket cost of the load path after
// decoding: ToRow and NDJSON encoding into a writer.
func BenchmarkTransformEncode(b *testing.B) {
	loc := saoPaulo(b)
	base := decode(b, contractTicket)
	const distinct = 1024
	src := make([]tickets.Ticket, distinct)
	for i := range src {
		t := base
		n := int64(i + 1)
		t.Number = &n
		up := fmt.Sprintf("2026-06-%02dT%02d:41:12.120Z", i%28+1, i%24)
		t.UpdatedAt = &up
		way := tickets.Channel{Code: int64(i % 15), IsCode: i%2 == 0, Label: "Email"}
		t.CreatedByWayOf = &way
		src[i] = t
	}
	enc := tickets.NewEncoder(io.Discard)
	synced := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := tickets.ToRow(src[i%distinct], loc, "bench-session", synced)
		if err != nil {
			b.Fatal(err)
		}
		if err := enc.Encode(&r); err != nil {
			b.Fatal(err)
		}
	}
	if err := enc.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
}

// BenchmarkDecodeTransformEncode adds the decoding of one ticket object to
// BenchmarkTransformEncode, for the whole per-ticket cost of a pull on this
// side of the network: with encoding/json alone (Unmarshal), and as the
// pipeline runs it (Decode, which also keeps the raw bytes).
func BenchmarkDecodeTransformEncode(b *testing.B) {
	for _, bb := range []struct {
		name   string
		decode func([]byte) (tickets.Ticket, error)
	}{
		{"Unmarshal", func(raw []byte) (t tickets.Ticket, err error) { return t, json.Unmarshal(raw, &t) }},
		{"Decode", tickets.Decode},
	} {
		b.Run(bb.name, func(b *testing.B) {
			loc := saoPaulo(b)
			raw := []byte(contractTicket)
			enc := tickets.NewEncoder(io.Discard)
			synced := time.Now()
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t, err := bb.decode(raw)
				if err != nil {
					b.Fatal(err)
				}
				r, err := tickets.ToRow(t, loc, "bench-session", synced)
				if err != nil {
					b.Fatal(err)
				}
				if err := enc.Encode(&r); err != nil {
					b.Fatal(err)
				}
			}
			if err := enc.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
		})
	}
}

// BenchmarkDecodeWrongType is Decode of a ticket with one field of the wrong
// type: the field-by-field path that names it.
func BenchmarkDecodeWrongType(b *testing.B) {
	raw := []byte(with(`"sla_info":{"solved_in_time":true,"solve_expiration":"2026-06-03T13:05:00Z"}`))
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		t, err := tickets.Decode(raw)
		if err != nil || len(t.FieldErrors) != 1 {
			b.Fatalf("Decode: %v %v", err, t.FieldErrors)
		}
	}
}

// BenchmarkDecode is Decode of the well-formed contract example, for
// comparison with BenchmarkDecodeWrongType.
func BenchmarkDecode(b *testing.B) {
	raw := []byte(with(`"sla_info":{"solved_in_time":"2026-06-02T13:05:00Z","solve_expiration":"2026-06-03T13:05:00Z"}`))
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		if _, err := tickets.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
