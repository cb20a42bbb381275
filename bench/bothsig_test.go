package bench

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// saml2sp skips the cryptography of an Assertion signature inside a verified
// Response (signature.go: the Response signature already covers every byte
// of it), so on a doubly signed Response it does one verification where the
// peers do two. The headline ratio (okta-both, saml2sp vs the peers) counts
// that skip as saml2sp's gain; the like-for-like figure needs saml2sp doing
// both.
//
// bothVerified returns that variant, BenchmarkParse/<fixture>/saml2sp-2sig,
// for doubly signed fixtures: sp.ParseResponse (which verifies the Response
// signature and already runs xmldsig.Check on the Assertion's) followed by
// the one step it skips, xmldsig.Verify of the Assertion signature against
// the IdP certificate, on the Assertion of a document parsed once in setup
// (goxmldsig's Validate copies the element, and xmldsig.Verify's edits, the
// KeyInfo removal and the inherited namespace declarations, are idempotent,
// so it can run b.N times). It is a floor-like sum, not a code path of the
// library: it omits nothing saml2sp would do, and adds nothing but the
// second verification.
func bothVerified(tb testing.TB, fx *fixture) (floor, bool) {
	tb.Helper()
	if !fx.bothSigned {
		return floor{}, false
	}
	check, _ := setupSaml2sp(tb)
	el, sig, err := assertionSignature(fx.raw)
	if err != nil {
		tb.Fatal(err)
	}
	return floor{"saml2sp-2sig", func() error {
		if err := check(fx.form); err != nil {
			return err
		}
		_, _, err := xmldsig.Verify(el, sig, []*x509.Certificate{idpCert})
		return err
	}}, true
}

// assertionSignature parses raw as saml2sp does and returns its Assertion
// and the checked Assertion signature.
func assertionSignature(raw []byte) (*etree.Element, *xmldsig.Signature, error) {
	doc, err := xmlsafe.Parse(raw, xmlsafe.DefaultLimits)
	if err != nil {
		return nil, nil, err
	}
	el, err := signedElement(doc.Doc, "assertion")
	if err != nil {
		return nil, nil, err
	}
	sigEl, err := xmldsig.Find(el)
	if err != nil || sigEl == nil {
		return nil, nil, errors.New("the Assertion has no Signature")
	}
	sig, err := xmldsig.Check(sigEl, el.SelectAttrValue("ID", ""), xmldsig.Policy{})
	return el, sig, err
}

// TestBothVerified shows that saml2sp-2sig accepts the doubly signed
// fixture, and that its second step does verify: with a changed NameID in
// the Assertion, xmldsig.Verify fails.
func TestBothVerified(t *testing.T) {
	for _, fx := range fixtures(t) {
		f, ok := bothVerified(t, fx)
		if !ok {
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			if err := f.run(); err != nil {
				t.Fatalf("saml2sp-2sig refuses %s: %v", fx.file, err)
			}
			tampered := nameIDText.ReplaceAll(fx.raw, []byte("${1}~"))
			if bytes.Equal(tampered, fx.raw) {
				t.Fatal("no NameID to tamper with")
			}
			el, sig, err := assertionSignature(tampered)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := xmldsig.Verify(el, sig, []*x509.Certificate{idpCert}); !errors.Is(err, xmldsig.ErrNoTrustedKey) {
				t.Fatalf("Verify of a changed Assertion = %v, want ErrNoTrustedKey", err)
			}
			// and ParseResponse itself refuses it (the Response signature).
			check, _ := setupSaml2sp(t)
			if err := check(base64.StdEncoding.EncodeToString(tampered)); err == nil {
				t.Fatal("ParseResponse accepts a changed Assertion")
			}
		})
	}
}
