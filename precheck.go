package saml2sp

import (
	"time"

	"github.com/beevik/etree"
)

// Cheap rejections before the expensive work.
//
// Anyone can POST to the ACS or the SLS. Verifying a signature costs an
// RSA or ECDSA operation and a canonicalization of the whole signed
// element, and decrypting an assertion costs an RSA private-key operation.
// An old Response with a genuine signature is a free carrier for hostile
// padding, because the time and replay checks used to run after the crypto.
// So before any of that work, the message must pass the checks that need no
// trust: its size and shape (already checked by then), a known Issuer, the
// Destination, and the time windows.
//
// These checks read the received, unverified document, and they are only
// ever used to reject: every value that is accepted is read again, later,
// from the elements the signature checks return. They read the elements the
// signatures cover and no other copy: the Response (whose signature must
// reference its own ID, see xmldsig.Check) and the one Assertion of the
// document (locateEnvelope refuses a second one anywhere), so a wrapped
// document cannot pass them with one element and the cryptography with
// another. They never write to the replay cache.

// precheckResponse rejects, before any signature is verified, a Response
// whose envelope could never pass checkResponse.
func (sp *SP) precheckResponse(env *envelope, now time.Time) error {
	facts, err := readResponseFacts(env.response, env.signature != nil)
	if err != nil {
		return err
	}
	return sp.checkResponse(facts, now)
}

// precheckAssertion rejects, before its signature is verified, an
// Assertion whose Issuer, IssueInstant, Conditions window or audience
// could never pass checkAssertion. It reads only attributes and a few
// direct children; the full read waits for the verified element.
func (sp *SP) precheckAssertion(a *etree.Element, now time.Time) error {
	g, err := sequence(a, assertionSequence...)
	if err != nil {
		return err
	}
	issuer, err := simpleText(g[0][0])
	if err != nil {
		return err
	}
	if err := sp.checkIssuer("Assertion", issuer, attrValue(g[0][0], "Format")); err != nil {
		return err
	}
	issued, err := parseTime(a, "IssueInstant", true)
	if err != nil {
		return err
	}
	if err := sp.checkIssueInstant("Assertion", issued, now); err != nil {
		return err
	}
	if len(g[3]) == 0 {
		return failf(ErrAudience, "Assertion has no Conditions, so it is not restricted to this SP")
	}
	cond := g[3][0]
	pa := &parsedAssertion{}
	if pa.notBefore, err = parseTime(cond, "NotBefore", false); err != nil {
		return err
	}
	if pa.NotOnOrAfter, err = parseTime(cond, "NotOnOrAfter", false); err != nil {
		return err
	}
	for _, c := range cond.ChildElements() {
		if !is(c, nsAssertion, "AudienceRestriction") {
			continue
		}
		var list []string
		for _, au := range c.ChildElements() {
			if is(au, nsAssertion, "Audience") {
				v, err := simpleText(au)
				if err != nil {
					return err
				}
				list = append(list, v)
			}
		}
		pa.audiences = append(pa.audiences, list)
	}
	return sp.checkConditions(pa, now)
}
