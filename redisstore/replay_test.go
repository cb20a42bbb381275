package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/redisstore"
)

// newStore returns a Store on srv with its own client.
func newStore(t testing.TB, srv *redisServer, opts redisstore.Options, mods ...func(*redis.Options)) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(srv.client(t, mods...), opts)
	require.NoError(t, err)
	return s
}

func TestNew(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	cases := []struct {
		name    string
		client  *redis.Client
		opts    redisstore.Options
		wantErr string
	}{
		{"defaults", c, redisstore.Options{}, ""},
		{"every option", c, redisstore.Options{Prefix: "app:", Timeout: time.Second, Clock: time.Now}, ""},
		{"no client", nil, redisstore.Options{}, "client is nil"},
		{"negative timeout", c, redisstore.Options{Timeout: -time.Second}, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := redisstore.New(tc.client, tc.opts)
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.NotNil(t, s)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			assert.Nil(t, s)
		})
	}
}

// TestReplayCache is the ReplayCache contract on a real Redis.
func TestReplayCache(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	s := newStore(t, srv, redisstore.Options{})
	other := newStore(t, srv, redisstore.Options{}) // another replica: its own client
	raw := srv.client(t)
	later := func() time.Time { return time.Now().Add(10 * time.Minute) }

	t.Run("a second use is a replay, on any replica", func(t *testing.T) {
		require.NoError(t, s.CheckAndStore(ctx, "assertion:idp:_a1", later()))
		for _, st := range []*redisstore.Store{s, other} {
			err := st.CheckAndStore(ctx, "assertion:idp:_a1", later())
			require.ErrorIs(t, err, saml2sp.ErrReplay)
			assert.NotErrorIs(t, err, saml2sp.ErrUnavailable)
			assert.Contains(t, err.Error(), `"assertion:idp:_a1" was already used`)
		}
	})
	t.Run("other IDs are independent", func(t *testing.T) {
		for _, id := range []string{"assertion:idp:_a2", "assertion:idp2:_a2", "request:sp:_a2", "logout:idp:_a2"} {
			require.NoError(t, s.CheckAndStore(ctx, id, later()), id)
		}
	})
	t.Run("a record lives until expires, by the store's clock", func(t *testing.T) {
		t0 := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC) // far from the server's clock
		past := newStore(t, srv, redisstore.Options{Clock: func() time.Time { return t0 }})
		require.NoError(t, past.CheckAndStore(ctx, "assertion:idp:_clock", t0.Add(10*time.Minute)))
		ttl, err := raw.PTTL(ctx, replayKey("saml2sp:", "assertion:idp:_clock")).Result()
		require.NoError(t, err)
		assert.InDelta(t, (10 * time.Minute).Seconds(), ttl.Seconds(), 2)
	})
	t.Run("expired: the ID may be used again", func(t *testing.T) {
		require.NoError(t, s.CheckAndStore(ctx, "assertion:idp:_short", time.Now().Add(100*time.Millisecond)))
		require.ErrorIs(t, s.CheckAndStore(ctx, "assertion:idp:_short", later()), saml2sp.ErrReplay)
		time.Sleep(250 * time.Millisecond)
		require.NoError(t, s.CheckAndStore(ctx, "assertion:idp:_short", later()))
	})
	t.Run("keys are a digest of the ID, whatever its length", func(t *testing.T) {
		long := "assertion:https://idp.example/:" + strings.Repeat("x", 1<<20)
		require.NoError(t, s.CheckAndStore(ctx, long, later()))
		require.ErrorIs(t, other.CheckAndStore(ctx, long, later()), saml2sp.ErrReplay)
		key := replayKey("saml2sp:", long)
		assert.Len(t, key, len("saml2sp:replay:")+64)
		n, err := raw.Exists(ctx, key).Result()
		require.NoError(t, err)
		assert.EqualValues(t, 1, n, "stored under saml2sp:replay:<hex SHA-256 of the ID>")
		var longest int
		iter := raw.Scan(ctx, 0, "*", 100).Iterator()
		for iter.Next(ctx) {
			longest = max(longest, len(iter.Val()))
		}
		require.NoError(t, iter.Err())
		assert.Equal(t, len(key), longest, "no key holds the raw ID")
		v, err := raw.Get(ctx, key).Result()
		require.NoError(t, err)
		assert.Less(t, len(v), 64, "the value is a short owner token, not the ID")
	})
	t.Run("the prefix separates stores", func(t *testing.T) {
		app2 := newStore(t, srv, redisstore.Options{Prefix: "app2:"})
		require.NoError(t, app2.CheckAndStore(ctx, "assertion:idp:_a1", later()), "saml2sp: holds it, app2: does not")
		require.ErrorIs(t, app2.CheckAndStore(ctx, "assertion:idp:_a1", later()), saml2sp.ErrReplay)
		n, err := raw.Exists(ctx, replayKey("app2:", "assertion:idp:_a1")).Result()
		require.NoError(t, err)
		assert.EqualValues(t, 1, n)
	})
}

// TestReplayCacheAtomic: of 40 concurrent uses of one ID, spread over two
// replicas' stores, exactly one succeeds and every other is a replay.
func TestReplayCacheAtomic(t *testing.T) {
	srv := startRedis(t)
	stores := []*redisstore.Store{newStore(t, srv, redisstore.Options{}), newStore(t, srv, redisstore.Options{})}
	for round := range 5 {
		id := "assertion:https://idp.example/:_race" + string(rune('a'+round))
		start := make(chan struct{})
		errs := make([]error, 40)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				<-start
				errs[i] = stores[i%2].CheckAndStore(context.Background(), id, time.Now().Add(time.Minute))
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			require.ErrorIs(t, err, saml2sp.ErrReplay)
		}
		require.Equal(t, 1, ok, "round %d: exactly one use succeeds", round)
	}
}

// replayKey is the documented key layout: prefix, "replay:", and the hex
// SHA-256 of the ID.
func replayKey(prefix, id string) string {
	sum := sha256.Sum256([]byte(id))
	return prefix + "replay:" + hex.EncodeToString(sum[:])
}
