package saml2sptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newSPKey(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := NewCertificate(key, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func TestEncrypt(t *testing.T) {
	idp := newTestIdP(t)
	_, cert := newSPKey(t)
	doc, err := idp.ResponseXML(Response{Destination: testACS, Audience: testSPID, Encrypt: cert, Sign: SignBoth})
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	for _, want := range []string{"<saml:EncryptedAssertion", "http://www.w3.org/2009/xmlenc11#aes256-gcm",
		"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", "<ds:X509Certificate>"} {
		if !strings.Contains(s, want) {
			t.Errorf("encrypted Response lacks %q", want)
		}
	}
	if strings.Contains(s, "alice@example.com") || strings.Contains(s, "<saml:Assertion") {
		t.Error("the Assertion is in the clear")
	}

	for _, bad := range []Encryption{{Data: "aes128-ofb"}, {KeyTransport: "rsa-1_5"}, {Digest: "md5"}, {MGF: "mgf1md5"},
		{KeyTransport: "rsa-oaep-mgf1p", MGF: "mgf1sha256"}} {
		if _, err := idp.ResponseXML(Response{Destination: testACS, Audience: testSPID, Encrypt: cert, Encryption: bad}); err == nil {
			t.Errorf("Encryption %+v accepted", bad)
		}
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecCert, err := NewCertificate(ec, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idp.ResponseXML(Response{Destination: testACS, Audience: testSPID, Encrypt: ecCert}); err == nil ||
		!strings.Contains(err.Error(), "RSA") {
		t.Errorf("ECDSA certificate: got %v", err)
	}
}

// TestEncryptXMLSec1 has xmlsec1, an independent implementation, decrypt
// what Encrypt writes for every algorithm xmlsec1 implements (it has no
// XML Encryption 1.1 rsa-oaep), and then verify the decrypted Assertion's
// signature.
func TestEncryptXMLSec1(t *testing.T) {
	bin := xmlsec1(t)
	idp := newTestIdP(t)
	key, cert := newSPKey(t)
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "sp-key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	idpCertPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.Certificate.Raw})
	for _, e := range []Encryption{
		{Data: "aes128-cbc"}, {Data: "aes192-cbc"}, {Data: "aes256-cbc"},
		{Data: "aes128-gcm"}, {Data: "aes192-gcm"}, {Data: "aes256-gcm"},
		{OAEPParams: []byte("label")},
		{Data: "aes256-cbc", OktaLayout: true},
	} {
		name := e.Data + string(e.OAEPParams)
		if e.OktaLayout {
			name += " Okta layout"
		}
		t.Run(name, func(t *testing.T) {
			doc, err := idp.ResponseXML(Response{Destination: testACS, Audience: testSPID, Encrypt: cert, Encryption: e})
			if err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(dir, "in.xml")
			if err := os.WriteFile(in, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			plain := filepath.Join(dir, "plain.xml")
			if got := strings.Contains(string(doc), `<ds:RetrievalMethod Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey" URI="#_`); got != e.OktaLayout {
				t.Fatalf("RetrievalMethod in the EncryptedData's KeyInfo: %v, want %v\n%s", got, e.OktaLayout, doc)
			}
			if got := strings.Contains(string(doc), `</xenc:EncryptedData><xenc:EncryptedKey `); got != e.OktaLayout {
				t.Fatalf("EncryptedKey after the EncryptedData: %v, want %v\n%s", got, e.OktaLayout, doc)
			}
			args := []string{"--decrypt", "--privkey-pem", keyFile, "--output", plain}
			if e.OktaLayout {
				// xmlsec1 follows the RetrievalMethod once told that Id is
				// the EncryptedKey's ID attribute.
				args = append(args, "--id-attr:Id", "http://www.w3.org/2001/04/xmlenc#:EncryptedKey")
			}
			if out, err := exec.Command(bin, append(args, in)...).CombinedOutput(); err != nil {
				t.Fatalf("xmlsec1 --decrypt: %v\n%s", err, out)
			}
			out, err := os.ReadFile(plain)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "alice@example.com") {
				t.Fatalf("xmlsec1 decrypted:\n%s", out)
			}
			if out, err := xmlsecVerify(t, bin, idpCertPEM, out, xpathAssertionSignature); err != nil {
				t.Errorf("xmlsec1 rejects the decrypted Assertion's signature: %v\n%s", err, out)
			}
		})
	}
}
