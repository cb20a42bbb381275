package saml2sp

import (
	"crypto/x509"
	"time"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmldsig"
)

// verified holds the elements that the signature checks returned. They were
// re-parsed from the exact bytes that were digested, so nothing added to the
// original document outside the signed content can appear in them.
type verified struct {
	// response is the verified Response, or nil when the Response itself was
	// not signed (then only the assertion is authenticated).
	response *etree.Element
	// assertion is the verified Assertion: from its own signature when it has
	// one, otherwise the one inside the verified Response.
	assertion *etree.Element
}

// verifySignatures checks the Response's and the Assertion's signatures,
// whichever are present; at least one must be. Every signature present must
// verify: a bad inner signature is not excused by a good outer one.
func (sp *SP) verifySignatures(env *envelope, now time.Time) (*verified, error) {
	policy := xmldsig.Policy{AllowSHA1: sp.cfg.InsecureAllowSHA1}
	var v verified
	// The Response first: verifying the Assertion edits the original tree
	// (KeyInfo removal), which the Response digest covers.
	if env.signature != nil {
		el, err := sp.verifyElement(env.response, env.signature, "Response", policy, now)
		if err != nil {
			return nil, err
		}
		v.response = el
	}
	if env.assertSig != nil {
		el, err := sp.verifyElement(env.assertion, env.assertSig, "Assertion", policy, now)
		if err != nil {
			return nil, err
		}
		v.assertion = el
	}
	if v.response == nil && v.assertion == nil {
		return nil, failf(ErrSignature, "neither the Response nor the Assertion is signed; configure the IdP to sign the assertion")
	}
	if v.assertion == nil {
		for _, c := range v.response.ChildElements() {
			if is(c, nsAssertion, "Assertion") {
				if v.assertion != nil {
					return nil, failf(ErrMalformed, "verified Response carries more than one Assertion")
				}
				v.assertion = c
			}
		}
		if v.assertion == nil {
			return nil, failf(ErrMalformed, "verified Response carries no Assertion")
		}
	}
	return &v, nil
}

func (sp *SP) verifyElement(el, sigEl *etree.Element, what string, policy xmldsig.Policy, now time.Time) (*etree.Element, error) {
	id := attrValue(el, "ID")
	sig, err := xmldsig.Check(sigEl, id, policy)
	if err != nil {
		return nil, wrapf(ErrSignature, err, "%s signature", what)
	}
	out, cert, err := xmldsig.Verify(el, sig, sp.cfg.IdP.Certificates)
	if err != nil {
		return nil, wrapf(ErrSignature, err, "%s signature does not verify with the %d certificate(s) in the metadata of IdP %q", what, len(sp.cfg.IdP.Certificates), sp.cfg.IdP.EntityID)
	}
	if err := sp.checkCertificateTime(cert, now); err != nil {
		return nil, err
	}
	// goxmldsig returns the re-parsed element; make sure it is still the one
	// we checked (same name and ID), so no later step can be pointed at
	// anything else.
	if out.Tag != el.Tag || out.NamespaceURI() != el.NamespaceURI() || attrValue(out, "ID") != id {
		return nil, failf(ErrSignature, "%s signature verified a different element", what)
	}
	return out, nil
}

// checkCertificateTime applies the expiry policy described in the package
// documentation.
func (sp *SP) checkCertificateTime(cert *x509.Certificate, now time.Time) error {
	if !now.Before(cert.NotBefore) && !now.After(cert.NotAfter) {
		return nil
	}
	if sp.cfg.RejectExpiredCertificates {
		return failf(ErrSignature, "IdP certificate %q is valid only from %s to %s", cert.Subject.CommonName,
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	sp.cfg.Logger.Warn("saml2sp: IdP signed with a certificate outside its validity dates; accepted because metadata pins it, rotate it soon",
		"idp", sp.cfg.IdP.EntityID, "subject", cert.Subject.CommonName,
		"not_before", cert.NotBefore.UTC(), "not_after", cert.NotAfter.UTC())
	return nil
}
