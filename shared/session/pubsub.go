package session

import (
	"context"
	"errors"
	"time"

	"github.com/helpdesk-bq/tiflux-pipeline/shared/bus"
)

// BusPuller is the Puller of the deployed functions: it takes the pending
// logins from a Pub/Sub subscription through b. Each message's lease is its
// *bus.Leased.
type BusPuller struct{ Bus *bus.Bus }

// Pull takes what waits on sub (see Puller); bus.ErrNoMessages becomes an
// empty result.
func (p BusPuller) Pull(ctx context.Context, sub string, wait time.Duration) ([]Pulled, error) {
	got, err := p.Bus.Pull(ctx, sub, wait)
	if errors.Is(err, bus.ErrNoMessages) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Pulled, len(got))
	for i, l := range got {
		out[i] = Pulled{Message: l.Message, ID: l.ID, Lease: l}
	}
	return out, nil
}

var _ Lease = (*bus.Leased)(nil)
