// Package testkit holds the set-up helpers the tests share, in the style of
// wtf's MustOpenDB(tb): Pub/Sub in memory with a Bus on it (MustBus), a
// BigQuery dataset name of the test's own (Dataset) and a log capture safe
// for concurrent writers (Buffer). Each Must helper calls tb.Helper, fails
// the test on error and closes what it opened when the test ends.
//
// It is for tests only: nothing under functions/ or shared/ imports it
// outside a _test.go file, so it never reaches the function archive.
package testkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/bus"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// PubSub is Pub/Sub in memory: a pstest server of the test's own and a Bus
// connected to it.
type PubSub struct {
	*bus.Bus
	Server *pstest.Server
}

// MustBus starts a pstest server, connects a Bus for project to it and
// creates topics. Both are closed when tb ends.
func MustBus(tb testing.TB, project string, topics ...string) *PubSub {
	tb.Helper()
	srv := pstest.NewServer()
	tb.Cleanup(func() { srv.Close() })
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatalf("testkit: connect to pstest: %v", err)
	}
	b, err := bus.New(context.Background(), project, option.WithGRPCConn(conn))
	if err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	tb.Cleanup(func() { b.Close() })
	ps := &PubSub{Bus: b, Server: srv}
	for _, t := range topics {
		if err := b.EnsureTopic(context.Background(), t); err != nil {
			tb.Fatalf("testkit: %v", err)
		}
	}
	return ps
}

// MustSubscription creates the pull subscription id on topic, whose ack
// deadline is ackDeadline.
func (ps *PubSub) MustSubscription(tb testing.TB, id, topic string, ackDeadline time.Duration) {
	tb.Helper()
	if err := ps.EnsureSubscription(context.Background(), id, topic, ackDeadline); err != nil {
		tb.Fatalf("testkit: %v", err)
	}
}

// Published counts the messages published to topic so far.
func (ps *PubSub) Published(topic string) int {
	n := 0
	for _, m := range ps.Server.Messages() {
		if strings.HasSuffix(m.Topic, "/topics/"+topic) {
			n++
		}
	}
	return n
}

var (
	datasetSeq   atomic.Int64
	datasetNames sync.Map // testing.TB → its dataset name
)

// Dataset names a BigQuery dataset of tb's own: t<n>_<the test's name>, with
// every character BigQuery does not take in a name made an underscore. The
// same tb gets the same name each time; another test (or the same test run
// again with -count) gets another, so tests can share one emulator.
func Dataset(tb testing.TB) string {
	if name, ok := datasetNames.Load(tb); ok {
		return name.(string)
	}
	clean := strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, tb.Name())
	name, _ := datasetNames.LoadOrStore(tb, fmt.Sprintf("t%d_%s", datasetSeq.Add(1), clean))
	return name.(string)
}

// Buffer is a bytes.Buffer safe for concurrent writers (a logger's
// goroutines) and the test reading it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// MustLogin logs web in to sim with the e-mailed code, as CompleteLogin
// does, and returns the session token exactly as the web system gave it.
func MustLogin(tb testing.TB, sim *websim.Server, web *websystem.Client, email, password string) string {
	tb.Helper()
	ctx := context.Background()
	tmp, err := web.StartLogin(ctx, email, password)
	if err != nil {
		tb.Fatalf("StartLogin: %v", err)
	}
	code, _, _ := sim.LastCode()
	token, err := web.FinishLogin(ctx, tmp, code)
	if err != nil {
		tb.Fatalf("FinishLogin: %v", err)
	}
	return token
}

// Credential is a test credential drawn at random for this test process:
// kind (what it stands for) and 26 random characters. No fixed password or
// token sits in the sources, and a leak check that finds one in a log line
// cannot have matched it by coincidence.
func Credential(kind string) string { return kind + "-" + rand.Text() }
