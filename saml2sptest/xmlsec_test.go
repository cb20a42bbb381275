package saml2sptest

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saml2sp/saml2sp"
)

// xmlsec1 returns the path of the xmlsec1 binary. Without it the test is
// skipped, unless the CI variable is set: CI must run this check.
func xmlsec1(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("xmlsec1")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("xmlsec1 is required in CI (apt-get install xmlsec1): %v", err)
	}
	t.Skip("SKIPPING INTEROP CHECK: xmlsec1 not found; install it (apt-get install xmlsec1) " +
		"to check that signatures verify outside goxmldsig")
	return ""
}

// xmlsecVerify runs xmlsec1 on the Signature selected by xpath in doc,
// trusting only cert, and returns its combined output and error.
func xmlsecVerify(t *testing.T, bin string, certPEM, doc []byte, xpath string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	certFile, docFile := filepath.Join(dir, "idp.crt"), filepath.Join(dir, "response.xml")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--verify",
		"--pubkey-cert-pem", certFile,
		// Only the key given above: no key from the message's KeyInfo.
		"--enabled-key-data", "key-name,rsa",
		"--id-attr:ID", nsProtocol+":Response",
		"--id-attr:ID", nsAssertion+":Assertion",
		"--node-xpath", xpath,
		docFile).CombinedOutput()
	return string(out), err
}

const (
	xpathResponseSignature  = "/*/*[local-name()='Signature']"
	xpathAssertionSignature = "//*[local-name()='Assertion']/*[local-name()='Signature']"
)

// TestXMLSec1 checks that libxmlsec1, the reference implementation most
// IdPs and SPs build on, accepts our signatures. ECDSA is left out: xmlsec1
// wants the raw r||s form, goxmldsig writes ASN.1.
func TestXMLSec1(t *testing.T) {
	bin := xmlsec1(t)
	idp := newTestIdP(t)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.Certificate.Raw})
	attrs := []saml2sp.Attribute{{Name: "dept", FriendlyName: "tab\tnewline\n", Values: []string{"R&D", "<ops>", "crlf\r\n"}}}

	for _, tc := range signCases() {
		if tc.ecdsa || tc.r.Sign == SignNone {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			r.Destination, r.Audience, r.Attributes = testACS, testSPID, attrs
			doc, err := idp.ResponseXML(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, sig := range []struct {
				xpath  string
				signed bool
			}{
				{xpathResponseSignature, r.Sign.signsResponse()},
				{xpathAssertionSignature, r.Sign.signsAssertion()},
			} {
				if !sig.signed {
					continue
				}
				if out, err := xmlsecVerify(t, bin, certPEM, doc, sig.xpath); err != nil {
					t.Errorf("xmlsec1 rejects %s: %v\n%s", sig.xpath, err, out)
				}
			}
		})
	}
}

// TestXMLSec1RejectsTampering makes sure the xmlsec1 check above can fail.
func TestXMLSec1RejectsTampering(t *testing.T) {
	bin := xmlsec1(t)
	idp := newTestIdP(t)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.Certificate.Raw})
	doc, err := idp.ResponseXML(Response{Destination: testACS, Audience: testSPID, Sign: SignBoth})
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(strings.Replace(string(doc), "alice@example.com", "mallory@example.com", 1))
	for _, xpath := range []string{xpathResponseSignature, xpathAssertionSignature} {
		if out, err := xmlsecVerify(t, bin, certPEM, tampered, xpath); err == nil {
			t.Errorf("xmlsec1 accepts a tampered document at %s:\n%s", xpath, out)
		}
	}
	other := newTestIdP(t)
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Certificate.Raw})
	if out, err := xmlsecVerify(t, bin, otherPEM, doc, xpathAssertionSignature); err == nil {
		t.Errorf("xmlsec1 accepts a signature with another IdP's certificate:\n%s", out)
	}
}
