package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestDomain is the parent domain of the hosts the HTTPS scenarios use
// (app.saml2sp.test, evil.saml2sp.test). The tests' Chromium and
// LoopbackClient resolve every name under .test to 127.0.0.1, and the
// app's certificate (TLSConfig) covers *.saml2sp.test.
const TestDomain = "saml2sp.test"

// DevIdP is saml2sp's development IdP (saml2sptest.Server) on loopback,
// for scenarios that need no SimpleSAMLphp: a login page with a button per
// user (alice, bob, carol; no passwords), and IdP-initiated logins at
// sso/start?sp=<entity ID>&user=<name>.
type DevIdP struct {
	*saml2sptest.Server // the IdP itself
	// BaseURL is the IdP's root, "http://localhost:<port>/idp/" (https
	// with StartDevIdPTLS): another site than the apps on 127.0.0.1 and
	// *.saml2sp.test.
	BaseURL string
}

// StartDevIdP serves a development IdP for sps (their certificates make
// it require signed AuthnRequests).
func StartDevIdP(t testing.TB, sps ...saml2sptest.DevSP) *DevIdP {
	t.Helper()
	return startDevIdP(t, nil, sps)
}

// StartDevIdPTLS is StartDevIdP over HTTPS, at
// "https://localhost:<port>/idp/", with cfg from TLSConfig (whose
// certificate covers localhost).
func StartDevIdPTLS(t testing.TB, cfg *tls.Config, sps ...saml2sptest.DevSP) *DevIdP {
	t.Helper()
	return startDevIdP(t, cfg, sps)
}

func startDevIdP(t testing.TB, cfg *tls.Config, sps []saml2sptest.DevSP) *DevIdP {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	scheme := "http"
	if cfg != nil {
		scheme = "https"
	}
	base := scheme + "://localhost:" + port + "/idp/"
	s, err := saml2sptest.NewServer(base, nil, sps...)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = s.Handler()
	if cfg != nil {
		srv.TLS = cfg
		srv.StartTLS()
	} else {
		srv.Start()
	}
	return &DevIdP{Server: s, BaseURL: base}
}

// DevSP is how the development IdP must know app.
func (a *App) DevSP() saml2sptest.DevSP {
	return saml2sptest.DevSP{
		EntityID: a.Endpoints.EntityID, ACSURL: a.Endpoints.ACSURL, SLOURL: a.Endpoints.SLOURL, Certificate: a.Certificate,
	}
}

// StartIdPInitiatedURL is the development IdP's IdP-initiated login of
// user at the SP spEntityID: it answers at once with the Response form.
func (d *DevIdP) StartIdPInitiatedURL(spEntityID, user string) string {
	return d.BaseURL + "sso/start?" + url.Values{"sp": {spEntityID}, "user": {user}}.Encode()
}

// TLSConfig returns a server configuration with a fresh self-signed
// certificate for *.saml2sp.test and localhost, and a pool that trusts
// it. Chromium runs with --ignore-certificate-errors (browser_test.go), so
// it accepts the certificate and still treats the origin as secure (Secure
// and __Host- cookies work); trustingOnly makes a browser trust this
// certificate alone instead.
func TLSConfig(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "*." + TestDomain},
		DNSNames:     []string{"*." + TestDomain, "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}, pool
}

// LoopbackClient is a second browser for the attacker, driven from Go: a
// cookie jar, redirects followed, and every name under .test dialled on
// 127.0.0.1 (the port kept) with TLS checked against roots.
func LoopbackClient(t testing.TB, roots *x509.CertPool) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err == nil && strings.HasSuffix(host, ".test") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}
}

// hiddenInput matches the fields of saml2sp's and saml2sptest's forms.
var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formAction matches the action of a page's first form.
var formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// Page is a page the LoopbackClient got: its URL, and its form if any.
type Page struct {
	URL    *url.URL   // where the last redirect ended
	Body   string     // the page's HTML (at most 4 MiB)
	Action string     // the first form's action, resolved; "" without a form
	Fields url.Values // its hidden fields
}

// Fetch does one request with c and reads the page it ends on.
func Fetch(c *http.Client, method, target string, form url.Values) (*Page, error) {
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(target, form)
	} else {
		resp, err = c.Get(target)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: status %d: %.500s", method, resp.Request.URL, resp.StatusCode, body)
	}
	p := &Page{URL: resp.Request.URL, Body: string(body), Fields: url.Values{}}
	if m := formAction.FindStringSubmatch(p.Body); m != nil {
		action, err := p.URL.Parse(html.UnescapeString(m[1]))
		if err != nil {
			return nil, err
		}
		p.Action = action.String()
	}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.Body, -1) {
		p.Fields.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return p, nil
}
