package saml2sp

import (
	"context"
	"errors"
	"time"

	"github.com/beevik/etree"
)

// Diagnostics: an account of every check ParseResponse makes, for the
// people who fix a broken login (the app's support, the customer's IdP
// admin) and for tools (cmd/saml2sp verify, a test-connection page).
// Diagnose runs ParseResponse itself, on a copy of the SP that records
// each step as it passes or fails: there is no second implementation that
// could drift from the real one.

// CheckStatus is the outcome of one check.
type CheckStatus string

// Check outcomes.
const (
	// CheckPassed: the check ran and the message passed it.
	CheckPassed CheckStatus = "passed"
	// CheckFailed: the check ran and refused the message; ParseResponse
	// stops there.
	CheckFailed CheckStatus = "failed"
	// CheckNotReached: an earlier check failed, so this one never ran.
	CheckNotReached CheckStatus = "not reached"
	// CheckNotApplicable: the message has nothing for this check (no
	// Response signature, no encryption...).
	CheckNotApplicable CheckStatus = "not applicable"
)

// Check is one step of ParseResponse, as Diagnose saw it.
type Check struct {
	// Name of the step, stable for tools ("signature of the Assertion").
	Name string `json:"name"`
	// Status is the outcome.
	Status CheckStatus `json:"status"`
	// Detail says what the step checked or what it found (empty when
	// there is nothing to add).
	Detail string `json:"detail,omitempty"`
	// Err is the failure, for a failed check: the error ParseResponse
	// returns (errors.Is matches its class).
	Err error `json:"-"`
}

// The steps of ParseResponse, in order. Every Report lists all of them.
const (
	stepSize        = "message size"
	stepBase64      = "base64"
	stepXML         = "XML (hardened parse)"
	stepShape       = "message shape"
	stepStatus      = "IdP status"
	stepPreResponse = "Response envelope, before any cryptography"
	stepPreAssert   = "Assertion, before any cryptography"
	stepRespSig     = "signature of the Response"
	stepDecrypt     = "decryption of the EncryptedAssertion"
	stepAssertSig   = "signature of the Assertion"
	stepResponse    = "Response (verified)"
	stepAssertion   = "Assertion contents (verified)"
	stepIssuer      = "issuer"
	stepTimes       = "validity window"
	stepAudience    = "audience"
	stepSubject     = "bearer subject confirmation"
	stepRequest     = "InResponseTo (the request it answers)"
	stepSession     = "IdP session"
	stepReplay      = "replay"
)

var steps = []string{
	stepSize, stepBase64, stepXML, stepShape, stepStatus, stepPreResponse, stepPreAssert,
	stepRespSig, stepDecrypt, stepAssertSig, stepResponse, stepAssertion,
	stepIssuer, stepTimes, stepAudience, stepSubject, stepRequest, stepSession, stepReplay,
}

// Claims are what a Response says, read for display. Verified says whether
// a signature by the IdP covered them: until then they are whatever the
// sender wrote, and must be shown as such.
type Claims struct {
	// Verified is true when the values below were read from an element a
	// trusted signature verified.
	Verified bool `json:"verified"`
	// Issuer, Destination, InResponseTo and IssueInstant of the Response.
	Issuer       string    `json:"issuer,omitempty"`
	Destination  string    `json:"destination,omitempty"`
	InResponseTo string    `json:"in_response_to,omitempty"`
	IssueInstant time.Time `json:"issue_instant,omitzero"`
	// ResponseSigned, AssertionSigned and Encrypted describe the message's
	// protection; SignatureAlgorithms and EncryptionAlgorithms name it.
	ResponseSigned       bool     `json:"response_signed"`
	AssertionSigned      bool     `json:"assertion_signed"`
	Encrypted            bool     `json:"encrypted"`
	SignatureAlgorithms  []string `json:"signature_algorithms,omitempty"`
	EncryptionAlgorithms []string `json:"encryption_algorithms,omitempty"`
	// Assertion holds what the assertion says, when it could be read.
	Assertion *Assertion `json:"assertion,omitempty"`
	// Audiences, NotBefore and NotOnOrAfter are the assertion's
	// Conditions.
	Audiences    [][]string `json:"audiences,omitempty"`
	NotBefore    time.Time  `json:"not_before,omitzero"`
	NotOnOrAfter time.Time  `json:"not_on_or_after,omitzero"`
}

// Report is Diagnose's account of one Response.
type Report struct {
	// Checks are every step of ParseResponse, in order.
	Checks []Check `json:"checks"`
	// Accepted is true when ParseResponse would have returned the
	// assertion; Err is its error otherwise.
	Accepted bool  `json:"accepted"`
	Err      error `json:"-"`
	// Assertion is the verified assertion, when accepted.
	Assertion *Assertion `json:"-"`
	// Claims are what the message says (see Claims.Verified).
	Claims Claims `json:"claims"`
}

// DiagnoseOptions change what Diagnose reveals.
type DiagnoseOptions struct {
	// DecryptionDetail names why an EncryptedAssertion could not be
	// decrypted (which key, padding, tag...). Off, every decryption
	// failure reads the same, as ParseResponse's error does: leave it off
	// for anything a client or a tenant's admin can see, or the report
	// becomes a padding oracle against the SP's key. A command-line tool
	// run by the key's owner may set it.
	DecryptionDetail bool
}

// diagnosis records the steps of one ParseResponse call.
type diagnosis struct {
	opts   DiagnoseOptions
	checks map[string]Check
	claims Claims
	// decryptionReason is why decryption (or what it hid) failed, which
	// the one error ParseResponse returns does not say.
	decryptionReason error
}

// Diagnose verifies samlResponse exactly as ParseResponse does, with the
// same checks in the same order and the same effects (an accepted
// assertion's ID goes into the replay cache, so it cannot then be used to
// log in), and reports every check. It stops at the first failure, as
// ParseResponse does; later checks are "not reached".
func (sp *SP) Diagnose(ctx context.Context, samlResponse string, requestIDs []string, opts DiagnoseOptions) *Report {
	c := *sp.current()
	c.diag = &diagnosis{opts: opts, checks: map[string]Check{}}
	a, err := c.ParseResponse(ctx, samlResponse, requestIDs)
	r := &Report{Accepted: err == nil, Err: err, Assertion: a, Claims: c.diag.claims}
	failed := false
	for _, name := range steps {
		ck, ok := c.diag.checks[name]
		switch {
		case ok:
			failed = failed || ck.Status == CheckFailed
		case failed:
			ck = Check{Name: name, Status: CheckNotReached}
		default:
			ck = Check{Name: name, Status: CheckNotApplicable}
		}
		r.Checks = append(r.Checks, ck)
	}
	return r
}

// step records the outcome of one check and returns err unchanged. It
// does nothing outside Diagnose.
func (sp *SP) step(name string, err error, detail string) error {
	if sp.diag == nil {
		return err
	}
	ck := Check{Name: name, Status: CheckPassed, Detail: detail}
	if err != nil {
		ck.Status, ck.Err, ck.Detail = CheckFailed, err, err.Error()
		if reason := sp.diag.decryptionReason; reason != nil && errors.Is(err, ErrDecryption) && sp.diag.opts.DecryptionDetail {
			ck.Detail += "; the reason: " + reason.Error()
		}
	}
	sp.diag.checks[name] = ck
	return err
}

// diagnosing reports whether steps are being recorded (to skip work that
// only a report needs).
func (sp *SP) diagnosing() bool { return sp.diag != nil }

// claimEnvelope records what the received, unverified document says.
func (sp *SP) claimEnvelope(env *envelope) {
	if sp.diag == nil {
		return
	}
	c := &sp.diag.claims
	c.Destination = attrValue(env.response, "Destination")
	c.InResponseTo = attrValue(env.response, "InResponseTo")
	c.IssueInstant, _ = parseTime(env.response, "IssueInstant", false)
	if is := firstChild(env.response, nsAssertion, "Issuer"); is != nil {
		c.Issuer, _ = simpleText(is)
	}
	c.ResponseSigned = env.signature != nil
	c.Encrypted = env.encrypted != nil
	for _, sig := range []*etree.Element{env.signature, env.assertSig} {
		c.SignatureAlgorithms = append(c.SignatureAlgorithms, algorithms(sig)...)
	}
	if env.encrypted != nil {
		c.EncryptionAlgorithms = algorithms(env.encrypted)
	}
	sp.claimAssertion(env.assertion, env.assertSig, false)
}

// claimAssertion records what an assertion says; verified says whether it
// was read from a verified element.
func (sp *SP) claimAssertion(a, sig *etree.Element, verified bool) {
	if sp.diag == nil || a == nil {
		return
	}
	c := &sp.diag.claims
	if sig != nil {
		c.AssertionSigned = true
	}
	if pa, err := readAssertion(a); err == nil {
		c.Assertion = &pa.Assertion
		c.Audiences, c.NotBefore, c.NotOnOrAfter = pa.audiences, pa.notBefore, pa.NotOnOrAfter
		c.Verified = verified
	}
}

// algorithms lists the Algorithm attributes under el, in document order,
// without repeats.
func algorithms(el *etree.Element) []string {
	if el == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	stack := []*etree.Element{el}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if v := attrValue(e, "Algorithm"); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
		kids := e.ChildElements()
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	return out
}
