package saml2sp_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// perRequestTenants is a multi-tenant app whose resolver builds a new SP
// on every request, as one that reads the tenant's row from a database
// does. mod changes each SP's Config.
type perRequestTenants struct {
	t      *testing.T
	idp    *saml2sptest.IdP
	h      *saml2sp.TenantHandler
	logins []*saml2sp.Login
	fails  []*saml2sp.Failure
	logs   *bytes.Buffer
	builds int
}

func newPerRequestTenants(t *testing.T, mod func(*saml2sp.Config), handler func(*saml2sp.TenantHandler)) *perRequestTenants {
	// Real time: the handler's default replay cache judges expiry by it.
	idp, err := saml2sptest.NewIdP("https://idp.acme.example/")
	require.NoError(t, err)
	ts := &perRequestTenants{t: t, idp: idp, logs: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(ts.logs, nil))
	ts.h = &saml2sp.TenantHandler{
		BaseURL: tenantBase,
		Tenants: saml2sp.TenantResolverFunc(func(ctx context.Context, tenant string) (*saml2sp.SP, error) {
			if tenant != "acme" {
				return nil, saml2sp.ErrUnknownTenant
			}
			ts.builds++
			ep, err := saml2sp.TenantEndpoints(tenantBase, tenant)
			if err != nil {
				return nil, err
			}
			cfg := saml2sp.Config{IdP: idp.IdentityProvider(), Logger: logger}
			ep.Apply(&cfg)
			if mod != nil {
				mod(&cfg)
			}
			return saml2sp.New(cfg)
		}),
		Hooks: saml2sp.Hooks{
			OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
				ts.logins = append(ts.logins, l)
				http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
				return nil
			},
			OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
				ts.fails = append(ts.fails, f)
				w.WriteHeader(f.Status)
			},
			OnLogout:       func(http.ResponseWriter, *http.Request, *saml2sp.Logout) error { return nil },
			CurrentSubject: func(*http.Request) (saml2sp.LogoutSubject, bool) { return saml2sp.LogoutSubject{}, false },
		},
		Logger: logger,
	}
	if handler != nil {
		handler(ts.h)
	}
	return ts
}

func (ts *perRequestTenants) serve(r *http.Request, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	ts.h.ServeHTTP(w, r)
	return w
}

// startLogin runs acme's login start and returns the AuthnRequest ID, the
// RelayState and the state cookie.
func (ts *perRequestTenants) startLogin() (string, string, *http.Cookie) {
	ts.t.Helper()
	ep, _ := saml2sp.TenantEndpoints(tenantBase, "acme")
	w := ts.serve(httptest.NewRequest(http.MethodGet, ep.LoginURL+"?return_to=/issues", nil))
	require.Equal(ts.t, http.StatusFound, w.Code, ts.logs.String())
	loc, err := url.Parse(w.Header().Get("Location"))
	require.NoError(ts.t, err)
	msg, err := redirect.Decode(loc.RawQuery, 0)
	require.NoError(ts.t, err)
	doc := etree.NewDocument()
	require.NoError(ts.t, doc.ReadFromBytes(msg.XML))
	cookies := w.Result().Cookies()
	require.Len(ts.t, cookies, 1)
	return doc.Root().SelectAttrValue("ID", ""), msg.RelayState, cookies[0]
}

func (ts *perRequestTenants) postResponse(form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	ep, _ := saml2sp.TenantEndpoints(tenantBase, "acme")
	r := httptest.NewRequest(http.MethodPost, ep.ACSURL, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return ts.serve(r, cookies...)
}

func (ts *perRequestTenants) response(requestID, relayState string) url.Values {
	ts.t.Helper()
	ep, _ := saml2sp.TenantEndpoints(tenantBase, "acme")
	v, err := ts.idp.Response(saml2sptest.Response{Destination: ep.ACSURL, Audience: ep.EntityID, InResponseTo: requestID})
	require.NoError(ts.t, err)
	return url.Values{"SAMLResponse": {v}, "RelayState": {relayState}}
}

// TestPerRequestTenantSPs: a resolver that builds a new SP on every request
// (no StateKey, no ReplayCache of its own) gets the TenantHandler's shared
// ones: SP-initiated login works, and a captured Response posted again with
// its cookies is refused as a replay.
func TestPerRequestTenantSPs(t *testing.T) {
	ts := newPerRequestTenants(t, nil, func(h *saml2sp.TenantHandler) { h.StateKey = bytes.Repeat([]byte{7}, 32) })
	id, handle, cookie := ts.startLogin()
	form := ts.response(id, handle)
	w := ts.postResponse(form, cookie)
	require.Equal(t, http.StatusSeeOther, w.Code, ts.logs.String())
	require.Len(t, ts.logins, 1)
	assert.Equal(t, "/issues", ts.logins[0].ReturnTo)
	assert.Equal(t, "acme", ts.logins[0].Tenant)

	for range 3 {
		w = ts.postResponse(form, cookie)
		assert.Equal(t, http.StatusForbidden, w.Code)
		require.NotEmpty(t, ts.fails)
		assert.ErrorIs(t, ts.fails[len(ts.fails)-1].Err, saml2sp.ErrReplay)
	}
	assert.Len(t, ts.logins, 1, "replays refused")
	assert.GreaterOrEqual(t, ts.builds, 5, "an SP per request")
}

// TestTenantHandlerDefaults: with no StateKey or ReplayCache, the handler
// makes one of each for every tenant (so one replica works) and says in
// the log that several replicas need them set.
func TestTenantHandlerDefaults(t *testing.T) {
	ts := newPerRequestTenants(t, nil, nil)
	id, handle, cookie := ts.startLogin()
	form := ts.response(id, handle)
	require.Equal(t, http.StatusSeeOther, ts.postResponse(form, cookie).Code, ts.logs.String())
	require.Equal(t, http.StatusForbidden, ts.postResponse(form, cookie).Code)
	assert.ErrorIs(t, ts.fails[len(ts.fails)-1].Err, saml2sp.ErrReplay)
	assert.Contains(t, ts.logs.String(), "TenantHandler.StateKey is not set")
	assert.Contains(t, ts.logs.String(), "TenantHandler.ReplayCache is not set")
	assert.Equal(t, 1, strings.Count(ts.logs.String(), "TenantHandler.StateKey is not set"), "warned once")
}

// TestTenantSPWithItsOwnSharedState: a tenant SP that brings a StateKey,
// ReplayCache or Limiter of its own, different from the handler's, is
// refused with an error that names the field; one that brings exactly the
// handler's is served.
func TestTenantSPWithItsOwnSharedState(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	cache := saml2sp.NewMemoryReplayCache(0, nil)
	limiter := saml2sp.NewLimiter(2, time.Second)
	handler := func(h *saml2sp.TenantHandler) { h.StateKey, h.ReplayCache, h.Limiter = key, cache, limiter }
	for _, tc := range []struct {
		name  string
		mod   func(*saml2sp.Config)
		field string // "" means served
	}{
		{"its own StateKey", func(c *saml2sp.Config) { c.StateKey = bytes.Repeat([]byte{8}, 32) }, "StateKey"},
		{"its own ReplayCache", func(c *saml2sp.Config) { c.ReplayCache = saml2sp.NewMemoryReplayCache(0, nil) }, "ReplayCache"},
		{"its own Limiter", func(c *saml2sp.Config) { c.Limiter = saml2sp.NewLimiter(0, 0) }, "Limiter"},
		{"a ReplayCache that cannot be compared", func(c *saml2sp.Config) { c.ReplayCache = uncomparableCache{} }, "ReplayCache"},
		{"exactly the handler's", func(c *saml2sp.Config) { c.StateKey, c.ReplayCache, c.Limiter = key, cache, limiter }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newPerRequestTenants(t, tc.mod, handler)
			ep, _ := saml2sp.TenantEndpoints(tenantBase, "acme")
			w := ts.serve(httptest.NewRequest(http.MethodGet, ep.LoginURL, nil))
			if tc.field == "" {
				assert.Equal(t, http.StatusFound, w.Code, ts.logs.String())
				return
			}
			assert.Equal(t, http.StatusInternalServerError, w.Code)
			assert.Contains(t, ts.logs.String(), "tenant SP refused")
			assert.Contains(t, ts.logs.String(), "Config."+tc.field)
			assert.Empty(t, w.Result().Cookies(), "no login started")
		})
	}
}

// uncomparableCache is a ReplayCache value of a type == cannot compare.
type uncomparableCache struct{ _ []string }

func (uncomparableCache) CheckAndStore(context.Context, string, time.Time) error { return nil }
