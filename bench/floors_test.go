package bench

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
)

// floor is a lower bound on what verifying a fixture can cost: a part of
// the work every contender must do, on the same input. run returns an error
// when the floor's work did not succeed (a parse error, a bad signature).
type floor struct {
	name string
	run  func() error
}

// floors returns the floors of fx:
//
//	floor-base64    base64 decode of the form value alone
//	floor-etree     base64 decode + one etree parse (default ReadSettings)
//	floor-validate  goxmldsig ValidationContext.Validate alone, on the signed
//	                element of a document parsed once in setup (the Response
//	                for okta-response, else the Assertion); Validate copies
//	                the element itself, so it can run b.N times
//	floor-rsa       RSA-2048 PKCS#1 v1.5 SHA-256 verification alone, of the
//	                SHA-256 digest of the canonical SignedInfo (precomputed)
//	floor-sum       the sum-floor: base64 decode + one etree parse + finding
//	                the signed element + goxmldsig Validate
//	floor-sum-2sig  (okta-both only) the sum-floor with both signatures
//	                validated, the Response's and the Assertion's, as an SP
//	                that checks every signature must
//
// The fixtures declare every namespace prefix on or below the signed
// element (as Okta does), so Validate needs no namespace detaching.
// The ValidationContext trusts only the IdP certificate and has a fake
// clock at the fixed time.
func floors(tb testing.TB, fx *fixture) ([]floor, error) {
	tb.Helper()
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idpCert}})
	vctx.Clock = dsig.NewFakeClockAt(now)

	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(fx.raw); err != nil {
		return nil, err
	}
	signedEl, err := signedElement(doc, fx.signed)
	if err != nil {
		return nil, err
	}
	pub, digest, sigValue, err := signedInfoDigest(signedEl)
	if err != nil {
		return nil, err
	}
	form := fx.form
	fl := []floor{
		{"floor-base64", func() error {
			_, err := base64.StdEncoding.DecodeString(form)
			return err
		}},
		{"floor-etree", func() error {
			raw, err := base64.StdEncoding.DecodeString(form)
			if err != nil {
				return err
			}
			return etree.NewDocument().ReadFromBytes(raw)
		}},
		{"floor-validate", func() error {
			_, err := vctx.Validate(signedEl)
			return err
		}},
		{"floor-rsa", func() error {
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sigValue)
		}},
		{"floor-sum", func() error {
			raw, err := base64.StdEncoding.DecodeString(form)
			if err != nil {
				return err
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(raw); err != nil {
				return err
			}
			el, err := signedElement(doc, fx.signed)
			if err != nil {
				return err
			}
			_, err = vctx.Validate(el)
			return err
		}},
	}
	if fx.bothSigned {
		fl = append(fl, floor{"floor-sum-2sig", func() error {
			raw, err := base64.StdEncoding.DecodeString(form)
			if err != nil {
				return err
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(raw); err != nil {
				return err
			}
			resp, err := signedElement(doc, "response")
			if err != nil {
				return err
			}
			if _, err := vctx.Validate(resp); err != nil {
				return err
			}
			assertion, err := signedElement(doc, "assertion")
			if err != nil {
				return err
			}
			_, err = vctx.Validate(assertion)
			return err
		}})
	}
	return fl, nil
}

// signedElement returns the Response (which == "response") or its one
// Assertion child.
func signedElement(doc *etree.Document, which string) (*etree.Element, error) {
	root := doc.Root()
	if root == nil || root.Tag != "Response" || root.NamespaceURI() != nsProtocol {
		return nil, errors.New("document element is not a samlp:Response")
	}
	if which == "response" {
		return root, nil
	}
	for _, el := range root.ChildElements() {
		if el.Tag == "Assertion" && el.NamespaceURI() == nsAssertion {
			return el, nil
		}
	}
	return nil, errors.New("Response has no Assertion child")
}

// signedInfoDigest returns the IdP's RSA key, the SHA-256 digest of the
// exclusive-canonical SignedInfo of el's Signature and the decoded
// SignatureValue: the inputs of the one RSA verification.
func signedInfoDigest(el *etree.Element) (*rsa.PublicKey, []byte, []byte, error) {
	pub, ok := idpCert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, nil, errors.New("IdP certificate has no RSA key")
	}
	var sig *etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == nsDSig {
			sig = c
		}
	}
	if sig == nil {
		return nil, nil, nil, fmt.Errorf("%s has no ds:Signature child", el.Tag)
	}
	si := sig.FindElement("./SignedInfo")
	sv := sig.FindElement("./SignatureValue")
	if si == nil || sv == nil {
		return nil, nil, nil, errors.New("ds:Signature without SignedInfo or SignatureValue")
	}
	ctx, err := etreeutils.NSBuildParentContext(si)
	if err != nil {
		return nil, nil, nil, err
	}
	if ctx, err = ctx.SubContext(si); err != nil {
		return nil, nil, nil, err
	}
	detached, err := etreeutils.NSDetatch(ctx, si)
	if err != nil {
		return nil, nil, nil, err
	}
	canonical, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(detached)
	if err != nil {
		return nil, nil, nil, err
	}
	sum := sha256.Sum256(canonical)
	sigValue, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sv.Text()), ""))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sigValue); err != nil {
		return nil, nil, nil, fmt.Errorf("RSA verification of the canonical SignedInfo: %w", err)
	}
	return pub, sum[:], sigValue, nil
}
