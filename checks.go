package saml2sp

import (
	"slices"
	"time"

	"github.com/beevik/etree"
)

// responseFacts are the Response-level values. They come from the verified
// Response when it was signed; otherwise they are unauthenticated and are
// only ever used to reject, never to accept.
type responseFacts struct {
	signed       bool
	destination  string
	hasDest      bool
	inResponseTo string
	issuer       string
	hasIssuer    bool
	issuerFormat string
	issueInstant time.Time
}

func readResponseFacts(resp *etree.Element, signed bool) (*responseFacts, error) {
	f := &responseFacts{signed: signed}
	f.destination, f.hasDest = attr(resp, "Destination")
	f.inResponseTo = attrValue(resp, "InResponseTo")
	var err error
	if f.issueInstant, err = parseTime(resp, "IssueInstant", true); err != nil {
		return nil, err
	}
	for _, c := range resp.ChildElements() {
		if is(c, nsAssertion, "Issuer") {
			if f.issuer, err = simpleText(c); err != nil {
				return nil, err
			}
			f.hasIssuer = true
			f.issuerFormat = attrValue(c, "Format")
		}
	}
	return f, nil
}

// checkResponse applies the rules on the Response envelope.
func (sp *SP) checkResponse(f *responseFacts, now time.Time) error {
	switch {
	case f.hasDest && f.destination != sp.cfg.ACSURL:
		return failf(ErrDestination, "Response Destination %q is not this SP's ACS URL %q", f.destination, sp.cfg.ACSURL)
	case !f.hasDest && f.signed:
		// SAML bindings 3.5.5.2: a signed POSTed message must name its
		// Destination, or it could be forwarded to another SP.
		return failf(ErrDestination, "signed Response has no Destination; it must be %q", sp.cfg.ACSURL)
	}
	if f.hasIssuer {
		if err := sp.checkIssuer("Response", f.issuer, f.issuerFormat); err != nil {
			return err
		}
	}
	return sp.checkIssueInstant("Response", f.issueInstant, now)
}

func (sp *SP) checkIssuer(what, issuer, format string) error {
	if format != "" && format != nameIDFormatEntity {
		return failf(ErrIssuer, "%s Issuer Format %q is not the entity format", what, format)
	}
	if issuer != sp.cfg.IdP.EntityID {
		return failf(ErrIssuer, "%s Issuer %q is not the configured IdP %q", what, issuer, sp.cfg.IdP.EntityID)
	}
	return nil
}

func (sp *SP) checkIssueInstant(what string, t, now time.Time) error {
	skew := sp.cfg.ClockSkew
	if t.After(now.Add(skew)) {
		return failf(ErrNotYetValid, "%s IssueInstant %s is in the future (now %s, skew %s); check the clocks", what, stamp(t), stamp(now), skew)
	}
	if t.Before(now.Add(-sp.cfg.MaxAssertionAge - skew)) {
		return failf(ErrExpired, "%s IssueInstant %s is older than %s (now %s)", what, stamp(t), sp.cfg.MaxAssertionAge, stamp(now))
	}
	return nil
}

// checkAssertion applies the rules on the verified assertion and returns
// the InResponseTo it answers ("" for IdP-initiated).
func (sp *SP) checkAssertion(pa *parsedAssertion, f *responseFacts, requestIDs []string, now time.Time) (string, error) {
	if err := sp.step(stepIssuer, sp.checkIssuer("Assertion", pa.Issuer, pa.issuerFormat), pa.Issuer); err != nil {
		return "", err
	}
	err := sp.checkIssueInstant("Assertion", pa.issueInstant, now)
	if err == nil {
		err = sp.checkConditionTimes(pa, now)
	}
	if err := sp.step(stepTimes, err, sp.timesDetail(pa, now)); err != nil {
		return "", err
	}
	if err := sp.step(stepAudience, sp.checkAudience(pa), sp.cfg.EntityID); err != nil {
		return "", err
	}
	irt, err := sp.checkConfirmation(pa, f, now)
	if err := sp.step(stepSubject, err, "bearer, Recipient is this ACS, unexpired"); err != nil {
		return "", err
	}
	switch {
	case irt == "" && !sp.cfg.AllowIdPInitiated:
		err = failf(ErrUnsolicited, "Response answers no request (no InResponseTo) and IdP-initiated login is disabled")
	case irt != "" && !slices.Contains(requestIDs, irt):
		err = failf(ErrInResponseTo, "Response answers request %q, which this SP did not make or already used", irt)
	}
	detail := "answers a request this browser started"
	if irt == "" {
		detail = "unsolicited (IdP-initiated), allowed"
	}
	if err := sp.step(stepRequest, err, detail); err != nil {
		return "", err
	}
	if !pa.SessionNotOnOrAfter.IsZero() && !now.Before(pa.SessionNotOnOrAfter.Add(sp.cfg.ClockSkew)) {
		err = failf(ErrExpired, "AuthnStatement SessionNotOnOrAfter %s has passed (now %s)", stamp(pa.SessionNotOnOrAfter), stamp(now))
	}
	if err := sp.step(stepSession, err, ""); err != nil {
		return "", err
	}
	return irt, nil
}

// timesDetail describes the assertion's validity window, for Diagnose.
func (sp *SP) timesDetail(pa *parsedAssertion, now time.Time) string {
	if !sp.diagnosing() {
		return ""
	}
	return "issued " + stamp(pa.issueInstant) + ", valid until " + stamp(pa.NotOnOrAfter) + ", now " + stamp(now) + ", clock skew " + sp.cfg.ClockSkew.String()
}

func (sp *SP) checkConditions(pa *parsedAssertion, now time.Time) error {
	if err := sp.checkConditionTimes(pa, now); err != nil {
		return err
	}
	return sp.checkAudience(pa)
}

// checkConditionTimes applies the Conditions' NotBefore and NotOnOrAfter.
func (sp *SP) checkConditionTimes(pa *parsedAssertion, now time.Time) error {
	skew := sp.cfg.ClockSkew
	if !pa.notBefore.IsZero() && now.Add(skew).Before(pa.notBefore) {
		return failf(ErrNotYetValid, "Conditions NotBefore %s is in the future (now %s, skew %s)", stamp(pa.notBefore), stamp(now), skew)
	}
	if !pa.NotOnOrAfter.IsZero() && !now.Before(pa.NotOnOrAfter.Add(skew)) {
		return failf(ErrExpired, "Conditions NotOnOrAfter %s has passed (now %s, skew %s)", stamp(pa.NotOnOrAfter), stamp(now), skew)
	}
	return nil
}

// checkAudience requires every AudienceRestriction to name this SP.
func (sp *SP) checkAudience(pa *parsedAssertion) error {
	if len(pa.audiences) == 0 {
		return failf(ErrAudience, "Assertion has no AudienceRestriction; it must name SP entity ID %q", sp.cfg.EntityID)
	}
	// Every restriction must admit us (SAML core 2.5.1.4: conditions are ANDed).
	for _, list := range pa.audiences {
		if !slices.Contains(list, sp.cfg.EntityID) {
			return failf(ErrAudience, "Audience %q does not include SP entity ID %q", list, sp.cfg.EntityID)
		}
	}
	return nil
}

// checkConfirmation finds a bearer SubjectConfirmation that is valid for
// this SP now (SAML profiles 4.1.4.2 and 4.1.4.3) and returns the request it
// answers.
func (sp *SP) checkConfirmation(pa *parsedAssertion, f *responseFacts, now time.Time) (string, error) {
	var firstErr error
	for _, c := range pa.confirmations {
		if c.method != confirmationBearer {
			continue
		}
		irt, err := sp.checkBearer(c, f, now)
		if err == nil {
			return irt, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", firstErr
	}
	return "", failf(ErrRecipient, "Subject has no bearer SubjectConfirmation")
}

func (sp *SP) checkBearer(c confirmation, f *responseFacts, now time.Time) (string, error) {
	skew := sp.cfg.ClockSkew
	switch {
	case !c.hasData:
		return "", failf(ErrRecipient, "bearer SubjectConfirmation has no SubjectConfirmationData")
	case c.recipient != sp.cfg.ACSURL:
		return "", failf(ErrRecipient, "SubjectConfirmationData Recipient %q is not this SP's ACS URL %q", c.recipient, sp.cfg.ACSURL)
	case c.notOnOrAfter.IsZero():
		return "", failf(ErrExpired, "bearer SubjectConfirmationData has no NotOnOrAfter, so it never expires")
	case !now.Before(c.notOnOrAfter.Add(skew)):
		return "", failf(ErrExpired, "SubjectConfirmationData NotOnOrAfter %s has passed (now %s, skew %s)", stamp(c.notOnOrAfter), stamp(now), skew)
	case !c.notBefore.IsZero() && now.Add(skew).Before(c.notBefore):
		return "", failf(ErrNotYetValid, "SubjectConfirmationData NotBefore %s is in the future (now %s)", stamp(c.notBefore), stamp(now))
	}
	switch {
	case c.inResponseTo != "" && f.inResponseTo != "" && c.inResponseTo != f.inResponseTo:
		return "", failf(ErrInResponseTo, "Response InResponseTo %q and SubjectConfirmationData InResponseTo %q differ", f.inResponseTo, c.inResponseTo)
	case c.inResponseTo != "":
		return c.inResponseTo, nil
	case f.inResponseTo != "" && !f.signed:
		// Only the unsigned envelope names the request: an attacker could
		// have added it to an unsolicited assertion.
		return "", failf(ErrInResponseTo, "InResponseTo %q is on the unsigned Response only; the signed assertion's SubjectConfirmationData must carry it", f.inResponseTo)
	default:
		return f.inResponseTo, nil
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
