package xmldsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"

	"github.com/beevik/etree"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// selectKey returns the first trusted certificate, the one named in KeyInfo
// first, whose key verifies the signature over the canonical SignedInfo:
// one public-key operation per certificate, so that a message naming no key
// or an untrusted one costs each extra certificate no more than that. The
// digest of the signed element is goxmldsig's to check, with this
// certificate only.
func selectKey(sig *Signature, trusted []*x509.Certificate) (*x509.Certificate, error) {
	if sig.signedInfo == nil {
		return nil, fmt.Errorf("%w (the Signature was not checked)", ErrNoTrustedKey)
	}
	signed, err := canonicalSignedInfo(sig.signedInfo)
	if err != nil {
		return nil, fmt.Errorf("%w (canonical SignedInfo: %v)", ErrNoTrustedKey, err)
	}
	alg := signatureMethods[sig.SignatureMethod].x509
	for _, cert := range keyOrder(sig, trusted) {
		if cert.CheckSignature(alg, signed, asn1SignatureValue(sig.value, cert)) == nil {
			return cert, nil
		}
	}
	return nil, unknownKeyError{trusted: len(trusted)}
}

// keyOrder puts the trusted certificate named in KeyInfo first; the others
// follow in their order, so a signature without KeyInfo (or with a stale
// one) still verifies during key rollover.
func keyOrder(sig *Signature, trusted []*x509.Certificate) []*x509.Certificate {
	order := make([]*x509.Certificate, 0, len(trusted))
	for _, c := range trusted {
		if sig.KeyInfoCert != nil && bytes.Equal(c.Raw, sig.KeyInfoCert) {
			order = append([]*x509.Certificate{c}, order...)
		} else {
			order = append(order, c)
		}
	}
	return order
}

// canonicalSignedInfo returns the bytes goxmldsig v1.6.1 verifies the
// SignatureValue over, computed the way it does (findSignature, then
// getCanonicalSignedInfo): SignedInfo detached with every namespace in
// scope at its parent declared on it (NSDetatch), exclusive c14n with an
// empty prefix list whatever InclusiveNamespaces says, and etree's
// canonical write settings. Only SignedInfo is copied, never the signed
// element.
//
// goxmldsig starts from a copy of the signed element without ancestors;
// after declareInheritedNamespaces the namespaces in scope at the Signature
// are the same in that copy and in the original tree, which is why the
// context can be built here from the original.
func canonicalSignedInfo(si *etree.Element) ([]byte, error) {
	ctx, err := etreeutils.NSBuildParentContext(si)
	if err != nil {
		return nil, err
	}
	detached, err := etreeutils.NSDetatch(ctx, si)
	if err != nil {
		return nil, err
	}
	if err := etreeutils.TransformExcC14n(detached, "", false); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.SetRoot(detached)
	doc.WriteSettings = etree.WriteSettings{
		CanonicalAttrVal: true,
		CanonicalEndTags: true,
		CanonicalText:    true,
	}
	return doc.WriteToBytes()
}

// asn1SignatureValue returns an ECDSA signature value in the ASN.1 form
// that x509.CheckSignature expects when it is the raw r||s concatenation
// of RFC 4050 / XML-DSig 1.1 for cert's curve, and value unchanged
// otherwise.
func asn1SignatureValue(value []byte, cert *x509.Certificate) []byte {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return value
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(value) != 2*size {
		return value
	}
	var asDER struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(value, &asDER); err == nil && len(rest) == 0 {
		return value // already ASN.1 (goxmldsig's own signer writes this form)
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(value[:size]),
		new(big.Int).SetBytes(value[size:]),
	})
	if err != nil {
		return value
	}
	return der
}

// fixECDSASignatureValue rewrites an ECDSA SignatureValue from r||s into
// ASN.1 (see asn1SignatureValue) for goxmldsig, which reads it from the
// tree. SignatureValue is outside the signed data. It returns a function
// that restores the original value.
func fixECDSASignatureValue(sig *etree.Element, cert *x509.Certificate) func() {
	noop := func() {}
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
	if err != nil {
		return noop
	}
	fixed := asn1SignatureValue(raw, cert)
	if bytes.Equal(fixed, raw) {
		return noop
	}
	sv.SetText(base64.StdEncoding.EncodeToString(fixed))
	return func() { sv.SetText(orig) }
}
