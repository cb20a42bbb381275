package saml2sp_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
)

func TestMemoryReplayCache(t *testing.T) {
	ctx := context.Background()
	now := testNow
	clock := func() time.Time { return now }

	t.Run("second use is a replay until expiry", func(t *testing.T) {
		c := saml2sp.NewMemoryReplayCache(10, clock)
		require.NoError(t, c.CheckAndStore(ctx, "a", now.Add(time.Minute)))
		require.ErrorIs(t, c.CheckAndStore(ctx, "a", now.Add(time.Minute)), saml2sp.ErrReplay)
		now = now.Add(time.Minute)
		require.NoError(t, c.CheckAndStore(ctx, "a", now.Add(time.Minute)), "expired entries are forgotten")
	})
	t.Run("full cache fails closed, then recovers as entries expire", func(t *testing.T) {
		c := saml2sp.NewMemoryReplayCache(2, clock)
		require.NoError(t, c.CheckAndStore(ctx, "x", now.Add(time.Second)))
		require.NoError(t, c.CheckAndStore(ctx, "y", now.Add(time.Hour)))
		err := c.CheckAndStore(ctx, "z", now.Add(time.Hour))
		require.Error(t, err)
		assert.NotErrorIs(t, err, saml2sp.ErrReplay)
		now = now.Add(2 * time.Second)
		require.NoError(t, c.CheckAndStore(ctx, "z", now.Add(time.Hour)))
		require.ErrorIs(t, c.CheckAndStore(ctx, "y", now.Add(time.Hour)), saml2sp.ErrReplay)
	})
	t.Run("exactly one of concurrent uses wins", func(t *testing.T) {
		c := saml2sp.NewMemoryReplayCache(100, clock)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if c.CheckAndStore(ctx, "same", now.Add(time.Minute)) == nil {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
	})
}
