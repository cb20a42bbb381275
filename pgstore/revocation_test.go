package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/pgstore"
)

// TestRevocationStore: what PostgreSQL adds to the contract (see
// TestContract): expiry by the store's clock, both maxima kept, records
// shared by replicas, a missing table.
func TestRevocationStore(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	alice := saml2sp.Revocation{IdP: "https://idp-a.example", NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		NameID: "alice@example.com", SessionIndex: "_s1"}
	with := func(f func(*saml2sp.Revocation)) saml2sp.Revocation { r := alice; f(&r); return r }
	allOfAlice := with(func(r *saml2sp.Revocation) { r.SessionIndex = "" })

	cases := []struct {
		name    string
		revoke  saml2sp.Revocation
		check   saml2sp.Revocation
		started time.Time
		now     time.Time
		want    bool
	}{
		{"still there just before it expires", allOfAlice, alice, t0.Add(-time.Hour), t0.Add(24*time.Hour - time.Second), true},
		{"forgotten when it expires", allOfAlice, alice, t0.Add(-time.Hour), t0.Add(24 * time.Hour), false},
		{"forgotten after it expires", allOfAlice, alice, t0.Add(-time.Hour), t0.Add(25 * time.Hour), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fixedClock{t0}
			s, _ := newStore(t, dsn, pgstore.Options{Clock: clock.now})
			require.NoError(t, s.Revoke(ctx, tc.revoke, t0, t0.Add(24*time.Hour)))
			clock.t = tc.now
			got, err := s.Revoked(ctx, tc.check, tc.started)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)

		})
	}

	t.Run("revoking again keeps the later times", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			order []time.Duration // at of each Revoke, after t0; expires the reverse
		}{
			{"later first", []time.Duration{time.Hour, 0}},
			{"later last", []time.Duration{0, time.Hour}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				clock := &fixedClock{t0}
				s, _ := newStore(t, dsn, pgstore.Options{Clock: clock.now})
				// The record with the later at expires sooner: both
				// maxima must survive, not one record's pair.
				for _, d := range tc.order {
					require.NoError(t, s.Revoke(ctx, allOfAlice, t0.Add(d), t0.Add(24*time.Hour-d)))
				}
				got, err := s.Revoked(ctx, alice, t0.Add(30*time.Minute))
				require.NoError(t, err)
				assert.True(t, got, "the later at")
				clock.t = t0.Add(23*time.Hour + 30*time.Minute)
				got, err = s.Revoked(ctx, alice, t0.Add(30*time.Minute))
				require.NoError(t, err)
				assert.True(t, got, "the later expires")
			})
		}
	})
	t.Run("replicas share the records", func(t *testing.T) {
		prefix := freshPrefix()
		a, _ := newStore(t, dsn, pgstore.Options{TablePrefix: prefix})
		b, err := pgstore.New(newPool(t, dsn), pgstore.Options{TablePrefix: prefix})
		require.NoError(t, err)
		now := time.Now()
		require.NoError(t, a.Revoke(ctx, allOfAlice, now, now.Add(time.Hour)))
		got, err := b.Revoked(ctx, alice, now.Add(-time.Minute))
		require.NoError(t, err)
		assert.True(t, got)
	})
	t.Run("a missing table is unavailable", func(t *testing.T) {
		s, err := pgstore.New(newPool(t, dsn), pgstore.Options{TablePrefix: freshPrefix()})
		require.NoError(t, err)
		require.ErrorIs(t, s.Revoke(ctx, alice, t0, t0.Add(time.Hour)), saml2sp.ErrUnavailable)
		_, err = s.Revoked(ctx, alice, t0)
		require.ErrorIs(t, err, saml2sp.ErrUnavailable)
	})
}
