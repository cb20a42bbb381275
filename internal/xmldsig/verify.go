package xmldsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// ErrNoTrustedKey means no trusted certificate verified the signature.
var ErrNoTrustedKey = errors.New("signature does not verify with any trusted certificate")

// Verify checks the enveloped signature sig (already passed through Check)
// of el against the trusted certificates, and returns the element that
// goxmldsig re-parsed from the exact canonical bytes it digested, together
// with the certificate that verified it. Only that returned element may be
// read afterwards.
//
// el is modified: its KeyInfo is removed (it is outside the signed data) so
// that goxmldsig never selects a key from the message, and ancestor
// namespace declarations are copied onto it so that it canonicalizes the same
// once detached. Callers must verify an outer signature before an inner one.
func Verify(el *etree.Element, sig *Signature, trusted []*x509.Certificate) (*etree.Element, *x509.Certificate, error) {
	if len(trusted) == 0 {
		return nil, nil, ErrNoTrustedKey
	}
	for _, ki := range sig.Element.ChildElements() {
		if Is(ki, NS, "KeyInfo") {
			sig.Element.RemoveChild(ki)
		}
	}
	declareInheritedNamespaces(el)

	// Try the certificate named in KeyInfo first when it is one we trust;
	// the others follow, so a signature without KeyInfo (or with a stale one)
	// still verifies during key rollover.
	order := make([]*x509.Certificate, 0, len(trusted))
	for _, c := range trusted {
		if sig.KeyInfoCert != nil && bytes.Equal(c.Raw, sig.KeyInfoCert) {
			order = append([]*x509.Certificate{c}, order...)
		} else {
			order = append(order, c)
		}
	}
	var errs []error
	for _, cert := range order {
		restore := fixECDSASignatureValue(sig.Element, cert)
		vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		// Certificate expiry is the caller's policy (metadata pins keys, see
		// the package saml2sp docs), so goxmldsig sees a time the cert is valid at.
		vctx.Clock = dsig.NewFakeClockAt(cert.NotBefore)
		out, err := vctx.Validate(el)
		restore()
		if err == nil {
			return out, cert, nil
		}
		errs = append(errs, err)
	}
	return nil, nil, fmt.Errorf("%w (%v)", ErrNoTrustedKey, errors.Join(errs...))
}

// declareInheritedNamespaces copies the namespace declarations in scope at
// el's ancestors onto el, unless el (re)declares the prefix itself.
// goxmldsig canonicalizes a copy of el without its ancestors, and exclusive
// c14n only emits the prefixes that are used, so extra declarations are
// harmless while missing ones would break the digest.
func declareInheritedNamespaces(el *etree.Element) {
	have := map[string]bool{}
	for _, a := range el.Attr {
		if a.Space == "xmlns" {
			have[a.Key] = true
		} else if a.Space == "" && a.Key == "xmlns" {
			have[""] = true
		}
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			switch {
			case a.Space == "xmlns" && !have[a.Key]:
				have[a.Key] = true
				el.CreateAttr("xmlns:"+a.Key, a.Value)
			case a.Space == "" && a.Key == "xmlns" && !have[""]:
				have[""] = true
				el.CreateAttr("xmlns", a.Value)
			}
		}
	}
}

// fixECDSASignatureValue rewrites an XML-DSig ECDSA SignatureValue (the raw
// r||s concatenation of RFC 4050/XMLDSig 1.1) into the ASN.1 form that Go's
// x509.CheckSignature, and so goxmldsig, expects. SignatureValue is outside
// the signed data. It returns a function that restores the original value.
func fixECDSASignatureValue(sig *etree.Element, cert *x509.Certificate) func() {
	noop := func() {}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return noop
	}
	var sv *etree.Element
	for _, c := range sig.ChildElements() {
		if Is(c, NS, "SignatureValue") {
			sv = c
		}
	}
	if sv == nil {
		return noop
	}
	orig := sv.Text()
	raw, err := decodeBase64(orig)
	size := (pub.Curve.Params().BitSize + 7) / 8
	if err != nil || len(raw) != 2*size {
		return noop
	}
	var asDER struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(raw, &asDER); err == nil && len(rest) == 0 {
		return noop // already ASN.1 (goxmldsig's own signer writes this form)
	}
	r := new(big.Int).SetBytes(raw[:size])
	s := new(big.Int).SetBytes(raw[size:])
	der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	if err != nil {
		return noop
	}
	sv.SetText(base64.StdEncoding.EncodeToString(der))
	return func() { sv.SetText(orig) }
}
