package main

import (
	"bytes"
	"context"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testOptions are the options parseFlags gives with no flag and no
// environment, on free loopback ports, with the data in a temp dir and the
// development IdP on another host name than the app (localhost vs
// 127.0.0.1), as main runs it.
func testOptions(t *testing.T) *options {
	t.Helper()
	o, err := parseFlags(nil, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	o.addr, o.devIdPAddr = freeAddr(t), freeAddr(t)
	_, idpPort, _ := net.SplitHostPort(o.devIdPAddr)
	o.baseURL = "http://" + o.addr + "/"
	o.devIdPURL = "http://localhost:" + idpPort + "/dev-idp/"
	o.dataDir = t.TempDir()
	o.retry = backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	return o
}

// freeAddr returns a loopback address nothing listens on (for a moment).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is a log sink the app's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testApp is the app run by run, exactly as main runs it.
type testApp struct {
	o    *options
	logs *syncBuffer
	out  *syncBuffer
	base string
	// stop stops the app (the test's end does too).
	stop func()
}

// startApp runs the app with o until the test ends (or stop), and waits
// until it answers.
func startApp(t *testing.T, o *options) *testApp {
	t.Helper()
	a := &testApp{o: o, logs: &syncBuffer{}, out: &syncBuffer{}, base: o.baseURL}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, a.out, newLogger(a.logs, o.trace)) }()
	var once sync.Once
	a.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Error("the app did not stop")
			}
		})
	}
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(a.base)
		if err == nil {
			resp.Body.Close()
			return a
		}
		select {
		case err := <-done:
			t.Fatalf("the app stopped at start: %v\n%s", err, a.logs.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "the app does not answer: %v", err)
		time.Sleep(20 * time.Millisecond)
	}
}

// browser is a cookie-keeping client that can submit the forms it is shown.
type browser struct {
	t      *testing.T
	c      *http.Client
	body   string
	url    *url.URL
	status int
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: acceptHTML{}}}
}

// acceptHTML asks for HTML, as browsers do when they navigate (the session
// layer tells browsers, which it redirects to the login, from API clients).
type acceptHTML struct{}

func (acceptHTML) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "text/html")
	return http.DefaultTransport.RoundTrip(r)
}

// noRedirects returns a client sharing b's cookies that does not follow
// redirects.
func (b *browser) noRedirects() *http.Client {
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (b *browser) got(resp *http.Response, err error) *browser {
	b.t.Helper()
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	b.body, b.url, b.status = string(body), resp.Request.URL, resp.StatusCode
	return b
}

// get fetches u and requires a page that is not an error.
func (b *browser) get(u string) *browser {
	b.t.Helper()
	b.got(b.c.Get(u))
	require.Less(b.t, b.status, 400, "%s: %s", b.url, b.body)
	return b
}

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

// autoSubmit submits auto-submitting forms (the IdP's and the SP's) as a
// browser with JavaScript does.
func (b *browser) autoSubmit() *browser {
	b.t.Helper()
	for i := 0; strings.Contains(b.body, `id="saml2sptest-form"`) || strings.Contains(b.body, `id="saml2sp-form"`); i++ {
		require.Less(b.t, i, 6, "form loop")
		b.submit(nil)
	}
	return b
}

// logIn starts at the app's /profile, signs in as user at the development
// IdP and lands on the profile.
func (b *browser) logIn(a *testApp, user string) *browser {
	b.t.Helper()
	b.get(a.base + "profile")
	if strings.Contains(b.body, "Development IdP — for development only") && strings.Contains(b.body, `name="username"`) {
		b.submit(url.Values{"username": {user}})
	}
	b.autoSubmit()
	require.Equal(b.t, a.base+"profile", b.url.String(), b.body)
	return b
}

// profileRedirectsToLogin checks that /profile sends the browser to the
// login: there is no session.
func (b *browser) profileRedirectsToLogin(a *testApp) {
	b.t.Helper()
	resp, err := b.noRedirects().Get(a.base + "profile")
	require.NoError(b.t, err)
	resp.Body.Close()
	assert.Equal(b.t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(b.t, a.base+"saml/login?return_to=%2Fprofile", resp.Header.Get("Location"))
}

func TestLoginProfileAndLogout(t *testing.T) {
	a := startApp(t, testOptions(t))
	b := newBrowser(t)

	// "Log in" from a protected page lands back on it.
	b.logIn(a, "alice")
	assert.Contains(t, b.body, `<dd id="username">alice</dd>`, "the default mapping (simplesamlphp) takes the dev IdP's uid")
	assert.Contains(t, b.body, `<dd id="email">alice@example.com</dd>`)
	assert.Contains(t, b.body, "<code>engineering</code>")
	assert.Contains(t, b.body, "<code>Dogs &amp; cats</code>", "group values are plain text, escaped once by the page")
	assert.Contains(t, b.body, a.o.devIdPURL+"metadata → alice", "the account is linked by (IdP, uid)")

	// A second login of the same user reuses the account.
	b.get(a.base + "saml/login?return_to=/profile").autoSubmit() // the IdP still has a session: straight back
	require.Equal(t, a.base+"profile", b.url.String())
	b.get(a.base)
	assert.Contains(t, b.body, "Signed in as <strong>alice</strong>")
	assert.NotContains(t, b.body, "You have been logged out")

	// SP-initiated logout ends the session here and at the IdP, and says so.
	b.get(a.base + "saml/logout?return_to=" + url.QueryEscape(loggedOutPath))
	assert.Equal(t, a.base+"?logged_out=1", b.url.String())
	assert.Contains(t, b.body, `<p class="box ok" id="logged-out">You have been logged out.</p>`)
	assert.Contains(t, b.body, "You are not signed in.")
	b.profileRedirectsToLogin(a)
	b.get(a.base + "profile")
	assert.Contains(t, b.body, "Sign in as Alice", "the IdP asks again: its session ended too")
}

// TestLogoutLinks: the app's Log out buttons end on the logged-out message.
func TestLogoutLinks(t *testing.T) {
	a := startApp(t, testOptions(t))
	b := newBrowser(t).logIn(a, "bob")
	want := `id="logout" href="` + html.EscapeString(a.base+"saml/logout?return_to="+url.QueryEscape(loggedOutPath)) + `"`
	assert.Contains(t, b.body, want, "profile page")
	b.get(a.base)
	assert.Contains(t, b.body, want, "home page")
}

// TestLoggedOutMessageOnlyWithoutSession: /?logged_out=1 cannot tell a
// signed-in user they are logged out.
func TestLoggedOutMessageOnlyWithoutSession(t *testing.T) {
	a := startApp(t, testOptions(t))
	b := newBrowser(t).logIn(a, "bob")
	b.get(a.base + "?logged_out=1")
	assert.NotContains(t, b.body, "You have been logged out")
	assert.Contains(t, b.body, "Signed in as <strong>bob</strong>")
}

func TestIdPInitiatedLogout(t *testing.T) {
	a := startApp(t, testOptions(t))
	b := newBrowser(t).logIn(a, "bob")

	// From the IdP's home page: log out of every SP.
	b.get(a.o.devIdPURL)
	require.Contains(t, b.body, "Log out of the IdP and every SP")
	b.submit(nil)
	assert.Contains(t, b.body, "You are logged out of the development IdP.")
	b.get(a.base)
	assert.Contains(t, b.body, "You are not signed in.", "the IdP's LogoutRequest ended the app session")
	b.profileRedirectsToLogin(a)
}

func TestIdPInitiatedLogin(t *testing.T) {
	tests := []struct {
		name  string
		allow bool
	}{
		{name: "refused by default"},
		{name: "accepted with -allow-idp-initiated", allow: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t)
			o.allowIdPInitiated = tc.allow
			a := startApp(t, o)
			b := newBrowser(t)
			b.get(a.o.devIdPURL)
			m := regexp.MustCompile(`<a href="([^"]*sso/start[^"]*user=carol[^"]*)">`).FindStringSubmatch(b.body)
			require.NotNil(t, m, b.body)
			u, err := b.url.Parse(html.UnescapeString(m[1]))
			require.NoError(t, err)
			b.got(b.c.Get(u.String()))
			b.submit(nil) // the IdP's form to the ACS
			if !tc.allow {
				assert.Equal(t, http.StatusForbidden, b.status)
				assert.Contains(t, b.body, "IdP-initiated login is off; start it with -allow-idp-initiated")
				assert.Contains(t, b.body, `<code id="reference">`)
				b.profileRedirectsToLogin(a)
				return
			}
			assert.Equal(t, a.base, b.url.String())
			assert.Contains(t, b.body, "Signed in as <strong>carol</strong>")
		})
	}
}

func TestProfileNeedsLogin(t *testing.T) {
	a := startApp(t, testOptions(t))
	newBrowser(t).profileRedirectsToLogin(a)

	// An API client gets 401, not a redirect.
	resp, err := http.Get(a.base + "profile")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
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

// TestInsecureTraceShowsTraces: -insecure-trace raises the log level so the
// library's message traces (debug level) reach the log; without it neither
// traces nor debug lines do.
func TestInsecureTraceShowsTraces(t *testing.T) {
	tests := []struct {
		name  string
		trace bool
	}{
		{name: "off"},
		{name: "on", trace: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t)
			o.trace = tc.trace
			a := startApp(t, o)
			newBrowser(t).logIn(a, "alice")
			logs := a.logs.String()
			if !tc.trace {
				assert.NotContains(t, logs, "INSECURE trace")
				assert.NotContains(t, logs, "level=DEBUG")
				return
			}
			assert.Contains(t, logs, `level=DEBUG msg="saml2sp: INSECURE trace of a SAML message" direction=in kind=Response`)
			assert.Contains(t, logs, "kind=AuthnRequest")
		})
	}
}
