package saml2sp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// ParseResponse verifies a SAMLResponse form value, exactly as the browser
// posted it to the ACS (base64; line breaks allowed), and returns the
// assertion it carries. requestIDs are the IDs of the AuthnRequests this
// browser has outstanding; a Response must answer one of them unless it is
// unsolicited and Config.AllowIdPInitiated is set.
//
// The path reads top to bottom: size check, base64, one parse with the
// dangerous constructs refused, the envelope's shape, the IdP's status,
// cheap rejections of what could never pass (Issuer, Destination, time
// windows, audience: see precheck.go), the signatures (and decryption of
// an EncryptedAssertion, see decrypt.go), then every value read from the
// verified elements only, protocol checks, and finally the replay cache.
// At most Config.Limiter's cap of messages are parsed and verified at once. Every error matches one of the Err* classes with
// errors.Is.
func (sp *SP) ParseResponse(ctx context.Context, samlResponse string, requestIDs []string) (*Assertion, error) {
	sp = sp.current()
	now := sp.cfg.Clock().UTC()
	if err := sp.checkMetadataValid(now); err != nil {
		return nil, err
	}
	raw, err := decodeFormValue("SAMLResponse", samlResponse, sp.cfg.MaxResponseSize)
	if sp.diagnosing() {
		sizeDetail := fmt.Sprintf("%d bytes encoded; the limit is %d", len(samlResponse), sp.cfg.MaxResponseSize)
		if errors.Is(err, ErrTooLarge) {
			sp.step(stepSize, err, "")
		} else {
			sp.step(stepSize, nil, sizeDetail)
			sp.step(stepBase64, err, fmt.Sprintf("%d bytes of XML", len(raw)))
		}
	}
	if err != nil {
		return nil, err
	}
	sp.trace(ctx, "in", "Response", raw)
	// Parsing and verifying is the expensive part; the Limiter bounds how
	// many run at once. It is released before the replay cache, which may
	// wait on a shared store.
	release, err := sp.cfg.Limiter.acquire(ctx)
	if err != nil {
		return nil, err
	}
	pa, err := sp.verifyResponse(ctx, raw, requestIDs, now)
	release()
	if err != nil {
		return nil, err
	}

	if err := sp.step(stepReplay, sp.remember(ctx, replayKey(sp.cfg.EntityID, pa), sp.replayExpiry(pa, now), "assertion "+quote(pa.ID)),
		"first use; remembered until it could no longer pass"); err != nil {
		return nil, err
	}
	sp.cfg.Logger.DebugContext(ctx, "saml2sp: assertion accepted", "idp", pa.Issuer, "assertion_id", pa.ID, "idp_initiated", pa.InResponseTo == "")
	return &pa.Assertion, nil
}

// verifyResponse is ParseResponse from the parse to the last protocol
// check: everything but the replay cache.
func (sp *SP) verifyResponse(ctx context.Context, raw []byte, requestIDs []string, now time.Time) (*parsedAssertion, error) {
	doc, err := xmlsafe.Parse(raw, xmlsafe.DefaultLimits)
	if err != nil {
		return nil, sp.step(stepXML, wrapf(ErrMalformed, err, "SAMLResponse"), "")
	}
	sp.step(stepXML, nil, "UTF-8, no DTD or processing instruction, unique IDs, sizes within the limits")
	env, err := locateEnvelope(doc.Root())
	if err != nil {
		return nil, sp.step(stepShape, err, "")
	}
	sp.step(stepShape, nil, "one Response, one Assertion, signatures only where allowed")
	sp.claimEnvelope(env)
	env.ids, env.xmlsecIDs = doc.IDs, doc.XMLSecIDs
	// An error status usually comes unsigned and without an assertion; its
	// codes are the most useful thing to show the admin, and it is a
	// rejection whoever wrote it.
	if err := sp.step(stepStatus, checkStatus(env.status), "Success"); err != nil {
		return nil, err
	}
	if env.assertion == nil && env.encrypted == nil {
		return nil, sp.step(stepShape, failf(ErrMalformed, "Response with status Success carries no Assertion"), "")
	}
	// Cheap rejections before any cryptography (precheck.go): they read the
	// unverified elements the signatures cover, only to reject.
	if err := sp.step(stepPreResponse, sp.precheckResponse(env, now), "Issuer, Destination and IssueInstant are possible"); err != nil {
		return nil, err
	}
	if env.assertion != nil {
		if err := sp.step(stepPreAssert, sp.precheckAssertion(env.assertion, now), "Issuer, times and audience are possible"); err != nil {
			return nil, err
		}
	}

	// An EncryptedAssertion is decrypted inside verifySignatures, after the
	// Response signature (which covers the ciphertext) and before the
	// Assertion's own.
	v, err := sp.verifySignatures(ctx, env, now)
	if err != nil {
		return nil, err
	}

	// From here on, values come only from verified elements (or, for the
	// envelope of an unsigned Response, are used only to reject).
	respEl := env.response
	if v.response != nil {
		respEl = v.response
		status := firstChild(respEl, nsProtocol, "Status")
		if status == nil {
			return nil, failf(ErrMalformed, "verified Response has no Status")
		}
		if err := checkStatus(status); err != nil {
			return nil, err
		}
	}
	facts, err := readResponseFacts(respEl, v.response != nil)
	if err == nil {
		err = sp.checkResponse(facts, now)
	}
	if err := sp.step(stepResponse, err, "Destination, Issuer and IssueInstant"); err != nil {
		return nil, err
	}
	pa, err := readAssertion(v.assertion)
	if err := sp.step(stepAssertion, err, "one Subject with a NameID, Conditions, one AuthnStatement"); err != nil {
		return nil, err
	}
	irt, err := sp.checkAssertion(pa, facts, requestIDs, now)
	if err != nil {
		return nil, err
	}
	pa.InResponseTo = irt
	return pa, nil
}

// replayExpiry is how long the assertion ID must be remembered: until no
// check above could pass any more.
func (sp *SP) replayExpiry(pa *parsedAssertion, now time.Time) time.Time {
	exp := pa.NotOnOrAfter
	for _, c := range pa.confirmations {
		if c.notOnOrAfter.After(exp) {
			exp = c.notOnOrAfter
		}
	}
	if age := pa.issueInstant.Add(sp.cfg.MaxAssertionAge); age.Before(exp) || exp.IsZero() {
		exp = age
	}
	exp = exp.Add(sp.cfg.ClockSkew)
	if exp.Before(now) {
		exp = now.Add(sp.cfg.ClockSkew)
	}
	return exp
}

// decodeFormValue bounds and decodes a base64 form value. White space
// (line breaks inserted by some IdPs) is ignored; the URL-safe alphabet and
// anything else is refused.
func decodeFormValue(field, s string, max int) ([]byte, error) {
	if len(s) > max {
		return nil, failf(ErrTooLarge, "%s is %d bytes; the limit is %d", field, len(s), max)
	}
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s)
	}
	if s == "" {
		return nil, failf(ErrMalformed, "%s is empty", field)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, failf(ErrMalformed, "%s is not standard base64", field)
	}
	return raw, nil
}

// checkMetadataValid refuses to trust IdP metadata past its validUntil.
func (sp *SP) checkMetadataValid(now time.Time) error {
	if vu := sp.cfg.IdP.ValidUntil; !vu.IsZero() && now.After(vu) {
		return failf(ErrMetadata, "metadata of IdP %q expired at %s; refresh it", sp.cfg.IdP.EntityID, stamp(vu))
	}
	return nil
}
