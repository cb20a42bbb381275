package pgstore_test

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/pgstore"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// replica is one complete SP stack of an app: its own pool, Store,
// Limiter, SP and Handler, as in a process of its own. Replicas share
// only the database and the configuration (the same StateKey).
type replica struct {
	name    string
	handler http.Handler
	store   *pgstore.Store
	app     *app
}

// app is what both replicas report to: the logins and failures they saw.
type app struct {
	logins   atomic.Int32
	mu       sync.Mutex
	lastUser *saml2sp.Login
	failures []*saml2sp.Failure
}

func (a *app) hooks() saml2sp.Hooks {
	return saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			a.logins.Add(1)
			a.mu.Lock()
			a.lastUser = l
			a.mu.Unlock()
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
		OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
			a.mu.Lock()
			a.failures = append(a.failures, f)
			a.mu.Unlock()
			http.Error(w, "login failed, reference "+f.Reference, f.Status)
		},
		LoginBinding: func(r *http.Request) string { return r.Header.Get("X-Session-Digest") },
		// Logout is not what these replicas test; the Handler needs the hooks.
		OnLogout:       func(http.ResponseWriter, *http.Request, *saml2sp.Logout) error { return nil },
		CurrentSubject: func(*http.Request) (saml2sp.LogoutSubject, bool) { return saml2sp.LogoutSubject{}, false },
	}
}

// takeFailures returns the failures seen since the last call.
func (a *app) takeFailures() []*saml2sp.Failure {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.failures
	a.failures = nil
	return f
}

// deployment is an app of two replicas, A and B, and the test IdP.
type deployment struct {
	idp  *saml2sptest.IdP
	ep   saml2sp.Endpoints
	app  *app
	a, b *replica
}

// newDeployment builds two replicas on the server at dsn, sharing tables
// under a fresh prefix.
func newDeployment(t testing.TB, dsn string, opts pgstore.Options) *deployment {
	t.Helper()
	idp, err := saml2sptest.NewIdP("https://idp.example.com")
	require.NoError(t, err)
	ep, err := saml2sp.EndpointsAt("https://app.example.com/saml/")
	require.NoError(t, err)
	if opts.TablePrefix == "" {
		opts.TablePrefix = freshPrefix()
	}
	stateKey := bytes.Repeat([]byte{7}, 32)
	d := &deployment{idp: idp, ep: ep, app: &app{}}
	first, _ := newStore(t, dsn, opts) // creates the tables
	for i, name := range []string{"A", "B"} {
		store := first
		if i > 0 {
			store, err = pgstore.New(newPool(t, dsn), opts)
			require.NoError(t, err)
		}
		cfg := saml2sp.Config{
			IdP:               idp.IdentityProvider(),
			AllowIdPInitiated: true,
			ReplayCache:       store,
			StateKey:          stateKey,
			Limiter:           saml2sp.NewLimiter(0, 0),
			Logger:            slog.New(slog.DiscardHandler),
		}
		ep.Apply(&cfg)
		sp, err := saml2sp.New(cfg)
		require.NoError(t, err)
		r := &replica{name: name, handler: sp.Handler(d.app.hooks()), store: store, app: d.app}
		if i == 0 {
			d.a = r
		} else {
			d.b = r
		}
	}
	return d
}

// login is a login started at one replica: what the browser holds.
type login struct {
	requestID, relayState string
	cookie                *http.Cookie
}

// startLogin runs r's login endpoint, as the browser of the session whose
// digest is session, and reads the AuthnRequest it redirects to.
func (d *deployment) startLogin(t testing.TB, r *replica, returnTo, session string) login {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, d.ep.LoginURL+"?return_to="+url.QueryEscape(returnTo), nil)
	req.Header.Set("X-Session-Digest", session)
	w := httptest.NewRecorder()
	r.handler.ServeHTTP(w, req)
	require.Equal(t, http.StatusFound, w.Code, w.Body.String())
	loc, err := url.Parse(w.Header().Get("Location"))
	require.NoError(t, err)
	deflated, err := base64.StdEncoding.DecodeString(loc.Query().Get("SAMLRequest"))
	require.NoError(t, err)
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(deflated)), 1<<20))
	require.NoError(t, err)
	var authn struct {
		ID string `xml:"ID,attr"`
	}
	require.NoError(t, xml.Unmarshal(raw, &authn))
	require.NotEmpty(t, authn.ID)
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	return login{requestID: authn.ID, relayState: loc.Query().Get("RelayState"), cookie: cookies[0]}
}

// responseForm is the IdP's answer to l (nil: an IdP-initiated login),
// as the browser POSTs it to the ACS.
func (d *deployment) responseForm(t testing.TB, l *login) url.Values {
	t.Helper()
	r := saml2sptest.Response{Destination: d.ep.ACSURL, Audience: d.ep.EntityID}
	form := url.Values{}
	if l != nil {
		r.InResponseTo = l.requestID
		form.Set("RelayState", l.relayState)
	}
	v, err := d.idp.Response(r)
	require.NoError(t, err)
	form.Set("SAMLResponse", v)
	return form
}

// post POSTs form to r's ACS with the cookie, if any.
func (d *deployment) post(r *replica, form url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, d.ep.ACSURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	r.handler.ServeHTTP(w, req)
	return w
}
