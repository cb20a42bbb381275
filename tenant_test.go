package saml2sp_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
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

const tenantBase = "https://sentry.example.com/saml/"

// tenants is a multi-tenant app: each organization has its own IdP.
type tenants struct {
	idps   map[string]*saml2sptest.IdP
	sps    map[string]*saml2sp.SP
	logins []*saml2sp.Login
	fails  []*saml2sp.Failure
	h      *saml2sp.TenantHandler
}

func newTenants(t *testing.T, names ...string) *tenants {
	t.Helper()
	ts := &tenants{idps: map[string]*saml2sptest.IdP{}, sps: map[string]*saml2sp.SP{}}
	for _, name := range names {
		idp, err := saml2sptest.NewIdP("https://idp." + name + ".example/")
		require.NoError(t, err)
		idp.Clock = func() time.Time { return testNow }
		ep, err := saml2sp.TenantEndpoints(tenantBase, name)
		require.NoError(t, err)
		cfg := saml2sp.Config{IdP: idp.IdentityProvider(), Clock: idp.Clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		ep.Apply(&cfg)
		sp, err := saml2sp.New(cfg)
		require.NoError(t, err)
		ts.idps[name], ts.sps[name] = idp, sp
	}
	ts.h = &saml2sp.TenantHandler{
		BaseURL: tenantBase,
		Tenants: saml2sp.TenantResolverFunc(func(ctx context.Context, tenant string) (*saml2sp.SP, error) {
			if tenant == "broken" {
				return nil, errors.New("database is down")
			}
			sp, ok := ts.sps[tenant]
			if !ok {
				return nil, saml2sp.ErrUnknownTenant
			}
			return sp, nil
		}),
		Hooks: saml2sp.Hooks{
			OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
				ts.logins = append(ts.logins, l)
				w.WriteHeader(http.StatusNoContent)
				return nil
			},
			OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
				ts.fails = append(ts.fails, f)
				w.WriteHeader(f.Status)
			},
			OnLogout:       func(http.ResponseWriter, *http.Request, *saml2sp.Logout) error { return nil },
			CurrentSubject: func(*http.Request) (saml2sp.LogoutSubject, bool) { return saml2sp.LogoutSubject{}, false },
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return ts
}

func (ts *tenants) post(target string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	ts.h.ServeHTTP(w, r)
	return w
}

func (ts *tenants) get(target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	ts.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w
}

// unsolicited mints an IdP-initiated Response from tenant from's IdP,
// addressed to tenant to's endpoints.
func (ts *tenants) unsolicited(t *testing.T, from, to string, mods ...func(*saml2sptest.Response)) url.Values {
	ep, err := saml2sp.TenantEndpoints(tenantBase, to)
	require.NoError(t, err)
	r := saml2sptest.Response{Destination: ep.ACSURL, Audience: ep.EntityID}
	for _, m := range mods {
		m(&r)
	}
	v, err := ts.idps[from].Response(r)
	require.NoError(t, err)
	return url.Values{"SAMLResponse": {v}}
}

func TestTenantRouting(t *testing.T) {
	ts := newTenants(t, "acme", "globex")
	acme, _ := saml2sp.TenantEndpoints(tenantBase, "acme")
	globex, _ := saml2sp.TenantEndpoints(tenantBase, "globex")

	t.Run("each tenant has its own metadata", func(t *testing.T) {
		w := ts.get(acme.MetadataURL)
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), `entityID="`+acme.EntityID+`"`)
	})
	t.Run("login goes to the tenant's IdP", func(t *testing.T) {
		w := ts.get(globex.LoginURL)
		require.Equal(t, http.StatusFound, w.Code)
		assert.True(t, strings.HasPrefix(w.Header().Get("Location"), ts.idps["globex"].SSOURL+"?"))
	})
	t.Run("unknown tenant, unknown endpoint and missing slash look the same", func(t *testing.T) {
		for _, p := range []string{"acs/initech/", "acs/acme", "nope/acme/", "acs//", "acs/../acme/", "metadata/broken-but-unknown/"} {
			w := ts.get(tenantBase + p)
			assert.Equal(t, http.StatusNotFound, w.Code, p)
			assert.Equal(t, "404 page not found\n", w.Body.String(), p)
		}
	})
	t.Run("resolver failure is not a 404 and leaks nothing", func(t *testing.T) {
		w := ts.get(tenantBase + "metadata/broken/")
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.NotContains(t, w.Body.String(), "database")
	})
}

func TestCrossTenantResponseRejected(t *testing.T) {
	for _, allow := range []bool{false, true} {
		ts := newTenants(t, "acme", "globex")
		if allow {
			// Rebuild with IdP-initiated login allowed, so that only the
			// tenant separation stands in the way.
			for name, idp := range ts.idps {
				ep, _ := saml2sp.TenantEndpoints(tenantBase, name)
				cfg := saml2sp.Config{IdP: idp.IdentityProvider(), Clock: idp.Clock, AllowIdPInitiated: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
				ep.Apply(&cfg)
				sp, err := saml2sp.New(cfg)
				require.NoError(t, err)
				ts.sps[name] = sp
			}
		}
		globex, _ := saml2sp.TenantEndpoints(tenantBase, "globex")
		acme, _ := saml2sp.TenantEndpoints(tenantBase, "acme")

		// A genuine acme Response posted to globex's ACS.
		w := ts.post(globex.ACSURL, ts.unsolicited(t, "acme", "acme"))
		assert.Equal(t, http.StatusForbidden, w.Code)
		// acme's IdP minting a Response addressed to globex: right address,
		// wrong issuer, refused before any cryptography.
		w = ts.post(globex.ACSURL, ts.unsolicited(t, "acme", "globex"))
		assert.Equal(t, http.StatusForbidden, w.Code)
		require.NotEmpty(t, ts.fails)
		assert.ErrorIs(t, ts.fails[len(ts.fails)-1].Err, saml2sp.ErrIssuer)
		// The same, claiming to come from globex's IdP: right address,
		// right issuer, wrong signer.
		w = ts.post(globex.ACSURL, ts.unsolicited(t, "acme", "globex", func(r *saml2sptest.Response) {
			r.Issuer = ts.idps["globex"].EntityID
		}))
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.ErrorIs(t, ts.fails[len(ts.fails)-1].Err, saml2sp.ErrSignature)
		assert.Empty(t, ts.logins)

		if allow {
			w = ts.post(acme.ACSURL, ts.unsolicited(t, "acme", "acme"))
			require.Equal(t, http.StatusNoContent, w.Code)
			require.Len(t, ts.logins, 1)
			assert.Equal(t, "acme", ts.logins[0].Tenant)
		}
	}
}
