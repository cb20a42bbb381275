package redirect

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testKey is a generated key and a self-signed certificate for it.
type testKey struct {
	signer crypto.Signer
	cert   *x509.Certificate
}

var (
	keysOnce sync.Once
	keys     struct{ rsa, rsa2, p256, p384 testKey }
)

// testKeys generates the keys once per test binary: RSA generation is slow.
func testKeys(t testing.TB) (rsa1, rsa2, p256, p384 testKey) {
	t.Helper()
	keysOnce.Do(func() {
		r1, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		r2, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		e1, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		e2, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		require.NoError(t, err)
		keys.rsa = testKey{r1, selfSigned(t, r1)}
		keys.rsa2 = testKey{r2, selfSigned(t, r2)}
		keys.p256 = testKey{e1, selfSigned(t, e1)}
		keys.p384 = testKey{e2, selfSigned(t, e2)}
	})
	return keys.rsa, keys.rsa2, keys.p256, keys.p384
}

func selfSigned(t testing.TB, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "redirect test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert
}

// testXML is a small AuthnRequest whose Encode output contains '+', '/'
// and '=' in its base64, so percent-encoding matters.
const testXML = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ` +
	`xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_0123456789abcdef" Version="2.0" ` +
	`IssueInstant="2026-01-02T03:04:05Z" Destination="https://idp.example.com/sso">` +
	`<saml:Issuer>https://sp.example.com/saml/metadata</saml:Issuer></samlp:AuthnRequest>`

// signOctets signs octets (the SAMLRequest=..&SigAlg=.. string, encoded as
// the caller likes) and appends the Signature parameter.
func signOctets(t testing.TB, key crypto.Signer, hash crypto.Hash, octets string) string {
	t.Helper()
	h := hash.New()
	h.Write([]byte(octets))
	sig, err := key.Sign(rand.Reader, h.Sum(nil), hash)
	require.NoError(t, err)
	return octets + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
}

// rawParam returns the raw (still encoded) value of the only parameter name.
func rawParam(t testing.TB, q, name string) string {
	t.Helper()
	var found []string
	for _, part := range strings.Split(q, "&") {
		if v, ok := strings.CutPrefix(part, name+"="); ok {
			found = append(found, v)
		}
	}
	require.Len(t, found, 1, "parameter %s in %q", name, q)
	return found[0]
}

// setParam replaces the raw value of parameter name.
func setParam(t testing.TB, q, name, raw string) string {
	t.Helper()
	return strings.Replace(q, name+"="+rawParam(t, q, name), name+"="+raw, 1)
}

// dropParam removes parameter name.
func dropParam(t testing.TB, q, name string) string {
	t.Helper()
	var out []string
	for _, part := range strings.Split(q, "&") {
		if !strings.HasPrefix(part, name+"=") {
			out = append(out, part)
		}
	}
	require.Len(t, out, strings.Count(q, "&"), "parameter %s in %q", name, q)
	return strings.Join(out, "&")
}

// requireTool finds an external program. Without it the test is skipped
// loudly, unless CI is set: then it fails.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := name + " not found in PATH; interop test not run"
	if os.Getenv("CI") == "" {
		t.Skip("!!!!! SKIPPED: " + msg + " !!!!!")
	}
	t.Fatal("CI is set but " + msg)
	return ""
}
