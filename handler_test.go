package saml2sp_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// webApp is an SP mounted as an http.Handler with recording hooks.
type webApp struct {
	t       *testing.T
	idp     *saml2sptest.IdP
	sp      *saml2sp.SP
	ep      saml2sp.Endpoints
	handler http.Handler
	logs    *bytes.Buffer

	logins    []*saml2sp.Login
	failures  []*saml2sp.Failure
	logouts   []*saml2sp.Logout
	subject   *saml2sp.LogoutSubject
	logoutErr error
}

func newWebApp(t *testing.T, base string, mods ...func(*saml2sp.Config)) *webApp {
	t.Helper()
	idp := newTestIdP(t)
	ep, err := saml2sp.EndpointsAt(base)
	require.NoError(t, err)
	app := &webApp{t: t, idp: idp, ep: ep, logs: &bytes.Buffer{}}
	cfg := saml2sp.Config{
		IdP:    idp.IdentityProvider(),
		Clock:  func() time.Time { return testNow },
		Logger: slog.New(slog.NewTextHandler(app.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	ep.Apply(&cfg)
	for _, m := range mods {
		m(&cfg)
	}
	app.sp, err = saml2sp.New(cfg)
	require.NoError(t, err)
	app.handler = app.sp.Handler(app.hooks())
	return app
}

func (a *webApp) hooks() saml2sp.Hooks {
	return saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			a.logins = append(a.logins, l)
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
		OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
			a.failures = append(a.failures, f)
			http.Error(w, "login failed, reference "+f.Reference, f.Status)
		},
		OnLogout: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Logout) error {
			a.logouts = append(a.logouts, l)
			return a.logoutErr
		},
		CurrentSubject: func(r *http.Request) (saml2sp.LogoutSubject, bool) {
			if a.subject == nil {
				return saml2sp.LogoutSubject{}, false
			}
			return *a.subject, true
		},
	}
}

// do sends a request through the app's handler.
func (a *webApp) do(method, target string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	a.handler.ServeHTTP(w, r)
	return w
}

// startLogin runs the login endpoint and returns the AuthnRequest ID, the
// RelayState handle and the state cookie.
func (a *webApp) startLogin(returnTo string) (string, string, *http.Cookie) {
	a.t.Helper()
	w := a.do(http.MethodGet, a.ep.LoginURL+"?return_to="+url.QueryEscape(returnTo), nil)
	require.Equal(a.t, http.StatusFound, w.Code)
	loc, err := url.Parse(w.Header().Get("Location"))
	require.NoError(a.t, err)
	require.Equal(a.t, a.idp.SSOURL, loc.Scheme+"://"+loc.Host+loc.Path)
	msg, err := redirect.Decode(loc.RawQuery, 0)
	require.NoError(a.t, err)
	doc := etree.NewDocument()
	require.NoError(a.t, doc.ReadFromBytes(msg.XML))
	id := doc.Root().SelectAttrValue("ID", "")
	require.NotEmpty(a.t, id)
	cookies := w.Result().Cookies()
	require.Len(a.t, cookies, 1)
	return id, msg.RelayState, cookies[0]
}

func (a *webApp) responseForm(requestID, relayState string, mods ...func(*saml2sptest.Response)) url.Values {
	a.t.Helper()
	r := saml2sptest.Response{Destination: a.ep.ACSURL, Audience: a.ep.EntityID, InResponseTo: requestID, SessionIndex: "_s1"}
	for _, m := range mods {
		m(&r)
	}
	v, err := a.idp.Response(r)
	require.NoError(a.t, err)
	return url.Values{"SAMLResponse": {v}, "RelayState": {relayState}}
}

func TestSPInitiatedLogin(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	id, handle, cookie := app.startLogin("/private/page?x=1")

	assert.Equal(t, "__Host-saml2sp-"+handle, cookie.Name, "a sibling subdomain cannot plant a __Host- cookie")
	assert.Equal(t, "/", cookie.Path, "__Host- requires it, and the login start must see pending states to cap them")
	assert.Empty(t, cookie.Domain)
	assert.True(t, cookie.Secure)
	assert.True(t, cookie.HttpOnly)
	assert.Equal(t, http.SameSiteNoneMode, cookie.SameSite, "HTTPS: the cookie may ride the cross-site POST")

	w := app.do(http.MethodPost, app.ep.ACSURL, app.responseForm(id, handle), cookie)
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	assert.Equal(t, "/private/page?x=1", w.Header().Get("Location"))
	require.Len(t, app.logins, 1)
	assert.Equal(t, "alice@example.com", app.logins[0].Assertion.NameID)
	assert.False(t, app.logins[0].IdPInitiated)
	cleared := w.Result().Cookies()
	require.Len(t, cleared, 1)
	assert.Equal(t, cookie.Name, cleared[0].Name)
	assert.Less(t, cleared[0].MaxAge, 0, "the state cookie is single-use")

	t.Run("the request cannot be answered twice", func(t *testing.T) {
		w := app.do(http.MethodPost, app.ep.ACSURL, app.responseForm(id, handle), cookie)
		assert.Equal(t, http.StatusForbidden, w.Code)
		require.NotEmpty(t, app.failures)
		assert.True(t, errors.Is(app.failures[len(app.failures)-1].Err, saml2sp.ErrReplay))
	})
}

func TestCrossSitePostWithoutCookie(t *testing.T) {
	// Over plain HTTP the state cookie is SameSite=Lax, which a browser
	// drops from the IdP's cross-site POST. The ACS re-POSTs from its own
	// origin, and that POST carries the cookie.
	app := newWebApp(t, "http://127.0.0.1:8080/saml/")
	id, handle, cookie := app.startLogin("/after")
	assert.Equal(t, "saml2sp-"+handle, cookie.Name)
	assert.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
	assert.False(t, cookie.Secure)

	form := app.responseForm(id, handle)
	w := app.do(http.MethodPost, app.ep.ACSURL, form) // no cookie: cross-site
	require.Equal(t, http.StatusOK, w.Code)
	page := w.Body.String()
	assert.Contains(t, page, `action="http://127.0.0.1:8080/saml/acs"`)
	assert.Contains(t, page, `name="saml2sp_repost" value="1"`)
	assert.Contains(t, w.Header().Get("Content-Security-Policy"), "script-src 'nonce-")
	assert.Empty(t, app.logins, "nothing is decided before the cookie is back")

	reposted := url.Values{"SAMLResponse": form["SAMLResponse"], "RelayState": {handle}, "saml2sp_repost": {"1"}}
	t.Run("re-POST without the cookie fails instead of looping", func(t *testing.T) {
		w := app.do(http.MethodPost, app.ep.ACSURL, reposted)
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.True(t, errors.Is(app.failures[len(app.failures)-1].Err, saml2sp.ErrInResponseTo))
	})
	t.Run("re-POST with the cookie logs in", func(t *testing.T) {
		app2 := newWebApp(t, "http://127.0.0.1:8080/saml/")
		id, handle, cookie := app2.startLogin("/after")
		form := app2.responseForm(id, handle)
		form.Set("saml2sp_repost", "1")
		w := app2.do(http.MethodPost, app2.ep.ACSURL, form, cookie)
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		assert.Equal(t, "/after", w.Header().Get("Location"))
	})
}

func TestStateCookieOfAnotherLogin(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	id1, handle1, _ := app.startLogin("/one")
	_, _, cookie2 := app.startLogin("/two")
	// The cookie of login 2 renamed to login 1's handle: its MAC binds it
	// to its own handle.
	forged := &http.Cookie{Name: "__Host-saml2sp-" + handle1, Value: cookie2.Value}
	w := app.do(http.MethodPost, app.ep.ACSURL, url.Values{
		"SAMLResponse": app.responseForm(id1, handle1)["SAMLResponse"], "RelayState": {handle1}, "saml2sp_repost": {"1"},
	}, forged)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Empty(t, app.logins)
}

func TestIdPInitiatedLogin(t *testing.T) {
	allow := func(c *saml2sp.Config) { c.AllowIdPInitiated = true }
	tests := []struct {
		name, relayState, want string
	}{
		{"safe path is honoured", "/projects/42", "/projects/42"},
		{"absolute URL is ignored", "https://evil.example/", "/"},
		{"scheme-relative is ignored", "//evil.example/", "/"},
		{"backslash trick is ignored", "/\\evil.example/", "/"},
		{"javascript is ignored", "javascript:alert(1)", "/"},
		{"CR LF is ignored", "/a\r\nSet-Cookie: x=1", "/"},
		{"over 80 bytes is ignored", "/" + strings.Repeat("a", 80), "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := newWebApp(t, "https://sp.example.com/saml/", allow)
			w := app.do(http.MethodPost, app.ep.ACSURL, app.responseForm("", tc.relayState))
			require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
			assert.Equal(t, tc.want, w.Header().Get("Location"))
			require.Len(t, app.logins, 1)
			assert.True(t, app.logins[0].IdPInitiated)
		})
	}
	t.Run("refused unless allowed", func(t *testing.T) {
		app := newWebApp(t, "https://sp.example.com/saml/")
		w := app.do(http.MethodPost, app.ep.ACSURL, app.responseForm("", "/x"))
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.True(t, errors.Is(app.failures[0].Err, saml2sp.ErrUnsolicited))
	})
	t.Run("solicited responses are still fully checked", func(t *testing.T) {
		app := newWebApp(t, "https://sp.example.com/saml/", allow)
		w := app.do(http.MethodPost, app.ep.ACSURL, app.responseForm("_not-ours", "/x"))
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.True(t, errors.Is(app.failures[0].Err, saml2sp.ErrInResponseTo))
	})
}

func TestACSRequestShape(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	good := app.responseForm("", "")
	tests := []struct {
		name   string
		method string
		body   string
		status int
	}{
		{"GET is not allowed", http.MethodGet, "", http.StatusMethodNotAllowed},
		{"PUT is not allowed", http.MethodPut, good.Encode(), http.StatusMethodNotAllowed},
		{"no SAMLResponse", http.MethodPost, "RelayState=x", http.StatusBadRequest},
		{"two SAMLResponse fields", http.MethodPost, good.Encode() + "&" + good.Encode(), http.StatusBadRequest},
		{"two RelayState fields", http.MethodPost, good.Encode() + "&RelayState=a&RelayState=b", http.StatusBadRequest},
		{"oversized body", http.MethodPost, "SAMLResponse=" + strings.Repeat("A", saml2sp.DefaultMaxResponseSize+(128<<10)), http.StatusRequestEntityTooLarge},
		{"garbage", http.MethodPost, "SAMLResponse=%%%", http.StatusBadRequest},
		{"not base64", http.MethodPost, "SAMLResponse=***", http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, app.ep.ACSURL, strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			app.handler.ServeHTTP(w, r)
			assert.Equal(t, tc.status, w.Code)
			if tc.status == http.StatusMethodNotAllowed {
				assert.Equal(t, "POST", w.Header().Get("Allow"))
			}
			assert.NotContains(t, w.Body.String(), "<saml")
			assert.Empty(t, app.logins)
		})
	}
}

func TestDefaultFailurePageShowsOnlyAReference(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	h := app.sp.ACSHandler(saml2sp.Hooks{OnLogin: func(http.ResponseWriter, *http.Request, *saml2sp.Login) error { t.Fatal("no login"); return nil }})
	form := app.responseForm("_unknown", "", func(r *saml2sptest.Response) { r.Audience = "https://other.example/" })
	r := httptest.NewRequest(http.MethodPost, app.ep.ACSURL, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
	assert.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'none'")
	body := w.Body.String()
	assert.Contains(t, body, "<h1>Single sign-on failed</h1>", "the page names the flow")
	assert.NotContains(t, body, "other.example", "the user sees no detail")
	m := regexp.MustCompile(`<code>([0-9a-f]+)</code>`).FindStringSubmatch(body)
	require.Len(t, m, 2, body)
	assert.Contains(t, app.logs.String(), "reference="+m[1], "the log has the same reference")
	assert.Contains(t, app.logs.String(), "other.example", "and the detail")
}

// TestLogoutFailurePageNamesLogout: a failed logout says so, not "single
// sign-on failed".
func TestLogoutFailurePageNamesLogout(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	h := app.sp.SLSHandler(saml2sp.Hooks{OnLogout: func(http.ResponseWriter, *http.Request, *saml2sp.Logout) error { return nil }})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, app.ep.SLOURL+"?SAMLRequest=garbage", nil))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "<h1>Single logout failed</h1>")
	assert.Contains(t, w.Body.String(), "<code>")
}

func TestLogsCarryNoSecretsUnlessTracing(t *testing.T) {
	run := func(trace bool) string {
		app := newWebApp(t, "https://sp.example.com/saml/", func(c *saml2sp.Config) { c.InsecureTraceMessages = trace })
		id, handle, cookie := app.startLogin("/")
		form := app.responseForm(id, handle, func(r *saml2sptest.Response) { r.NameID = "secret-user@example.com" })
		require.Equal(t, http.StatusSeeOther, app.do(http.MethodPost, app.ep.ACSURL, form, cookie).Code)
		bad := app.responseForm("_x", "", func(r *saml2sptest.Response) { r.NameID = "secret-user@example.com"; r.Sign = saml2sptest.SignNone })
		app.do(http.MethodPost, app.ep.ACSURL, bad, cookie)
		return app.logs.String() + "\ncookie=" + cookie.Value
	}
	quiet := run(false)
	logs, cookieValue, _ := strings.Cut(quiet, "\ncookie=")
	assert.NotContains(t, logs, "secret-user")
	assert.NotContains(t, logs, "<saml")
	assert.NotContains(t, logs, cookieValue)

	traced := run(true)
	assert.Contains(t, traced, "INSECURE")
	assert.Contains(t, traced, "secret-user@example.com")
}

func TestMetadataHandler(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	w := app.do(http.MethodGet, app.ep.MetadataURL, nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "application/samlmetadata+xml", w.Header().Get("Content-Type"))
	assert.Contains(t, w.Body.String(), `entityID="https://sp.example.com/saml/metadata"`)
	assert.Contains(t, w.Body.String(), `Location="https://sp.example.com/saml/acs"`)
	assert.Equal(t, http.StatusMethodNotAllowed, app.do(http.MethodPost, app.ep.MetadataURL, url.Values{}).Code)
	assert.Equal(t, http.StatusNotFound, app.do(http.MethodGet, "https://sp.example.com/saml/acs/", nil).Code,
		"paths match exactly: no trailing-slash redirect that would drop a POST")
}
