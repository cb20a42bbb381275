package e2e

// Scenarios about saml2sp's login-state cookies in a real browser: how
// many a browser holds (g), whether a sibling host can plant one (h), and
// whether a login another site forged can act on the victim's session (i).

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/saml2sp/saml2sp"
)

// devIdPSessionCookie is the development IdP's session cookie.
const devIdPSessionCookie = "saml2sptest_idp_session"

// cookieNames returns the names of cs.
func cookieNames(cs []*network.Cookie) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// devLogin opens start, which must lead to the development IdP's login
// page, signs in as user and waits for the app.
func devLogin(b *browser, start, user string) {
	b.t.Helper()
	button := fmt.Sprintf(`button[name="username"][value=%q]`, user)
	b.waitFor("opening "+start+" and waiting for the development IdP's login page", button, chromedp.Navigate(start))
	b.run("signing in as "+user, chromedp.Click(button, chromedp.ByQuery))
	b.waitForApp("waiting for the app after signing in as " + user)
}

// autoPostPage is a page that makes the browser POST fields to action at
// once, as an attacker's page does.
func autoPostPage(w http.ResponseWriter, action string, fields url.Values) {
	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html><html><body><form id="f" method="post" action="%s">`, action)
	for name, values := range fields {
		for _, v := range values {
			fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, name, v)
		}
	}
	b.WriteString(`</form><script>document.getElementById("f").submit()</script></body></html>`)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

// serveOn starts h on 127.0.0.1 (over TLS when cfg is set) and returns its
// URL under host.
func serveOn(t *testing.T, host string, cfg *tls.Config, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	if cfg != nil {
		srv.TLS = cfg
		srv.StartTLS()
		return "https://" + net.JoinHostPort(host, port) + "/"
	}
	srv.Start()
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// (g) A site can make a browser start logins in a loop (here: 20
// navigations to the login URL). The browser keeps at most three state
// cookies, wherever they are sent, and the newest login still completes.
// Before the state cookies were visible to the login start (Path=/), they
// were scoped to the ACS path: the cap never saw them and 20 piled up.
func TestStateCookiesCapped(t *testing.T) {
	tests := []struct {
		name, tenant string
	}{
		{"one SP", ""},
		{"tenant layout (/saml/login/acme/, /saml/acs/acme/)", "acme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chromium := RequireTools(t)
			app := NewAppWith(t, AppOptions{Tenant: tc.tenant})
			idp := StartIdP(t, IdPOptions{SPs: []RemoteSP{app.RemoteSP()}, TrustedDomains: []string{app.Host()}})
			app.Start(t, AppConfig{IdPMetadataURL: idp.MetadataURL()})
			b := newBrowser(t, chromium)

			const logins = 20
			for i := 0; i < logins; i++ {
				b.openLoginForm(app.loginURL(fmt.Sprintf("/private/page?x=%d", i)))
			}
			ep := app.Endpoints
			pending := stateCookieNames(cookieNames(b.cookies(ep.LoginURL, ep.ACSURL, ep.SLOURL, ep.LogoutURL, app.URL+"/")))
			t.Logf("state cookies in Chromium's jar after %d login starts: %d", logins, len(pending))
			if len(pending) == 0 || len(pending) > 3 {
				t.Errorf("Chromium holds %d state cookies %q after %d login starts, want 1 to 3", len(pending), pending, logins)
			}

			b.logIn("alice", "alicepass")
			want := fmt.Sprintf("%s/private/page?x=%d", app.URL, logins-1)
			if got := b.location(); got != want {
				t.Fatalf("after the last login the browser is at %s, want %s\n%s", got, want, b.describe())
			}
			if got := b.text("#status"); got != "logged in as "+alice {
				t.Errorf("status %q, want logged in as %s", got, alice)
			}
			posts := app.ACSPosts()
			if len(posts) != 1 {
				t.Fatalf("ACS POSTs %+v, want one", posts)
			}
			if n := len(stateCookies(posts[0])); n == 0 || n > 3 {
				t.Errorf("the ACS POST carried %d state cookies (of %q), want 1 to 3", n, posts[0].Cookies)
			}
		})
	}
}

// (h) Cookie tossing: the attacker starts a login in their own browser
// and keeps the IdP's Response instead of posting it. A page on a sibling
// host (evil.saml2sp.test, beside app.saml2sp.test) plants the attacker's
// login state for the parent domain under every name the SP might read,
// and posts the Response to the ACS. A __Host- cookie cannot be set that
// way, and the SP reads no other name over HTTPS: the login is refused.
// Then the victim's own login in the same browser works.
func TestCookieTossingRefused(t *testing.T) {
	chromium := RequireTools(t)
	cfg, roots := TLSConfig(t)
	app := NewAppWith(t, AppOptions{Host: "app." + TestDomain, TLS: cfg})
	idp := StartDevIdP(t, app.DevSP())
	app.Start(t, AppConfig{IdPMetadataURL: idp.MetadataURL()})

	// The attacker's own login as carol, up to the Response.
	attacker := LoopbackClient(t, roots)
	login, err := Fetch(attacker, http.MethodGet, app.loginURL("/"), nil)
	if err != nil || login.Action == "" {
		t.Fatalf("the attacker's login start: %v %+v", err, login)
	}
	login.Fields.Set("username", "carol")
	answer, err := Fetch(attacker, http.MethodPost, login.Action, login.Fields)
	if err != nil || answer.Fields.Get("SAMLResponse") == "" {
		t.Fatalf("the attacker's sign-in at the IdP: %v %+v", err, answer)
	}
	handle := answer.Fields.Get("RelayState")
	var token string
	for _, c := range attacker.Jar.Cookies(mustURL(app.Endpoints.ACSURL)) {
		if strings.HasSuffix(c.Name, "saml2sp-"+handle) {
			token = c.Value
		}
	}
	if handle == "" || token == "" {
		t.Fatalf("the attacker got no login state (RelayState %q)", handle)
	}

	names := []string{"__Host-saml2sp-" + handle, "__Secure-saml2sp-" + handle, "saml2sp-" + handle}
	sibling := serveOn(t, "evil."+TestDomain, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, name := range names {
			w.Header().Add("Set-Cookie", name+"="+token+"; Domain="+TestDomain+"; Path=/; Secure; HttpOnly; SameSite=None")
		}
		// A nameless cookie whose value looks like "name=value".
		w.Header().Add("Set-Cookie", "="+names[0]+"="+token+"; Domain="+TestDomain+"; Path=/; Secure; SameSite=None")
		autoPostPage(w, app.Endpoints.ACSURL, url.Values{"SAMLResponse": answer.Fields["SAMLResponse"], "RelayState": {handle}})
	}))

	b := newBrowser(t, chromium)
	b.waitFor("opening the sibling's page, which plants cookies and posts the attacker's Response", "#app", chromedp.Navigate(sibling))
	if _, err := b.failureReference(); err != nil {
		t.Error(err)
	}
	var jar []string
	for _, c := range b.cookies(app.Endpoints.ACSURL) {
		jar = append(jar, c.Name+" (domain "+c.Domain+")")
	}
	t.Logf("Chromium sends the ACS: %q", jar)
	if slices.ContainsFunc(jar, func(s string) bool { return strings.HasPrefix(s, names[0]+" ") }) {
		t.Errorf("Chromium took the sibling's %s cookie: %q", names[0], jar)
	}
	if !slices.Contains(jar, names[1]+" (domain ."+TestDomain+")") {
		t.Fatalf("the sibling could not plant %s for .%s (%q): the test proves nothing", names[1], TestDomain, jar)
	}
	posts := app.ACSPosts()
	if len(posts) == 0 || !slices.Contains(posts[len(posts)-1].Cookies, names[1]) {
		t.Errorf("ACS POSTs %+v: the last should carry the tossed %s", posts, names[1])
	}
	if l := app.Logins(); len(l) != 0 {
		t.Fatalf("OnLogin calls %+v: the victim was logged in with the attacker's state", l)
	}
	if f := app.Failures(); len(f) != 1 || !errors.Is(f[0].Err, saml2sp.ErrInResponseTo) {
		t.Errorf("OnFailure calls %+v, want one with ErrInResponseTo", f)
	}

	// The victim's own login, in the same browser: the IdP's cross-site
	// POST carries the __Host- state cookie (SameSite=None), no re-POST.
	before := len(app.ACSPosts())
	devLogin(b, app.URL+"/private/page?x=1", "alice")
	if got := b.text("#status"); got != "logged in as "+alice {
		t.Fatalf("status %q after the victim's own login, want logged in as %s", got, alice)
	}
	posts = app.ACSPosts()[before:]
	if len(posts) != 1 || !slices.ContainsFunc(posts[0].Cookies, func(n string) bool { return strings.HasPrefix(n, "__Host-saml2sp-") }) {
		t.Errorf("the victim's login made ACS POSTs %+v, want one carrying a __Host-saml2sp- cookie", posts)
	}
}

// (i) Login CSRF through the re-POST page: the victim, signed in as alice,
// links bob's SSO identity to the account (a login bound to the session).
// Then a page on another site posts the attacker's own IdP-initiated
// Response (carol) with a handle-shaped RelayState. The ACS turns that
// cross-site POST into a same-site one, which carries the app's Lax
// session cookie: OnLogin sees alice's session, but no binding, and the
// app refuses to link carol's identity to alice's account.
func TestLoginCSRFNotLinked(t *testing.T) {
	chromium := RequireTools(t)
	app := NewApp(t)
	idp := StartDevIdP(t, app.DevSP())
	app.Start(t, AppConfig{IdPMetadataURL: idp.MetadataURL(), AllowIdPInitiated: true, LinkAccounts: true})
	b := newBrowser(t, chromium)

	devLogin(b, app.URL+"/private/page?x=1", "alice")
	// Linking bob: a fresh IdP sign-in, started from alice's session.
	b.deleteCookies(devIdPSessionCookie, idp.BaseURL)
	devLogin(b, app.loginURL("/"), "bob")
	if got := b.text("#link"); got != "linked "+bob {
		t.Fatalf("linking page says %q, want %q", got, "linked "+bob)
	}

	attacker := LoopbackClient(t, nil)
	answer, err := Fetch(attacker, http.MethodGet, idp.StartIdPInitiatedURL(app.Endpoints.EntityID, "carol"), nil)
	if err != nil || answer.Fields.Get("SAMLResponse") == "" {
		t.Fatalf("the attacker's IdP-initiated login: %v %+v", err, answer)
	}
	forged := url.Values{"SAMLResponse": answer.Fields["SAMLResponse"], "RelayState": {strings.Repeat("A", 22)}}
	attackerSite := serveOn(t, "attacker.test", nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		autoPostPage(w, app.Endpoints.ACSURL, forged)
	}))
	before := len(app.ACSPosts())
	b.waitFor("opening the attacker's page, which posts carol's Response to the ACS", "#link", chromedp.Navigate(attackerSite))
	if got := b.text("#link"); !strings.HasPrefix(got, "refused") {
		t.Errorf("the app's page says %q, want a refusal", got)
	}

	carol := "carol@example.com"
	logins := app.Logins()
	if got, want := logins[len(logins)-1], (LoginEvent{NameID: carol, ReturnTo: "/", IdPInitiated: true, Session: alice}); got != want {
		t.Errorf("OnLogin saw %+v, want %+v: the victim's session, and no binding", got, want)
	}
	if got := logins[len(logins)-2]; !got.Bound || got.Session != alice || got.NameID != bob || got.Binding == "" {
		t.Errorf("the genuine link's OnLogin saw %+v: want bound to alice's session", got)
	}
	if got, want := app.Links(), []LinkEvent{{alice, bob, true}, {alice, carol, false}}; !slices.Equal(got, want) {
		t.Errorf("links %+v, want %+v", got, want)
	}
	posts := app.ACSPosts()[before:]
	if len(posts) != 2 || len(posts[0].Cookies) != 0 || !slices.Contains(posts[1].Cookies, SessionCookie) {
		t.Errorf("ACS POSTs %+v: want the attacker's cross-site one without cookies, then the re-POST with %s", posts, SessionCookie)
	}
	b.openAndWaitForApp(app.URL + "/")
	if got := b.text("#status"); got != "logged in as "+alice {
		t.Errorf("status %q, want still logged in as %s", got, alice)
	}
	if got := b.texts("#linked li"); !slices.Equal(got, []string{bob}) {
		t.Errorf("alice's linked identities %q, want only %s", got, bob)
	}
}
