package e2e

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/saml2sp/saml2sp"
)

const (
	alice     = "alice@example.com"
	bob       = "bob@example.com"
	loggedOut = "not logged in"
)

// env is one scenario's world: a SimpleSAMLphp IdP, the app, and a fresh
// Chromium. Nothing is shared between scenarios.
type env struct {
	t   *testing.T
	idp *IdP
	app *App
	b   *browser
}

type envOptions struct {
	// crossSite serves the IdP as http://localhost:P1 while the app is
	// http://127.0.0.1:P2, so that the IdP's POST to the ACS is cross-site
	// and SameSite=Lax cookies stay behind. Otherwise both are on
	// 127.0.0.1, which is one site (cookies ignore ports).
	crossSite         bool
	allowIdPInitiated bool
	// encryptAssertions has the IdP encrypt its assertions for the app.
	encryptAssertions bool
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	chromium := RequireTools(t)
	start := time.Now()
	t.Cleanup(func() { t.Logf("scenario took %v", time.Since(start).Round(time.Millisecond)) })

	app := NewApp(t)
	host := "127.0.0.1"
	if o.crossSite {
		host = "localhost"
	}
	sp := app.RemoteSP()
	sp.EncryptAssertions = o.encryptAssertions
	idp := StartIdP(t, IdPOptions{Host: host, SPs: []RemoteSP{sp}, TrustedDomains: []string{app.Host()}})
	app.Start(t, AppConfig{IdPMetadataURL: idp.MetadataURL(), AllowIdPInitiated: o.allowIdPInitiated})
	return &env{t: t, idp: idp, app: app, b: newBrowser(t, chromium)}
}

// spInitiatedLogin opens the private page logged out, logs in at the IdP
// and checks the app brought the user back to that very page.
func (e *env) spInitiatedLogin(user, password, nameID string) {
	e.t.Helper()
	const page = "/private/page?x=1"
	e.b.openLoginForm(e.app.URL + page)
	e.b.logIn(user, password)
	if got, want := e.b.location(), e.app.URL+page; got != want {
		e.t.Fatalf("after login the browser is at %s, want %s (the page the user asked for)\n%s", got, want, e.b.describe())
	}
	if got := e.b.text("#status"); got != "logged in as "+nameID {
		e.t.Fatalf("status %q, want %q", got, "logged in as "+nameID)
	}
}

func (e *env) wantLoggedOut() {
	e.t.Helper()
	e.b.openAndWaitForApp(e.app.URL + "/")
	if got := e.b.text("#status"); got != loggedOut {
		e.t.Fatalf("home page says %q, want %q", got, loggedOut)
	}
}

// stateCookies returns saml2sp's login-state cookies among those an ACS
// POST carried (the IdP's own cookies go along too when it is on the same
// host: cookies ignore ports).
func stateCookies(p ACSPost) []string { return stateCookieNames(p.Cookies) }

// stateCookieNames returns the names of saml2sp's state cookies
// (saml2sp-<handle>, or __Host-saml2sp-<handle> over HTTPS) among names.
func stateCookieNames(names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, "saml2sp-") || strings.HasPrefix(n, "__Host-saml2sp-") {
			out = append(out, n)
		}
	}
	return out
}

// wantSignaturesValidated checks that SimpleSAMLphp logged n good
// signatures on the SP's messages: proof that it checked them, not only
// that it did not complain.
func (e *env) wantSignaturesValidated(n int, what string) {
	e.t.Helper()
	if got := e.idp.SignaturesValidated(); got != n {
		e.t.Errorf("SimpleSAMLphp validated %d signatures of the SP, want %d (%s)", got, n, what)
	}
}

// wantLogin checks the app's OnLogin calls.
func (e *env) wantLogin(want LoginEvent) {
	e.t.Helper()
	if got := e.app.Logins(); len(got) != 1 || got[0] != want {
		e.t.Errorf("OnLogin calls %+v, want one: %+v", got, want)
	}
}

// oneLogout returns the app's only OnLogout call. The hook runs before the
// browser is sent on, so it has run by the time the app page shows.
func (e *env) oneLogout() LogoutEvent {
	e.t.Helper()
	l := e.app.Logouts()
	if len(l) != 1 {
		e.t.Fatalf("OnLogout calls %+v, want one", l)
	}
	return l[0]
}

// (a) SP-initiated login: the user opens a protected page, is sent to the
// IdP with a signed AuthnRequest, logs in, and lands on the page asked for
// (query included) with the NameID and the attributes of the assertion.
func TestSPInitiatedLogin(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.spInitiatedLogin("alice", "alicepass", alice)
	if got := e.b.text("#private"); got != "x=1" {
		t.Errorf("private page shows %q, want x=1", got)
	}
	if got, want := e.b.texts("#groups li"), []string{"users", "Dogs & cats"}; !slices.Equal(got, want) {
		t.Errorf("groups %q, want %q", got, want)
	}
	if n := e.app.Sessions(); n != 1 {
		t.Errorf("app has %d sessions, want 1", n)
	}
	e.wantLogin(LoginEvent{NameID: alice, ReturnTo: "/private/page?x=1"})
	e.wantSignaturesValidated(1, "the AuthnRequest")
	// Same site (IdP and app both on 127.0.0.1): the IdP's POST carries
	// the login-state cookie, so no re-POST is needed.
	posts := e.app.ACSPosts()
	if len(posts) != 1 || len(stateCookies(posts[0])) == 0 {
		t.Errorf("same-site ACS POSTs %+v: want one, carrying the login-state cookie", posts)
	}
}

// (a') SP-initiated login with the IdP encrypting the assertion for the
// SP's certificate (assertion.encryption): the SP decrypts it with its key
// and the login is the same as (a). The ACS POST is checked to carry an
// EncryptedAssertion and no plain Assertion, so the test cannot pass on a
// cleartext Response.
func TestEncryptedAssertionLogin(t *testing.T) {
	e := newEnv(t, envOptions{encryptAssertions: true})
	e.spInitiatedLogin("alice", "alicepass", alice)
	if got := e.b.text("#private"); got != "x=1" {
		t.Errorf("private page shows %q, want x=1", got)
	}
	if got, want := e.b.texts("#groups li"), []string{"users", "Dogs & cats"}; !slices.Equal(got, want) {
		t.Errorf("groups %q, want %q", got, want)
	}
	if n := e.app.Sessions(); n != 1 {
		t.Errorf("app has %d sessions, want 1", n)
	}
	e.wantLogin(LoginEvent{NameID: alice, ReturnTo: "/private/page?x=1"})
	e.wantSignaturesValidated(1, "the AuthnRequest")
	posts := e.app.ACSPosts()
	if len(posts) != 1 {
		t.Fatalf("ACS POSTs %+v: want one", posts)
	}
	if p := posts[0]; p.EncryptedAssertions != 1 || p.Assertions != 0 {
		t.Errorf("the Response the app received had %d EncryptedAssertion and %d plain Assertion elements, want 1 and 0", p.EncryptedAssertions, p.Assertions)
	}
}

// (b) IdP-initiated login: the user starts at the IdP, which posts an
// unsolicited Response (no InResponseTo) that the SP accepts only because
// AllowIdPInitiated is on; the RelayState path is honoured.
func TestIdPInitiatedLogin(t *testing.T) {
	e := newEnv(t, envOptions{allowIdPInitiated: true})
	e.b.openLoginForm(e.idp.InitiateSSOURL(e.app.Endpoints.EntityID, "/private/page"))
	e.b.logIn("bob", "bobpass")
	if got, want := e.b.location(), e.app.URL+"/private/page"; got != want {
		t.Fatalf("after IdP-initiated login the browser is at %s, want %s (the RelayState)\n%s", got, want, e.b.describe())
	}
	if got, want := e.b.text("#status"), "logged in as "+bob; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	if got, want := e.b.texts("#groups li"), []string{"users"}; !slices.Equal(got, want) {
		t.Errorf("groups %q, want %q", got, want)
	}
	e.wantLogin(LoginEvent{NameID: bob, ReturnTo: "/private/page", IdPInitiated: true})
}

// (b') The same IdP-initiated login without AllowIdPInitiated is refused:
// secure by default.
func TestIdPInitiatedLoginRefusedByDefault(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.b.openLoginForm(e.idp.InitiateSSOURL(e.app.Endpoints.EntityID, "/private/page"))
	e.b.logIn("bob", "bobpass")
	if got := e.b.text("#status"); got != loggedOut {
		t.Errorf("status %q, want %q", got, loggedOut)
	}
	if _, err := e.b.failureReference(); err != nil {
		t.Error(err)
	}
	if f := e.app.Failures(); len(f) != 1 || !errors.Is(f[0].Err, saml2sp.ErrUnsolicited) {
		t.Errorf("OnFailure calls %+v: want one, with ErrUnsolicited", f)
	}
	if n := e.app.Sessions(); n != 0 {
		t.Errorf("app has %d sessions, want 0", n)
	}
}

// (c) IdP-initiated logout: initSLO.php ends the IdP session and sends a
// signed LogoutRequest to the SP's SLS; the app's session ends (OnLogout,
// initiator "idp") and the browser comes back to the app logged out.
func TestIdPInitiatedLogout(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.spInitiatedLogin("alice", "alicepass", alice)
	e.b.openAndWaitForApp(e.idp.InitiateSLOURL(e.app.URL + "/"))
	if got, want := e.b.location(), e.app.URL+"/"; got != want {
		t.Errorf("after IdP-initiated logout the browser is at %s, want %s", got, want)
	}
	if got := e.b.text("#status"); got != loggedOut {
		t.Errorf("status %q, want %q", got, loggedOut)
	}
	l := e.oneLogout()
	if l.Initiator != "idp" || l.NameID != alice || l.Ended != 1 {
		t.Errorf("OnLogout saw %+v, want initiator idp, NameID %s, 1 session ended", l, alice)
	}
	if n := e.app.Sessions(); n != 0 {
		t.Errorf("app has %d sessions, want 0", n)
	}
	e.wantSignaturesValidated(2, "the AuthnRequest and the SP's LogoutResponse")
	// The IdP session is gone too: the next login asks for a password.
	e.b.openLoginForm(e.app.URL + "/private/page?x=1")
}

// (d) SP-initiated logout: /saml/logout sends a signed LogoutRequest to the
// IdP, which ends its session and answers; both sessions are over, so the
// next login shows the IdP's login form again.
func TestSPInitiatedLogout(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.spInitiatedLogin("alice", "alicepass", alice)
	e.b.run("clicking the app's logout link", chromedp.Click("#logout", chromedp.ByQuery))
	e.b.waitForApp("waiting for the app after logout")
	if got, want := e.b.location(), e.app.URL+"/"; got != want {
		t.Errorf("after SP-initiated logout the browser is at %s, want %s (return_to)", got, want)
	}
	if got := e.b.text("#status"); got != loggedOut {
		t.Errorf("status %q, want %q", got, loggedOut)
	}
	l := e.oneLogout()
	if l.Initiator != "sp" || l.NameID != alice {
		t.Errorf("OnLogout saw %+v, want initiator sp, NameID %s", l, alice)
	}
	if n := e.app.Sessions(); n != 0 {
		t.Errorf("app has %d sessions, want 0", n)
	}
	e.wantSignaturesValidated(2, "the AuthnRequest and the SP's LogoutRequest")
	e.wantLoggedOut()
	// No IdP session either: the IdP asks for the password again.
	e.b.openLoginForm(e.app.URL + "/private/page?x=2")
	e.b.logIn("alice", "alicepass")
	if got := e.b.text("#private"); got != "x=2" {
		t.Errorf("private page shows %q after logging in again, want x=2", got)
	}
}

// (e) The IdP on another site: IdP http://localhost:P1, app
// http://127.0.0.1:P2. The IdP's auto-submitted POST to the ACS is
// cross-site, so the browser leaves the SameSite=Lax login-state cookie
// behind; the SP must still match the Response to its request.
func TestCrossSiteLogin(t *testing.T) {
	e := newEnv(t, envOptions{crossSite: true})
	if !strings.HasPrefix(e.idp.BaseURL, "http://localhost:") || !strings.HasPrefix(e.app.URL, "http://127.0.0.1:") {
		t.Fatalf("IdP %s and app %s are not on different sites", e.idp.BaseURL, e.app.URL)
	}
	e.spInitiatedLogin("alice", "alicepass", alice)
	if got, want := e.b.texts("#groups li"), []string{"users", "Dogs & cats"}; !slices.Equal(got, want) {
		t.Errorf("groups %q, want %q", got, want)
	}
	e.wantLogin(LoginEvent{NameID: alice, ReturnTo: "/private/page?x=1"})
	posts := e.app.ACSPosts()
	t.Logf("POSTs to the ACS, with the cookies each carried: %+v", posts)
	if len(posts) != 2 {
		t.Fatalf("ACS POSTs %+v: want two, the IdP's cross-site one and the SP's same-site re-POST", posts)
	}
	if len(posts[0].Cookies) != 0 {
		t.Errorf("the IdP's cross-site POST to the ACS carried cookies %q: Chromium should have sent none (SameSite=Lax)", posts[0].Cookies)
	}
	if len(stateCookies(posts[1])) == 0 {
		t.Errorf("the same-site re-POST to the ACS carried no login-state cookie: %+v", posts[1])
	}
}

// (f) A Response whose NameID was changed in transit (one letter, after
// the IdP signed it) is refused: the user sees the app's failure page, the
// app gets no session, and the failure is a signature failure.
func TestTamperedResponseRejected(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.app.TamperNameID.Store(true)
	e.b.openLoginForm(e.app.URL + "/private/page?x=1")
	e.b.logIn("alice", "alicepass")
	if e.app.Tampered() == 0 {
		t.Fatal("the Response was never tampered with: the test proves nothing")
	}
	ref, err := e.b.failureReference()
	if err != nil {
		t.Fatal(err)
	}
	if got := e.b.text("#status"); got != loggedOut {
		t.Errorf("status %q on the failure page, want %q", got, loggedOut)
	}
	if n := e.app.Sessions(); n != 0 {
		t.Errorf("app has %d sessions after a tampered Response, want 0", n)
	}
	f := e.app.Failures()
	if len(f) != 1 || !errors.Is(f[0].Err, saml2sp.ErrSignature) {
		t.Errorf("OnFailure calls %+v: want one, with ErrSignature", f)
	} else if f[0].Reference != ref {
		t.Errorf("failure page shows reference %q, OnFailure got %q", ref, f[0].Reference)
	}
	e.wantLoggedOut()
}
