package saml2sp_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// The session layer: Sessions implements the Hooks (an account through the
// Provisioner and a session per login; single logout), CookieStore keeps
// the session in an encrypted __Host- cookie, and RequireLogin protects
// the app's pages. The IdP's logout reaches the session even though it
// lives only in the user's cookie and the logout came through another
// browser: it is recorded in the RevocationStore.
func ExampleSessions() {
	idp, err := saml2sptest.NewIdP("https://idp.example.org/metadata")
	if err != nil {
		log.Fatal(err)
	}
	app := httptest.NewUnstartedServer(nil)
	defer app.Close()
	ep, err := saml2sp.EndpointsAt("https://" + app.Listener.Addr().String() + "/saml/")
	if err != nil {
		log.Fatal(err)
	}
	// In an app these secrets come from its secret store, the same on every
	// replica.
	stateKey, cookieKey := make([]byte, 32), make([]byte, 32)
	rand.Read(stateKey)
	rand.Read(cookieKey)
	cfg := saml2sp.Config{IdP: idp.IdentityProvider(), StateKey: stateKey, AllowIdPInitiated: true}
	ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	if err != nil {
		log.Fatal(err)
	}

	sessions := &saml2sp.Sessions{
		Store:       &saml2sp.CookieStore{Key: cookieKey},
		Revocations: saml2sp.NewMemoryRevocationStore(0, nil), // with replicas: redisstore or pgstore
		Provisioner: &saml2sp.Provisioner{Mapping: saml2sp.GenericMapping(), Store: &saml2sp.MemoryUserStore{}},
		LoginURL:    ep.LoginURL,
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp.Handler(sessions.Hooks()))
	mux.Handle("/reports", sessions.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := saml2sp.SessionFrom(r.Context())
		fmt.Fprintf(w, "reports for account %s (%s)", s.UserID, s.Subject.NameID)
	})))
	app.Config.Handler = mux
	app.StartTLS()

	// Two browsers that do not follow redirects, so that each step shows.
	newBrowser := func() *http.Client {
		c := *app.Client()
		c.Jar, _ = cookiejar.New(nil)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &c
	}
	alice, other := newBrowser(), newBrowser()
	show := func(what string, res *http.Response, err error) {
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		switch res.StatusCode {
		case http.StatusOK:
			fmt.Printf("%s: %d %s\n", what, res.StatusCode, body)
		case http.StatusSeeOther:
			where, _ := url.Parse(res.Header.Get("Location"))
			fmt.Printf("%s: %d %s\n", what, res.StatusCode, where.RequestURI())
		default:
			fmt.Printf("%s: %d\n", what, res.StatusCode)
		}
	}
	visit := func(b *http.Client, path string) (*http.Response, error) {
		r, _ := http.NewRequest(http.MethodGet, app.URL+path, nil)
		r.Header.Set("Sec-Fetch-Mode", "navigate") // a browser opening a page
		return b.Do(r)
	}

	res, err := visit(alice, "/reports")
	show("no session", res, err)
	res, err = alice.Get(app.URL + "/reports") // not a page navigation: an API call
	show("API call without a session", res, err)

	// Alice's IdP logs her in (here from its portal) and she goes back to
	// the page she wanted.
	samlResponse, err := idp.Response(saml2sptest.Response{
		Destination: ep.ACSURL, Audience: ep.EntityID, NameID: "alice@example.com",
		Attributes: []saml2sp.Attribute{{Name: "uid", Values: []string{"00u1alice"}}, {Name: "email", Values: []string{"alice@example.com"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err = alice.PostForm(ep.ACSURL, url.Values{"SAMLResponse": {samlResponse}, "RelayState": {"/reports"}})
	show("login", res, err)
	for _, c := range alice.Jar.Cookies(res.Request.URL) {
		fmt.Println("cookie:", c.Name)
	}
	res, err = visit(alice, "/reports")
	show("with the session", res, err)

	// The IdP ends Alice's sessions (single logout), through another browser.
	logout, err := idp.LogoutRequestURL(saml2sptest.LogoutRequest{
		Destination: ep.SLOURL, NameID: "alice@example.com", SPNameQualifier: ep.EntityID,
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err = other.Get(logout)
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println("single logout:", res.StatusCode)
	res, err = visit(alice, "/reports") // the same cookie, now revoked
	show("after the IdP's logout", res, err)
	// Output:
	// no session: 303 /saml/login?return_to=%2Freports
	// API call without a session: 401
	// login: 303 /reports
	// cookie: __Host-saml2sp_session
	// with the session: 200 reports for account u1 (alice@example.com)
	// single logout: 302
	// after the IdP's logout: 303 /saml/login?return_to=%2Freports
}
