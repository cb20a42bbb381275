package saml2sp_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// connTestApp is a webApp whose Hooks include a connection test that only
// requests with the X-Admin header may start.
func connTestApp(t *testing.T, mods ...func(*saml2sp.Config)) *webApp {
	app := newWebApp(t, "https://sp.example.com/saml/", mods...)
	hooks := app.hooks()
	hooks.ConnectionTest = &saml2sp.ConnectionTest{
		Authorize: func(r *http.Request) bool { return r.Header.Get("X-Admin") == "yes" },
		Mapping:   saml2sp.GenericMapping(),
	}
	app.handler = app.sp.Handler(hooks)
	return app
}

// startTest starts a connection test as an admin and returns the request
// ID, the RelayState and the state cookie.
func startTest(t *testing.T, app *webApp) (string, string, *http.Cookie) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, app.ep.TestURL, nil)
	r.Header.Set("X-Admin", "yes")
	w := httptest.NewRecorder()
	app.handler.ServeHTTP(w, r)
	require.Equal(t, http.StatusFound, w.Code, w.Body.String())
	_, msg, root := decodeRedirect(t, w.Header().Get("Location"))
	assert.Equal(t, "true", root.SelectAttrValue("ForceAuthn", ""), "the admin logs in afresh")
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	return root.SelectAttrValue("ID", ""), msg.RelayState, cookies[0]
}

func TestConnectionTest(t *testing.T) {
	t.Run("a good connection: a report, no login", func(t *testing.T) {
		app := connTestApp(t)
		id, handle, cookie := startTest(t, app)
		form := app.responseForm(id, handle, func(r *saml2sptest.Response) {
			r.Attributes = []saml2sp.Attribute{{Name: "uid", Values: []string{"alice"}}, {Name: "mail", Values: []string{"alice@example.com"}}, {Name: "groups", Values: []string{"admins"}}}
		})
		w := app.do(http.MethodPost, app.ep.ACSURL, form, cookie)
		require.Equal(t, http.StatusOK, w.Code)
		body := w.Body.String()
		assert.Contains(t, body, "SSO connection test: passed")
		assert.Contains(t, body, "No session was started")
		assert.Contains(t, body, "(signed by the IdP)")
		assert.Contains(t, body, "<td>mail</td><td>alice@example.com</td>", "the attributes that arrived")
		assert.Contains(t, body, "<td>User ID</td><td>alice</td>", "how the mapping read them")
		assert.Empty(t, app.logins, "OnLogin never runs")
		assert.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'none'")

		// The Response is spent: it cannot log anyone in afterwards.
		w = app.do(http.MethodPost, app.ep.ACSURL, url.Values{"SAMLResponse": form["SAMLResponse"]})
		assert.NotEqual(t, http.StatusSeeOther, w.Code)
		assert.Empty(t, app.logins)
	})
	t.Run("a failing connection says what to change", func(t *testing.T) {
		app := connTestApp(t)
		id, handle, cookie := startTest(t, app)
		form := app.responseForm(id, handle, func(r *saml2sptest.Response) { r.Audience = "https://wrong.example/sp" })
		w := app.do(http.MethodPost, app.ep.ACSURL, form, cookie)
		require.Equal(t, http.StatusOK, w.Code)
		body := w.Body.String()
		assert.Contains(t, body, "SSO connection test: failed")
		assert.Contains(t, body, "set the Audience (Entity ID, Audience URI) to "+app.ep.EntityID)
		assert.Contains(t, body, "not reached")
		assert.Empty(t, app.logins)
	})
	t.Run("only an admin starts one", func(t *testing.T) {
		app := connTestApp(t)
		w := app.do(http.MethodGet, app.ep.TestURL, nil)
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.Empty(t, w.Result().Cookies(), "no test state for a non-admin")
	})
	t.Run("a login's state cannot be used as a test, nor a test's as a login", func(t *testing.T) {
		app := connTestApp(t)
		id, handle, cookie := app.startLogin("/x")
		w := app.do(http.MethodPost, app.ep.ACSURL, app.responseForm(id, handle), cookie)
		require.Equal(t, http.StatusSeeOther, w.Code, "an ordinary login still logs in")
		require.Len(t, app.logins, 1)
		assert.NotContains(t, w.Body.String(), "connection test")
	})
	t.Run("without ConnectionTest, no test endpoint", func(t *testing.T) {
		app := newWebApp(t, "https://sp.example.com/saml/")
		w := app.do(http.MethodGet, app.ep.TestURL, nil)
		assert.Equal(t, http.StatusNotFound, w.Code)
	})
	t.Run("decryption failures stay uniform on the page", func(t *testing.T) {
		app := connTestApp(t, encWithKey)
		_, other := encKey(1)
		id, handle, cookie := startTest(t, app)
		w := app.do(http.MethodPost, app.ep.ACSURL, app.responseForm(id, handle, encFor(other, saml2sptest.Encryption{})), cookie)
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), "could not be decrypted")
		assert.NotContains(t, w.Body.String(), "the reason:")
	})
}

// TestConnectionTestHandlerNeedsAuthorize: without Authorize, no test.
func TestConnectionTestHandlerNeedsAuthorize(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/")
	assert.Panics(t, func() { app.sp.ConnectionTestHandler(saml2sp.Hooks{ConnectionTest: &saml2sp.ConnectionTest{}}) })
	assert.Panics(t, func() { app.sp.ConnectionTestHandler(saml2sp.Hooks{}) })
}
