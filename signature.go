package saml2sp

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
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
// whichever are present; at least one must be. The Response signature, when
// present, is verified first; an Assertion signature inside a verified
// Response is shape-checked but not verified again (see below). Otherwise
// the Assertion signature must verify.
//
// An EncryptedAssertion is decrypted between the two (see decrypt.go): the
// Response signature covers the ciphertext, so when the Response is signed
// the ciphertext is taken from the verified Response; otherwise it comes from
// the received document and only the decrypted Assertion's own signature can
// authenticate it. The decrypted Assertion then goes through the same
// shape, inventory and signature checks as a plain one.
func (sp *SP) verifySignatures(ctx context.Context, env *envelope, now time.Time) (*verified, error) {
	policy := xmldsig.Policy{AllowSHA1: sp.cfg.InsecureAllowSHA1}
	var v verified
	var sha1 []string // SHA-1 algorithms of the accepted signatures
	// The Response first: verifying the Assertion edits the original tree
	// (KeyInfo removal), which the Response digest covers.
	if env.signature != nil {
		vs, err := sp.verifyDated(env.response, env.signature, "Response", policy, now)
		if err != nil {
			return nil, sp.step(stepRespSig, err, "")
		}
		sp.step(stepRespSig, nil, sp.certDetail(vs))
		v.response = vs.el
		sha1 = vs.sha1
	}
	// report passes failures on, except while a decrypted Assertion is
	// unauthenticated: then it turns them into the one decryption error.
	report := func(err error) error { return err }
	if env.encrypted != nil {
		var err error
		if report, err = sp.openEncryptedAssertion(ctx, env, v.response); err != nil {
			return nil, sp.step(stepDecrypt, err, "")
		}
		sp.step(stepDecrypt, nil, "decrypted with an SP key")
		sp.claimAssertion(env.assertion, env.assertSig, false)
		// The decrypted Assertion gets the same cheap rejections as a
		// plain one before its signature is verified.
		if err := sp.precheckAssertion(env.assertion, now); err != nil {
			return nil, sp.step(stepPreAssert, report(err), "")
		}
		sp.step(stepPreAssert, nil, "Issuer, times and audience are possible")
	}
	if env.assertSig != nil && v.response != nil && env.encrypted == nil {
		// The verified Response signature already covers every byte of
		// this Assertion, its Signature included: nobody but the IdP can
		// have written it, so repeating the cryptography would only catch
		// an IdP that signs badly. Its shape and algorithms are still held
		// to the same policy. (This halves the cost of doubly signed
		// Responses; the assertion is read from the verified Response.)
		sig, err := xmldsig.Check(env.assertSig, attrValue(env.assertion, "ID"), policy)
		if err != nil {
			return nil, sp.step(stepAssertSig, sp.shapeError(err, "Assertion"), "")
		}
		sp.step(stepAssertSig, nil, "covered by the verified Response signature; its shape and algorithms checked")
		sha1 = append(sha1, sig.SHA1()...)
	} else if env.assertSig != nil {
		vs, err := sp.verifySignature(env.assertion, env.assertSig, "Assertion", policy)
		if err == nil {
			err = sp.checkCertificateTime(vs.cert, now)
		} else {
			err = report(err)
		}
		if err != nil {
			return nil, sp.step(stepAssertSig, err, "")
		}
		sp.step(stepAssertSig, nil, sp.certDetail(vs))
		v.assertion = vs.el
		sha1 = append(sha1, vs.sha1...)
	}
	if v.response == nil && v.assertion == nil {
		if env.encrypted != nil {
			return nil, sp.step(stepAssertSig, report(failf(ErrSignature, "neither the Response nor the decrypted Assertion is signed, and encryption is not authentication; configure the IdP to sign the assertion")), "")
		}
		return nil, sp.step(stepAssertSig, failf(ErrSignature, "neither the Response nor the Assertion is signed; configure the IdP to sign the assertion"), "")
	}
	if v.assertion == nil && env.encrypted != nil {
		// Decrypted from the ciphertext inside the verified Response.
		v.assertion = env.assertion
	}
	sp.warnSHA1("Response", sha1)
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
	sp.claimAssertion(v.assertion, env.assertSig, true)
	return &v, nil
}

// certDetail names the certificate that verified a signature, for
// Diagnose.
func (sp *SP) certDetail(vs *verifiedSignature) string {
	if !sp.diagnosing() {
		return ""
	}
	sum := sha256.Sum256(vs.cert.Raw)
	return fmt.Sprintf("verified with the IdP certificate %q (SHA-256 %X), valid until %s", vs.cert.Subject.CommonName, sum, stamp(vs.cert.NotAfter))
}

// verifyElement verifies the one signature of a message (what names it)
// with verifyDated, and logs its use of SHA-1.
func (sp *SP) verifyElement(el, sigEl *etree.Element, what string, policy xmldsig.Policy, now time.Time) (*etree.Element, error) {
	vs, err := sp.verifyDated(el, sigEl, what, policy, now)
	if err != nil {
		return nil, err
	}
	sp.warnSHA1(what, vs.sha1)
	return vs.el, nil
}

// verifyDated is verifySignature followed by the certificate expiry policy.
func (sp *SP) verifyDated(el, sigEl *etree.Element, what string, policy xmldsig.Policy, now time.Time) (*verifiedSignature, error) {
	vs, err := sp.verifySignature(el, sigEl, what, policy)
	if err != nil {
		return nil, err
	}
	if err := sp.checkCertificateTime(vs.cert, now); err != nil {
		return nil, err
	}
	return vs, nil
}

// verifiedSignature is the outcome of one signature check.
type verifiedSignature struct {
	el   *etree.Element    // the verified element
	cert *x509.Certificate // the certificate that verified it
	sha1 []string          // the SHA-1 algorithms it uses (InsecureAllowSHA1)
}

// verifySignature checks the enveloped signature sigEl of el against the
// IdP's certificates and returns the verified element and the certificate
// that verified it; the certificate's dates are the caller's to check.
func (sp *SP) verifySignature(el, sigEl *etree.Element, what string, policy xmldsig.Policy) (*verifiedSignature, error) {
	id := attrValue(el, "ID")
	sig, err := xmldsig.Check(sigEl, id, policy)
	if err != nil {
		return nil, sp.shapeError(err, what)
	}
	out, cert, err := xmldsig.Verify(el, sig, sp.cfg.IdP.Certificates)
	switch {
	case errors.Is(err, xmldsig.ErrLimit):
		return nil, wrapf(ErrMalformed, err, "%s", what)
	case errors.Is(err, xmldsig.ErrStructure):
		return nil, wrapf(ErrSignature, err, "%s", what)
	case err != nil:
		if errors.Is(err, xmldsig.ErrUnknownKey) {
			// Signed with a key the metadata does not list: perhaps the
			// IdP rolled its key over. Fetch its metadata again (in the
			// background, rate-limited) when it came from a URL; this
			// message stays refused, never verified again with keys
			// fetched because of it.
			sp.cfg.IdP.keyMiss()
		}
		return nil, wrapf(ErrSignature, err, "%s signature does not verify with the %d certificate(s) in the metadata of IdP %q", what, len(sp.cfg.IdP.Certificates), sp.cfg.IdP.EntityID)
	}
	// goxmldsig returns the re-parsed element; make sure it is still the one
	// we checked (same name and ID), so no later step can be pointed at
	// anything else.
	if out.Tag != el.Tag || out.NamespaceURI() != el.NamespaceURI() || attrValue(out, "ID") != id {
		return nil, failf(ErrSignature, "%s signature verified a different element", what)
	}
	return &verifiedSignature{el: out, cert: cert, sha1: sig.SHA1()}, nil
}

// shapeError reports a signature that xmldsig.Check refused; a refused
// SHA-1 algorithm says how to fix it.
func (sp *SP) shapeError(err error, what string) error {
	var sha1 *xmldsig.SHA1Error
	if errors.As(err, &sha1) {
		return wrapf(ErrSignature, err, "%s signature uses %s %s, a SHA-1 algorithm; configure IdP %q to sign with SHA-256 (rsa-sha256 or ecdsa-sha256, digest sha256) or, to accept SHA-1 anyway, set Config.InsecureAllowSHA1",
			what, sha1.Element, sha1.Algorithm, sp.cfg.IdP.EntityID)
	}
	return wrapf(ErrSignature, err, "%s signature", what)
}

// warnSHA1 logs, once per message, that signatures using the SHA-1
// algorithms algs were accepted because of Config.InsecureAllowSHA1.
func (sp *SP) warnSHA1(what string, algs []string) {
	if len(algs) == 0 {
		return
	}
	slices.Sort(algs)
	sp.cfg.Logger.Warn("saml2sp: accepted a SHA-1 signature because Config.InsecureAllowSHA1 is set; configure the IdP to sign with SHA-256",
		"idp", sp.cfg.IdP.EntityID, "message", what, "algorithms", slices.Compact(algs))
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
