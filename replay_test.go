package saml2sp_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
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
		require.ErrorIs(t, err, saml2sp.ErrUnavailable, "full: a 503, not a replay")
		assert.NotErrorIs(t, err, saml2sp.ErrReplay)
		require.ErrorIs(t, c.CheckAndStore(ctx, "x", now.Add(time.Hour)), saml2sp.ErrReplay, "live IDs are never evicted")
		require.ErrorIs(t, c.CheckAndStore(ctx, "y", now.Add(time.Hour)), saml2sp.ErrReplay, "live IDs are never evicted")
		now = now.Add(2 * time.Second)
		require.NoError(t, c.CheckAndStore(ctx, "z", now.Add(time.Hour)))
		require.ErrorIs(t, c.CheckAndStore(ctx, "y", now.Add(time.Hour)), saml2sp.ErrReplay)
	})
}

// TestMemoryReplayCacheContract: the contract every ReplayCache keeps.
func TestMemoryReplayCacheContract(t *testing.T) {
	saml2sptest.TestReplayCache(t, func(*testing.T) saml2sp.ReplayCache {
		return saml2sp.NewMemoryReplayCache(saml2sp.DefaultReplayCacheSize, nil)
	})
}

// TestMemoryReplayCacheKeysAreDigests: an entry costs the same whatever the
// ID's length, and IDs that differ only after a common prefix stay apart.
func TestMemoryReplayCacheKeysAreDigests(t *testing.T) {
	ctx := context.Background()
	c := saml2sp.NewMemoryReplayCache(10, func() time.Time { return testNow })
	long := strings.Repeat("x", 1<<20)
	require.NoError(t, c.CheckAndStore(ctx, long+"a", testNow.Add(time.Minute)))
	require.NoError(t, c.CheckAndStore(ctx, long+"b", testNow.Add(time.Minute)))
	require.ErrorIs(t, c.CheckAndStore(ctx, long+"a", testNow.Add(time.Minute)), saml2sp.ErrReplay)
	assert.Equal(t, 2, c.Len())
}

// TestMemoryReplayCacheExpiryOrder: entries expire in expiry order whatever
// the order they came in (the heap), and a re-stored ID keeps its own
// expiry.
func TestMemoryReplayCacheExpiryOrder(t *testing.T) {
	ctx := context.Background()
	now := testNow
	c := saml2sp.NewMemoryReplayCache(100, func() time.Time { return now })
	for i, d := range []time.Duration{50, 10, 40, 20, 30} {
		require.NoError(t, c.CheckAndStore(ctx, fmt.Sprint("id", i), now.Add(d*time.Second)))
	}
	now = now.Add(25 * time.Second)
	require.NoError(t, c.CheckAndStore(ctx, "probe", now.Add(time.Hour)))
	assert.Equal(t, 4, c.Len(), "10 s and 20 s gone, 30, 40, 50 and the probe left")
	require.ErrorIs(t, c.CheckAndStore(ctx, "id4", now.Add(time.Hour)), saml2sp.ErrReplay, "the 30 s entry is live")
	require.NoError(t, c.CheckAndStore(ctx, "id1", now.Add(time.Hour)), "the 10 s entry expired")
}

// BenchmarkMemoryReplayCacheFull sustains 1,000 logins a second for the
// whole default replay window (MaxAssertionAge + 2 x ClockSkew = 13 min):
// 780,000 live IDs, each expiring 13 minutes after it came, then keeps
// going (every new ID finds the oldest expired). It reports the heap the
// full cache holds (MB-live, after a GC) and the cost per login.
func BenchmarkMemoryReplayCacheFull(b *testing.B) {
	const rate = 1000
	window := saml2sp.DefaultMaxAssertionAge + 2*saml2sp.DefaultClockSkew
	live := int(window.Seconds()) * rate
	ctx := context.Background()
	now := testNow
	c := saml2sp.NewMemoryReplayCache(0, func() time.Time { return now })
	id := func(i int) string { return fmt.Sprintf("request:https://sp.example.com/saml/metadata:_%040x", i) }
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range live {
		now = testNow.Add(time.Duration(i) * time.Second / rate)
		if err := c.CheckAndStore(ctx, id(i), now.Add(window)); err != nil {
			b.Fatal(err)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ResetTimer()
	i := live
	for b.Loop() {
		now = testNow.Add(time.Duration(i) * time.Second / rate)
		if err := c.CheckAndStore(ctx, id(i), now.Add(window)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	// Reported after the loop: ResetTimer drops metrics reported before.
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB-live")
	b.ReportMetric(float64(live), "IDs")
}

// TestMemoryReplayCacheReplicatedTenants: two TenantHandlers on one
// in-process cache (what a single process with two handlers would share).
func TestMemoryReplayCacheReplicatedTenants(t *testing.T) {
	cache := saml2sp.NewMemoryReplayCache(saml2sp.DefaultReplayCacheSize, nil)
	saml2sptest.TestReplicatedTenantLogins(t, func(*testing.T) saml2sp.ReplayCache { return cache })
}
