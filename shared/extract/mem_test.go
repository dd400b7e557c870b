package extract_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/extract"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/tickets"
)

// The in-memory stand-ins below serve the fast tests (fast_test.go): the
// tickets table (memTable, an extract.Store), sync_runs (memRuns, an
// extract.RunLog) and the bus (memBus, an extract.Publisher). Each keeps
// the rule its interface documents and that the real adapter's emulator
// tests check (warehouse: TestMergeRule, TestLoadAndMerge,
// TestRecordRunOutcomeIsOneWay); where they differ from the real ones:
//
//   - memTable has no jobs, staging tables or job ids: a sink holds its rows
//     until Load, which merges them at once. Like warehouse.StageChunk, each
//     Stage is a sink of its own; Stages counts them per chunk.
//   - memRuns and memBus never fail unless told to (failPublish).
//   - Rows are compared on numero_ticket, atualizado_em_utc and situacao only.

// memTable is the tickets table in memory. One mutex guards it.
type memTable struct {
	mu     sync.Mutex
	rows   map[int64]tickets.Row
	stages map[string]int // sinks opened, by "session/chunk"
}

func newMemTable() *memTable {
	return &memTable{rows: map[int64]tickets.Row{}, stages: map[string]int{}}
}

// Stage opens a sink of its own for the chunk.
func (m *memTable) Stage(_ context.Context, sessionID string, chunk int) (extract.Sink, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stages[sessionID+"/"+strconv.Itoa(chunk)]++
	return &memSink{table: m}, nil
}

// Stages counts the sinks opened for a chunk.
func (m *memTable) Stages(sessionID string, chunk int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stages[sessionID+"/"+strconv.Itoa(chunk)]
}

// OpenNumbers lists the tickets held as aberto, in number order.
func (m *memTable) OpenNumbers(context.Context) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int64
	for n, r := range m.rows {
		if r.Situacao == tickets.SituacaoAberto {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// NumbersCreated lists the rows created in [from, to) that are not excluido.
func (m *memTable) NumbersCreated(_ context.Context, from, to time.Time) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int64
	for n, r := range m.rows {
		if !r.CriadoEmUTC.Before(from) && r.CriadoEmUTC.Before(to) && r.Situacao != tickets.SituacaoExcluido {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Situacoes returns numero_ticket → situacao.
func (m *memTable) Situacoes() map[int64]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[int64]string, len(m.rows))
	for n, r := range m.rows {
		out[n] = r.Situacao
	}
	return out
}

// Len is the number of rows.
func (m *memTable) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}

// rank orders situacao values for a tie on atualizado_em_utc, as the
// warehouse's MERGE does.
func rank(situacao string) int {
	return slices.Index([]string{tickets.SituacaoAberto, tickets.SituacaoFechado,
		tickets.SituacaoCancelado, tickets.SituacaoExcluido}, situacao)
}

// replaces is the MERGE rule of CONTRACT section 6: s replaces t when it is
// newer, or as new with another situacao.
func replaces(s, t tickets.Row) bool {
	return s.AtualizadoEmUTC.After(t.AtualizadoEmUTC) ||
		s.AtualizadoEmUTC.Equal(t.AtualizadoEmUTC) && s.Situacao != t.Situacao
}

var errSinkClosed = errors.New("sink loaded or aborted")

// memSink holds one chunk's rows until Load.
type memSink struct {
	table  *memTable
	rows   map[int64]tickets.Row // deduplicated as the warehouse does
	closed bool
}

func (s *memSink) Add(row tickets.Row) error {
	if s.closed {
		return errSinkClosed
	}
	if s.rows == nil {
		s.rows = map[int64]tickets.Row{}
	}
	old, ok := s.rows[row.NumeroTicket]
	if !ok || row.AtualizadoEmUTC.After(old.AtualizadoEmUTC) ||
		row.AtualizadoEmUTC.Equal(old.AtualizadoEmUTC) && rank(row.Situacao) >= rank(old.Situacao) {
		s.rows[row.NumeroTicket] = row
	}
	return nil
}

func (s *memSink) Load(_ context.Context, deleted []int64) (chain.Totals, error) {
	var t chain.Totals
	if s.closed {
		return t, errSinkClosed
	}
	s.closed = true
	m := s.table
	m.mu.Lock()
	defer m.mu.Unlock()
	for n, row := range s.rows {
		t.Tickets++
		old, ok := m.rows[n]
		switch {
		case !ok:
			t.Inserted++
		case replaces(row, old):
			t.Updated++
		default:
			continue
		}
		m.rows[n] = row
	}
	for _, n := range deleted {
		if r, ok := m.rows[n]; ok && r.Situacao != tickets.SituacaoExcluido {
			r.Situacao = tickets.SituacaoExcluido
			m.rows[n] = r
			t.Reconciled++
		}
	}
	return t, nil
}

func (s *memSink) Abort() { s.closed = true }

// memRuns is sync_runs in memory. One mutex guards it.
type memRuns struct {
	mu   sync.Mutex
	runs map[string]chain.Run
}

func newMemRuns(prior ...chain.Run) *memRuns {
	r := &memRuns{runs: map[string]chain.Run{}}
	for _, p := range prior {
		r.runs[p.SessionID] = p
	}
	return r
}

func (r *memRuns) Run(_ context.Context, sessionID string) (*chain.Run, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run, ok := r.runs[sessionID]
	if !ok {
		return nil, nil
	}
	return &run, nil
}

func (r *memRuns) LastSuccessfulRun(_ context.Context, mode chain.Mode) (*chain.Run, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var last *chain.Run
	for _, run := range r.runs {
		if run.Outcome == chain.OutcomeOK && (mode == "" || run.Mode == mode) &&
			(last == nil || run.StartedAt.After(last.StartedAt)) {
			last = &run
		}
	}
	return last, nil
}

// RecordRun keeps the outcome one way: running → ok|failed.
func (r *memRuns) RecordRun(_ context.Context, run chain.Run) error {
	switch run.Outcome {
	case chain.OutcomeRunning, chain.OutcomeOK, chain.OutcomeFailed:
	default:
		return fmt.Errorf("record run: outcome %q is not ok, failed or running", run.Outcome)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.runs[run.SessionID]; ok && old.Outcome != chain.OutcomeRunning && old.Outcome != run.Outcome {
		return nil
	}
	r.runs[run.SessionID] = run
	return nil
}

// memBus is the bus in memory: it keeps every message it takes. One mutex
// guards it.
type memBus struct {
	mu   sync.Mutex
	msgs []chain.Message
	fail map[string]int // topic → publishes left to refuse
}

func newMemBus() *memBus { return &memBus{fail: map[string]int{}} }

func (b *memBus) Publish(_ context.Context, topic string, m chain.Message) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail[topic] > 0 {
		b.fail[topic]--
		return "", fmt.Errorf("publish to %s: unavailable", topic)
	}
	b.msgs = append(b.msgs, m)
	return strconv.Itoa(len(b.msgs)), nil
}

// failPublish makes the next n publishes to topic fail.
func (b *memBus) failPublish(topic string, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail[topic] = n
}

// published lists a session's messages of one event, oldest first.
func (b *memBus) published(sessionID, event string) []chain.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []chain.Message
	for _, m := range b.msgs {
		if m.Attributes[chain.AttrSessionID] == sessionID && m.Attributes[chain.AttrEvent] == event {
			out = append(out, m)
		}
	}
	return out
}
