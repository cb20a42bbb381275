package xmldsig

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// ErrNoTrustedKey means no trusted certificate verified the signature.
var ErrNoTrustedKey = errors.New("signature does not verify with any trusted certificate")

// ErrUnknownKey is matched, together with ErrNoTrustedKey, by the error
// of a signature whose SignedInfo verifies with none of the trusted
// certificates: it was made with another key (an IdP that rolled its key
// over, or anyone at all). A signature whose SignedInfo verifies but whose
// digest does not match is ErrNoTrustedKey alone: the key is known, the
// content changed.
var ErrUnknownKey = errors.New("signed with a key that is not trusted")

// unknownKeyError is selectKey's error when no trusted key verifies the
// SignedInfo. Its text is ErrNoTrustedKey's with the count.
type unknownKeyError struct{ trusted int }

// Error implements error.
func (e unknownKeyError) Error() string {
	return fmt.Sprintf("%v (SignedInfo verifies with none of the %d trusted certificate(s))", ErrNoTrustedKey, e.trusted)
}

// Is makes the error match ErrNoTrustedKey and ErrUnknownKey.
func (e unknownKeyError) Is(target error) bool {
	return target == ErrNoTrustedKey || target == ErrUnknownKey
}

// Verify checks the enveloped signature sig (already passed through Check)
// of el against the trusted certificates, and returns the element that
// goxmldsig re-parsed from the exact canonical bytes it digested, together
// with the certificate that verified it. Only that returned element may be
// read afterwards.
//
// The work is bounded before any canonicalization of el: el may hold at
// most MaxSignedElements elements and MaxNamespacePrefixes namespace
// prefixes (ErrLimit). The key is then chosen by verifying the canonical
// SignedInfo once per trusted certificate (the one named in KeyInfo first),
// and goxmldsig validates the whole signature once, with that certificate
// alone.
//
// el is modified: its KeyInfo is removed (it is outside the signed data) so
// that goxmldsig never selects a key from the message, ancestor namespace
// declarations are copied onto it so that it canonicalizes the same once
// detached, and its comments are removed (exclusive c14n drops them from
// the signed bytes anyway). Callers must verify an outer signature before
// an inner one.
func Verify(el *etree.Element, sig *Signature, trusted []*x509.Certificate) (*etree.Element, *x509.Certificate, error) {
	return verifier{validate: validate, bounds: MessageBounds}.verify(el, sig, trusted)
}

// VerifyBounded is Verify with the bounds b instead of MessageBounds, for
// signed elements that are not SAML messages (MetadataBounds).
func VerifyBounded(el *etree.Element, sig *Signature, trusted []*x509.Certificate, b Bounds) (*etree.Element, *x509.Certificate, error) {
	return verifier{validate: validate, bounds: b}.verify(el, sig, trusted)
}

// verifier carries the one call into goxmldsig, so that the package's
// tests can see how often, and with which certificate, it runs.
type verifier struct {
	validate func(el *etree.Element, cert *x509.Certificate) (*etree.Element, error)
	bounds   Bounds
}

func (v verifier) verify(el *etree.Element, sig *Signature, trusted []*x509.Certificate) (*etree.Element, *x509.Certificate, error) {
	if len(trusted) == 0 {
		return nil, nil, ErrNoTrustedKey
	}
	if _, err := prepareSigned(el, sig, v.bounds); err != nil {
		return nil, nil, err
	}
	cert, err := selectKey(sig, trusted)
	if err != nil {
		return nil, nil, err
	}
	restore := fixECDSASignatureValue(sig.Element, cert)
	out, err := v.validate(el, cert)
	restore()
	if err != nil {
		// The SignedInfo is the IdP's, but the digest (or goxmldsig's own
		// reading of the signature) does not match.
		return nil, nil, fmt.Errorf("%w (%v)", ErrNoTrustedKey, err)
	}
	return out, cert, nil
}

// prepareSigned readies el for goxmldsig: it removes the KeyInfo, copies
// the inherited namespace declarations onto el, then bounds el and strips
// its comments (prepare).
func prepareSigned(el *etree.Element, sig *Signature, b Bounds) (size, error) {
	for _, ki := range sig.Element.ChildElements() {
		if Is(ki, NS, "KeyInfo") {
			sig.Element.RemoveChild(ki)
		}
	}
	declareInheritedNamespaces(el)
	return prepare(el, b)
}

// validate runs goxmldsig with cert as the only key.
func validate(el *etree.Element, cert *x509.Certificate) (*etree.Element, error) {
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	// Certificate expiry is the caller's policy (metadata pins keys, see
	// the package saml2sp docs), so goxmldsig sees a time the cert is valid at.
	vctx.Clock = dsig.NewFakeClockAt(cert.NotBefore)
	return vctx.Validate(el)
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
