package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/pgstore"
)

func TestDeleteExpired(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	alice := saml2sp.Revocation{IdP: "https://idp.example", NameID: "alice"}
	bob := saml2sp.Revocation{IdP: "https://idp.example", NameID: "bob"}
	carol := saml2sp.Revocation{IdP: "https://idp.example", NameID: "carol"}

	t.Run("only records expired more than Grace ago", func(t *testing.T) {
		prefix := freshPrefix()
		clock := &fixedClock{t0}
		s, pool := newStore(t, dsn, pgstore.Options{TablePrefix: prefix, Clock: clock.now})
		long := t0.Add(-pgstore.Grace - time.Second)
		require.NoError(t, s.CheckAndStore(ctx, "old", long))
		require.NoError(t, s.CheckAndStore(ctx, "recent", t0.Add(-time.Minute)))
		require.NoError(t, s.CheckAndStore(ctx, "live", t0.Add(time.Hour)))
		require.NoError(t, s.Revoke(ctx, alice, long.Add(-time.Hour), long))
		require.NoError(t, s.Revoke(ctx, bob, t0.Add(-time.Hour), t0.Add(-time.Minute)))
		require.NoError(t, s.Revoke(ctx, carol, t0.Add(-time.Hour), t0.Add(time.Hour)))

		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(2), n, "one replay record, one revocation")
		assert.Len(t, replayRows(t, pool, prefix), 2)
		var revocations int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM "`+prefix+`revocation"`).Scan(&revocations))
		assert.Equal(t, 2, revocations)
		for _, id := range []string{"recent", "live"} {
			require.ErrorIs(t, s.CheckAndStore(ctx, id, t0.Add(time.Hour)), saml2sp.ErrReplay, id)
		}
		got, err := s.Revoked(ctx, carol, t0.Add(-2*time.Hour))
		require.NoError(t, err)
		assert.True(t, got)

		n, err = s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "nothing left to delete")
	})

	t.Run("in batches, however many", func(t *testing.T) {
		prefix := freshPrefix()
		clock := &fixedClock{t0}
		s, pool := newStore(t, dsn, pgstore.Options{TablePrefix: prefix, Clock: clock.now})
		const rows = 12345
		_, err := pool.Exec(ctx, `INSERT INTO "`+prefix+`replay" (key, owner, expires_at)
			SELECT sha256(i::text::bytea), '\x00'::bytea, $1 FROM generate_series(1, $2) AS i`, t0.Add(-24*time.Hour), rows)
		require.NoError(t, err)
		require.NoError(t, s.CheckAndStore(ctx, "live", t0.Add(time.Hour)))
		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(rows), n)
		assert.Len(t, replayRows(t, pool, prefix), 1)
	})

	t.Run("a failure is unavailable", func(t *testing.T) {
		s, err := pgstore.New(newPool(t, dsn), pgstore.Options{TablePrefix: freshPrefix()})
		require.NoError(t, err)
		_, err = s.DeleteExpired(ctx)
		require.ErrorIs(t, err, saml2sp.ErrUnavailable)
	})
}

func TestRunCleanup(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()

	t.Run("deletes on every tick until ctx ends", func(t *testing.T) {
		prefix := freshPrefix()
		clock := &lockedClock{t: t0}
		s, pool := newStore(t, dsn, pgstore.Options{TablePrefix: prefix, Clock: clock.now})
		require.NoError(t, s.CheckAndStore(ctx, "a", t0.Add(time.Minute)))
		run, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.RunCleanup(run, 20*time.Millisecond) }()

		clock.set(t0.Add(time.Minute + pgstore.Grace))
		require.Eventually(t, func() bool { return len(replayRows(t, pool, prefix)) == 0 }, 5*time.Second, 10*time.Millisecond)
		// And again on a later tick.
		require.NoError(t, s.CheckAndStore(ctx, "b", clock.now().Add(time.Minute)))
		clock.set(clock.now().Add(time.Minute + pgstore.Grace))
		require.Eventually(t, func() bool { return len(replayRows(t, pool, prefix)) == 0 }, 5*time.Second, 10*time.Millisecond)

		stop()
		select {
		case err := <-done:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(5 * time.Second):
			t.Fatal("RunCleanup did not return when its context ended")
		}
	})

	t.Run("logs failures and keeps going", func(t *testing.T) {
		var logs syncBuffer
		s, err := pgstore.New(newPool(t, dsn), pgstore.Options{
			TablePrefix: freshPrefix(),
			Logger:      slog.New(slog.NewTextHandler(&logs, nil)),
		})
		require.NoError(t, err)
		run, stop := context.WithTimeout(ctx, 300*time.Millisecond)
		defer stop()
		err = s.RunCleanup(run, 20*time.Millisecond)
		require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
		assert.GreaterOrEqual(t, bytes.Count([]byte(logs.String()), []byte("pgstore: deleting expired records failed")), 2, logs.String())
	})
}

// lockedClock is a clock that a test changes while RunCleanup reads it.
type lockedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lockedClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *lockedClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }
