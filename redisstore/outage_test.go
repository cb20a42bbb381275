package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/redisstore"
)

// storeCalls runs each method of the Store once and returns its error.
var storeCalls = []struct {
	name string
	call func(ctx context.Context, s *redisstore.Store, id string) error
}{
	{"CheckAndStore", func(ctx context.Context, s *redisstore.Store, id string) error {
		return s.CheckAndStore(ctx, "assertion:idp:"+id, time.Now().Add(time.Minute))
	}},
	{"Revoke", func(ctx context.Context, s *redisstore.Store, id string) error {
		return s.Revoke(ctx, saml2sp.Revocation{IdP: "idp", NameID: id}, time.Now(), time.Now().Add(time.Minute))
	}},
	{"Revoked", func(ctx context.Context, s *redisstore.Store, id string) error {
		_, err := s.Revoked(ctx, saml2sp.Revocation{IdP: "idp", NameID: id, SessionIndex: "_s"}, time.Now())
		return err
	}},
}

// requireUnavailable checks a failed call: it matches ErrUnavailable and
// never ErrReplay.
func requireUnavailable(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, saml2sp.ErrUnavailable)
	assert.NotErrorIs(t, err, saml2sp.ErrReplay, "an outage is never a replay")
}

// TestOutageRefused: with the server stopped (connections refused) every
// call fails at once as ErrUnavailable, and works again once it is back.
func TestOutageRefused(t *testing.T) {
	srv := startRedis(t)
	s := newStore(t, srv, redisstore.Options{})
	ctx := context.Background()
	require.NoError(t, s.CheckAndStore(ctx, "assertion:idp:_before", time.Now().Add(time.Minute)))

	srv.Stop()
	for _, c := range storeCalls {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			err := c.call(ctx, s, "_down")
			requireUnavailable(t, err)
			assert.Contains(t, err.Error(), "connection refused")
			assert.Less(t, time.Since(start), redisstore.DefaultTimeout, "a refused connection fails before the timeout")
		})
	}

	srv.Start()
	for _, c := range storeCalls {
		require.NoError(t, c.call(ctx, s, "_after"), "%s once the server is back", c.name)
	}
}

// TestOutageFrozen: a frozen server (SIGSTOP: connections are accepted,
// nothing answers) fails every call as ErrUnavailable by the store's
// timeout, or the caller's earlier deadline, whatever the go-redis client
// is configured to do: even with its defaults (5 s read timeout, context
// deadlines ignored on sockets, 3 retries).
func TestOutageFrozen(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	defaults := func(o *redis.Options) { *o = redis.Options{Addr: o.Addr} }
	cases := []struct {
		name     string
		timeout  time.Duration // Options.Timeout
		deadline time.Duration // the caller's, 0 for none
		client   func(*redis.Options)
		want     time.Duration
	}{
		{"store timeout, client defaults", 300 * time.Millisecond, 0, defaults, 300 * time.Millisecond},
		{"store timeout, recommended client", 300 * time.Millisecond, 0, func(*redis.Options) {}, 300 * time.Millisecond},
		{"an earlier caller deadline wins", 2 * time.Second, 150 * time.Millisecond, defaults, 150 * time.Millisecond},
		{"a later caller deadline does not", 300 * time.Millisecond, time.Minute, defaults, 300 * time.Millisecond},
		{"the default timeout, 2 s", 0, 0, defaults, redisstore.DefaultTimeout},
	}
	stores := make([]*redisstore.Store, len(cases))
	for i, tc := range cases {
		stores[i] = newStore(t, srv, redisstore.Options{Timeout: tc.timeout}, tc.client)
		// A live pooled connection: the frozen server has it open.
		require.NoError(t, stores[i].CheckAndStore(ctx, "warm-up:"+tc.name, time.Now().Add(time.Minute)))
	}

	srv.Freeze()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := storeCalls
			if tc.want >= time.Second {
				calls = calls[:1] // the long ones once
			}
			for _, c := range calls {
				cctx := ctx
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					cctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				start := time.Now()
				err := c.call(cctx, stores[i], "_frozen")
				took := time.Since(start)
				requireUnavailable(t, err)
				assert.True(t, errors.Is(err, context.DeadlineExceeded), "%s: %v", c.name, err)
				assert.GreaterOrEqual(t, took, tc.want-10*time.Millisecond, c.name)
				assert.Less(t, took, tc.want+250*time.Millisecond, "%s: bounded by the timeout", c.name)
			}
		})
	}

	srv.Thaw()
	for i, tc := range cases {
		for _, c := range storeCalls {
			require.NoError(t, c.call(ctx, stores[i], "_thawed:"+tc.name), "%s, %s: once the server answers again", tc.name, c.name)
		}
	}
}

// TestOutageFull: a Redis at its maxmemory with the noeviction policy
// (Redis's default) refuses writes. Replay records and revocations then
// fail as ErrUnavailable (the login fails closed), never as a replay;
// reads still work.
func TestOutageFull(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	s := newStore(t, srv, redisstore.Options{})
	raw := srv.client(t)
	require.NoError(t, s.CheckAndStore(ctx, "assertion:idp:_before", time.Now().Add(time.Minute)))
	require.NoError(t, raw.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	require.NoError(t, raw.ConfigSet(ctx, "maxmemory", "1").Err())
	t.Cleanup(func() { _ = raw.ConfigSet(ctx, "maxmemory", "0").Err() })

	for _, c := range storeCalls[:2] { // the writes
		err := c.call(ctx, s, "_full")
		requireUnavailable(t, err)
		assert.Contains(t, err.Error(), "OOM", c.name)
	}
	err := s.CheckAndStore(ctx, "assertion:idp:_before", time.Now().Add(time.Minute))
	require.Error(t, err)
	assert.NotErrorIs(t, err, saml2sp.ErrReplay, "refused as a write, even for a stored ID")
	_, err = s.Revoked(ctx, saml2sp.Revocation{IdP: "idp", NameID: "_full", SessionIndex: "_s"}, time.Now())
	require.NoError(t, err, "reads still work")

	require.NoError(t, raw.ConfigSet(ctx, "maxmemory", "0").Err())
	require.NoError(t, s.CheckAndStore(ctx, "assertion:idp:_after", time.Now().Add(time.Minute)))
	require.ErrorIs(t, s.CheckAndStore(ctx, "assertion:idp:_before", time.Now().Add(time.Minute)), saml2sp.ErrReplay)
}
