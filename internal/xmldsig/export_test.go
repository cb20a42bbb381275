package xmldsig

import (
	"crypto/x509"

	"github.com/beevik/etree"
)

// Size is what Verify measures of a signed element before canonicalizing it.
type Size struct{ Elements, Prefixes, Attributes, NamespaceBytes int }

// Prepare runs the steps of Verify that ready el for goxmldsig (KeyInfo
// removal, inherited namespaces, bounds, comment stripping).
func Prepare(el *etree.Element, sig *Signature) (Size, error) {
	sz, err := prepareSigned(el, sig, MessageBounds)
	return Size{sz.elements, sz.prefixes, sz.attributes, sz.namespaceBytes}, err
}

// CanonicalSignedInfo returns the bytes the key pre-check verifies.
func CanonicalSignedInfo(sig *Signature) ([]byte, error) { return canonicalSignedInfo(sig.signedInfo) }

// SelectKey is the key pre-check.
func SelectKey(sig *Signature, trusted []*x509.Certificate) (*x509.Certificate, error) {
	return selectKey(sig, trusted)
}

// VerifyObserved is Verify with observe called with the certificate of
// each goxmldsig Validate, just before it runs.
func VerifyObserved(el *etree.Element, sig *Signature, trusted []*x509.Certificate, observe func(*x509.Certificate)) (*etree.Element, *x509.Certificate, error) {
	v := verifier{bounds: MessageBounds, validate: func(el *etree.Element, cert *x509.Certificate) (*etree.Element, error) {
		observe(cert)
		return validate(el, cert)
	}}
	return v.verify(el, sig, trusted)
}

// KeyOrder is the order in which the pre-check tries the trusted keys.
func KeyOrder(sig *Signature, trusted []*x509.Certificate) []*x509.Certificate {
	return keyOrder(sig, trusted)
}
