package saml2sp_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestMemoryRevocationStoreContract: the contract every RevocationStore
// keeps.
func TestMemoryRevocationStoreContract(t *testing.T) {
	saml2sptest.TestRevocationStore(t, func(*testing.T) saml2sp.RevocationStore {
		return saml2sp.NewMemoryRevocationStore(0, nil)
	})
}

// TestMemoryRevocationStore: expiry by the store's clock, and what it does
// when full.
func TestMemoryRevocationStore(t *testing.T) {
	ctx := context.Background()
	t0 := testNow
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
		{"still there before it expires", allOfAlice, alice, t0.Add(-time.Hour), t0.Add(23 * time.Hour), true},
		{"forgotten after it expires", allOfAlice, alice, t0.Add(-time.Hour), t0.Add(25 * time.Hour), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := t0
			s := saml2sp.NewMemoryRevocationStore(0, func() time.Time { return now })
			require.NoError(t, s.Revoke(ctx, tc.revoke, t0, t0.Add(24*time.Hour)))
			now = tc.now
			got, err := s.Revoked(ctx, tc.check, tc.started)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	t.Run("full: refused, never forgets a live record", func(t *testing.T) {
		now := t0
		s := saml2sp.NewMemoryRevocationStore(2, func() time.Time { return now })
		require.NoError(t, s.Revoke(ctx, alice, t0, t0.Add(time.Hour)))
		require.NoError(t, s.Revoke(ctx, allOfAlice, t0, t0.Add(2*time.Hour)))
		err := s.Revoke(ctx, with(func(r *saml2sp.Revocation) { r.NameID = "bob" }), t0, t0.Add(time.Hour))
		require.ErrorIs(t, err, saml2sp.ErrUnavailable)
		got, err := s.Revoked(ctx, alice, t0.Add(-time.Minute))
		require.NoError(t, err)
		assert.True(t, got)
		// Once one has expired there is room again.
		now = t0.Add(90 * time.Minute)
		require.NoError(t, s.Revoke(ctx, with(func(r *saml2sp.Revocation) { r.NameID = "bob" }), now, now.Add(time.Hour)))
	})
	t.Run("keys differ field by field", func(t *testing.T) {
		a := saml2sp.Revocation{IdP: "ab", NameID: "c"}
		b := saml2sp.Revocation{IdP: "a", NameID: "bc"}
		assert.NotEqual(t, a.Key(), b.Key())
	})
}
