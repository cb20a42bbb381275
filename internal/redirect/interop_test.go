package redirect

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writePEM writes key's private (PKCS #8) and public (SPKI) halves as PEM
// files in dir and returns their paths.
func writePEM(t *testing.T, dir string, key crypto.Signer) (priv, pub string) {
	t.Helper()
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	require.NoError(t, err)
	priv, pub = filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600))
	require.NoError(t, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o600))
	return priv, pub
}

// TestOpenSSLSigns: octets signed by `openssl dgst -sign` (what PHP's
// openssl_sign, and so SimpleSAMLphp, produces) verify with Verify.
func TestOpenSSLSigns(t *testing.T) {
	openssl := requireTool(t, "openssl")
	rsaKey, rsaOther, p256, p384 := testKeys(t)
	tests := []struct {
		name       string
		key        testKey
		other      testKey // a key that must not verify
		sigAlg     string
		digest     string
		relayState string
	}{
		{name: "rsa-sha256 with RelayState", key: rsaKey, other: rsaOther, sigAlg: algRSASHA256, digest: "-sha256", relayState: "/after/login?x=1"},
		{name: "rsa-sha256", key: rsaKey, other: rsaOther, sigAlg: algRSASHA256, digest: "-sha256"},
		{name: "rsa-sha512", key: rsaKey, other: rsaOther, sigAlg: algRSASHA512, digest: "-sha512", relayState: "s"},
		{name: "ecdsa-sha256", key: p256, other: p384, sigAlg: algECDSASHA256, digest: "-sha256", relayState: "s"},
		{name: "ecdsa-sha384 P-384", key: p384, other: p256, sigAlg: algECDSASHA384, digest: "-sha384"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			keyPEM, _ := writePEM(t, dir, tc.key.signer)
			unsigned, err := Encode("SAMLRequest", []byte(testXML), tc.relayState, nil, "")
			require.NoError(t, err)
			octets := unsigned + "&SigAlg=" + url.QueryEscape(tc.sigAlg)
			octetsFile, sigFile := filepath.Join(dir, "octets"), filepath.Join(dir, "sig.bin")
			require.NoError(t, os.WriteFile(octetsFile, []byte(octets), 0o600))
			out, err := exec.Command(openssl, "dgst", tc.digest, "-sign", keyPEM, "-out", sigFile, octetsFile).CombinedOutput()
			require.NoError(t, err, "openssl: %s", out)
			sig, err := os.ReadFile(sigFile)
			require.NoError(t, err)

			q := octets + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
			m, err := Decode(q, 0)
			require.NoError(t, err)
			assert.Equal(t, testXML, string(m.XML))
			assert.Equal(t, tc.relayState, m.RelayState)
			require.NoError(t, m.Verify([]*x509.Certificate{tc.key.cert}, false))
			require.Error(t, m.Verify([]*x509.Certificate{tc.other.cert}, false))
		})
	}
}

// TestOpenSSLVerifies: Encode's signature verifies with `openssl dgst
// -verify` over the query up to "&Signature=", and a changed byte does not.
func TestOpenSSLVerifies(t *testing.T) {
	openssl := requireTool(t, "openssl")
	rsaKey, _, p256, p384 := testKeys(t)
	tests := []struct {
		name       string
		key        testKey
		sigAlg     string
		digest     string
		relayState string
	}{
		{name: "RSA default", key: rsaKey, digest: "-sha256", relayState: "/a/b?c=d"},
		{name: "RSA sha384, no RelayState", key: rsaKey, sigAlg: algRSASHA384, digest: "-sha384"},
		{name: "ECDSA default (DER signature)", key: p256, digest: "-sha256", relayState: "state"},
		{name: "ECDSA P-384 sha512", key: p384, sigAlg: algECDSASHA512, digest: "-sha512"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, pubPEM := writePEM(t, dir, tc.key.signer)
			q, err := Encode("SAMLResponse", []byte(testXML), tc.relayState, tc.key.signer, tc.sigAlg)
			require.NoError(t, err)
			octets, rawSig, ok := strings.Cut(q, "&Signature=")
			require.True(t, ok, q)
			sig := mustB64(t, rawSig)

			octetsFile, sigFile := filepath.Join(dir, "octets"), filepath.Join(dir, "sig.bin")
			require.NoError(t, os.WriteFile(sigFile, sig, 0o600))
			verify := func() (string, error) {
				out, err := exec.Command(openssl, "dgst", tc.digest, "-verify", pubPEM, "-signature", sigFile, octetsFile).CombinedOutput()
				return string(out), err
			}
			require.NoError(t, os.WriteFile(octetsFile, []byte(octets), 0o600))
			out, err := verify()
			require.NoError(t, err, "openssl: %s", out)
			assert.Contains(t, out, "Verified OK")

			tampered := strings.Replace(octets, "SAMLResponse=", "SAMLResponsE=", 1)
			require.NoError(t, os.WriteFile(octetsFile, []byte(tampered), 0o600))
			out, err = verify()
			require.Error(t, err, "openssl accepted tampered octets: %s", out)
		})
	}
}

// pythonQuery was made at development time with Python 3.11's zlib raw
// DEFLATE (wbits -15, no header) and urllib's form encoding:
//
//	c = zlib.compressobj(9, zlib.DEFLATED, -15)
//	data = c.compress(pythonXML.encode()) + c.flush()
//	urllib.parse.urlencode({'SAMLRequest': base64.b64encode(data).decode(),
//	                        'RelayState': '/app/page?x=1&y=2'})
const pythonQuery = "SAMLRequest=fZFbS8NAEIX%2FStj3JJt6eViSQGgRClWkVR98kSGZ0oW9xJ1Zbf%2B9a4pYhfZtmDkfM%2BdMTWDNqLrIO7fG94jE2d4aR2oaNCIGpzyQJuXAIinu1aa7X6lZIdUYPPveG3GCXCaACANr70S2XDTibTzwzrt8q%2FccA%2BaVyF4wUJo3IsmTiCji0hGD49SSs9tcVrmcPckrJa%2BVvHkV2SLdrB3wRO2YR1JlqYexwD3Y0WDRe1sSeZF1P9vn3lG0GDYYPnSPz%2BvVL0n%2FwOSphJ5EW3%2BXarootJfUFhkGYKjLU6I%2BJv2QMlkuHr3R%2FSG788ECn4%2BsKqqpo4d8O0kVWtCmG4aARMmQMf5zHhAYG8Ehoijb49a%2FL22%2FAA%3D%3D&RelayState=%2Fapp%2Fpage%3Fx%3D1%26y%3D2"

const pythonXML = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_python-fixture-1" Version="2.0" IssueInstant="2026-01-02T03:04:05Z" Destination="https://idp.example.com/sso" AssertionConsumerServiceURL="https://sp.example.com/saml/acs"><saml:Issuer>https://sp.example.com/saml/metadata</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/></samlp:AuthnRequest>`

func TestPythonRawDeflate(t *testing.T) {
	rsaKey, _, _, _ := testKeys(t)
	tests := []struct {
		name   string
		query  string
		signed bool
	}{
		{name: "as Python encoded it", query: pythonQuery},
		// Signing does not touch the encoded values: the octets are
		// Python's bytes, verbatim.
		{name: "signed over Python's octets", query: signOctets(t, rsaKey.signer, crypto.SHA256, pythonQuery+"&SigAlg="+url.QueryEscape(algRSASHA256)), signed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.query, 0)
			require.NoError(t, err)
			assert.Equal(t, "SAMLRequest", m.Param)
			assert.Equal(t, pythonXML, string(m.XML))
			assert.Equal(t, "/app/page?x=1&y=2", m.RelayState)
			require.Equal(t, tc.signed, m.Signed())
			if tc.signed {
				require.NoError(t, m.Verify([]*x509.Certificate{rsaKey.cert}, false))
			}
		})
	}
}
