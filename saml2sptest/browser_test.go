package saml2sptest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// browserApp is an app with SSO on the default session layer: /reports
// needs a login.
func browserApp(idp *saml2sptest.IdP) (http.Handler, error) {
	ep, err := saml2sp.EndpointsAt("https://app.example.com/saml/")
	if err != nil {
		return nil, err
	}
	cfg := saml2sp.Config{IdP: idp.IdentityProvider()}
	ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	if err != nil {
		return nil, err
	}
	sessions := &saml2sp.Sessions{
		Store:       &saml2sp.CookieStore{Key: make([]byte, 32)},
		Revocations: saml2sp.NewMemoryRevocationStore(0, nil),
		UserID:      func(_ context.Context, l *saml2sp.Login) (string, error) { return l.Assertion.NameID, nil },
		LoginURL:    ep.LoginURL,
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp.Handler(sessions.Hooks()))
	mux.Handle("/reports", sessions.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "reports of ", saml2sp.SessionFrom(r.Context()).UserID)
	})))
	return mux, nil
}

func TestBrowserLogin(t *testing.T) {
	idp, err := saml2sptest.NewIdP("https://idp.example.org/metadata")
	require.NoError(t, err)
	app, err := browserApp(idp)
	require.NoError(t, err)

	b := &saml2sptest.Browser{App: app}
	w, err := b.Login(idp, "https://app.example.com/reports", saml2sptest.Response{NameID: "bob@example.com"})
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	assert.Equal(t, "/reports", w.Header().Get("Location"), "back where the user wanted to go")
	assert.Equal(t, "reports of bob@example.com", b.Do(http.MethodGet, "https://app.example.com/reports", nil).Body.String(),
		"the session cookie is kept; the spent state cookie is not sent again")

	other := &saml2sptest.Browser{App: app}
	assert.Equal(t, http.StatusSeeOther, other.Do(http.MethodGet, "https://app.example.com/reports", nil).Code, "another browser has no session")

	// A Response the app did not ask for in this browser (another
	// browser's request) is refused.
	w, err = other.Login(idp, "https://app.example.com/reports", saml2sptest.Response{NameID: "eve@example.com", Audience: "https://evil.example/"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, w.Code, "the wrong audience is refused")

	_, err = b.Login(idp, "https://app.example.com/nowhere", saml2sptest.Response{})
	require.Error(t, err, "a page that never leads to the IdP")
	assert.Contains(t, err.Error(), "without reaching the IdP's SSO URL")
}

// An app's login, tested without a network: the Browser follows the
// app's redirect to the test IdP, which answers the AuthnRequest; the
// Response goes back to the app's ACS with the request's ID and
// RelayState.
func ExampleBrowser_Login() {
	idp, err := saml2sptest.NewIdP("https://idp.example.org/metadata")
	if err != nil {
		panic(err)
	}
	app, err := browserApp(idp)
	if err != nil {
		panic(err)
	}

	b := &saml2sptest.Browser{App: app}
	w, err := b.Login(idp, "https://app.example.com/reports", saml2sptest.Response{
		NameID:     "alice@example.com",
		Attributes: []saml2sp.Attribute{{Name: "groups", Values: []string{"admins"}}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(w.Code, w.Header().Get("Location"))
	fmt.Println(b.Do(http.MethodGet, "https://app.example.com/reports", nil).Body)
	// Output:
	// 303 /reports
	// reports of alice@example.com
}
