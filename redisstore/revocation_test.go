package redisstore_test

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/redisstore"
)

// TestRevocationStore: what Redis adds to the contract (see
// TestContract): Redis's own expiry, and the later time and expiry kept.
func TestRevocationStore(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	raw := srv.client(t)
	t0 := time.Now().Truncate(time.Second)
	alice := saml2sp.Revocation{IdP: "https://idp-a.example", NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		NameID: "alice@example.com", SessionIndex: "_s1"}
	with := func(f func(*saml2sp.Revocation)) saml2sp.Revocation { r := alice; f(&r); return r }
	allOfAlice := with(func(r *saml2sp.Revocation) { r.SessionIndex = "" })

	cases := []struct {
		name    string
		revoke  saml2sp.Revocation
		lives   time.Duration // expires - at; 0: a day
		check   saml2sp.Revocation
		started time.Time
		wait    time.Duration // before the check
		want    bool
	}{
		{"forgotten after it expires", allOfAlice, 100 * time.Millisecond, alice, t0.Add(-time.Hour), 250 * time.Millisecond, false},
		{"kept until it expires", allOfAlice, 2 * time.Second, alice, t0.Add(-time.Hour), 250 * time.Millisecond, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Each case on its own keys; the clock is the revocation's time,
			// so lives is the record's time to live.
			s := newStore(t, srv, redisstore.Options{Prefix: "case" + string(rune('a'+i)) + ":", Clock: func() time.Time { return t0 }})
			lives := tc.lives
			if lives == 0 {
				lives = 24 * time.Hour
			}
			require.NoError(t, s.Revoke(ctx, tc.revoke, t0, t0.Add(lives)))
			time.Sleep(tc.wait)
			got, err := s.Revoked(ctx, tc.check, tc.started)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	t.Run("revoking again keeps the later time", func(t *testing.T) {
		s := newStore(t, srv, redisstore.Options{Prefix: "later:", Clock: func() time.Time { return t0 }})
		require.NoError(t, s.Revoke(ctx, allOfAlice, t0.Add(time.Hour), t0.Add(24*time.Hour)))
		require.NoError(t, s.Revoke(ctx, allOfAlice, t0, t0.Add(24*time.Hour)))
		got, err := s.Revoked(ctx, alice, t0.Add(30*time.Minute))
		require.NoError(t, err)
		assert.True(t, got)
		require.NoError(t, s.Revoke(ctx, allOfAlice, t0.Add(2*time.Hour), t0.Add(24*time.Hour)))
		got, err = s.Revoked(ctx, alice, t0.Add(90*time.Minute))
		require.NoError(t, err)
		assert.True(t, got, "and a later one replaces it")
	})
	t.Run("revoking again keeps the later expiry", func(t *testing.T) {
		s := newStore(t, srv, redisstore.Options{Prefix: "expiry:", Clock: func() time.Time { return t0 }})
		key := "expiry:revoked:" + hexKey(allOfAlice)
		pttl := func() time.Duration {
			d, err := raw.PTTL(ctx, key).Result()
			require.NoError(t, err)
			return d
		}
		require.NoError(t, s.Revoke(ctx, allOfAlice, t0, t0.Add(8*time.Hour)))
		assert.InDelta(t, (8 * time.Hour).Seconds(), pttl().Seconds(), 2)
		require.NoError(t, s.Revoke(ctx, allOfAlice, t0.Add(time.Minute), t0.Add(time.Hour)))
		assert.InDelta(t, (8 * time.Hour).Seconds(), pttl().Seconds(), 2, "a shorter expiry does not shorten it")
		require.NoError(t, s.Revoke(ctx, allOfAlice, t0, t0.Add(12*time.Hour)))
		assert.InDelta(t, (12 * time.Hour).Seconds(), pttl().Seconds(), 2, "a longer one extends it")
		got, err := s.Revoked(ctx, alice, t0.Add(time.Minute))
		require.NoError(t, err)
		assert.True(t, got, "the later time of the second Revoke stayed")
	})
	t.Run("concurrent revokes keep the latest time", func(t *testing.T) {
		s := newStore(t, srv, redisstore.Options{Prefix: "race:", Clock: func() time.Time { return t0 }})
		other := newStore(t, srv, redisstore.Options{Prefix: "race:", Clock: func() time.Time { return t0 }})
		errs := make(chan error, 40)
		for i := range 40 {
			st := []*redisstore.Store{s, other}[i%2]
			go func() { errs <- st.Revoke(ctx, allOfAlice, t0.Add(time.Duration(i)*time.Minute), t0.Add(24*time.Hour)) }()
		}
		for range 40 {
			require.NoError(t, <-errs)
		}
		got, err := s.Revoked(ctx, alice, t0.Add(39*time.Minute))
		require.NoError(t, err)
		assert.True(t, got, "the latest of 40 concurrent revocations")
	})
	t.Run("a time is rounded up, never down", func(t *testing.T) {
		// Redis keeps microseconds: a revocation at t0+500ns still ends a
		// session started at that very instant.
		s := newStore(t, srv, redisstore.Options{Prefix: "ns:"})
		at := t0.Add(500 * time.Nanosecond)
		require.NoError(t, s.Revoke(ctx, allOfAlice, at, at.Add(time.Hour)))
		got, err := s.Revoked(ctx, alice, at)
		require.NoError(t, err)
		assert.True(t, got)
	})
	t.Run("a record that is not a time fails closed", func(t *testing.T) {
		s := newStore(t, srv, redisstore.Options{Prefix: "bad:"})
		require.NoError(t, raw.Set(ctx, "bad:revoked:"+hexKey(allOfAlice), "garbage", time.Minute).Err())
		_, err := s.Revoked(ctx, alice, t0)
		require.ErrorIs(t, err, saml2sp.ErrUnavailable)
	})
}

func hexKey(r saml2sp.Revocation) string {
	k := r.Key()
	return hex.EncodeToString(k[:])
}
