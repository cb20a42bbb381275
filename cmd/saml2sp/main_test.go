package main

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdata is the root package's test data.
const testdata = "../../testdata"

// cli runs the command in-process.
func cli(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// writeFile writes data to a file in a fresh temporary directory.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	block, _ := pem.Decode(b)
	require.NotNil(t, block, path)
	c, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return c
}

// idpMetadata is IdP metadata trusting certs, with an SSO endpoint.
func idpMetadata(entityID string, certs ...*x509.Certificate) []byte {
	var kd strings.Builder
	for _, c := range certs {
		fmt.Fprintf(&kd, `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
			base64.StdEncoding.EncodeToString(c.Raw))
	}
	return fmt.Appendf(nil, `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID=%q>`+
		`<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">%s`+
		`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.org/sso"/>`+
		`</md:IDPSSODescriptor></md:EntityDescriptor>`, entityID, kd.String())
}

// TestUsage covers the entry point: help, unknown commands and flags, and
// missing or unusable input all answer as documented.
func TestUsage(t *testing.T) {
	meta := writeFile(t, "idp.xml", idpMetadata("https://idp.example.org/metadata", readCert(t, filepath.Join(testdata, "xmlsec1/idp-cert.pem"))))
	resp := base64.StdEncoding.EncodeToString([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`))
	verify := []string{"verify", "--idp-metadata", meta, "--sp-entity-id", "https://sp.example.com/saml/metadata", "--acs-url", "https://sp.example.com/saml/acs"}
	cases := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		stdout    string // substring expected on stdout
		stderr    string // substring expected on stderr
		notStdout string
	}{
		{name: "no command", code: 2, stderr: "Commands:"},
		{name: "help", args: []string{"help"}, code: 0, stdout: "verify"},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: "Commands:"},
		{name: "help verify", args: []string{"help", "verify"}, code: 0, stdout: "--idp-metadata"},
		{name: "help unknown", args: []string{"help", "frobnicate"}, code: 2, stderr: "unknown command"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{name: "verify -h", args: []string{"verify", "-h"}, code: 0, stdout: "--sp-entity-id"},
		{name: "decode --help", args: []string{"decode", "--help"}, code: 0, stdout: "HAR file"},
		{name: "metadata -h", args: []string{"metadata", "-h"}, code: 0, stdout: "metadata check"},
		{name: "keygen -h", args: []string{"keygen", "-h"}, code: 0, stdout: "--days"},
		{name: "sp-metadata -h", args: []string{"sp-metadata", "-h"}, code: 0, stdout: "--base-url"},
		{name: "unknown flag", args: []string{"decode", "--frob"}, code: 2, stderr: "flag provided but not defined: -frob"},
		{name: "bad --now", args: []string{"decode", "--now", "yesterday"}, code: 2, stderr: "RFC 3339"},
		{name: "two inputs", args: []string{"decode", "a", "b"}, code: 2, stderr: "one input at most"},
		{name: "missing file", args: []string{"decode", filepath.Join(t.TempDir(), "none.txt")}, code: 2, stderr: "no such file"},
		{name: "empty input", args: []string{"decode"}, stdin: " \n", code: 2, stderr: "empty"},
		{name: "not a HAR", args: []string{"decode"}, stdin: `{"x":1}`, code: 2, stderr: "not a HAR file"},
		{name: "not base64", args: []string{"decode"}, stdin: "not*base64", code: 2, stdout: "CANNOT DECODE"},
		{name: "base64 of garbage", args: []string{"decode"}, stdin: base64.StdEncoding.EncodeToString([]byte("hello")), code: 2, stdout: "neither XML nor DEFLATE"},
		{name: "not well-formed", args: []string{"decode"}, stdin: "<a><b></c></a>", code: 2, stdout: "NOT WELL-FORMED XML: line 1: unexpected end tag </c>"},
		{name: "two roots", args: []string{"decode"}, stdin: base64.StdEncoding.EncodeToString([]byte("<a/><b/>")), code: 2, stdout: "more than one document element"},
		{name: "verify without metadata", args: []string{"verify", "--sp-entity-id", "x", "--acs-url", "https://x/"}, code: 2, stderr: "--idp-metadata is required"},
		{name: "verify without entity ID", args: []string{"verify", "--idp-metadata", meta, "--acs-url", "https://x/"}, code: 2, stderr: "--sp-entity-id is required"},
		{name: "verify without ACS", args: []string{"verify", "--idp-metadata", meta, "--sp-entity-id", "x"}, code: 2, stderr: "--acs-url is required"},
		{name: "verify unknown mapping", args: append(verify, "--mapping", "nope"), stdin: "x", code: 2, stderr: "not a preset"},
		{name: "verify cert without key", args: append(verify, "--sp-cert", "c.pem"), stdin: "x", code: 2, stderr: "--sp-cert needs --sp-key"},
		{name: "verify bad clock skew", args: append(verify, "--clock-skew", "1h"), stdin: resp, code: 2, stderr: "no valid SP configuration"},
		{name: "verify bad ACS URL", args: []string{"verify", "--idp-metadata", meta, "--sp-entity-id", "x", "--acs-url", "/acs"}, stdin: resp, code: 2, stderr: "no valid SP configuration"},
		{name: "verify unusable metadata", args: []string{"verify", "--idp-metadata", filepath.Join(testdata, "xmlsec1/idp-cert.pem"), "--sp-entity-id", "x", "--acs-url", "https://x/"}, stdin: resp, code: 2, stderr: "metadata"},
		{name: "verify only a request", args: verify, stdin: "https://idp.example.org/sso?SAMLRequest=" + redirectValue(t, "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"), code: 2, stderr: "no SAMLResponse to verify"},
		{name: "verify --message out of range", args: append(verify, "--message", "3"), stdin: resp, code: 2, stderr: "holds 1 SAML message"},
		{name: "verify missing key file", args: append(verify, "--sp-key", filepath.Join(t.TempDir(), "k.pem")), stdin: resp, code: 2, stderr: "no such file"},
		{name: "metadata without check", args: []string{"metadata", "x.xml"}, code: 2, stderr: `"check"`},
		{name: "metadata check without file", args: []string{"metadata", "check"}, code: 2, stderr: "one FILE or URL"},
		{name: "metadata check missing file", args: []string{"metadata", "check", filepath.Join(t.TempDir(), "none.xml")}, code: 2, stderr: "no such file"},
		{name: "keygen with argument", args: []string{"keygen", "x"}, code: 2, stderr: "no arguments"},
		{name: "keygen zero days", args: []string{"keygen", "--days", "0"}, code: 2, stderr: "--days"},
		{name: "keygen same file", args: []string{"keygen", "--cert", "a.pem", "--key", "./a.pem"}, code: 2, stderr: "same file"},
		{name: "sp-metadata without URLs", args: []string{"sp-metadata"}, code: 2, stderr: "--base-url"},
		{name: "sp-metadata cert without key", args: []string{"sp-metadata", "--base-url", "https://sp.example.com/saml/", "--cert", "c.pem"}, code: 2, stderr: "go together"},
		{name: "sp-metadata bad base URL", args: []string{"sp-metadata", "--base-url", "sp.example.com"}, code: 2, stderr: "no valid SP configuration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, c.stdin, c.args...)
			assert.Equal(t, c.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stdout, c.stdout)
			assert.Contains(t, stderr, c.stderr)
		})
	}
}

// TestFlagsAfterArguments: flags may follow the input, as users type them.
func TestFlagsAfterArguments(t *testing.T) {
	in := writeFile(t, "m.txt", []byte(base64.StdEncoding.EncodeToString([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" IssueInstant="2026-01-15T10:00:00Z"/>`))))
	code, out, stderr := cli(t, "", "decode", in, "--now", "2026-01-15T13:00:00Z", "--no-xml")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "2026-01-15T10:00:00Z (3 h ago)")
	assert.NotContains(t, out, "XML (indented")
}
