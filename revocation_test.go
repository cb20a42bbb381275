package saml2sp_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
)

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
		{"the session revoked", alice, alice, t0.Add(-time.Hour), t0, true},
		{"every session of the NameID", allOfAlice, alice, t0.Add(-time.Hour), t0, true},
		{"a session without index, all revoked", allOfAlice, allOfAlice, t0.Add(-time.Hour), t0, true},
		{"another session of the NameID", alice, with(func(r *saml2sp.Revocation) { r.SessionIndex = "_s2" }), t0.Add(-time.Hour), t0, false},
		{"a session started after the revocation", allOfAlice, alice, t0.Add(time.Minute), t0.Add(2 * time.Minute), false},
		{"the same NameID at another IdP (tenant)", allOfAlice, with(func(r *saml2sp.Revocation) { r.IdP = "https://idp-b.example" }), t0.Add(-time.Hour), t0, false},
		{"another format", allOfAlice, with(func(r *saml2sp.Revocation) { r.NameIDFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" }), t0.Add(-time.Hour), t0, false},
		{"another qualifier", allOfAlice, with(func(r *saml2sp.Revocation) { r.NameQualifier = "q" }), t0.Add(-time.Hour), t0, false},
		{"a NameID that differs in case", allOfAlice, with(func(r *saml2sp.Revocation) { r.NameID = "Alice@example.com" }), t0.Add(-time.Hour), t0, false},
		{"forgotten after it expires", allOfAlice, alice, t0.Add(-time.Hour), t0.Add(25 * time.Hour), false},
		{"no format is unspecified",
			with(func(r *saml2sp.Revocation) { r.NameIDFormat = ""; r.SessionIndex = "" }),
			with(func(r *saml2sp.Revocation) { r.NameIDFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" }), t0.Add(-time.Hour), t0, true},
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

	t.Run("revoking again keeps the later time", func(t *testing.T) {
		s := saml2sp.NewMemoryRevocationStore(0, func() time.Time { return t0 })
		require.NoError(t, s.Revoke(ctx, allOfAlice, t0.Add(time.Hour), t0.Add(24*time.Hour)))
		require.NoError(t, s.Revoke(ctx, allOfAlice, t0, t0.Add(24*time.Hour)))
		got, err := s.Revoked(ctx, alice, t0.Add(30*time.Minute))
		require.NoError(t, err)
		assert.True(t, got)
	})
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
