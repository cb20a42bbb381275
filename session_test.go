package saml2sp_test

import (
	"bytes"
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

// sessionApp is an app on the session layer: the SAML endpoints under
// /saml/, a protected /private page, real time (the cookie store's
// expiry is judged by it).
type sessionApp struct {
	t        *testing.T
	idp      *saml2sptest.IdP
	ep       saml2sp.Endpoints
	sess     *saml2sp.Sessions
	users    *saml2sp.MemoryUserStore
	revoked  *saml2sp.MemoryRevocationStore
	handler  http.Handler
	failures []*saml2sp.Failure
}

func newSessionApp(t *testing.T, mods ...func(*saml2sp.Sessions)) *sessionApp {
	t.Helper()
	idp, err := saml2sptest.NewIdP("https://idp.example.org/metadata")
	require.NoError(t, err)
	ep, err := saml2sp.EndpointsAt("https://app.example.com/saml/")
	require.NoError(t, err)
	cfg := saml2sp.Config{IdP: idp.IdentityProvider(), StateKey: bytes.Repeat([]byte{3}, 32), AllowIdPInitiated: true}
	ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	require.NoError(t, err)
	a := &sessionApp{t: t, idp: idp, ep: ep, users: &saml2sp.MemoryUserStore{}, revoked: saml2sp.NewMemoryRevocationStore(0, nil)}
	a.sess = &saml2sp.Sessions{
		Store:       &saml2sp.CookieStore{Key: bytes.Repeat([]byte{9}, 32)},
		Revocations: a.revoked,
		Provisioner: &saml2sp.Provisioner{Mapping: saml2sp.GenericMapping(), Store: a.users},
		LoginURL:    ep.LoginURL,
	}
	for _, m := range mods {
		m(a.sess)
	}
	hooks := a.sess.Hooks()
	hooks.OnFailure = func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
		a.failures = append(a.failures, f)
		w.WriteHeader(f.Status)
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp.Handler(hooks))
	mux.Handle("/private", a.sess.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := saml2sp.SessionFrom(r.Context())
		_, _ = w.Write([]byte("hello " + s.UserID + " from " + s.Subject.NameID))
	})))
	a.handler = mux
	return a
}

// browser is a cookie jar of one browser.
type browser struct {
	a       *sessionApp
	cookies map[string]*http.Cookie
}

func (a *sessionApp) browser() *browser { return &browser{a: a, cookies: map[string]*http.Cookie{}} }

func (b *browser) do(method, target string, form url.Values, header ...string) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.a.handler.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return w
}

// login runs an SP-initiated login as alice (or as nameID) and returns the
// ACS answer.
func (b *browser) login(returnTo, nameID string) *httptest.ResponseRecorder {
	b.a.t.Helper()
	w := b.do(http.MethodGet, b.a.ep.LoginURL+"?return_to="+url.QueryEscape(returnTo), nil)
	require.Equal(b.a.t, http.StatusFound, w.Code)
	_, msg, root := decodeRedirect(b.a.t, w.Header().Get("Location"))
	v, err := b.a.idp.Response(saml2sptest.Response{
		Destination: b.a.ep.ACSURL, Audience: b.a.ep.EntityID, InResponseTo: root.SelectAttrValue("ID", ""),
		NameID: nameID, SessionIndex: "_s-" + nameID,
		Attributes: []saml2sp.Attribute{{Name: "uid", Values: []string{"id-" + nameID}}, {Name: "email", Values: []string{nameID}}},
	})
	require.NoError(b.a.t, err)
	return b.do(http.MethodPost, b.a.ep.ACSURL, url.Values{"SAMLResponse": {v}, "RelayState": {msg.RelayState}})
}

func TestSessionLayer(t *testing.T) {
	t.Run("a browser without a session is sent to the login, an API client gets 401", func(t *testing.T) {
		a := newSessionApp(t)
		w := a.browser().do(http.MethodGet, "https://app.example.com/private?x=1", nil)
		require.Equal(t, http.StatusSeeOther, w.Code)
		assert.Equal(t, a.ep.LoginURL+"?return_to=%2Fprivate%3Fx%3D1", w.Header().Get("Location"))
		r := httptest.NewRequest(http.MethodGet, "https://app.example.com/private", nil)
		r.Header.Set("Accept", "application/json")
		w = httptest.NewRecorder()
		a.handler.ServeHTTP(w, r)
		assert.Equal(t, http.StatusUnauthorized, w.Code)
	})
	t.Run("login makes an account and a session, and the page it wanted", func(t *testing.T) {
		a := newSessionApp(t)
		b := a.browser()
		w := b.login("/private?x=1", "alice@example.com")
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		assert.Equal(t, "/private?x=1", w.Header().Get("Location"))
		c := b.cookies["__Host-saml2sp_session"]
		require.NotNil(t, c, "the session cookie has the __Host- prefix")
		assert.True(t, c.Secure)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
		assert.Equal(t, "/", c.Path)
		assert.Empty(t, c.Domain)
		w = b.do(http.MethodGet, "https://app.example.com/private", nil)
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "no-store", w.Header().Get("Cache-Control"), "a protected page is not kept for Back after logout")
		users := a.users.Users()
		require.Len(t, users, 1)
		assert.Equal(t, "hello "+users[0].ID+" from alice@example.com", w.Body.String())
	})
	t.Run("the IdP's logout ends the session in another browser", func(t *testing.T) {
		a := newSessionApp(t)
		alice, bob := a.browser(), a.browser()
		alice.login("/", "alice@example.com")
		bob.login("/", "bob@example.com")
		// The IdP's LogoutRequest comes through a third browser, which has
		// no session at all: alice's cookie cannot be deleted from here.
		u, err := a.idp.LogoutRequestURL(saml2sptest.LogoutRequest{Destination: a.ep.SLOURL, NameID: "alice@example.com",
			SPNameQualifier: a.ep.EntityID, SessionIndex: "_s-alice@example.com"})
		require.NoError(t, err)
		w := a.browser().do(http.MethodGet, u, nil)
		require.Equal(t, http.StatusFound, w.Code)
		w = alice.do(http.MethodGet, "https://app.example.com/private", nil)
		assert.Equal(t, http.StatusSeeOther, w.Code, "alice's cookie-only session is revoked")
		w = bob.do(http.MethodGet, "https://app.example.com/private", nil)
		assert.Equal(t, http.StatusOK, w.Code, "bob's is not")
		// A new login after the logout works.
		alice.login("/", "alice@example.com")
		assert.Equal(t, http.StatusOK, alice.do(http.MethodGet, "https://app.example.com/private", nil).Code)
	})
	t.Run("the IdP's logout through the same browser deletes its cookie", func(t *testing.T) {
		a := newSessionApp(t)
		b := a.browser()
		b.login("/", "alice@example.com")
		u, err := a.idp.LogoutRequestURL(saml2sptest.LogoutRequest{Destination: a.ep.SLOURL, NameID: "alice@example.com", SPNameQualifier: a.ep.EntityID})
		require.NoError(t, err)
		b.do(http.MethodGet, u, nil)
		assert.Nil(t, b.cookies["__Host-saml2sp_session"])
	})
	t.Run("logging out here deletes the cookie and revokes copies of it", func(t *testing.T) {
		a := newSessionApp(t)
		b := a.browser()
		b.login("/", "alice@example.com")
		stolen := *b.cookies["__Host-saml2sp_session"]
		w := b.do(http.MethodGet, a.ep.LogoutURL+"?return_to=/bye", nil, "Sec-Fetch-Site", "same-origin")
		require.Equal(t, http.StatusFound, w.Code, "off to the IdP")
		assert.Nil(t, b.cookies["__Host-saml2sp_session"])
		thief := a.browser()
		thief.cookies[stolen.Name] = &stolen
		assert.Equal(t, http.StatusSeeOther, thief.do(http.MethodGet, "https://app.example.com/private", nil).Code)
	})
	t.Run("another tenant's IdP cannot end a session of the same NameID", func(t *testing.T) {
		a := newSessionApp(t)
		b := a.browser()
		b.login("/", "alice@example.com")
		// Revoke alice at another IdP, as another tenant's logout would.
		require.NoError(t, a.revoked.Revoke(context.Background(), saml2sp.Revocation{IdP: "https://idp.globex.example/", NameID: "alice@example.com"},
			time.Now(), time.Now().Add(time.Hour)))
		assert.Equal(t, http.StatusOK, b.do(http.MethodGet, "https://app.example.com/private", nil).Code)
	})
	t.Run("a refused account is a login failure, with no session", func(t *testing.T) {
		a := newSessionApp(t, func(s *saml2sp.Sessions) { s.Provisioner.Policy.AllowGroups = []string{"admins"} })
		b := a.browser()
		w := b.login("/", "alice@example.com")
		assert.Equal(t, http.StatusForbidden, w.Code)
		require.Len(t, a.failures, 1)
		assert.Equal(t, saml2sp.FlowLogin, a.failures[0].Flow)
		assert.Empty(t, b.cookies["__Host-saml2sp_session"])
	})
	t.Run("an expired session is none", func(t *testing.T) {
		now := time.Now()
		a := newSessionApp(t, func(s *saml2sp.Sessions) { s.Clock = func() time.Time { return now }; s.MaxAge = time.Hour })
		b := a.browser()
		b.login("/", "alice@example.com")
		assert.Equal(t, http.StatusOK, b.do(http.MethodGet, "https://app.example.com/private", nil).Code)
		now = now.Add(61 * time.Minute)
		assert.Equal(t, http.StatusSeeOther, b.do(http.MethodGet, "https://app.example.com/private", nil).Code)
	})
	t.Run("the revocation store down: 503, never a pass", func(t *testing.T) {
		a := newSessionApp(t, func(s *saml2sp.Sessions) { s.Revocations = downRevocations{} })
		b := a.browser()
		b.login("/", "alice@example.com")
		w := b.do(http.MethodGet, "https://app.example.com/private", nil)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.NotEmpty(t, w.Header().Get("Retry-After"))
	})
}

type downRevocations struct{}

func (downRevocations) Revoke(context.Context, saml2sp.Revocation, time.Time, time.Time) error {
	return errors.New("connection refused")
}
func (downRevocations) Revoked(context.Context, saml2sp.Revocation, time.Time) (bool, error) {
	return false, errors.New("connection refused")
}

func TestCookieStore(t *testing.T) {
	key, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	s := &saml2sp.Session{UserID: "u1", Subject: saml2sp.LogoutSubject{IdP: "i", NameID: "alice"}, Created: time.Now(), Expires: time.Now().Add(time.Hour)}
	save := func(st *saml2sp.CookieStore) *http.Cookie {
		w := httptest.NewRecorder()
		require.NoError(t, st.Save(w, httptest.NewRequest(http.MethodGet, "/", nil), s))
		return w.Result().Cookies()[0]
	}
	load := func(st *saml2sp.CookieStore, c *http.Cookie) *saml2sp.Session {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(c)
		got, err := st.Load(r)
		require.NoError(t, err)
		return got
	}
	c := save(&saml2sp.CookieStore{Key: key})
	got := load(&saml2sp.CookieStore{Key: key}, c)
	require.NotNil(t, got)
	assert.Equal(t, "u1", got.UserID)
	assert.Equal(t, "alice", got.Subject.NameID)
	assert.NotContains(t, c.Value, "alice", "encrypted")

	assert.Nil(t, load(&saml2sp.CookieStore{Key: other}, c), "another key opens nothing")
	assert.NotNil(t, load(&saml2sp.CookieStore{Key: other, PreviousKeys: [][]byte{key}}, c), "a previous key still opens")
	tampered := *c
	tampered.Value = tampered.Value[:10] + string(rune('A'+(tampered.Value[10]-'A'+1)%26)) + tampered.Value[11:]
	assert.Nil(t, load(&saml2sp.CookieStore{Key: key}, &tampered), "altered: no session")
	moved := *c
	moved.Name = "__Host-other"
	assert.Nil(t, load(&saml2sp.CookieStore{Key: key, Name: "other"}, &moved), "a value moved to another cookie does not open")

	dev := save(&saml2sp.CookieStore{Key: key, Insecure: true})
	assert.Equal(t, "saml2sp_session", dev.Name)
	assert.False(t, dev.Secure)

	_, err := (&saml2sp.CookieStore{Key: key[:16]}).Load(func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(c)
		return r
	}())
	require.ErrorIs(t, err, saml2sp.ErrConfig, "a short key is a configuration error")
}

func TestSessionsRefuseMisconfiguration(t *testing.T) {
	store := &saml2sp.CookieStore{Key: bytes.Repeat([]byte{1}, 32)}
	rev := saml2sp.NewMemoryRevocationStore(0, nil)
	prov := &saml2sp.Provisioner{Mapping: saml2sp.GenericMapping(), Store: &saml2sp.MemoryUserStore{}}
	for _, tc := range []struct {
		name string
		s    saml2sp.Sessions
		want string
	}{
		{"no store", saml2sp.Sessions{Revocations: rev, Provisioner: prov, LoginURL: "/l"}, "Store"},
		{"no revocation store", saml2sp.Sessions{Store: store, Provisioner: prov, LoginURL: "/l"}, "Revocations"},
		{"no account step", saml2sp.Sessions{Store: store, Revocations: rev, LoginURL: "/l"}, "Provisioner and UserID"},
		{"no login URL", saml2sp.Sessions{Store: store, Revocations: rev, Provisioner: prov}, "LoginURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				require.NotNil(t, r)
				assert.Contains(t, r, tc.want)
			}()
			tc.s.Hooks()
		})
	}
}
