package saml2sptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Test fixtures shared by the tests of this package.
const (
	testIdPID = "https://idp.example.com/saml"
	testSPID  = "https://app.example.com/saml"
	testACS   = "https://app.example.com/saml/acs"
)

var testNow = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// newTestIdP returns an RSA IdP whose clock is stopped at testNow.
func newTestIdP(t *testing.T) *IdP {
	t.Helper()
	idp, err := NewIdP(testIdPID)
	if err != nil {
		t.Fatal(err)
	}
	idp.Clock = func() time.Time { return testNow }
	return idp
}

// newECDSAIdP returns a P-256 IdP whose clock is stopped at testNow.
func newECDSAIdP(t *testing.T) *IdP {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := NewCertificate(key, testNow.Add(-time.Hour), testNow.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	idp := NewIdPWithKey(testIdPID, key, cert)
	idp.Clock = func() time.Time { return testNow }
	return idp
}

// responseDoc builds r with idp and parses the result.
func responseDoc(t *testing.T, idp *IdP, r Response) *etree.Element {
	t.Helper()
	b, err := idp.ResponseXML(r)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

// verify checks the enveloped signature of el against cert with goxmldsig
// and returns the signed element as goxmldsig saw it.
func verify(el *etree.Element, cert *x509.Certificate) (*etree.Element, error) {
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	ctx.Clock = dsig.NewFakeClockAt(cert.NotBefore.Add(time.Minute))
	return ctx.Validate(el)
}

func TestNewIdP(t *testing.T) {
	before := time.Now()
	idp, err := NewIdP(testIdPID)
	if err != nil {
		t.Fatal(err)
	}
	if idp.EntityID != testIdPID || idp.SSOURL != testIdPID+"/sso" || idp.SLOURL != testIdPID+"/slo" {
		t.Errorf("EntityID, SSOURL, SLOURL = %q, %q, %q", idp.EntityID, idp.SSOURL, idp.SLOURL)
	}
	key, ok := idp.Key.(*rsa.PrivateKey)
	if !ok || key.N.BitLen() != 2048 {
		t.Fatalf("Key is %T, want a 2048-bit *rsa.PrivateKey", idp.Key)
	}
	if !key.PublicKey.Equal(idp.Certificate.PublicKey) {
		t.Error("Certificate does not hold Key's public key")
	}
	c := idp.Certificate
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		t.Errorf("certificate is not self-signed: %v", err)
	}
	nb, na := idp.Certificate.NotBefore, idp.Certificate.NotAfter
	if nb.After(before.Add(-59*time.Minute)) || nb.Before(before.Add(-61*time.Minute)) {
		t.Errorf("NotBefore = %v, want about an hour before %v", nb, before)
	}
	if na.Before(before.AddDate(10, 0, -1)) || na.After(before.AddDate(10, 0, 1)) {
		t.Errorf("NotAfter = %v, want about ten years after %v", na, before)
	}
}

func TestNewIdPWithKeyExpiredCertificate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	notAfter := testNow.AddDate(-1, 0, 0)
	cert, err := NewCertificate(key, notAfter.AddDate(-1, 0, 0), notAfter)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.Equal(notAfter) {
		t.Errorf("NotAfter = %v, want %v", cert.NotAfter, notAfter)
	}
	idp := NewIdPWithKey(testIdPID, key, cert)
	if idp.Key != key || idp.Certificate != cert || idp.SSOURL != testIdPID+"/sso" {
		t.Errorf("NewIdPWithKey = %+v", idp)
	}
	// An expired certificate still signs: whether to accept it is the SP's
	// business.
	root := responseDoc(t, idp, Response{Destination: testACS, Audience: testSPID})
	if _, err := verify(root.FindElement("./Assertion"), cert); err != nil {
		t.Errorf("signature by an expired certificate does not verify: %v", err)
	}
}
