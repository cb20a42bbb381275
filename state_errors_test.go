package saml2sp_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
)

// TestStateCookieErrorsSaySo: when the login state cookie is there but
// does not authenticate (another replica's StateKey) or has expired, the
// login fails with ErrState and a message that names the likely cause,
// instead of a misleading "unexpected InResponseTo".
func TestStateCookieErrorsSaySo(t *testing.T) {
	keyA, keyB := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	now := testNow
	clock := func(c *saml2sp.Config) { c.Clock = func() time.Time { return now } }
	a := newWebApp(t, "https://sp.example.com/saml/", clock, func(c *saml2sp.Config) { c.StateKey = keyA })
	b := newWebApp(t, "https://sp.example.com/saml/", clock, func(c *saml2sp.Config) { c.StateKey = keyB })
	b.idp = a.idp // the same IdP, as two replicas of one app have

	t.Run("another replica's key", func(t *testing.T) {
		id, handle, cookie := a.startLogin("/x")
		w := b.do(http.MethodPost, b.ep.ACSURL, a.responseForm(id, handle), cookie)
		assert.Equal(t, http.StatusForbidden, w.Code)
		require.NotEmpty(t, b.failures)
		err := b.failures[len(b.failures)-1].Err
		require.ErrorIs(t, err, saml2sp.ErrState)
		assert.NotErrorIs(t, err, saml2sp.ErrInResponseTo)
		assert.Contains(t, err.Error(), "Config.StateKey")
		assert.Empty(t, b.logins)
	})
	t.Run("expired", func(t *testing.T) {
		now = testNow
		id, handle, cookie := a.startLogin("/x")
		now = testNow.Add(11 * time.Minute)
		defer func() { now = testNow }()
		w := a.do(http.MethodPost, a.ep.ACSURL, a.responseForm(id, handle), cookie)
		assert.Equal(t, http.StatusForbidden, w.Code)
		err := a.failures[len(a.failures)-1].Err
		require.ErrorIs(t, err, saml2sp.ErrState)
		assert.Contains(t, err.Error(), "expired")
	})
	t.Run("the same key: the login finishes at the other replica", func(t *testing.T) {
		c := newWebApp(t, "https://sp.example.com/saml/", clock, func(c *saml2sp.Config) { c.StateKey = keyA })
		c.idp = a.idp
		id, handle, cookie := a.startLogin("/x")
		w := c.do(http.MethodPost, c.ep.ACSURL, a.responseForm(id, handle), cookie)
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		require.Len(t, c.logins, 1)
	})
}
