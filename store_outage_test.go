package saml2sp_test

import (
	"context"
	"errors"
	"net/http"
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

// downCache is a ReplayCache whose store cannot be reached.
type downCache struct{}

func (downCache) CheckAndStore(context.Context, string, time.Time) error {
	return errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
}

// TestStoreOutageIsNotAReplay: when the replay cache cannot answer, the
// message is refused (fail closed) as ErrUnavailable, which the handlers
// answer with 503 and Retry-After; never as ErrReplay.
func TestStoreOutageIsNotAReplay(t *testing.T) {
	t.Run("ParseResponse", func(t *testing.T) {
		e := newTestEnv(t, func(c *saml2sp.Config) { c.ReplayCache = downCache{} })
		a, err := e.parse(e.mint(e.response()))
		require.Nil(t, a)
		require.ErrorIs(t, err, saml2sp.ErrUnavailable)
		assert.NotErrorIs(t, err, saml2sp.ErrReplay)
		assert.Contains(t, err.Error(), "connection refused")
	})
	t.Run("ACS answers 503", func(t *testing.T) {
		e := newTestEnv(t, func(c *saml2sp.Config) { c.ReplayCache, c.AllowIdPInitiated = downCache{}, true })
		var failure *saml2sp.Failure
		h := e.sp.ACSHandler(saml2sp.Hooks{
			OnLogin:   func(http.ResponseWriter, *http.Request, *saml2sp.Login) error { t.Error("logged in"); return nil },
			OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) { failure = f; w.WriteHeader(f.Status) },
		})
		form := url.Values{"SAMLResponse": {e.mint(e.response(func(r *saml2sptest.Response) { r.InResponseTo = "" }))}}
		req := httptest.NewRequest(http.MethodPost, testACSURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.NotEmpty(t, w.Header().Get("Retry-After"))
		require.NotNil(t, failure)
		assert.ErrorIs(t, failure.Err, saml2sp.ErrUnavailable)
	})
	t.Run("LogoutRequest", func(t *testing.T) {
		e := newSLOEnv(t, func(c *saml2sp.Config) { c.ReplayCache = downCache{} })
		for _, binding := range sloBindings {
			_, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, e.idp, binding, logoutRequest()))
			require.ErrorIs(t, err, saml2sp.ErrUnavailable, short(binding))
			assert.NotErrorIs(t, err, saml2sp.ErrReplay)
		}
	})
}

// TestOneReplayEntryPerLogin: an SP-initiated login takes one entry in the
// replay cache (the request it answers), and a second Response to the same
// request, or the same Response again, is refused.
func TestOneReplayEntryPerLogin(t *testing.T) {
	cache := &recordingCache{}
	app := newWebApp(t, "https://sp.example.com/saml/", func(c *saml2sp.Config) { c.ReplayCache = cache })
	id, handle, cookie := app.startLogin("/x")
	w := app.do(http.MethodPost, app.ep.ACSURL, app.responseForm(id, handle), cookie)
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	assert.Len(t, cache.keys, 1, "one entry for one SP-initiated login through the ACS")

	mem := newTestEnv(t)
	v := mem.mint(mem.response())
	_, err := mem.parse(v)
	require.NoError(t, err)
	_, err = mem.parse(v)
	require.ErrorIs(t, err, saml2sp.ErrReplay, "the same Response again")
	_, err = mem.parse(mem.mint(mem.response()))
	require.ErrorIs(t, err, saml2sp.ErrReplay, "another Response to the same request")
}

// switchCache is a memory cache that can be taken down and brought back.
type switchCache struct {
	down bool
	mem  *saml2sp.MemoryReplayCache
}

func (c *switchCache) CheckAndStore(ctx context.Context, id string, exp time.Time) error {
	if c.down {
		return downCache{}.CheckAndStore(ctx, id, exp)
	}
	return c.mem.CheckAndStore(ctx, id, exp)
}

// TestLoginSurvivesAStoreOutage: a 503 from a store outage keeps the login
// state cookie, so posting the same form again once the store is back
// logs the user in; any other failure spends it.
func TestLoginSurvivesAStoreOutage(t *testing.T) {
	cache := &switchCache{down: true, mem: saml2sp.NewMemoryReplayCache(0, func() time.Time { return testNow })}
	app := newWebApp(t, "https://sp.example.com/saml/", func(c *saml2sp.Config) { c.ReplayCache = cache })
	id, handle, cookie := app.startLogin("/x")
	form := app.responseForm(id, handle)
	w := app.do(http.MethodPost, app.ep.ACSURL, form, cookie)
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	for _, c := range w.Result().Cookies() {
		assert.NotEqual(t, cookie.Name, c.Name, "the state cookie is kept")
	}
	cache.down = false
	w = app.do(http.MethodPost, app.ep.ACSURL, form, cookie)
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	require.Len(t, app.logins, 1)

	// A refused Response spends the state.
	id, handle, cookie = app.startLogin("/y")
	w = app.do(http.MethodPost, app.ep.ACSURL, app.responseForm(id, handle, func(r *saml2sptest.Response) { r.Audience = "https://other.example" }), cookie)
	require.Equal(t, http.StatusForbidden, w.Code)
	cleared := false
	for _, c := range w.Result().Cookies() {
		cleared = cleared || (c.Name == cookie.Name && c.MaxAge < 0)
	}
	assert.True(t, cleared, "the state cookie is cleared")
}
