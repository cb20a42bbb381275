package pgstore

import (
	"context"
	"math/rand/v2"
	"time"
)

// DefaultCleanupInterval is how often RunCleanup deletes expired records
// when given no interval. A replay record lives for the message's
// lifetime plus saml2sp's clock skew plus Grace, about 17 minutes with
// the library's defaults; cleaning every 5 minutes keeps the tables
// within about 1.3 times their live rows, and each run is a cheap range
// delete on the expires_at index.
const DefaultCleanupInterval = 5 * time.Minute

// cleanupBatch is how many rows one DELETE removes.
const cleanupBatch = 5000

// DeleteExpired deletes the records of both tables that expired more
// than Grace ago by the store's Clock, and returns how many it deleted.
// It deletes in batches, each bounded by the store's Timeout (when ctx
// has no earlier deadline), until a batch comes back short.
//
// Expired records never change an answer (CheckAndStore takes over an
// expired record, Revoked ignores one): deleting them only keeps the
// tables small. Several replicas may run it at once.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-Grace)
	var total int64
	for _, stmt := range []string{s.sql.deleteReplay, s.sql.deleteRevocation} {
		for {
			n, err := s.deleteBatch(ctx, stmt, cutoff)
			total += n
			if err != nil {
				return total, unavailable("delete expired", err)
			}
			if n < cleanupBatch {
				break
			}
		}
	}
	return total, nil
}

func (s *Store) deleteBatch(ctx context.Context, stmt string, cutoff time.Time) (int64, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, stmt, cutoff, cleanupBatch)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// RunCleanup calls DeleteExpired every interval (<= 0:
// DefaultCleanupInterval, each wait shortened by up to a tenth at random
// so that replicas started together spread out) until ctx ends, and then
// returns ctx's error. Failures are logged and retried at the next tick:
// a database that is down now may be back then. Run it in a goroutine
// of every replica, or of one.
func (s *Store) RunCleanup(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultCleanupInterval
	}
	for {
		wait := interval - time.Duration(rand.Int64N(int64(interval)/10+1))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		n, err := s.DeleteExpired(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.WarnContext(ctx, "pgstore: deleting expired records failed", "error", err.Error(), "deleted", n)
		case n > 0:
			s.logger.DebugContext(ctx, "pgstore: deleted expired records", "deleted", n)
		}
	}
}
