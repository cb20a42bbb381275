package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testApp runs the example exactly as main does (development IdP on
// another host name), on free loopback ports, with its SQLite file in a
// temp dir.
func testApp(t *testing.T) (*App, string, string) {
	t.Helper()
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, idpPort, _ := net.SplitHostPort(idpLn.Addr().String())
	o := &options{
		baseURL:           "http://" + appLn.Addr().String() + "/",
		devIdPURL:         "http://localhost:" + idpPort + "/dev-idp/",
		dataDir:           t.TempDir(),
		mapping:           "generic",
		allowIdPInitiated: true,
	}
	app, dev, err := build(context.Background(), o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	require.NotNil(t, dev, "no IdP configured: the development IdP starts")
	appSrv := &http.Server{Handler: app.Handler()}
	idpSrv := &http.Server{Handler: dev.Handler()}
	go appSrv.Serve(appLn)
	go idpSrv.Serve(idpLn)
	t.Cleanup(func() { appSrv.Close(); idpSrv.Close(); app.Store.Close() })
	return app, o.baseURL, o.devIdPURL
}

// browser is a cookie-keeping client that can submit the forms it is shown.
type browser struct {
	t    *testing.T
	c    *http.Client
	body string
	url  *url.URL
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (b *browser) got(resp *http.Response, err error) *browser {
	b.t.Helper()
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	b.body, b.url = string(body), resp.Request.URL
	require.Less(b.t, resp.StatusCode, 400, "%s: %s", resp.Request.URL, b.body)
	return b
}

func (b *browser) get(u string) *browser { return b.got(b.c.Get(u)) }

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// submit posts the page's first form with its hidden fields plus extra
// (the button pressed).
func (b *browser) submit(extra url.Values) *browser {
	b.t.Helper()
	m := formAction.FindStringSubmatch(b.body)
	require.NotNil(b.t, m, "no form on %s: %s", b.url, b.body)
	action, err := b.url.Parse(html.UnescapeString(m[1]))
	require.NoError(b.t, err)
	fields := url.Values{}
	for _, h := range hiddenInput.FindAllStringSubmatch(b.body, -1) {
		fields.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	for k, v := range extra {
		fields[k] = v
	}
	return b.got(b.c.PostForm(action.String(), fields))
}

func TestLoginProfileAndLogout(t *testing.T) {
	app, base, devIdP := testApp(t)
	b := newBrowser(t)

	// "Log in with SSO" from a protected page lands back on it.
	b.get(base + "profile")
	assert.Contains(t, b.body, "Development IdP — for development only")
	b.submit(url.Values{"username": {"alice"}}) // the IdP's login page
	b.submit(nil)                               // the IdP's auto-submitting form to our ACS
	assert.Equal(t, "/profile", b.url.Path)
	assert.Contains(t, b.body, "alice@example.com")
	assert.Contains(t, b.body, "<code>engineering</code>")
	assert.Contains(t, b.body, "<code>Dogs &amp; cats</code>", "group values are plain text, escaped once by the page")
	assert.Contains(t, b.body, devIdP+"metadata → alice", "the account is linked by (IdP, user ID)")

	// A second login of the same user reuses the account.
	b.get(base + "saml/login?return_to=/profile")
	b.submit(nil) // the IdP still has a session: straight back
	var n int
	require.NoError(t, app.Store.db.QueryRow(`SELECT count(*) FROM accounts`).Scan(&n))
	assert.Equal(t, 1, n)

	// SP-initiated logout ends the session here and at the IdP.
	b.get(base + "saml/logout")
	assert.Equal(t, "/", b.url.Path)
	assert.Contains(t, b.body, "You are not signed in.")
	b.get(base + "profile")
	assert.Contains(t, b.body, "Sign in as Alice", "the IdP asks again: its session ended too")
}

func TestIdPInitiatedLogout(t *testing.T) {
	_, base, devIdP := testApp(t)
	b := newBrowser(t)
	b.get(base + "profile")
	b.submit(url.Values{"username": {"bob"}})
	b.submit(nil)
	require.Contains(t, b.body, "bob@example.com")

	// From the IdP's home page: log out of every SP.
	b.get(devIdP)
	b.submit(nil)
	for i := 0; i < 5 && strings.Contains(b.body, `id="saml2sptest-form"`); i++ {
		b.submit(nil)
	}
	b.get(base)
	assert.Contains(t, b.body, "You are not signed in.", "the IdP's LogoutRequest ended the app session")
}

func TestProfileNeedsLogin(t *testing.T) {
	_, base, _ := testApp(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "profile")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, base+"saml/login?return_to=%2Fprofile", resp.Header.Get("Location"))
}

// TestServerBoundsClients: the app's http.Server never waits forever on a
// client, and bounds header size.
func TestServerBoundsClients(t *testing.T) {
	s := newServer("127.0.0.1:0", http.NotFoundHandler())
	assert.Positive(t, s.ReadHeaderTimeout)
	assert.Positive(t, s.ReadTimeout)
	assert.Positive(t, s.WriteTimeout)
	assert.Positive(t, s.IdleTimeout)
	assert.Positive(t, s.MaxHeaderBytes)
	assert.LessOrEqual(t, s.MaxHeaderBytes, 64<<10)
}
