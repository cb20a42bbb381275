package e2e

// Scenarios of saml2sp's session layer (Sessions, CookieStore,
// RequireLogin) in Chromium over HTTPS, as deployed: the app at
// https://app.saml2sp.test, the development IdP at https://localhost
// (another site), and a browser that trusts their certificate instead of
// ignoring certificate errors.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// sessionEnv is one scenario: the session app, its development IdP, and
// a fresh Chromium.
type sessionEnv struct {
	t   *testing.T
	app *SessionApp
	idp *DevIdP
	b   *browser
}

func newSessionEnv(t *testing.T) *sessionEnv {
	t.Helper()
	chromium := RequireChromium(t)
	cfg, roots := TLSConfig(t)
	app := NewSessionApp(t, cfg)
	idp := StartDevIdPTLS(t, cfg, app.DevSP())
	app.Start(t, idp.MetadataURL(), roots)
	return &sessionEnv{t: t, app: app, idp: idp, b: newBrowser(t, chromium, trustingOnly(cfg)...)}
}

// appCookies returns the cookies Chromium would send to any of the app's
// URLs.
func (e *sessionEnv) appCookies() []*network.Cookie {
	ep := e.app.Endpoints
	return e.b.cookies(e.app.URL+"/", e.app.URL+"/private/page", ep.LoginURL, ep.ACSURL, ep.SLOURL, ep.LogoutURL)
}

// logIn signs in as alice from the protected page and checks the browser
// is back on it with her session, which the redirected GET carried.
func (e *sessionEnv) logIn() {
	e.t.Helper()
	page := e.app.URL + "/private/page?x=1"
	before := len(e.app.Hits())
	devLogin(e.b, page, "alice")
	if got := e.b.location(); got != page {
		e.t.Fatalf("after login the browser is at %s, want %s\n%s", got, page, e.b.describe())
	}
	if got, want := e.b.text("#private"), "u1 "+alice; got != want {
		e.t.Fatalf("the protected page shows %q, want %q", got, want)
	}
	// One ACS POST (no re-POST), then the GET its 303 leads to, with the
	// session cookie set on the POST's response.
	var acs []Hit
	for _, h := range e.app.Hits()[before:] {
		if h.Path == mustPath(e.app.Endpoints.ACSURL) || len(acs) > 0 {
			acs = append(acs, h)
		}
	}
	if len(acs) != 2 || acs[0].Method != "POST" || acs[1].Path != "/private/page" {
		e.t.Fatalf("from the ACS on the app got %+v, want the IdP's POST and the GET of the page", acs)
	}
	if !slices.ContainsFunc(acs[0].Cookies, isStateCookie) || slices.Contains(acs[0].Cookies, SessionCookieName) {
		e.t.Errorf("the IdP's cross-site POST carried %q, want the __Host-saml2sp-<handle> state cookie (SameSite=None)", acs[0].Cookies)
	}
	if !slices.Contains(acs[1].Cookies, SessionCookieName) {
		e.t.Errorf("the GET after the ACS's 303 carried %q, want %s", acs[1].Cookies, SessionCookieName)
	}
	e.t.Logf("Sec-Fetch-Site: ACS POST %q, the GET after its 303 %q", acs[0].FetchSite, acs[1].FetchSite)
	if got := e.fetchStatus("/private/page"); got != 200 {
		e.t.Errorf("a script's fetch of the protected page got %d, want 200 with the session", got)
	}
}

// fetchStatus has the current page fetch path of the app (same-origin,
// cookies included, redirects not followed) and returns the status: 0 for
// a redirect.
func (e *sessionEnv) fetchStatus(path string) int {
	e.t.Helper()
	var status int
	e.b.run("fetching "+path+" from a script", chromedp.Evaluate(
		fmt.Sprintf(`fetch(%q, {redirect: "manual"}).then(r => r.status)`, path), &status,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	return status
}

func isStateCookie(name string) bool { return strings.HasPrefix(name, "__Host-saml2sp-") }

// sessionCookie returns the session cookie in Chromium's jar.
func (e *sessionEnv) sessionCookie() *network.Cookie {
	e.t.Helper()
	cs := e.appCookies()
	i := slices.IndexFunc(cs, func(c *network.Cookie) bool { return c.Name == SessionCookieName })
	if i < 0 {
		e.t.Fatalf("Chromium holds no %s for the app: %q", SessionCookieName, cookieNames(cs))
	}
	return cs[i]
}

// wantSignedOut checks that the jar holds no cookie of the app, that the
// public page says so, and that the protected page leads to the IdP's
// login page (its session ended too).
func (e *sessionEnv) wantSignedOut() {
	e.t.Helper()
	if names := cookieNames(e.appCookies()); len(names) != 0 {
		e.t.Errorf("Chromium still holds the app's cookies %q", names)
	}
	e.wantRefused()
}

// wantRefused checks that the app sees no session: its public page says
// so, and the protected page sends the browser to the IdP's login page.
func (e *sessionEnv) wantRefused() {
	e.t.Helper()
	e.b.openAndWaitForApp(e.app.URL + "/")
	if got := e.b.text("#status"); got != "not signed in" {
		e.t.Fatalf("the app's public page says %q, want not signed in", got)
	}
	if got := e.fetchStatus("/private/page"); got != 401 {
		e.t.Errorf("a script's fetch of the protected page got %d, want 401 (Sec-Fetch-Mode: cors is no navigation)", got)
	}
	e.b.waitFor("opening the protected page", devSignIn, chromedp.Navigate(e.app.URL+"/private/page"))
	if loc := e.b.location(); !strings.HasPrefix(loc, e.idp.BaseURL) {
		e.t.Fatalf("the protected page led to %s, want the development IdP's login page", loc)
	}
}

// SP-initiated login from the protected page over HTTPS: the session
// cookie, set on the response to the IdP's cross-site POST, is __Host-,
// Secure, HttpOnly, SameSite=Lax, Path=/ and host-only; Chromium takes it
// and sends it on the GET the ACS's 303 leads to; no state cookie stays.
func TestSessionLoginHTTPS(t *testing.T) {
	e := newSessionEnv(t)
	start := time.Now()
	e.logIn()
	c := e.sessionCookie()
	expires := time.Unix(int64(c.Expires), 0)
	switch {
	case !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/":
		t.Errorf("session cookie Secure %v HttpOnly %v SameSite %q Path %q, want Secure, HttpOnly, Lax, /", c.Secure, c.HTTPOnly, c.SameSite, c.Path)
	case c.Domain != "app."+TestDomain:
		t.Errorf("session cookie for domain %q, want host-only app.%s", c.Domain, TestDomain)
	// The development IdP's sessions last 8 h (its SessionNotOnOrAfter),
	// sooner than DefaultSessionMaxAge: the cookie ends with them.
	case c.Session || expires.Before(start.Add(8*time.Hour-time.Minute)) || expires.After(time.Now().Add(8*time.Hour+time.Minute)):
		t.Errorf("session cookie expires %v (session cookie: %v), want in 8 h (the IdP's SessionNotOnOrAfter)", expires, c.Session)
	}
	if names := cookieNames(e.appCookies()); !slices.Equal(names, []string{SessionCookieName}) {
		t.Errorf("Chromium holds the app's cookies %q, want only %s (no state cookie left)", names, SessionCookieName)
	}
}

// SP-initiated logout: the session cookie goes, the protected page asks
// the IdP again, and the old cookie, put back in the jar, is refused: its
// IdP session was revoked when the user logged out.
func TestSessionSPLogoutHTTPS(t *testing.T) {
	e := newSessionEnv(t)
	e.logIn()
	old := e.sessionCookie()
	before := len(e.app.Hits())
	e.b.waitFor("clicking Log out", "#status", chromedp.Click("#logout", chromedp.ByID))
	if got, want := e.b.location(), e.app.URL+"/"; got != want {
		t.Fatalf("after logout the browser is at %s, want %s\n%s", got, want, e.b.describe())
	}
	// The IdP's LogoutResponse comes back by a cross-site redirect, with
	// the __Host- state cookie of the logout (SameSite=None).
	hits := e.app.Hits()[before:]
	if i := slices.IndexFunc(hits, func(h Hit) bool { return h.Path == mustPath(e.app.Endpoints.SLOURL) }); i < 0 || !slices.ContainsFunc(hits[i].Cookies, isStateCookie) {
		t.Errorf("the logout's requests %+v: want the LogoutResponse at the SLS with a __Host-saml2sp- state cookie", hits)
	}
	e.wantSignedOut()

	e.b.run("putting the old session cookie back", network.SetCookie(old.Name, old.Value).
		WithURL(e.app.URL+"/").WithPath("/").WithSecure(true).WithHTTPOnly(true).WithSameSite(network.CookieSameSiteLax))
	if got := e.sessionCookie().Value; got != old.Value {
		t.Fatal("the old session cookie did not go back into the jar")
	}
	before = len(e.app.Hits())
	e.wantRefused()
	if hits := e.app.Hits()[before:]; len(hits) == 0 || !slices.Contains(hits[0].Cookies, SessionCookieName) {
		t.Fatalf("requests %+v: the replay did not carry the old session cookie, so it proves nothing", hits)
	}
}

// IdP-initiated logout from the development IdP's "Log out of the IdP and
// every SP" button: its LogoutRequest reaches the SLS by a cross-site
// redirect that carries the Lax session cookie, and the app deletes the
// cookie in this browser.
func TestSessionIdPLogoutHTTPS(t *testing.T) {
	e := newSessionEnv(t)
	e.logIn()
	before := len(e.app.Hits())
	e.b.waitFor("opening the development IdP", devLogoutButton, chromedp.Navigate(e.idp.BaseURL))
	e.b.waitForText("clicking Log out of the IdP and every SP", devLoggedOut, chromedp.Click(devLogoutButton, chromedp.ByQuery))
	if loc := e.b.location(); !strings.HasPrefix(loc, e.idp.BaseURL) {
		t.Fatalf("the logout ended at %s, want the development IdP's page", loc)
	}
	hits := e.app.Hits()[before:]
	if len(hits) != 1 || hits[0].Path != mustPath(e.app.Endpoints.SLOURL) || !slices.Contains(hits[0].Cookies, SessionCookieName) {
		t.Fatalf("the IdP's logout made the requests %+v, want one at the SLS carrying %s", hits, SessionCookieName)
	}
	t.Logf("Sec-Fetch-Site of the IdP's LogoutRequest: %q", hits[0].FetchSite)
	e.wantSignedOut()
}

// After logout, the browser's Back button must not show the protected
// page again: Chromium keeps pages in its back/forward cache and shows
// them without asking the app, unless the page was served with
// Cache-Control: no-store (then it asks again, and RequireLogin sends it to
// the IdP). Go's HTTP client has no such cache, so only a browser shows
// it.
func TestSessionBackAfterLogoutHTTPS(t *testing.T) {
	e := newSessionEnv(t)
	e.logIn()
	e.b.waitFor("clicking Log out", "#status", chromedp.Click("#logout", chromedp.ByID))
	before := len(e.app.Hits())
	e.b.run("going back", chromedp.Evaluate(`history.back()`, nil))
	// A page restored from the back/forward cache fires no load event, which
	// chromedp's own waits need: read the page with a bare evaluation.
	var shown string
	protected := func() bool {
		return strings.HasPrefix(shown, e.app.URL+"/private/page") && strings.Contains(shown, "u1 "+alice)
	}
	login := func() bool { return strings.HasPrefix(shown, e.idp.BaseURL) && strings.Contains(shown, "Sign in as") }
	for deadline := time.Now().Add(stepTimeout); time.Now().Before(deadline) && !protected() && !login(); time.Sleep(100 * time.Millisecond) {
		e.b.run("reading the page", chromedp.ActionFunc(func(ctx context.Context) error {
			res, exc, err := runtime.Evaluate(`location.href + "\n" + (document.body ? document.body.innerText : "")`).Do(ctx)
			if err == nil && exc == nil {
				_ = json.Unmarshal(res.Value, &shown)
			}
			return nil
		}))
	}
	hits := e.app.Hits()[before:]
	if protected() || !login() || len(hits) == 0 || hits[0].Path != "/private/page" {
		t.Fatalf("after logout, Back shows:\n%s\nand the app got the requests %+v: want the protected page asked for again, and the IdP's login page", shown, hits)
	}
}
