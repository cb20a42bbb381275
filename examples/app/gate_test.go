package main

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// slowIdP behaves like SimpleSAMLphp before it knows the SP: its metadata
// URL fails (while down), and once up it builds itself from the SP's
// metadata, fetched from the app (registering the SP's certificate, so it
// requires signed requests), before it answers with its own.
type slowIdP struct {
	t       *testing.T
	base    string // http://localhost:<port>/dev-idp/
	spMDURL string

	mu   sync.Mutex
	down bool
	dev  *saml2sptest.Server
	seen []byte // the SP metadata it built itself from
}

func startSlowIdP(t *testing.T, spMetadataURL string) *slowIdP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &slowIdP{t: t, base: "http://localhost:" + port + "/dev-idp/", spMDURL: spMetadataURL, down: true}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *slowIdP) open() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = false
}

var x509Cert = regexp.MustCompile(`<ds:X509Certificate>([^<]+)</ds:X509Certificate>`)

func (s *slowIdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		http.Error(w, "metadata not ready: cannot load the SP metadata", http.StatusServiceUnavailable)
		return
	}
	if s.dev == nil {
		resp, err := http.Get(s.spMDURL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		md, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := x509Cert.FindSubmatch(md)
		if resp.StatusCode != http.StatusOK || m == nil {
			http.Error(w, "the SP metadata is unusable", http.StatusBadGateway)
			return
		}
		cert, err := saml2sp.ParseCertificate(string(m[1]))
		require.NoError(s.t, err)
		base := strings.TrimSuffix(s.spMDURL, "metadata")
		if s.dev, err = saml2sptest.NewServer(s.base, nil, saml2sptest.DevSP{
			EntityID: s.spMDURL, ACSURL: base + "acs", SLOURL: base + "sls", Certificate: cert,
		}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.seen = md
	}
	s.dev.Handler().ServeHTTP(w, r)
}

// TestMetadataURLDownAtStart: an IdP whose metadata URL fails does not
// stop the app. It starts, serves its SP metadata (which the IdP needs
// first), says on the home page why login is unavailable, answers the
// other SAML endpoints 503, and keeps fetching; once the IdP answers,
// login works, with an SP whose metadata is the one served while waiting.
func TestMetadataURLDownAtStart(t *testing.T) {
	o := testOptions(t)
	idp := startSlowIdP(t, o.baseURL+"saml/metadata")
	o.idpMetadataURL = idp.base + "metadata"
	o.signRequests = true // the IdP requires signed requests without saying so in its metadata
	a := startApp(t, o)
	assert.Contains(t, a.out.String(), "IdP metadata:         "+o.idpMetadataURL)

	b := newBrowser(t)
	waitFor(t, "the first failed fetch on the home page", func() bool {
		return strings.Contains(b.get(a.base).body, `id="sso-error"`)
	})
	assert.Contains(t, b.body, `<div class="box warn" id="sso-unavailable"><p><strong>Login is unavailable:</strong>`)
	assert.Contains(t, b.body, "<code>"+o.idpMetadataURL+"</code>")
	assert.Contains(t, b.body, "503", "the error says what the IdP answered")
	assert.Contains(t, b.body, "metadata not ready: cannot load the SP metadata")
	assert.NotContains(t, b.body, `id="login"`, "no Log in button that cannot work")

	before := fetchMetadata(t, a.base+"saml/metadata")
	assert.Contains(t, before, `entityID="`+o.baseURL+`saml/metadata"`)
	assert.Contains(t, before, "<ds:X509Certificate>")
	assert.NotContains(t, before, "idp-not-loaded-yet", "the stand-in IdP leaves no trace")

	for _, tc := range []struct {
		name, method, path string
	}{
		{"login", http.MethodGet, "saml/login?return_to=/profile"},
		{"ACS", http.MethodPost, "saml/acs"},
		{"SLS", http.MethodGet, "saml/sls?SAMLRequest=x"},
		{"logout", http.MethodGet, "saml/logout"},
		{"metadata by POST", http.MethodPost, "saml/metadata"},
	} {
		req, err := http.NewRequest(tc.method, a.base+tc.path, strings.NewReader("SAMLResponse=x"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, tc.name)
		assert.Equal(t, "5", resp.Header.Get("Retry-After"), tc.name)
		assert.Contains(t, string(body), "Single sign-on is not available yet: the app has not loaded the IdP metadata from "+o.idpMetadataURL, tc.name)
		assert.Contains(t, string(body), "metadata not ready", tc.name)
	}

	idp.open()
	waitFor(t, "the Log in button once the IdP answers", func() bool {
		return strings.Contains(b.get(a.base).body, `id="login"`)
	})
	assert.Contains(t, a.logs.String(), "IdP metadata loaded: single sign-on is ready")
	assert.Equal(t, before, string(idp.seen), "the IdP built itself from the metadata served while waiting")
	assert.Equal(t, before, fetchMetadata(t, a.base+"saml/metadata"), "the real SP publishes the same metadata")

	// The IdP requires the requests signed with the key of that metadata.
	b.logIn(a, "alice")
	assert.Contains(t, b.body, `<dd id="email">alice@example.com</dd>`)
}

func fetchMetadata(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/samlmetadata+xml", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "timed out waiting for %s", what)
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{First: time.Second, Max: 8 * time.Second}
	tests := []struct {
		name    string
		attempt int
		base    time.Duration
	}{
		{name: "first", attempt: 1, base: time.Second},
		{name: "doubles", attempt: 2, base: 2 * time.Second},
		{name: "doubles again", attempt: 3, base: 4 * time.Second},
		{name: "capped", attempt: 5, base: 8 * time.Second},
		{name: "stays capped", attempt: 60, base: 8 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 {
				d := b.wait(tc.attempt)
				assert.GreaterOrEqual(t, d, tc.base)
				assert.LessOrEqual(t, d, tc.base+tc.base/5)
			}
		})
	}
}

// TestStartDoesNotWaitForTheIdP: the app listens and prints its URLs
// while the IdP's metadata URL does not even accept connections.
func TestStartDoesNotWaitForTheIdP(t *testing.T) {
	o := testOptions(t)
	o.idpMetadataURL = "http://" + freeAddr(t) + "/metadata"
	o.retry = backoff{First: time.Hour, Max: time.Hour} // one attempt only
	a := startApp(t, o)
	waitFor(t, "the banner", func() bool { return strings.Contains(a.out.String(), "saml2sp example app:  "+o.baseURL) })
	b := newBrowser(t)
	waitFor(t, "the failed fetch", func() bool { return strings.Contains(b.get(a.base).body, `id="sso-error"`) })
	assert.Contains(t, b.body, "connection refused")
}
