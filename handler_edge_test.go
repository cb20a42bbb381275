package saml2sp_test

// Edge cases of the HTTP layer that mutation testing showed were not yet
// pinned: each test here fails when the check it names is removed.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

func TestACSDuplicateSAMLResponseWithoutRelayState(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	w := app.do(http.MethodPost, app.ep.ACSURL, url.Values{"SAMLResponse": {"eA==", "eA=="}})
	assert.Equal(t, http.StatusBadRequest, w.Code)
	require.Len(t, app.failures, 1)
	assert.Contains(t, app.failures[0].Err.Error(), "appears 2 times")
}

func TestACSOversizedValueIs413(t *testing.T) {
	// Over MaxResponseSize but inside the form allowance: ParseResponse's
	// own bound answers, and it must map to 413.
	app := newWebApp(t, "https://sp.example.com/saml/")
	w := app.do(http.MethodPost, app.ep.ACSURL, url.Values{"SAMLResponse": {strings.Repeat("A", saml2sp.DefaultMaxResponseSize+1000)}})
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
}

func TestLogoutStateCookieIsNoLoginState(t *testing.T) {
	// The state a logout start hands out, sent along to the ACS (a client
	// may send any cookie anywhere): its kind binds it to logout, so it
	// answers no login.
	app := newWebApp(t, "http://127.0.0.1:8080/saml/")
	app.subject = &saml2sp.LogoutSubject{NameID: "alice@example.com", SessionIndex: "_s1"}
	w := app.do(http.MethodGet, app.ep.LogoutURL, nil)
	require.Equal(t, http.StatusFound, w.Code)
	_, msg, root := decodeRedirect(t, w.Header().Get("Location"))
	cookie := w.Result().Cookies()[0]
	form := app.responseForm(root.SelectAttrValue("ID", ""), msg.RelayState)
	form.Set("saml2sp_repost", "1")
	w = app.do(http.MethodPost, app.ep.ACSURL, form, cookie)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Empty(t, app.logins)
}

func TestEndpointsMustDiffer(t *testing.T) {
	idp := newTestIdP(t)
	_, err := saml2sp.New(saml2sp.Config{
		EntityID: testSPEntityID, ACSURL: "https://sp.example.com/saml/x", SLOURL: "https://sp.example.com/saml/x",
		IdP: idp.IdentityProvider(),
	})
	require.ErrorIs(t, err, saml2sp.ErrConfig, "two endpoints on one path would make Handler ambiguous")
}

func TestSPInitiatedLogoutClearsItsState(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	app.subject = &saml2sp.LogoutSubject{NameID: "alice@example.com", SessionIndex: "_s1"}
	w := app.do(http.MethodGet, app.ep.LogoutURL, nil)
	_, msg, root := decodeRedirect(t, w.Header().Get("Location"))
	cookie := w.Result().Cookies()[0]
	u, err := app.idp.LogoutResponseURL(saml2sptest.LogoutResponse{Destination: app.ep.SLOURL, InResponseTo: root.SelectAttrValue("ID", ""), RelayState: msg.RelayState})
	require.NoError(t, err)
	w = app.do(http.MethodGet, u, nil, cookie)
	require.Equal(t, http.StatusSeeOther, w.Code)
	cleared := w.Result().Cookies()
	require.Len(t, cleared, 1)
	assert.Equal(t, cookie.Name, cleared[0].Name)
	assert.Less(t, cleared[0].MaxAge, 0)
}

// TestHandlersRefuseMissingHooks: a handler is not built without the hooks
// its endpoints need; the mistake shows at start-up (a panic, as
// http.Handle's for a nil handler), not as a 500 at a user's first login.
func TestHandlersRefuseMissingHooks(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	onLogin := func(http.ResponseWriter, *http.Request, *saml2sp.Login) error { return nil }
	onLogout := func(http.ResponseWriter, *http.Request, *saml2sp.Logout) error { return nil }
	subject := func(*http.Request) (saml2sp.LogoutSubject, bool) { return saml2sp.LogoutSubject{}, false }
	for _, tc := range []struct {
		name  string
		build func(saml2sp.Hooks) http.Handler
		hooks saml2sp.Hooks
		want  string // "" builds
	}{
		{"Handler without OnLogin", app.sp.Handler, saml2sp.Hooks{OnLogout: onLogout, CurrentSubject: subject}, "Handler needs Hooks.OnLogin"},
		{"Handler without OnLogout, SLO configured", app.sp.Handler, saml2sp.Hooks{OnLogin: onLogin, CurrentSubject: subject}, "Handler needs Hooks.OnLogout"},
		{"Handler without CurrentSubject, logout configured", app.sp.Handler, saml2sp.Hooks{OnLogin: onLogin, OnLogout: onLogout}, "Handler needs Hooks.CurrentSubject"},
		{"Handler with all", app.sp.Handler, saml2sp.Hooks{OnLogin: onLogin, OnLogout: onLogout, CurrentSubject: subject}, ""},
		{"ACSHandler without OnLogin", app.sp.ACSHandler, saml2sp.Hooks{}, "ACSHandler needs Hooks.OnLogin"},
		{"LoginHandler needs no hook (it calls none that is required)", app.sp.LoginHandler, saml2sp.Hooks{}, ""},
		{"SLSHandler without OnLogout", app.sp.SLSHandler, saml2sp.Hooks{OnLogin: onLogin}, "SLSHandler needs Hooks.OnLogout"},
		{"LogoutHandler without CurrentSubject", app.sp.LogoutHandler, saml2sp.Hooks{OnLogout: onLogout}, "LogoutHandler needs Hooks.CurrentSubject"},
		{"ACSHandler alone needs only OnLogin", app.sp.ACSHandler, saml2sp.Hooks{OnLogin: onLogin}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				assert.NotPanics(t, func() { tc.build(tc.hooks) })
				return
			}
			assert.PanicsWithValue(t, "saml2sp: "+tc.want, func() { tc.build(tc.hooks) })
		})
	}

	// Without SLO or logout endpoints, Handler needs OnLogin only.
	ep, err := saml2sp.EndpointsAt("https://sp.example.com/saml/")
	require.NoError(t, err)
	cfg := saml2sp.Config{IdP: app.idp.IdentityProvider(), EntityID: ep.EntityID, ACSURL: ep.ACSURL, LoginURL: ep.LoginURL}
	sp, err := saml2sp.New(cfg)
	require.NoError(t, err)
	assert.NotPanics(t, func() { sp.Handler(saml2sp.Hooks{OnLogin: onLogin}) })
}

func TestLogoutResponseRepost(t *testing.T) {
	app := newWebApp(t, "http://127.0.0.1:8080/saml/")
	app.subject = &saml2sp.LogoutSubject{NameID: "alice@example.com", SessionIndex: "_s1"}
	w := app.do(http.MethodGet, app.ep.LogoutURL, nil)
	_, msg, root := decodeRedirect(t, w.Header().Get("Location"))
	form, err := app.idp.LogoutResponseForm(saml2sptest.LogoutResponse{Destination: app.ep.SLOURL, InResponseTo: root.SelectAttrValue("ID", ""), RelayState: msg.RelayState})
	require.NoError(t, err)

	t.Run("POST without the cookie gets the same-site re-POST", func(t *testing.T) {
		w := app.do(http.MethodPost, app.ep.SLOURL, form)
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), `name="saml2sp_repost" value="1"`)
	})
	t.Run("the re-POST without the cookie fails instead of looping", func(t *testing.T) {
		again := url.Values{"saml2sp_repost": {"1"}}
		for k, v := range form {
			again[k] = v
		}
		w := app.do(http.MethodPost, app.ep.SLOURL, again)
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.NotContains(t, w.Body.String(), "saml2sp_repost")
	})
	t.Run("a GET is never re-posted", func(t *testing.T) {
		u, err := app.idp.LogoutResponseURL(saml2sptest.LogoutResponse{Destination: app.ep.SLOURL, InResponseTo: "_x", RelayState: msg.RelayState})
		require.NoError(t, err)
		w := app.do(http.MethodGet, u, nil)
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.NotContains(t, w.Body.String(), "saml2sp_repost")
	})
}

func TestReturnToBodyIsBounded(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	body := "return_to=%2Fnext&pad=" + strings.Repeat("x", 20<<10)
	r := httptest.NewRequest(http.MethodPost, app.ep.LogoutURL, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	app.handler.ServeHTTP(w, r)
	assert.Equal(t, "/", w.Header().Get("Location"), "an oversized form is not read: the default return path")
}

func TestTenantResolverMistakes(t *testing.T) {
	ts := newTenants(t, "acme")
	var calls []string
	h := &saml2sp.TenantHandler{
		BaseURL: tenantBase,
		Tenants: saml2sp.TenantResolverFunc(func(_ context.Context, tenant string) (*saml2sp.SP, error) {
			calls = append(calls, tenant)
			switch tenant {
			case "globex": // wrong: another tenant's SP
				return ts.sps["acme"], nil
			case "nilsp":
				return nil, nil
			}
			return nil, saml2sp.ErrUnknownTenant
		}),
		Hooks:  ts.h.Hooks,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	get := func(path string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tenantBase+path, nil))
		return w.Code
	}
	assert.Equal(t, http.StatusNotFound, get("metadata/globex/"), "an SP configured for other URLs is not served")
	assert.Equal(t, http.StatusNotFound, get("metadata/nilsp/"), "a nil SP is unknown, not a panic")
	calls = nil
	assert.Equal(t, http.StatusNotFound, get("metadata/a%20b/"))
	assert.Empty(t, calls, "an invalid tenant name never reaches the resolver")

	// A handler without the hooks every tenant needs serves nothing, and
	// Validate says why at start-up.
	bad := &saml2sp.TenantHandler{BaseURL: tenantBase, Tenants: h.Tenants, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	require.ErrorIs(t, bad.Validate(), saml2sp.ErrConfig)
	assert.Contains(t, bad.Validate().Error(), "Hooks.OnLogin")
	w := httptest.NewRecorder()
	bad.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tenantBase+"metadata/acme/", nil))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	require.NoError(t, h.Validate())
}
