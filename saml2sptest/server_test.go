package saml2sptest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

const bannerText = "Development IdP — for development only, never for production"

// spSide is one saml2sp app behind an httptest server, with recording
// hooks and a cookie session.
type spSide struct {
	ts  *httptest.Server
	ep  saml2sp.Endpoints
	sp  *saml2sp.SP
	dev saml2sptest.DevSP
	key crypto.Signer
	crt *x509.Certificate

	mu       sync.Mutex
	sessions map[string]*saml2sp.Assertion
	logins   []*saml2sp.Login
	logouts  []*saml2sp.Logout
	failures []*saml2sp.Failure
}

// devEnv is a development Server and its SPs, all on 127.0.0.1, driven by
// one browser-like client with a cookie jar.
type devEnv struct {
	t      *testing.T
	srv    *saml2sptest.Server
	idpTS  *httptest.Server
	sps    []*spSide
	client *http.Client
}

// spOption changes an SP before its server and config are built.
type spOption struct {
	dev func(*saml2sptest.DevSP)  // the registration at the IdP
	cfg func(*saml2sp.Config)     // the SP's own config
	key func(*testing.T, *spSide) // gives the SP a key
	reg *bool                     // false: not registered at the IdP
}

func newDevEnv(t *testing.T, opts ...spOption) *devEnv {
	t.Helper()
	if len(opts) == 0 {
		opts = []spOption{{}}
	}
	e := &devEnv{t: t, idpTS: httptest.NewUnstartedServer(nil)}
	t.Cleanup(e.idpTS.Close)
	var devs []saml2sptest.DevSP
	for _, o := range opts {
		s := &spSide{ts: httptest.NewUnstartedServer(nil), sessions: map[string]*saml2sp.Assertion{}}
		t.Cleanup(s.ts.Close)
		var err error
		s.ep, err = saml2sp.EndpointsAt("http://" + s.ts.Listener.Addr().String() + "/saml/")
		require.NoError(t, err)
		s.dev = saml2sptest.DevSP{EntityID: s.ep.EntityID, ACSURL: s.ep.ACSURL, SLOURL: s.ep.SLOURL}
		if o.key != nil {
			o.key(t, s)
		}
		if o.dev != nil {
			o.dev(&s.dev)
		}
		if o.reg == nil || *o.reg {
			devs = append(devs, s.dev)
		}
		e.sps = append(e.sps, s)
	}
	var err error
	e.srv, err = saml2sptest.NewServer("http://"+e.idpTS.Listener.Addr().String()+"/idp/", nil, devs...)
	require.NoError(t, err)
	e.idpTS.Config.Handler = e.srv.Handler()
	e.idpTS.Start()

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	e.client = &http.Client{Jar: jar, Timeout: 10 * time.Second}

	resp, err := e.client.Get(e.srv.MetadataURL())
	require.NoError(t, err)
	md, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	for i, s := range e.sps {
		idp, err := saml2sp.ParseMetadata(md)
		require.NoError(t, err)
		cfg := saml2sp.Config{IdP: idp, AllowIdPInitiated: true, Key: s.key, Certificate: s.crt}
		s.ep.Apply(&cfg)
		if opts[i].cfg != nil {
			opts[i].cfg(&cfg)
		}
		s.sp, err = saml2sp.New(cfg)
		require.NoError(t, err)
		mux := http.NewServeMux()
		mux.Handle("/saml/", s.sp.Handler(s.hooks()))
		mux.HandleFunc("/", s.page)
		s.ts.Config.Handler = mux
		s.ts.Start()
	}
	return e
}

func (s *spSide) hooks() saml2sp.Hooks {
	return saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			b := make([]byte, 16)
			_, _ = rand.Read(b)
			id := hex.EncodeToString(b)
			s.mu.Lock()
			s.logins = append(s.logins, l)
			s.sessions[id] = l.Assertion
			s.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: s.cookie(), Value: id, Path: "/", HttpOnly: true})
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
		OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
			s.mu.Lock()
			s.failures = append(s.failures, f)
			s.mu.Unlock()
			http.Error(w, "sso failed: "+f.Err.Error(), f.Status)
		},
		OnLogout: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Logout) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.logouts = append(s.logouts, l)
			for id, a := range s.sessions {
				if a.NameID == l.NameID && (len(l.SessionIndexes) == 0 || slices.Contains(l.SessionIndexes, a.SessionIndex)) {
					delete(s.sessions, id)
				}
			}
			return nil
		},
		CurrentSubject: func(r *http.Request) (saml2sp.LogoutSubject, bool) {
			a := s.current(r)
			if a == nil {
				return saml2sp.LogoutSubject{}, false
			}
			return a.LogoutSubject(), true
		},
	}
}

func (s *spSide) current(r *http.Request) *saml2sp.Assertion {
	c, err := r.Cookie(s.cookie())
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[c.Value]
}

// page is the app: it names the path and the logged-in user.
func (s *spSide) page(w http.ResponseWriter, r *http.Request) {
	user := "nobody"
	if a := s.current(r); a != nil {
		user = a.NameID
	}
	_, _ = io.WriteString(w, "app page "+r.URL.Path+" user="+user)
}

func (s *spSide) url(path string) string { return s.ts.URL + path }

// cookie names the app's session cookie. Cookies ignore ports, and every
// SP here runs on 127.0.0.1, so each needs its own name.
func (s *spSide) cookie() string {
	return "app-" + strconv.Itoa(s.ts.Listener.Addr().(*net.TCPAddr).Port)
}

// lastLogin returns the SP's latest login.
func (s *spSide) lastLogin(t *testing.T) *saml2sp.Login {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.logins, "no login; failures: %v", s.failures)
	return s.logins[len(s.logins)-1]
}

// browserPage is a response as a browser sees it.
type browserPage struct {
	resp *http.Response
	body string
}

func (p browserPage) url() *url.URL { return p.resp.Request.URL }

func (e *devEnv) get(raw string) browserPage {
	e.t.Helper()
	resp, err := e.client.Get(raw)
	require.NoError(e.t, err)
	return e.read(resp)
}

func (e *devEnv) post(raw string, form url.Values) browserPage {
	e.t.Helper()
	resp, err := e.client.PostForm(raw, form)
	require.NoError(e.t, err)
	return e.read(resp)
}

func (e *devEnv) read(resp *http.Response) browserPage {
	e.t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return browserPage{resp: resp, body: string(b)}
}

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// form returns the page's form action (absolute) and hidden fields.
func (p browserPage) form(t *testing.T) (string, url.Values) {
	t.Helper()
	m := formAction.FindStringSubmatch(p.body)
	require.NotNil(t, m, "no form in page %s:\n%s", p.url(), p.body)
	action, err := p.url().Parse(html.UnescapeString(m[1]))
	require.NoError(t, err)
	fields := url.Values{}
	for _, h := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		fields.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return action.String(), fields
}

func (p browserPage) isLoginPage() bool { return strings.Contains(p.body, `name="request"`) }

func (p browserPage) isAutoSubmit() bool {
	return strings.Contains(p.body, `id="saml2sptest-form"`) || strings.Contains(p.body, `id="saml2sp-form"`)
}

// follow submits auto-submitting forms (the IdP's and the SP's) as a
// browser with JavaScript would, until a page that is not one.
func (e *devEnv) follow(p browserPage) browserPage {
	e.t.Helper()
	for i := 0; p.isAutoSubmit(); i++ {
		require.Less(e.t, i, 5, "form loop")
		action, fields := p.form(e.t)
		p = e.post(action, fields)
	}
	return p
}

// signInAs presses the login page's button for username.
func (e *devEnv) signInAs(p browserPage, username string) browserPage {
	e.t.Helper()
	require.True(e.t, p.isLoginPage(), "not the login page: %d %s\n%s", p.resp.StatusCode, p.url(), p.body)
	action, fields := p.form(e.t)
	fields.Set("username", username)
	return e.post(action, fields)
}

// login runs an SP-initiated login at sp as username and returns the app
// page the browser lands on.
func (e *devEnv) login(sp *spSide, username, returnTo string) browserPage {
	e.t.Helper()
	p := e.follow(e.get(sp.ep.LoginURL + "?return_to=" + url.QueryEscape(returnTo)))
	if p.isLoginPage() {
		p = e.signInAs(p, username)
	}
	return e.follow(p)
}

func (e *devEnv) idpURL(route string) string { return e.idpTS.URL + "/idp/" + route }

func assertDevPage(t *testing.T, p browserPage) {
	t.Helper()
	assert.Contains(t, p.body, `<p class="banner">`+bannerText)
	assert.Regexp(t, `<title>[^<]*`+regexp.QuoteMeta(bannerText)+`</title>`, p.body)
	csp := p.resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'none'")
	m := regexp.MustCompile(`<style nonce="([^"]+)">`).FindStringSubmatch(p.body)
	if assert.NotNil(t, m, "inline style without nonce") {
		assert.Contains(t, csp, "style-src 'nonce-"+m[1]+"'")
	}
	assert.NotRegexp(t, `(src|href)="(https?:)?//`, p.body, "external resource")
}

func TestServerMetadata(t *testing.T) {
	e := newDevEnv(t)
	resp, err := e.client.Get(e.srv.MetadataURL())
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "application/samlmetadata+xml", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	idp, err := saml2sp.ParseMetadata(b)
	require.NoError(t, err)

	assert.Equal(t, e.idpURL("metadata"), idp.EntityID)
	assert.Equal(t, e.srv.IdP.EntityID, idp.EntityID)
	require.Len(t, idp.Certificates, 1)
	assert.True(t, idp.Certificates[0].Equal(e.srv.IdP.Certificate))
	for _, b := range []string{saml2sp.BindingHTTPRedirect, saml2sp.BindingHTTPPost} {
		if assert.NotNil(t, idp.SingleSignOnService(b), b) {
			assert.Equal(t, e.idpURL("sso"), idp.SingleSignOnService(b).Location)
		}
		if assert.NotNil(t, idp.SingleLogoutService(b), b) {
			assert.Equal(t, e.idpURL("slo"), idp.SingleLogoutService(b).Location)
		}
	}
}

func TestNewServer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  string
		users []saml2sptest.DevUser
		sps   []saml2sptest.DevSP
	}{
		{name: "base without trailing slash", base: "http://localhost:8180/idp"},
		{name: "relative base", base: "/idp/"},
		{name: "base with query", base: "http://localhost:8180/?a=b"},
		{name: "duplicate user", base: "http://localhost:8180/", users: []saml2sptest.DevUser{{Username: "a"}, {Username: "a"}}},
		{name: "empty username", base: "http://localhost:8180/", users: []saml2sptest.DevUser{{NameID: "x@example.com"}}},
		{name: "SP without ACS", base: "http://localhost:8180/", sps: []saml2sptest.DevSP{{EntityID: "sp"}}},
		{name: "SP with relative SLO", base: "http://localhost:8180/", sps: []saml2sptest.DevSP{{EntityID: "sp", ACSURL: "http://localhost/acs", SLOURL: "/slo"}}},
		{name: "duplicate SP", base: "http://localhost:8180/", sps: []saml2sptest.DevSP{
			{EntityID: "sp", ACSURL: "http://localhost/acs"}, {EntityID: "sp", ACSURL: "http://localhost/acs2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := saml2sptest.NewServer(tc.base, tc.users, tc.sps...)
			assert.Error(t, err)
		})
	}

	t.Run("defaults", func(t *testing.T) {
		s, err := saml2sptest.NewServer("https://idp.example.com/dev/", []saml2sptest.DevUser{{Username: "dave"}})
		require.NoError(t, err)
		assert.Equal(t, "https://idp.example.com/dev/metadata", s.IdP.EntityID)
		assert.Equal(t, "https://idp.example.com/dev/metadata", s.MetadataURL())
		assert.Equal(t, "https://idp.example.com/dev/sso", s.IdP.SSOURL)
		assert.Equal(t, "https://idp.example.com/dev/slo", s.IdP.SLOURL)
		assert.Equal(t, []saml2sptest.DevUser{{Username: "dave", DisplayName: "dave", NameID: "dave"}}, s.Users)
	})
}

func TestDefaultUsers(t *testing.T) {
	users := saml2sptest.DefaultUsers()
	require.Len(t, users, 3)
	groups := func(u saml2sptest.DevUser) []string {
		for _, a := range u.Attributes {
			if a.Name == "groups" {
				return a.Values
			}
		}
		return nil
	}
	assert.Equal(t, "alice", users[0].Username)
	assert.Equal(t, "alice@example.com", users[0].NameID)
	assert.Equal(t, []string{"engineering", "Dogs & cats"}, groups(users[0]))
	assert.Equal(t, []string{"sales"}, groups(users[1]))
	assert.Nil(t, groups(users[2]))
	for _, u := range users {
		var names []string
		for _, a := range u.Attributes {
			names = append(names, a.Name)
		}
		assert.Subset(t, names, []string{"mail", "givenName", "sn", "uid"}, u.Username)
	}
}

func TestServerSPInitiatedLogin(t *testing.T) {
	for _, binding := range []string{saml2sp.BindingHTTPRedirect, saml2sp.BindingHTTPPost} {
		t.Run(binding, func(t *testing.T) {
			e := newDevEnv(t, spOption{cfg: func(c *saml2sp.Config) { c.AuthnRequest.Binding = binding }})
			sp := e.sps[0]

			p := e.follow(e.get(sp.ep.LoginURL + "?return_to=/profile"))
			require.True(t, p.isLoginPage(), p.body)
			assert.Equal(t, http.StatusOK, p.resp.StatusCode)
			assertDevPage(t, p)
			assert.Contains(t, p.body, ">Sign in as Alice (alice@example.com)</button>")
			assert.Contains(t, p.body, ">Sign in as Bob (bob@example.com)</button>")
			assert.Contains(t, p.resp.Header.Get("Content-Security-Policy"), "form-action 'self'")

			p = e.signInAs(p, "alice")
			require.True(t, p.isAutoSubmit(), p.body)
			assertDevPage(t, p)
			action, fields := p.form(t)
			assert.Equal(t, sp.ep.ACSURL, action)
			assert.NotEmpty(t, fields.Get("SAMLResponse"))
			assert.NotEmpty(t, fields.Get("RelayState"), "the SP's RelayState comes back")
			assert.Contains(t, p.resp.Header.Get("Content-Security-Policy"), "form-action "+sp.ts.URL)
			assert.Contains(t, p.body, "<noscript>")
			cookie := p.resp.Header.Get("Set-Cookie")
			assert.Contains(t, cookie, "saml2sptest_idp_session=")
			assert.Contains(t, cookie, "HttpOnly")
			assert.Contains(t, cookie, "SameSite=Lax")

			p = e.follow(p)
			assert.Equal(t, http.StatusOK, p.resp.StatusCode, p.body)
			assert.Equal(t, "app page /profile user=alice@example.com", p.body)
			l := sp.lastLogin(t)
			assert.False(t, l.IdPInitiated)
			assert.Equal(t, "/profile", l.ReturnTo)
			assert.Equal(t, "alice@example.com", l.Assertion.NameID)
			assert.Equal(t, "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", l.Assertion.NameIDFormat)
			assert.Equal(t, []string{"engineering", "Dogs & cats"}, l.Assertion.Attribute("groups"))
			assert.Equal(t, []string{"alice@example.com"}, l.Assertion.Attribute("mail"))
			assert.NotEmpty(t, l.Assertion.SessionIndex)
			assert.NotEmpty(t, l.Assertion.InResponseTo)

			t.Run("session reuse skips the login page", func(t *testing.T) {
				p := e.follow(e.get(sp.ep.LoginURL + "?return_to=/again"))
				assert.False(t, p.isLoginPage())
				assert.Equal(t, "app page /again user=alice@example.com", p.body)
				second := sp.lastLogin(t)
				assert.NotSame(t, l, second)
				assert.Equal(t, l.Assertion.SessionIndex, second.Assertion.SessionIndex, "one IdP session at this SP")
			})
		})
	}
}

func TestServerForceAuthnAndIsPassive(t *testing.T) {
	t.Run("ForceAuthn shows the login page despite a session", func(t *testing.T) {
		e := newDevEnv(t, spOption{cfg: func(c *saml2sp.Config) { c.AuthnRequest.ForceAuthn = true }})
		e.login(e.sps[0], "alice", "/")
		p := e.follow(e.get(e.sps[0].ep.LoginURL))
		require.True(t, p.isLoginPage())
		assert.Contains(t, p.body, "ForceAuthn")
		p = e.follow(e.signInAs(p, "bob"))
		assert.Equal(t, "app page / user=bob@example.com", p.body)
	})
	t.Run("IsPassive without a session answers NoPassive", func(t *testing.T) {
		e := newDevEnv(t, spOption{cfg: func(c *saml2sp.Config) { c.AuthnRequest.IsPassive = true }})
		p := e.follow(e.get(e.sps[0].ep.LoginURL))
		assert.Equal(t, http.StatusForbidden, p.resp.StatusCode, p.body)
		require.Len(t, e.sps[0].failures, 1)
		assert.ErrorIs(t, e.sps[0].failures[0].Err, saml2sp.ErrStatus)
		assert.Contains(t, e.sps[0].failures[0].Err.Error(), "NoPassive")
	})
}

func TestServerIdPInitiatedLogin(t *testing.T) {
	e := newDevEnv(t)
	sp := e.sps[0]
	start := func(q url.Values) browserPage { return e.get(e.idpURL("sso/start?" + q.Encode())) }

	t.Run("with a user", func(t *testing.T) {
		p := start(url.Values{"sp": {sp.ep.EntityID}, "user": {"bob"}, "RelayState": {"/welcome"}})
		require.True(t, p.isAutoSubmit(), p.body)
		p = e.follow(p)
		assert.Equal(t, "app page /welcome user=bob@example.com", p.body)
		l := sp.lastLogin(t)
		assert.True(t, l.IdPInitiated)
		assert.Equal(t, "/welcome", l.ReturnTo)
		assert.Empty(t, l.Assertion.InResponseTo)
		assert.Equal(t, []string{"sales"}, l.Assertion.Attribute("groups"))
	})
	t.Run("from the login page", func(t *testing.T) {
		e.client.Jar, _ = cookiejar.New(nil) // a new browser
		p := start(url.Values{"sp": {sp.ep.EntityID}})
		p = e.follow(e.signInAs(p, "carol"))
		assert.Equal(t, "app page / user=carol@example.com", p.body)
		l := sp.lastLogin(t)
		assert.True(t, l.IdPInitiated)
		assert.Empty(t, l.Assertion.Attribute("groups"))
	})
	t.Run("home page links", func(t *testing.T) {
		p := e.get(e.idpURL(""))
		assert.Equal(t, http.StatusOK, p.resp.StatusCode)
		assertDevPage(t, p)
		assert.Contains(t, p.body, "You are signed in as Carol (carol@example.com)")
		assert.Contains(t, p.body, `href="/idp/sso/start?sp=`+url.QueryEscape(sp.ep.EntityID))
	})
}

func TestServerSPInitiatedLogout(t *testing.T) {
	e := newDevEnv(t, spOption{}, spOption{})
	sp1, sp2 := e.sps[0], e.sps[1]
	e.login(sp1, "alice", "/")
	p := e.login(sp2, "alice", "/") // same IdP session, no login page
	require.Len(t, sp2.logins, 1, p.body)

	p = e.get(sp1.ep.LogoutURL + "?return_to=/bye")
	assert.Equal(t, http.StatusOK, p.resp.StatusCode, p.body)
	assert.Equal(t, sp1.url("/bye"), p.url().String())
	assert.Equal(t, "app page /bye user=nobody", p.body)

	require.Len(t, sp1.logouts, 1)
	assert.Equal(t, saml2sp.InitiatorSP, sp1.logouts[0].Initiator)
	// The IdP told the session's other SP before answering.
	require.Len(t, sp2.logouts, 1)
	assert.Equal(t, saml2sp.InitiatorIdP, sp2.logouts[0].Initiator)
	assert.Equal(t, "alice@example.com", sp2.logouts[0].NameID)
	assert.Equal(t, []string{sp2.logins[0].Assertion.SessionIndex}, sp2.logouts[0].SessionIndexes)
	assert.Empty(t, sp2.sessions)
	assert.Empty(t, sp1.failures)
	assert.Empty(t, sp2.failures)

	// The IdP session is gone: the next login shows the login page.
	p = e.follow(e.get(sp1.ep.LoginURL))
	assert.True(t, p.isLoginPage())
}

func TestServerIdPInitiatedLogout(t *testing.T) {
	setup := func(t *testing.T) (*devEnv, *spSide, *spSide) {
		e := newDevEnv(t, spOption{}, spOption{dev: func(d *saml2sptest.DevSP) { d.SLOURL = "" }}, spOption{})
		e.login(e.sps[0], "alice", "/")
		e.login(e.sps[1], "alice", "/")
		e.login(e.sps[2], "alice", "/")
		return e, e.sps[0], e.sps[2]
	}

	t.Run("chains through every SP, then follows RelayState", func(t *testing.T) {
		e, sp1, sp3 := setup(t)
		q := url.Values{"RelayState": {sp1.url("/logged-out?x=1")}}
		p := e.get(e.idpURL("slo/start?" + q.Encode()))
		assert.Equal(t, sp1.url("/logged-out?x=1"), p.url().String())
		assert.Equal(t, "app page /logged-out user=nobody", p.body)
		for _, sp := range []*spSide{sp1, sp3} {
			require.Len(t, sp.logouts, 1)
			assert.Equal(t, saml2sp.InitiatorIdP, sp.logouts[0].Initiator)
			assert.Equal(t, "alice@example.com", sp.logouts[0].NameID)
			assert.Equal(t, []string{sp.logins[0].Assertion.SessionIndex}, sp.logouts[0].SessionIndexes)
			assert.Empty(t, sp.sessions)
			assert.Empty(t, sp.failures)
		}
		assert.Empty(t, e.sps[1].logouts, "an SP without SLOURL is skipped")
		assert.True(t, e.follow(e.get(sp1.ep.LoginURL)).isLoginPage())
	})
	t.Run("without RelayState shows the logged-out page", func(t *testing.T) {
		e, sp1, _ := setup(t)
		p := e.get(e.idpURL("slo/start"))
		assert.Equal(t, http.StatusOK, p.resp.StatusCode)
		assertDevPage(t, p)
		assert.Contains(t, p.body, "<h1>You are logged out</h1>")
		assert.Len(t, sp1.logouts, 1)
	})
	t.Run("a foreign RelayState is not followed", func(t *testing.T) {
		e, _, _ := setup(t)
		for _, rs := range []string{"https://evil.example/", "//evil.example/", "/idp/", "javascript:alert(1)"} {
			p := e.get(e.idpURL("slo/start?" + url.Values{"RelayState": {rs}}.Encode()))
			assert.Equal(t, http.StatusOK, p.resp.StatusCode, rs)
			assert.Equal(t, e.idpTS.URL, p.url().Scheme+"://"+p.url().Host, rs)
			assert.Contains(t, p.body, "You are logged out", rs)
			assert.Contains(t, p.body, "was not followed", rs)
		}
	})
}

func TestServerSignedRequests(t *testing.T) {
	withKey := func(ec bool) func(*testing.T, *spSide) {
		return func(t *testing.T, s *spSide) {
			var key crypto.Signer
			var err error
			if ec {
				key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			} else {
				key, err = rsa.GenerateKey(rand.Reader, 2048)
			}
			require.NoError(t, err)
			s.crt, err = saml2sptest.NewCertificate(key, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
			require.NoError(t, err)
			s.key = key
		}
	}
	for _, tc := range []struct {
		name    string
		ec      bool
		binding string
	}{
		{"RSA Redirect", false, saml2sp.BindingHTTPRedirect},
		{"RSA POST", false, saml2sp.BindingHTTPPost},
		{"ECDSA Redirect", true, saml2sp.BindingHTTPRedirect},
		{"ECDSA POST", true, saml2sp.BindingHTTPPost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t, spOption{
				key: func(t *testing.T, s *spSide) { withKey(tc.ec)(t, s); s.dev.Certificate = s.crt },
				// The dev IdP checks the requests of SPs with a certificate
				// without saying so in its metadata, like SimpleSAMLphp.
				cfg: func(c *saml2sp.Config) { c.AuthnRequest.Binding, c.AuthnRequest.Sign = tc.binding, true },
			})
			sp := e.sps[0]
			p := e.login(sp, "alice", "/signed")
			assert.Equal(t, "app page /signed user=alice@example.com", p.body)
			// The SP-initiated logout request and IdP-initiated logout
			// response are signed too.
			p = e.get(sp.ep.LogoutURL + "?return_to=/bye")
			assert.Equal(t, "app page /bye user=nobody", p.body)
			e.login(sp, "alice", "/")
			p = e.get(e.idpURL("slo/start"))
			assert.Contains(t, p.body, "You are logged out")
			assert.NotContains(t, p.body, "did not confirm")
		})
	}

	t.Run("unsigned request refused when a certificate is registered", func(t *testing.T) {
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		cert, err := saml2sptest.NewCertificate(other, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		require.NoError(t, err)
		for _, binding := range []string{saml2sp.BindingHTTPRedirect, saml2sp.BindingHTTPPost} {
			e := newDevEnv(t, spOption{
				dev: func(d *saml2sptest.DevSP) { d.Certificate = cert },
				cfg: func(c *saml2sp.Config) { c.AuthnRequest.Binding = binding },
			})
			p := e.follow(e.get(e.sps[0].ep.LoginURL))
			assert.Equal(t, http.StatusForbidden, p.resp.StatusCode, binding)
			assertDevPage(t, p)
			assert.Contains(t, p.body, "must carry a valid signature", binding)
		}
	})
	t.Run("request signed by another key refused", func(t *testing.T) {
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		cert, err := saml2sptest.NewCertificate(other, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		require.NoError(t, err)
		for _, binding := range []string{saml2sp.BindingHTTPRedirect, saml2sp.BindingHTTPPost} {
			e := newDevEnv(t, spOption{
				key: withKey(false),
				dev: func(d *saml2sptest.DevSP) { d.Certificate = cert },
				cfg: func(c *saml2sp.Config) { c.AuthnRequest.Binding = binding },
			})
			p := e.follow(e.get(e.sps[0].ep.LoginURL))
			assert.Equal(t, http.StatusForbidden, p.resp.StatusCode, binding)
			assert.Contains(t, p.body, "must carry a valid signature", binding)
		}
	})
}

func TestServerRefuses(t *testing.T) {
	no := false
	t.Run("unregistered SP", func(t *testing.T) {
		e := newDevEnv(t, spOption{reg: &no})
		p := e.follow(e.get(e.sps[0].ep.LoginURL))
		assert.Equal(t, http.StatusForbidden, p.resp.StatusCode)
		assertDevPage(t, p)
		assert.Contains(t, p.body, "not an SP registered")
		assert.Empty(t, e.sps[0].logins)

		p = e.get(e.idpURL("sso/start?" + url.Values{"sp": {e.sps[0].ep.EntityID}, "user": {"alice"}}.Encode()))
		assert.Equal(t, http.StatusForbidden, p.resp.StatusCode)
	})
	t.Run("unregistered AssertionConsumerServiceURL", func(t *testing.T) {
		e := newDevEnv(t, spOption{dev: func(d *saml2sptest.DevSP) { d.ACSURL = strings.Replace(d.ACSURL, "/acs", "/other-acs", 1) }})
		p := e.follow(e.get(e.sps[0].ep.LoginURL))
		assert.Equal(t, http.StatusForbidden, p.resp.StatusCode)
		assert.Contains(t, p.body, "never posts to an unregistered URL")
		assert.NotContains(t, p.body, "SAMLResponse")
	})
	t.Run("tampered or expired login token", func(t *testing.T) {
		e := newDevEnv(t)
		page := e.follow(e.get(e.sps[0].ep.LoginURL))
		require.True(t, page.isLoginPage())
		action, fields := page.form(t)
		token := fields.Get("request")
		payload, mac, ok := strings.Cut(token, ".")
		require.True(t, ok)
		flip := func(s string) string {
			b := []byte(s)
			if b[3] == 'A' {
				b[3] = 'B'
			} else {
				b[3] = 'A'
			}
			return string(b)
		}
		for _, bad := range []string{flip(payload) + "." + mac, payload + "." + flip(mac), payload, "", "x.y", strings.Repeat("a", 10000)} {
			p := e.post(action, url.Values{"request": {bad}, "username": {"alice"}})
			assert.Equal(t, http.StatusForbidden, p.resp.StatusCode)
			assertDevPage(t, p)
			assert.NotContains(t, p.body, "SAMLResponse")
		}
		p := e.post(action, url.Values{"request": {token}, "username": {"mallory"}})
		assert.Equal(t, http.StatusBadRequest, p.resp.StatusCode)

		e.srv.IdP.Clock = func() time.Time { return time.Now().Add(time.Hour) }
		p = e.post(action, url.Values{"request": {token}, "username": {"alice"}})
		assert.Equal(t, http.StatusForbidden, p.resp.StatusCode)
		assert.Contains(t, p.body, "expired")
	})
	t.Run("bad input", func(t *testing.T) {
		e := newDevEnv(t)
		for _, tc := range []struct {
			name, method, route string
			form                url.Values
			status              int
		}{
			{"sso without a request", http.MethodGet, "sso", nil, http.StatusBadRequest},
			{"sso with garbage", http.MethodGet, "sso?SAMLRequest=%%%", nil, http.StatusBadRequest},
			{"sso with non-DEFLATE data", http.MethodGet, "sso?SAMLRequest=aGVsbG8%3D", nil, http.StatusBadRequest},
			{"sso POST without a request", http.MethodPost, "sso", url.Values{}, http.StatusBadRequest},
			{"sso POST with non-XML", http.MethodPost, "sso", url.Values{"SAMLRequest": {"aGVsbG8="}}, http.StatusBadRequest},
			{"sso POST with a DTD", http.MethodPost, "sso", url.Values{"SAMLRequest": {b64(`<!DOCTYPE x [<!ENTITY a "b">]><samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`)}}, http.StatusBadRequest},
			{"sso POST with a LogoutRequest", http.MethodPost, "sso", url.Values{"SAMLRequest": {b64(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Version="2.0" ID="_1"/>`)}}, http.StatusBadRequest},
			{"sso POST without Issuer", http.MethodPost, "sso", url.Values{"SAMLRequest": {b64(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Version="2.0" ID="_1"/>`)}}, http.StatusBadRequest},
			{"sso/login GET", http.MethodGet, "sso/login", nil, http.StatusMethodNotAllowed},
			{"sso/start without sp", http.MethodGet, "sso/start", nil, http.StatusForbidden},
			{"sso/start with unknown user", http.MethodGet, "sso/start?sp=" + url.QueryEscape(e.sps[0].ep.EntityID) + "&user=mallory", nil, http.StatusBadRequest},
			{"sso/start with long RelayState", http.MethodGet, "sso/start?sp=" + url.QueryEscape(e.sps[0].ep.EntityID) + "&RelayState=" + strings.Repeat("a", 81), nil, http.StatusBadRequest},
			{"slo without a message", http.MethodGet, "slo", nil, http.StatusBadRequest},
			{"slo POST with both", http.MethodPost, "slo", url.Values{"SAMLRequest": {"a"}, "SAMLResponse": {"b"}}, http.StatusBadRequest},
			{"unknown path", http.MethodGet, "nope", nil, http.StatusNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var p browserPage
				if tc.method == http.MethodGet {
					p = e.get(e.idpURL(tc.route))
				} else {
					p = e.post(e.idpURL(tc.route), tc.form)
				}
				assert.Equal(t, tc.status, p.resp.StatusCode, p.body)
				if tc.status != http.StatusMethodNotAllowed {
					assertDevPage(t, p)
				}
			})
		}
	})
	t.Run("LogoutResponse from another SP than the one asked", func(t *testing.T) {
		e := newDevEnv(t, spOption{}, spOption{})
		sp1, sp2 := e.sps[0], e.sps[1]
		e.login(sp1, "alice", "/")
		e.login(sp2, "alice", "/")
		noFollow := *e.client
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := noFollow.Get(e.idpURL("slo/start"))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, sp1.ep.SLOURL, loc.Scheme+"://"+loc.Host+loc.Path)
		msg, err := redirect.Decode(loc.RawQuery, 0)
		require.NoError(t, err)
		id := regexp.MustCompile(`ID="([^"]+)"`).FindSubmatch(msg.XML)
		require.NotNil(t, id)

		// SP 2 answers the LogoutRequest that went to SP 1.
		out, err := sp2.sp.NewLogoutResponse(&saml2sp.LogoutRequest{ID: string(id[1]), Binding: saml2sp.BindingHTTPRedirect}, "")
		require.NoError(t, err)
		p := e.get(out.URL)
		assert.Equal(t, http.StatusForbidden, p.resp.StatusCode)
		assert.Contains(t, p.body, "but the LogoutRequest went to")
	})
	t.Run("LogoutResponse that answers nothing", func(t *testing.T) {
		e := newDevEnv(t)
		sp := e.sps[0]
		// A LogoutResponse the SP would send to a LogoutRequest the IdP
		// never sent: build it by answering a LogoutRequest made here.
		lr, err := e.srv.IdP.LogoutRequestURL(saml2sptest.LogoutRequest{Destination: sp.ep.SLOURL, SessionIndex: "_x"})
		require.NoError(t, err)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(lr)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode)
		p := e.get(resp.Header.Get("Location"))
		assert.Equal(t, http.StatusBadRequest, p.resp.StatusCode)
		assert.Contains(t, p.body, "answers no logout under way")
	})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// formActionSources returns the form-action source list of a CSP header.
func formActionSources(t *testing.T, csp string) []string {
	t.Helper()
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "form-action" {
			return f[1:]
		}
	}
	t.Fatalf("no form-action in %q", csp)
	return nil
}

// TestServerLogoutButtonFormAction: the home page's "Log out of the IdP and
// every SP" button works in a browser that enforces CSP form-action on the
// redirects that follow a form submission, as Chromium does. Go's client
// ignores CSP, so the test checks each hop of the chain against the page's
// form-action the way the browser would. With form-action 'self' alone,
// the first hop (to the first SP's SLO URL) was blocked: the IdP session
// ended and the SPs' stayed.
func TestServerLogoutButtonFormAction(t *testing.T) {
	e := newDevEnv(t, spOption{}, spOption{dev: func(d *saml2sptest.DevSP) { d.SLOURL = "" }}, spOption{})
	for _, sp := range e.sps {
		e.login(sp, "alice", "/")
	}
	home := e.get(e.idpURL(""))
	require.Contains(t, home.body, "Log out of the IdP and every SP")
	allowed := formActionSources(t, home.resp.Header.Get("Content-Security-Policy"))
	want := []string{"'self'"}
	for _, sp := range e.sps {
		want = append(want, sp.ts.URL)
	}
	assert.ElementsMatch(t, want, allowed, "its own origin and each registered SP's, once")

	permitted := func(u *url.URL) bool {
		o := u.Scheme + "://" + u.Host
		for _, src := range allowed {
			if src == o || (src == "'self'" && o == e.idpTS.URL) {
				return true
			}
		}
		return false
	}
	noFollow := *e.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	action, fields := home.form(t)
	resp, err := noFollow.PostForm(action, fields)
	require.NoError(t, err)
	hops := 0
	for ; resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther; hops++ {
		resp.Body.Close()
		require.Less(t, hops, 10, "redirect loop")
		next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.True(t, permitted(next), "a browser enforcing form-action %v blocks the redirect to %s", allowed, next)
		resp, err = noFollow.Get(next.String())
		require.NoError(t, err)
	}
	p := e.read(resp)
	assert.GreaterOrEqual(t, hops, 4, "through two SPs and back")
	assert.Contains(t, p.body, "<h1>You are logged out</h1>")
	for _, i := range []int{0, 2} {
		assert.Empty(t, e.sps[i].sessions, "SP %d's session ended", i)
		assert.Len(t, e.sps[i].logouts, 1)
	}
}

// TestServerFormActionSources: an SP URL whose host could break out of the
// CSP source list is left out of it, and the policy keeps its directives.
func TestServerFormActionSources(t *testing.T) {
	tests := []struct {
		name, slo string
		listed    bool
	}{
		{name: "plain host and port", slo: "http://sp.example:8080/sls", listed: true},
		{name: "upper case is lowered", slo: "HTTPS://SP.Example/sls", listed: true},
		{name: "IPv6 literal", slo: "http://[::1]:9000/sls", listed: true},
		{name: "semicolon", slo: "http://a;script-src*/sls"},
		{name: "comma", slo: "http://a,b/sls"},
		{name: "quote", slo: "http://a'b/sls"},
		{name: "wildcard", slo: "http://*.example/sls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.slo)
			require.NoError(t, err)
			srv, err := saml2sptest.NewServer("http://idp.example/idp/", nil, saml2sptest.DevSP{
				EntityID: "https://sp/metadata", ACSURL: "https://sp.example/acs", SLOURL: tc.slo,
			})
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://idp.example/idp/", nil))
			require.Equal(t, http.StatusOK, rec.Code)
			csp := rec.Header().Get("Content-Security-Policy")
			sources := formActionSources(t, csp)
			assert.Contains(t, sources, "'self'")
			assert.Contains(t, sources, "https://sp.example")
			o := strings.ToLower(u.Scheme + "://" + u.Host)
			assert.Equal(t, tc.listed, slices.Contains(sources, o), "%q in %v", o, sources)
			assert.Len(t, strings.Split(csp, ";"), 6, "no directive added: %s", csp)
			for _, s := range sources {
				assert.NotContains(t, s, ",", s)
			}
		})
	}
}
