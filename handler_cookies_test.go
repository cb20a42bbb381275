package saml2sp_test

// The state cookies as a browser's jar holds them: sent only where their
// Path and Domain match, and refused when they break a __Host- or
// __Secure- prefix rule. Sending every cookie to every request, as a test
// that passes cookies by hand does, hides exactly the bugs these tests are
// about (e2e/state_test.go runs the same scenarios in Chromium).

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// jarBrowser sends requests to a handler through a cookiejar.Jar, which
// follows RFC 6265 (paths, host-only and domain cookies, Secure, deletion).
// It also applies the cookie-name prefix rules, which the jar does not.
type jarBrowser struct {
	t   *testing.T
	jar *cookiejar.Jar
	h   http.Handler
	// sameSite remembers each cookie's SameSite attribute, which the jar
	// drops, for crossSitePost.
	sameSite map[string]http.SameSite
}

func newJarBrowser(t *testing.T, h http.Handler) *jarBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &jarBrowser{t: t, jar: jar, h: h, sameSite: map[string]http.SameSite{}}
}

func (b *jarBrowser) do(method, target string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	return b.send(method, target, form, false)
}

// crossSitePost POSTs a form as another site's page would make the browser
// do: only SameSite=None cookies go along.
func (b *jarBrowser) crossSitePost(target string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	return b.send(http.MethodPost, target, form, true)
}

func (b *jarBrowser) send(method, target string, form url.Values, crossSite bool) *httptest.ResponseRecorder {
	b.t.Helper()
	u, err := url.Parse(target)
	require.NoError(b.t, err)
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.jar.Cookies(u) {
		if !crossSite || b.sameSite[c.Name] == http.SameSiteNoneMode {
			r.AddCookie(c)
		}
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	b.set(u, w.Result().Cookies()...)
	return w
}

// set stores cookies as if a response from u had set them, dropping those
// a browser refuses for their name prefix.
func (b *jarBrowser) set(u *url.URL, cookies ...*http.Cookie) {
	b.t.Helper()
	var ok []*http.Cookie
	for _, c := range cookies {
		switch {
		case strings.HasPrefix(c.Name, "__Host-") && (!c.Secure || c.Path != "/" || c.Domain != "" || u.Scheme != "https"):
			b.t.Errorf("a browser refuses %s: __Host- needs Secure, Path=/, no Domain, an https origin", c)
		case strings.HasPrefix(c.Name, "__Secure-") && (!c.Secure || u.Scheme != "https"):
			b.t.Errorf("a browser refuses %s: __Secure- needs Secure and an https origin", c)
		default:
			ok = append(ok, c)
			b.sameSite[c.Name] = c.SameSite
		}
	}
	b.jar.SetCookies(u, ok)
}

// stateCookies returns the names of the state cookies the jar would send
// to any of urls.
func (b *jarBrowser) stateCookies(urls ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		require.NoError(b.t, err)
		for _, c := range b.jar.Cookies(u) {
			if strings.Contains(c.Name, "saml2sp-") && !seen[c.Name] {
				seen[c.Name] = true
				out = append(out, c.Name)
			}
		}
	}
	return out
}

// stateSite is an app with one or more SPs, single or multi-tenant.
type stateSite struct {
	handler http.Handler
	idp     *saml2sptest.IdP
	eps     []saml2sp.Endpoints
	logins  []*saml2sp.Login
	fails   []*saml2sp.Failure
	// sessions are the app_session cookies OnLogin saw, "" for none.
	sessions []string
}

func newStateSite(t *testing.T, base string, tenants []string, mods ...func(*saml2sp.Config)) *stateSite {
	t.Helper()
	s := &stateSite{idp: newTestIdP(t)}
	hooks := saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			s.logins = append(s.logins, l)
			session := ""
			if c, err := r.Cookie("app_session"); err == nil {
				session = c.Value
			}
			s.sessions = append(s.sessions, session)
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
		OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
			s.fails = append(s.fails, f)
			w.WriteHeader(f.Status)
		},
		OnLogout: func(http.ResponseWriter, *http.Request, *saml2sp.Logout) error { return nil },
		CurrentSubject: func(*http.Request) (saml2sp.LogoutSubject, bool) {
			return saml2sp.LogoutSubject{NameID: "alice@example.com", SessionIndex: "_s1"}, true
		},
		LoginBinding: func(r *http.Request) string {
			if c, err := r.Cookie("app_session"); err == nil {
				return "bound-to-" + c.Value
			}
			return ""
		},
	}
	build := func(ep saml2sp.Endpoints) *saml2sp.SP {
		cfg := saml2sp.Config{
			IdP: s.idp.IdentityProvider(), Clock: func() time.Time { return testNow },
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		ep.Apply(&cfg)
		for _, m := range mods {
			m(&cfg)
		}
		sp, err := saml2sp.New(cfg)
		require.NoError(t, err)
		s.eps = append(s.eps, ep)
		return sp
	}
	if tenants == nil {
		ep, err := saml2sp.EndpointsAt(base)
		require.NoError(t, err)
		s.handler = build(ep).Handler(hooks)
		return s
	}
	sps := map[string]*saml2sp.SP{}
	for _, name := range tenants {
		ep, err := saml2sp.TenantEndpoints(base, name)
		require.NoError(t, err)
		sps[name] = build(ep)
	}
	s.handler = &saml2sp.TenantHandler{BaseURL: base, Hooks: hooks,
		Tenants: saml2sp.TenantResolverFunc(func(_ context.Context, name string) (*saml2sp.SP, error) {
			if sp, ok := sps[name]; ok {
				return sp, nil
			}
			return nil, saml2sp.ErrUnknownTenant
		})}
	return s
}

// urls returns every endpoint URL of every SP.
func (s *stateSite) urls() []string {
	var out []string
	for _, ep := range s.eps {
		out = append(out, ep.LoginURL, ep.ACSURL, ep.SLOURL, ep.LogoutURL)
	}
	return out
}

// startLogin has b start a login at ep and returns its request ID and
// RelayState handle.
func (s *stateSite) startLogin(t *testing.T, b *jarBrowser, ep saml2sp.Endpoints, returnTo string) (string, string) {
	t.Helper()
	w := b.do(http.MethodGet, ep.LoginURL+"?return_to="+url.QueryEscape(returnTo), nil)
	require.Equal(t, http.StatusFound, w.Code, w.Body.String())
	_, msg, root := decodeRedirect(t, w.Header().Get("Location"))
	return root.SelectAttrValue("ID", ""), msg.RelayState
}

// response is the IdP's signed Response for ep, as form values.
func (s *stateSite) response(t *testing.T, ep saml2sp.Endpoints, inResponseTo, relayState, nameID string) url.Values {
	t.Helper()
	v, err := s.idp.Response(saml2sptest.Response{Destination: ep.ACSURL, Audience: ep.EntityID, InResponseTo: inResponseTo, NameID: nameID})
	require.NoError(t, err)
	return url.Values{"SAMLResponse": {v}, "RelayState": {relayState}}
}

func TestStateCookiesCappedInABrowserJar(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		tenants []string
		logouts bool // every other start is a logout
	}{
		{name: "one SP over HTTPS", base: "https://sp.example.com/saml/"},
		{name: "one SP over plain HTTP", base: "http://127.0.0.1:8080/saml/"},
		{name: "tenants over HTTPS", base: "https://sentry.example.com/saml/", tenants: []string{"acme", "globex"}},
		{name: "tenants over plain HTTP", base: "http://127.0.0.1:8080/saml/", tenants: []string{"acme", "globex"}},
		{name: "logins and logouts", base: "https://sp.example.com/saml/", logouts: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStateSite(t, tc.base, tc.tenants)
			b := newJarBrowser(t, s.handler)
			var lastEP saml2sp.Endpoints
			var lastID, lastHandle string
			for i := 0; i < 20; i++ {
				ep := s.eps[i%len(s.eps)]
				if tc.logouts && i%2 == 1 {
					require.Equal(t, http.StatusFound, b.do(http.MethodGet, ep.LogoutURL, nil).Code)
					continue
				}
				lastEP = ep
				lastID, lastHandle = s.startLogin(t, b, ep, "/after")
			}
			pending := b.stateCookies(s.urls()...)
			assert.LessOrEqual(t, len(pending), 3, "at most three flows pending per browser, wherever the cookies are sent: %q", pending)
			assert.NotEmpty(t, pending)

			w := b.do(http.MethodPost, lastEP.ACSURL, s.response(t, lastEP, lastID, lastHandle, "alice@example.com"))
			require.Equal(t, http.StatusSeeOther, w.Code, "the newest login still completes: %+v", s.fails)
			require.Len(t, s.logins, 1)
			assert.Equal(t, "/after", s.logins[0].ReturnTo)
		})
	}
}

func TestStateCookieSize(t *testing.T) {
	s := newStateSite(t, "https://sp.example.com/saml/", nil)
	ep := s.eps[0]
	setCookie := func(returnTo, session string) string {
		b := newJarBrowser(t, s.handler)
		b.set(mustParse(t, ep.LoginURL), &http.Cookie{Name: "app_session", Value: session, Path: "/"})
		w := b.do(http.MethodGet, ep.LoginURL+"?return_to="+url.QueryEscape(returnTo), nil)
		require.Equal(t, http.StatusFound, w.Code)
		return w.Header().Get("Set-Cookie")
	}
	typical := setCookie("/private/page?x=1", strings.Repeat("s", 32))
	t.Logf("typical state cookie: %d bytes: %s", len(typical), typical)
	assert.LessOrEqual(t, len(typical), 300)

	// The largest: a 512-byte return path and a 64-byte binding.
	largest := setCookie("/"+strings.Repeat("p", 511), strings.Repeat("s", 64-len("bound-to-")))
	t.Logf("largest state cookie: %d bytes", len(largest))
	assert.LessOrEqual(t, len(largest), 1000)

	longer := setCookie("/"+strings.Repeat("p", 512), strings.Repeat("s", 32))
	assert.Less(t, len(longer), len(typical), "a longer return path is not kept: the login returns to /")

	t.Run("logout", func(t *testing.T) {
		b := newJarBrowser(t, s.handler)
		w := b.do(http.MethodGet, ep.LogoutURL+"?return_to="+url.QueryEscape("/"+strings.Repeat("p", 512)), nil)
		require.Equal(t, http.StatusFound, w.Code)
		assert.LessOrEqual(t, len(w.Header().Get("Set-Cookie")), 250, "the logout's return path falls back to / too")
	})
}

func TestTossedStateCookiesAreNotRead(t *testing.T) {
	// The attacker starts a login in their own browser and gets the IdP's
	// Response for it. A page on a sibling subdomain plants the attacker's
	// state in the victim's browser for the parent domain, and makes it
	// POST the Response to the ACS: without the fix the victim is logged in
	// as the attacker.
	s := newStateSite(t, "https://app.example.com/saml/", nil)
	ep := s.eps[0]
	attacker := newJarBrowser(t, s.handler)
	id, handle := s.startLogin(t, attacker, ep, "/")
	state := attacker.jar.Cookies(mustParse(t, ep.ACSURL))
	require.Len(t, state, 1)
	form := s.response(t, ep, id, handle, "mallory@example.com")
	form.Set("saml2sp_repost", "1") // as the ACS's own re-POST page sends it

	sibling := mustParse(t, "https://evil.example.com/")
	tests := []struct {
		name   string
		cookie *http.Cookie
	}{
		{"old __Secure- name for the parent domain", &http.Cookie{Name: "__Secure-saml2sp-" + handle, Domain: "example.com", Path: "/", Secure: true}},
		{"plain name for the parent domain", &http.Cookie{Name: "saml2sp-" + handle, Domain: "example.com", Path: "/", Secure: true}},
		{"plain name on the ACS path", &http.Cookie{Name: "saml2sp-" + handle, Domain: "example.com", Path: "/saml/acs", Secure: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			victim := newJarBrowser(t, s.handler)
			tc.cookie.Value = state[0].Value
			victim.set(sibling, tc.cookie)
			require.Len(t, victim.jar.Cookies(mustParse(t, ep.ACSURL)), 1, "the browser sends the tossed cookie to the app")
			before := len(s.logins)
			w := victim.do(http.MethodPost, ep.ACSURL, form)
			assert.Equal(t, http.StatusForbidden, w.Code)
			assert.Len(t, s.logins, before, "nobody is logged in as the attacker")
		})
	}
	t.Run("control: the attacker's own browser logs in", func(t *testing.T) {
		w := attacker.do(http.MethodPost, ep.ACSURL, form)
		require.Equal(t, http.StatusSeeOther, w.Code)
		require.NotEmpty(t, s.logins)
		assert.Equal(t, "mallory@example.com", s.logins[len(s.logins)-1].Assertion.NameID)
	})
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}
