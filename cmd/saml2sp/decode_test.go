package main

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fixtureNow = "2026-01-15T10:01:00Z"

// deflateB64 is the HTTP-Redirect encoding of doc, before URL-encoding.
func deflateB64(t *testing.T, doc string) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	require.NoError(t, err)
	_, err = w.Write([]byte(doc))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// redirectValue is doc as the SAMLRequest value of a Redirect URL.
func redirectValue(t *testing.T, doc string) string {
	return url.QueryEscape(deflateB64(t, doc))
}

func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, rel))
	require.NoError(t, err)
	return b
}

const authnRequestXML = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ` +
	`ID="_req-fixture-1" Version="2.0" IssueInstant="2026-01-15T09:59:55Z" Destination="https://idp.example.org/sso" ` +
	`AssertionConsumerServiceURL="https://sp.example.com/saml/acs" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
	`<saml:Issuer>https://sp.example.com/saml/metadata</saml:Issuer>` +
	`<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/></samlp:AuthnRequest>`

// TestDecodeForms decodes the Okta fixture and an AuthnRequest in every
// form a user may capture them in.
func TestDecodeForms(t *testing.T) {
	okta := readFixture(t, "xmlsec1/signed-okta.xml")
	b64 := base64.StdEncoding.EncodeToString(okta)
	wrapped := interopWrap(b64)
	redirect := redirectValue(t, authnRequestXML)
	cases := []struct {
		name  string
		input string
		want  []string
	}{
		{name: "base64", input: b64, want: []string{"a single value", "Encoding:  base64", "jane.doe@example.com"}},
		{name: "base64 wrapped in lines", input: wrapped, want: []string{"jane.doe@example.com"}},
		{name: "URL-encoded value", input: url.QueryEscape(b64), want: []string{"the input was URL-encoded", "jane.doe@example.com"}},
		{name: "redirect URL", input: "https://idp.example.org/sso?SAMLRequest=" + redirect + "&RelayState=abc",
			want: []string{"a URL", "SAMLRequest from the URL's query string (https://idp.example.org/sso)", "raw DEFLATE", `RelayState:  "abc"`,
				"AuthnRequest", "AssertionConsumerServiceURL:  https://sp.example.com/saml/acs", "NameIDPolicy:", "emailAddress AllowCreate=true"}},
		{name: "query string", input: "?SAMLRequest=" + redirect + "&SigAlg=" + url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256") + "&Signature=AAAA",
			want: []string{"a form body or query string", "Query signature:  present, SigAlg xmldsig-more#rsa-sha256 (not verified)", "AuthnRequest"}},
		{name: "bare redirect value", input: deflateB64(t, authnRequestXML), want: []string{"raw DEFLATE", "AuthnRequest"}},
		{name: "POST body", input: "SAMLResponse=" + url.QueryEscape(b64) + "&RelayState=%2Fhome",
			want: []string{"SAMLResponse from the form body", `RelayState:  "/home"`, "jane.doe@example.com"}},
		{name: "XML document", input: string(okta), want: []string{"an XML document", "jane.doe@example.com"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := cli(t, c.input, "decode", "--now", fixtureNow)
			require.Equal(t, 0, code, "stderr: %s\nstdout: %s", stderr, out)
			assert.Contains(t, out, "NOT VERIFIED")
			assert.Contains(t, out, "Nothing above was verified")
			for _, w := range c.want {
				assert.Contains(t, out, w)
			}
		})
	}
}

// interopWrap wraps base64 in CRLF-separated lines of 76, as some IdPs post it.
func interopWrap(s string) string {
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return out.String() + s
}

// TestDecodeSummary checks what the summary shows of a Response: times
// relative to --now, signature placement and algorithms, encryption.
func TestDecodeSummary(t *testing.T) {
	cases := []struct {
		name string
		file string
		want []string
	}{
		{name: "assertion signed", file: "xmlsec1/signed-okta.xml", want: []string{
			"Message:        Response",
			"InResponseTo:   _req-fixture-1",
			"IssueInstant:   2026-01-15T10:00:00Z (1 min ago)",
			"XML signature:  none",
			"XML signature:        xmldsig-more#rsa-sha256, digest xmlenc#sha256, canonicalization xml-exc-c14n",
			"NameID:               jane.doe@example.com (format emailAddress)",
			"NotOnOrAfter:         2026-01-15T10:05:00Z (valid for 4 min more)",
			"Audience:             https://sp.example.com/saml/metadata",
			`groups:     "Everyone", "Engineering", "okta-admins"`,
		}},
		{name: "both signed", file: "xmlsec1/signed-adfs.xml", want: []string{
			"XML signature:  xmldsig-more#rsa-sha256", "XML signature:        xmldsig-more#rsa-sha256",
		}},
		{name: "ecdsa", file: "xmlsec1/signed-ecdsa.xml", want: []string{"xmldsig-more#ecdsa-sha256"}},
		{name: "large", file: "xmlsec1/signed-large.xml", want: []string{"Attributes (121)", "... and 480 more"}},
		{name: "encrypted, okta layout", file: "xmlenc/encrypted-aes256-cbc-okta.xml", want: []string{
			"EncryptedAssertion (its content needs the SP's key",
			"Content encryption:  xmlenc#aes256-cbc",
			"Key transport:       xmlenc#rsa-oaep-mgf1p, digest xmldsig#sha1",
		}},
		{name: "encrypted, xenc11", file: "xmlenc/encrypted-xenc11-sha256-mgf1sha256.xml", want: []string{
			"Key transport:       xmlenc11#rsa-oaep, digest xmlenc#sha256, MGF xmlenc11#mgf1sha256",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := cli(t, base64.StdEncoding.EncodeToString(readFixture(t, c.file)), "decode", "--no-xml", "--now", fixtureNow)
			require.Equal(t, 0, code, stderr)
			for _, w := range c.want {
				assert.Contains(t, out, w)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		_, out, _ := cli(t, base64.StdEncoding.EncodeToString(readFixture(t, "xmlsec1/signed-okta.xml")), "decode", "--no-xml", "--now", "2026-01-15T13:05:00Z")
		assert.Contains(t, out, "NotOnOrAfter:         2026-01-15T10:05:00Z (expired 3 h ago)")
		assert.Contains(t, out, "IssueInstant:   2026-01-15T10:00:00Z (3 h ago)")
	})
	t.Run("not yet valid", func(t *testing.T) {
		_, out, _ := cli(t, base64.StdEncoding.EncodeToString(readFixture(t, "xmlsec1/signed-okta.xml")), "decode", "--no-xml", "--now", "2026-01-15T09:58:00Z")
		assert.Contains(t, out, "NotBefore:            2026-01-15T09:59:30Z (NOT YET VALID: starts in 1 min)")
	})
}

// TestDecodeWarnings: the summary points at shapes the SP refuses or that
// attacks use, though decode verifies nothing.
func TestDecodeWarnings(t *testing.T) {
	const head = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r">`
	const tail = `</samlp:Response>`
	cases := []struct {
		name string
		doc  string
		want string
	}{
		{name: "wrapped assertion", doc: head + `<samlp:Extensions><saml:Assertion ID="_evil"/></samlp:Extensions><saml:Assertion ID="_a"/>` + tail,
			want: "an Assertion sits elsewhere than directly in the Response (in samlp:Extensions): the shape of a signature-wrapping attack"},
		{name: "two assertions", doc: head + `<saml:Assertion ID="_a"/><saml:Assertion ID="_b"/>` + tail,
			want: "the Response holds 2 assertions"},
		{name: "comment in NameID", doc: head + `<saml:Assertion ID="_a"><saml:Subject><saml:NameID>admin@example.com<!---->.evil.com</saml:NameID></saml:Subject></saml:Assertion>` + tail,
			want: "the NameID contains an XML comment"},
		{name: "DOCTYPE", doc: `<!DOCTYPE r [<!ELEMENT r ANY>]>` + head + tail, want: "the message has a DOCTYPE"},
		{name: "SHA-1", doc: head + `<saml:Assertion ID="_a"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
			`<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/><ds:Reference><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></ds:Reference>` +
			`</ds:SignedInfo></ds:Signature></saml:Assertion>` + tail,
			want: "a signature uses xmldsig#rsa-sha1: the SP refuses SHA-1 unless InsecureAllowSHA1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := cli(t, base64.StdEncoding.EncodeToString([]byte(c.doc)), "decode")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, "Warnings:")
			assert.Contains(t, out, c.want)
		})
	}
	t.Run("no warning", func(t *testing.T) {
		_, out, _ := cli(t, base64.StdEncoding.EncodeToString(readFixture(t, "xmlsec1/signed-okta.xml")), "decode")
		assert.NotContains(t, out, "Warnings:")
	})
}

// TestDecodeTerminalSafety: what a message holds cannot drive the
// terminal (C1 controls such as CSI) or reorder the text shown (bidi
// overrides), in the XML or the summary.
func TestDecodeTerminalSafety(t *testing.T) {
	doc := "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" Destination=\"https://sp\u202e.example.com\">" +
		"<saml:Issuer>idp\u009b31m</saml:Issuer><saml:Assertion ID=\"_a\"><saml:AttributeStatement><saml:Attribute Name=\"role\u202e\">" +
		"<saml:AttributeValue>admin\u009b2J</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"
	code, out, stderr := cli(t, base64.StdEncoding.EncodeToString([]byte(doc)), "decode")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, out, "\u009b")
	assert.NotContains(t, out, "\u202e")
	assert.Contains(t, out, `Issuer:         idp\u009b31m`)
	assert.Contains(t, out, `<saml:Issuer>idp\u009b31m</saml:Issuer>`)
	assert.Contains(t, out, `Destination="https://sp\u202e.example.com"`)
	assert.Contains(t, out, `"admin\u009b2J"`)
}

// TestDecodeBounds: inflation stops at its bound (a DEFLATE bomb is an
// error, not a memory sink), and over-long input is refused unread.
func TestDecodeBounds(t *testing.T) {
	bomb := "<a>" + strings.Repeat(" ", maxXML) + "</a>"
	code, out, _ := cli(t, deflateB64(t, bomb), "decode")
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "inflates to more than 2 MiB")

	justFits := "<a>" + strings.Repeat(" ", maxXML-8) + "</a>"
	code, _, stderr := cli(t, deflateB64(t, justFits), "decode", "--no-xml")
	assert.Equal(t, 0, code, stderr)

	code, _, stderr = cli(t, strings.Repeat("A", maxValue+4), "decode")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "more than the 2 MiB a single SAML message may take")
}

// TestReadInputBound: input over the bound is refused, not truncated.
func TestReadInputBound(t *testing.T) {
	_, _, err := readInput("-", strings.NewReader(strings.Repeat("a", 2<<20+1)), 2<<20)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "standard input is larger than 2 MiB")
	data, _, err := readInput("-", strings.NewReader(strings.Repeat("a", 2<<20)), 2<<20)
	require.NoError(t, err)
	assert.Len(t, data, 2<<20)
}

// TestParseTreeLimits: the display parser refuses documents nested too
// deep or with too many elements.
func TestParseTreeLimits(t *testing.T) {
	lim := treeLimits{depth: 4, nodes: 10}
	cases := []struct {
		name, doc, err string
	}{
		{name: "deep enough", doc: "<a><b><c><d/></c></b></a>"},
		{name: "too deep", doc: "<a><b><c><d><e/></d></c></b></a>", err: "elements nest deeper than 4"},
		{name: "few enough", doc: "<a>" + strings.Repeat("<b/>", 9) + "</a>"},
		{name: "too many", doc: "<a>" + strings.Repeat("<b/>", 10) + "</a>", err: "more than 10 elements"},
		{name: "unclosed", doc: "<a><b/>", err: "the document ends inside <a>"},
		{name: "undeclared entity", doc: "<a>&xxe;</a>", err: "invalid character entity &xxe;"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseTree([]byte(c.doc), lim)
			if c.err == "" {
				assert.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.err)
			}
		})
	}
}
