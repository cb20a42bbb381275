package redisstore_test

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/redisstore"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// appBase is the app's public URL: the load balancer in front of the
// replicas. The test reaches each replica at its own httptest address,
// on the same host, so a browser's cookies go to both.
const appBase = "http://sp.example.test/saml/"

// replicaSet is an app running as two replicas: two complete SP handler
// stacks with their own SP, Limiter and Redis client and Store, sharing
// nothing in process but the configuration every replica gets (the
// StateKey, the IdP) and the Redis server.
type replicaSet struct {
	t   *testing.T
	idp *saml2sptest.IdP
	ep  saml2sp.Endpoints
	a   *httptest.Server
	b   *httptest.Server

	mu       sync.Mutex
	logins   []replicaLogin
	failures []*saml2sp.Failure
}

type replicaLogin struct {
	replica string
	login   *saml2sp.Login
}

func newReplicaSet(t *testing.T, srv *redisServer, opts redisstore.Options) *replicaSet {
	t.Helper()
	idp, err := saml2sptest.NewIdP("https://idp.example.com/metadata")
	require.NoError(t, err)
	ep, err := saml2sp.EndpointsAt(appBase)
	require.NoError(t, err)
	stateKey := make([]byte, 32)
	_, _ = rand.Read(stateKey)
	rs := &replicaSet{t: t, idp: idp, ep: ep}
	replica := func(name string) *httptest.Server {
		cfg := saml2sp.Config{
			IdP:         idp.IdentityProvider(),
			StateKey:    stateKey,
			ReplayCache: newStore(t, srv, opts),
			Limiter:     saml2sp.NewLimiter(0, 0), // per process
			Logger:      slog.New(slog.DiscardHandler),
		}
		ep.Apply(&cfg)
		sp, err := saml2sp.New(cfg)
		require.NoError(t, err)
		ts := httptest.NewServer(sp.Handler(rs.hooks(name)))
		t.Cleanup(ts.Close)
		return ts
	}
	rs.a, rs.b = replica("A"), replica("B")
	return rs
}

func (rs *replicaSet) hooks(replica string) saml2sp.Hooks {
	return saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			rs.mu.Lock()
			rs.logins = append(rs.logins, replicaLogin{replica, l})
			rs.mu.Unlock()
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
		OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
			rs.mu.Lock()
			rs.failures = append(rs.failures, f)
			rs.mu.Unlock()
			http.Error(w, "login failed, reference "+f.Reference, f.Status)
		},
		// Logout is not what these replicas test; the Handler needs the hooks.
		OnLogout:       func(http.ResponseWriter, *http.Request, *saml2sp.Logout) error { return nil },
		CurrentSubject: func(*http.Request) (saml2sp.LogoutSubject, bool) { return saml2sp.LogoutSubject{}, false },
	}
}

// counts returns the logins and failures so far and forgets them.
func (rs *replicaSet) take() ([]replicaLogin, []*saml2sp.Failure) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	l, f := rs.logins, rs.failures
	rs.logins, rs.failures = nil, nil
	return l, f
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// startLogin asks the replica at base for a login and returns the
// Response form the IdP would post back: a Response to the AuthnRequest,
// with the RelayState. The state cookie lands in the browser's jar.
func (rs *replicaSet) startLogin(c *http.Client, base, returnTo string) url.Values {
	t := rs.t
	t.Helper()
	resp, err := c.Get(base + "/saml/login?return_to=" + url.QueryEscape(returnTo))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, rs.idp.SSOURL, loc.Scheme+"://"+loc.Host+loc.Path)
	id := authnRequestID(t, loc.Query().Get("SAMLRequest"))
	form, err := rs.idp.Response(saml2sptest.Response{
		Destination: rs.ep.ACSURL, Audience: rs.ep.EntityID, InResponseTo: id, NameID: "alice@example.com",
	})
	require.NoError(t, err)
	return url.Values{"SAMLResponse": {form}, "RelayState": {loc.Query().Get("RelayState")}}
}

// authnRequestID decodes an HTTP-Redirect SAMLRequest and returns its ID.
func authnRequestID(t testing.TB, samlRequest string) string {
	t.Helper()
	id, err := decodeRequestID(samlRequest)
	require.NoError(t, err)
	return id
}

func decodeRequestID(samlRequest string) (string, error) {
	deflated, err := base64.StdEncoding.DecodeString(samlRequest)
	if err != nil {
		return "", err
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(deflated)), 1<<20))
	if err != nil {
		return "", err
	}
	var req struct {
		ID string `xml:"ID,attr"`
	}
	if err := xml.Unmarshal(raw, &req); err != nil {
		return "", err
	}
	if req.ID == "" {
		return "", errors.New("the AuthnRequest has no ID")
	}
	return req.ID, nil
}

// onlyCookie returns the one cookie the browser holds for base.
func onlyCookie(t *testing.T, c *http.Client, base string) *http.Cookie {
	t.Helper()
	cookies := c.Jar.Cookies(mustParse(t, base))
	require.Len(t, cookies, 1, "the state cookie")
	return cookies[0]
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

// postACS posts form to the ACS of the replica at base.
func postACS(t *testing.T, c *http.Client, base string, form url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(base+"/saml/acs", form)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestTwoReplicas: two replicas of an app share the Redis store and the
// StateKey, and nothing else.
func TestTwoReplicas(t *testing.T) {
	srv := startRedis(t)
	const timeout = 500 * time.Millisecond
	rs := newReplicaSet(t, srv, redisstore.Options{Timeout: timeout})

	t.Run("a login started at A finishes at B", func(t *testing.T) {
		c := browser(t)
		form := rs.startLogin(c, rs.a.URL, "/private")
		stateCookie := onlyCookie(t, c, rs.a.URL)
		resp := postACS(t, c, rs.b.URL, form)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		assert.Equal(t, "/private", resp.Header.Get("Location"))
		logins, failures := rs.take()
		require.Empty(t, failures)
		require.Len(t, logins, 1)
		assert.Equal(t, "B", logins[0].replica)
		assert.False(t, logins[0].login.IdPInitiated, "B read the state A sealed: the login answers A's request")
		assert.Equal(t, "alice@example.com", logins[0].login.Assertion.NameID)

		// B expired the state cookie; a replay brings a copy along.
		c.Jar.SetCookies(mustParse(t, rs.a.URL), []*http.Cookie{stateCookie})
		resp = postACS(t, c, rs.a.URL, form)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the same Response again, at A")
		_, failures = rs.take()
		require.Len(t, failures, 1)
		assert.ErrorIs(t, failures[0].Err, saml2sp.ErrReplay)
	})

	t.Run("one Response posted 40 times across both replicas logs in once", func(t *testing.T) {
		c := browser(t)
		form := rs.startLogin(c, rs.a.URL, "/once")
		stateCookie := onlyCookie(t, c, rs.a.URL)
		noJar := browser(t)
		noJar.Jar = nil
		start := make(chan struct{})
		codes := make([]int, 40)
		var wg sync.WaitGroup
		for i := range codes {
			base := []string{rs.a.URL, rs.b.URL}[i%2]
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodPost, base+"/saml/acs", strings.NewReader(form.Encode()))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.AddCookie(stateCookie)
				<-start
				resp, err := noJar.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			})
		}
		close(start)
		wg.Wait()
		logins, failures := rs.take()
		require.Len(t, logins, 1, "exactly one login")
		require.Len(t, failures, 39)
		for _, f := range failures {
			assert.ErrorIs(t, f.Err, saml2sp.ErrReplay)
		}
		byCode := map[int]int{}
		for _, code := range codes {
			byCode[code]++
		}
		assert.Equal(t, map[int]int{http.StatusSeeOther: 1, http.StatusForbidden: 39}, byCode)
	})

	// An outage answers 503 with Retry-After (ErrUnavailable, never
	// ErrReplay), within the store's timeout; logins work once it is over.
	outages := []struct {
		name      string
		down, up  func()
		atLeast   time.Duration
		errSubstr string
	}{
		{"stopped: connections refused", srv.Stop, srv.Start, 0, "connection refused"},
		{"frozen: no answer", srv.Freeze, srv.Thaw, timeout, "deadline exceeded"},
	}
	for _, o := range outages {
		t.Run("store "+o.name, func(t *testing.T) {
			c := browser(t)
			form := rs.startLogin(c, rs.a.URL, "/down")
			o.down()
			start := time.Now()
			resp := postACS(t, c, rs.b.URL, form)
			took := time.Since(start)
			o.up()
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			assert.GreaterOrEqual(t, took, o.atLeast)
			assert.Less(t, took, timeout+500*time.Millisecond, "bounded by the store's timeout")
			logins, failures := rs.take()
			require.Empty(t, logins)
			require.Len(t, failures, 1)
			assert.ErrorIs(t, failures[0].Err, saml2sp.ErrUnavailable)
			assert.NotErrorIs(t, failures[0].Err, saml2sp.ErrReplay)
			assert.Contains(t, failures[0].Err.Error(), o.errSubstr)

			// Back: a new login, started at A, finishes at B.
			form = rs.startLogin(c, rs.a.URL, "/up")
			resp = postACS(t, c, rs.b.URL, form)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			logins, _ = rs.take()
			require.Len(t, logins, 1)
		})
	}
}
