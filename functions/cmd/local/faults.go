package main

import (
	"fmt"
	"io"
	"path"
	"sync"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/chain"
)

// failPublishOnce makes pstest answer the first publish to topic of each
// session (--fail-publish-once) with FAILED_PRECONDITION, a code the bus does
// not retry: the publishing function sees the publish fail, its invocation
// fails, and the relay delivers its event again. A message without a session
// counts as its own session. Each fault is reported on w.
func failPublishOnce(topic string, w io.Writer) pstest.ServerReactorOption {
	return pstest.ServerReactorOption{FuncName: "Publish",
		Reactor: &publishFault{topic: topic, failed: map[string]bool{}, report: w}}
}

const noSession = "\x00message:"

type publishFault struct {
	topic  string
	report io.Writer

	mu     sync.Mutex
	failed map[string]bool // sessions whose publish to topic failed once
}

// React fails a publish request to the topic when it holds a message of a
// session not failed yet (pstest calls it under its own lock).
func (f *publishFault) React(req any) (handled bool, ret any, err error) {
	r, ok := req.(*pb.PublishRequest)
	if !ok || path.Base(r.GetTopic()) != f.topic {
		return false, nil, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var fresh []string
	for _, m := range r.GetMessages() {
		key := m.GetAttributes()[chain.AttrSessionID]
		if key == "" {
			key = noSession + string(m.GetData())
		}
		if !f.failed[key] {
			f.failed[key] = true
			fresh = append(fresh, key)
		}
	}
	if len(fresh) == 0 {
		return false, nil, nil
	}
	for _, s := range fresh {
		if len(s) > len(noSession) && s[:len(noSession)] == noSession {
			s = "(a message without one)"
		}
		fmt.Fprintf(f.report, "fault: publish to %s failed once for session %s\n", f.topic, s)
	}
	return true, &pb.PublishResponse{}, status.Errorf(codes.FailedPrecondition, "publish to %s refused once (--fail-publish-once)", f.topic)
}
