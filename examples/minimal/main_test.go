package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestMinimalApp runs the example against the test IdP: a protected page
// sends a browser to the login, the IdP's Response makes an account and a
// session, the IdP's logout ends that session even in another browser, and
// logging out here sends the user to the IdP's logout.
func TestMinimalApp(t *testing.T) {
	const base = "https://app.example.com/"
	idp, err := saml2sptest.NewIdP("https://idp.example.org/metadata")
	require.NoError(t, err)
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(idp.Metadata()) }))
	defer md.Close()
	kp, err := saml2sp.GenerateKeyPair(base+"saml/metadata", time.Hour)
	require.NoError(t, err)
	users := &saml2sp.MemoryUserStore{}
	app, err := newApp(context.Background(), base, md.URL, kp, bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), users)
	require.NoError(t, err)

	alice := &saml2sptest.Browser{App: app}
	login := func() {
		t.Helper()
		// A browser without a session goes to the login, then to the IdP,
		// whose Response comes back to the ACS.
		w, err := alice.Login(idp, base+"reports", saml2sptest.Response{NameID: "alice@example.com", SessionIndex: "_s1",
			Attributes: []saml2sp.Attribute{{Name: "id", Values: []string{"00u1"}}, {Name: "email", Values: []string{"alice@example.com"}}}})
		require.NoError(t, err)
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		assert.Equal(t, "/reports", w.Header().Get("Location"))
	}

	login()
	require.Len(t, users.Users(), 1, "a just-in-time account")
	w := alice.Do(http.MethodGet, base+"reports", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "Hello, user "+users.Users()[0].ID)

	// The IdP's logout, through another browser, ends this one's session.
	u, err := idp.LogoutRequestURL(saml2sptest.LogoutRequest{Destination: base + "saml/sls", NameID: "alice@example.com",
		SPNameQualifier: base + "saml/metadata"})
	require.NoError(t, err)
	require.Equal(t, http.StatusFound, (&saml2sptest.Browser{App: app}).Do(http.MethodGet, u, nil).Code)
	assert.Equal(t, http.StatusSeeOther, alice.Do(http.MethodGet, base+"reports", nil).Code, "alice's session ended")

	// Logging out here: the session ends and the browser goes to the IdP.
	login()
	require.Len(t, users.Users(), 1, "the same account again")
	require.Equal(t, http.StatusOK, alice.Do(http.MethodGet, base+"reports", nil).Code)
	w = alice.Do(http.MethodGet, base+"saml/logout", nil)
	require.Equal(t, http.StatusFound, w.Code)
	assert.True(t, strings.HasPrefix(w.Header().Get("Location"), idp.SLOURL))
	assert.Equal(t, http.StatusSeeOther, alice.Do(http.MethodGet, base+"reports", nil).Code)
}
