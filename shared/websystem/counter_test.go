package websystem_test

import (
	"context"
	"sync"
	"testing"

	"github.com/helpdesk-bq/tiflux-pipeline/internal/localrun/websim"
	"github.com/helpdesk-bq/tiflux-pipeline/shared/websystem"
)

// A Counter on a context counts that context's requests, retries and failed
// answers included, and none sent on other contexts of the same client.
func TestCounterCountsOnlyItsContextsRequestsRetriesIncluded(t *testing.T) {
	tp := &tamper{path: "/login", n: 2, status: 503, body: "down"}
	sim, c, _ := MustSim(t, websim.Options{Tickets: 5}, tp, websystem.Options{MaxRetries: 3})
	var login, other websystem.Counter
	ctx := context.Background()

	tmp, err := c.StartLogin(websystem.CountRequests(ctx, &login), email, password) // 2 × 503, then 200
	if err != nil {
		t.Fatal(err)
	}
	code, _, _ := sim.LastCode()
	if _, err := c.FinishLogin(websystem.CountRequests(ctx, &login), tmp, wrongCode(code)); err == nil {
		t.Fatal("a wrong code was accepted") // one request: 401 is not retried
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ { // concurrent requests on another counter and on none
		wg.Add(2)
		go func() { defer wg.Done(); _ = c.Logout(websystem.CountRequests(ctx, &other), "Bearer nobody") }()
		go func() { defer wg.Done(); _ = c.Logout(ctx, "Bearer nobody") }()
	}
	wg.Wait()

	if got := login.Requests(); got != 4 {
		t.Errorf("login counter: got %d, want 4 (3 login tries, 1 code)", got)
	}
	if got := other.Requests(); got != 4 {
		t.Errorf("other counter: got %d, want 4", got)
	}
	if got := c.Stats().Requests; got != 12 {
		t.Errorf("client Stats: got %d, want 12 (all of them)", got)
	}
}

func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}
