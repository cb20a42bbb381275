package saml2sp

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// Single logout (SAML profiles 4.4) through the browser: the IdP asks this
// SP to end a session (ParseLogoutRequest, answered with NewLogoutResponse),
// or this SP asks the IdP to end its session (NewLogoutRequest, whose answer
// ParseLogoutResponse checks). Every message that arrives must be signed by
// the IdP, in either binding; an unsigned LogoutRequest would let any web
// page log users out (GHSA-pcgw-qcv5-h8ch).

// Top-level status codes (SAML core 3.2.2.2).
const (
	statusRequester       = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	statusResponder       = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	statusVersionMismatch = "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch"
)

// logoutRequestLifetime bounds the NotOnOrAfter of our LogoutRequests.
const logoutRequestLifetime = 5 * time.Minute

// sloPostOverhead is what a POSTed form may hold beyond the encoded message
// (RelayState, field names, other fields) before the body is refused.
const sloPostOverhead = 64 << 10

// LogoutSubject names the user and IdP session that a LogoutRequest ends.
// Keep it with the app's session at login (Assertion.LogoutSubject) so
// that logout can name exactly what the IdP issued.
type LogoutSubject struct {
	// IdP is the entity ID of the IdP that issued the session.
	IdP string
	// NameID, NameIDFormat, NameQualifier and SPNameQualifier name the
	// user exactly as the assertion did.
	NameID          string
	NameIDFormat    string
	NameQualifier   string
	SPNameQualifier string
	// SessionIndex is the IdP session; empty means every session of the
	// NameID.
	SessionIndex string
}

// LogoutSubject returns the IdP, NameID and session of the assertion, as
// a LogoutRequest must name them and as Logout.Matches compares them.
func (a *Assertion) LogoutSubject() LogoutSubject {
	return LogoutSubject{
		IdP:             a.Issuer,
		NameID:          a.NameID,
		NameIDFormat:    a.NameIDFormat,
		NameQualifier:   a.NameIDNameQualifier,
		SPNameQualifier: a.NameIDSPNameQualifier,
		SessionIndex:    a.SessionIndex,
	}
}

// LogoutRequest is a verified IdP-initiated logout request. Every field was
// read from the signed message.
type LogoutRequest struct {
	// ID of the request; the LogoutResponse names it as InResponseTo.
	ID string
	// Issuer is the IdP's entity ID.
	Issuer string
	// NameID names the user to log out.
	NameID string
	// NameIDFormat is the NameID's Format attribute (may be empty).
	NameIDFormat string
	// NameQualifier and SPNameQualifier are the NameID's qualifiers (may
	// be empty); with the NameID they name one user of one IdP.
	NameQualifier   string
	SPNameQualifier string
	// SessionIndexes lists the IdP sessions to end; none means every
	// session of NameID.
	SessionIndexes []string
	// RelayState must be sent back unchanged (NewLogoutResponse does). It
	// is the IdP's, not an address to redirect to.
	RelayState string
	// Binding the request came by (BindingHTTPRedirect or BindingHTTPPost).
	Binding string
	// NotOnOrAfter is when the request expires (zero: not given).
	NotOnOrAfter time.Time
}

// Matches reports whether the request covers a session that was opened
// with subject: the same NameID, Format (absent counts as unspecified) and
// qualifiers, and, when the request lists sessions, one of them. End only
// the sessions that match; a request that matches none is answered with
// success all the same (SAML profiles 4.4.4.2).
func (r *LogoutRequest) Matches(subject LogoutSubject) bool {
	format := formatOrUnspecified
	if subject.IdP != "" && subject.IdP != r.Issuer {
		return false
	}
	if r.NameID != subject.NameID || format(r.NameIDFormat) != format(subject.NameIDFormat) ||
		r.NameQualifier != subject.NameQualifier || r.SPNameQualifier != subject.SPNameQualifier {
		return false
	}
	return len(r.SessionIndexes) == 0 || slices.Contains(r.SessionIndexes, subject.SessionIndex)
}

// LogoutResponse is the IdP's verified answer to a LogoutRequest of ours.
type LogoutResponse struct {
	// ID of the response.
	ID string
	// InResponseTo is the ID of our LogoutRequest it answers.
	InResponseTo string
	// Issuer is the IdP's entity ID.
	Issuer string
	// Status holds the top-level status code (always Success here) followed
	// by nested ones, e.g. urn:oasis:names:tc:SAML:2.0:status:PartialLogout.
	Status []string
	// RelayState is the value sent with our LogoutRequest.
	RelayState string
}

// ParseLogoutRequest verifies an IdP-initiated LogoutRequest that arrived at
// Config.SLOURL, by GET (HTTP-Redirect binding) or POST (HTTP-POST binding),
// and returns it. Nothing in it may be acted on unless the error is nil.
//
// The request must be signed by a key in the IdP's metadata: a query-string
// signature for HTTP-Redirect (verified over the octets as received), an
// enveloped XML signature for HTTP-POST. It must name the IdP as Issuer and
// Config.SLOURL as Destination, have been issued within ClockSkew and
// MaxAssertionAge, not have passed its NotOnOrAfter, identify the user with
// one plain NameID, and not have been seen before (Config.ReplayCache).
//
// End the app's sessions for which Matches is true, then answer with
// NewLogoutResponse, also when none matched.
func (sp *SP) ParseLogoutRequest(ctx context.Context, r *http.Request) (*LogoutRequest, error) {
	sp = sp.current()
	now := sp.cfg.Clock().UTC()
	in, err := sp.receive(ctx, r, "SAMLRequest", "LogoutRequest", logoutRequestSequence, now)
	if err != nil {
		return nil, err
	}
	g, err := sequence(in.root, logoutRequestSequence...)
	if err != nil {
		return nil, err
	}
	h, err := sp.checkHeader("LogoutRequest", in.root, g[0], now)
	if err != nil {
		return nil, err
	}
	notOnOrAfter, err := parseTime(in.root, "NotOnOrAfter", false)
	if err != nil {
		return nil, err
	}
	if !notOnOrAfter.IsZero() && !now.Before(notOnOrAfter.Add(sp.cfg.ClockSkew)) {
		return nil, failf(ErrExpired, "LogoutRequest NotOnOrAfter %s has passed (now %s, skew %s)", stamp(notOnOrAfter), stamp(now), sp.cfg.ClockSkew)
	}
	subject := g[3][0]
	if !is(subject, nsAssertion, "NameID") {
		return nil, failf(ErrUnsupported, "LogoutRequest names the user with %s; only a plain NameID is supported (switch off NameID encryption for logout at the IdP)", subject.Tag)
	}
	nameID, err := simpleText(subject)
	if err != nil {
		return nil, err
	}
	if nameID == "" {
		return nil, failf(ErrSubject, "LogoutRequest NameID is empty")
	}
	req := &LogoutRequest{
		ID:              h.id,
		Issuer:          h.issuer,
		NameID:          nameID,
		NameIDFormat:    attrValue(subject, "Format"),
		NameQualifier:   attrValue(subject, "NameQualifier"),
		SPNameQualifier: attrValue(subject, "SPNameQualifier"),
		RelayState:      in.relayState,
		Binding:         in.binding,
		NotOnOrAfter:    notOnOrAfter,
	}
	for _, el := range g[4] {
		s, err := simpleText(el)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, failf(ErrMalformed, "LogoutRequest has an empty SessionIndex")
		}
		req.SessionIndexes = append(req.SessionIndexes, s)
	}
	if err := sp.checkLogoutReplay(ctx, "logout:", h, notOnOrAfter, now); err != nil {
		return nil, err
	}
	sp.cfg.Logger.DebugContext(ctx, "saml2sp: logout request accepted", "idp", h.issuer, "request_id", h.id, "binding", in.binding)
	return req, nil
}

// NewLogoutResponse answers an IdP-initiated LogoutRequest. status "" means
// success; otherwise it is a top-level status code such as
// urn:oasis:names:tc:SAML:2.0:status:Responder (logout failed here). The
// response goes back by the binding the request came by when the IdP has
// an SLO endpoint for it (else by the one it has), to the endpoint's
// ResponseLocation or Location, with the request's RelayState. It is signed
// when Config.Key is set.
func (sp *SP) NewLogoutResponse(req *LogoutRequest, status string) (*Outbound, error) {
	sp = sp.current()
	if req == nil || req.ID == "" {
		return nil, errors.New("saml2sp: NewLogoutResponse needs the LogoutRequest it answers")
	}
	switch status {
	case "":
		status = statusSuccess
	case statusSuccess, statusRequester, statusResponder, statusVersionMismatch:
	default:
		return nil, fmt.Errorf("saml2sp: status %q is not a top-level SAML status code (Success, Requester, Responder or VersionMismatch)", status)
	}
	if err := checkXMLChars("LogoutResponse", req.ID); err != nil {
		return nil, err
	}
	ep, err := sp.sloEndpoint(req.Binding)
	if err != nil {
		return nil, err
	}
	dest := ep.ResponseLocation
	if dest == "" {
		dest = ep.Location
	}
	id, err := newMessageID()
	if err != nil {
		return nil, err
	}
	resp := newProtocolElement("samlp:LogoutResponse", id, sp.cfg.Clock(), dest)
	resp.CreateAttr("InResponseTo", req.ID)
	resp.CreateElement("saml:Issuer").SetText(sp.cfg.EntityID)
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", status)
	return sp.send("LogoutResponse", "SAMLResponse", resp, ep.Binding, dest, req.RelayState, sp.cfg.Key != nil)
}

// NewLogoutRequest starts an SP-initiated logout: a LogoutRequest for
// subject (from Assertion.LogoutSubject at login) to the IdP's SLO
// endpoint, by HTTP-Redirect when the IdP offers it, else HTTP-POST. It
// expires five minutes after it is issued and is signed when Config.Key is
// set (most IdPs require that). Remember Outbound.ID: the IdP's
// LogoutResponse must answer it (ParseLogoutResponse's requestIDs).
func (sp *SP) NewLogoutRequest(subject LogoutSubject, relayState string) (*Outbound, error) {
	sp = sp.current()
	if subject.NameID == "" {
		return nil, errors.New("saml2sp: LogoutSubject has no NameID")
	}
	if err := checkXMLChars("LogoutRequest", subject.NameID, subject.NameIDFormat, subject.NameQualifier, subject.SPNameQualifier, subject.SessionIndex); err != nil {
		return nil, err
	}
	ep, err := sp.sloEndpoint(BindingHTTPRedirect)
	if err != nil {
		return nil, err
	}
	id, err := newMessageID()
	if err != nil {
		return nil, err
	}
	now := sp.cfg.Clock()
	req := newProtocolElement("samlp:LogoutRequest", id, now, ep.Location)
	req.CreateAttr("NotOnOrAfter", xmlTime(now.Add(logoutRequestLifetime)))
	req.CreateElement("saml:Issuer").SetText(sp.cfg.EntityID)
	nameID := req.CreateElement("saml:NameID")
	for _, a := range []struct{ key, value string }{
		{"NameQualifier", subject.NameQualifier},
		{"SPNameQualifier", subject.SPNameQualifier},
		{"Format", subject.NameIDFormat},
	} {
		if a.value != "" {
			nameID.CreateAttr(a.key, a.value)
		}
	}
	nameID.SetText(subject.NameID)
	if subject.SessionIndex != "" {
		req.CreateElement("samlp:SessionIndex").SetText(subject.SessionIndex)
	}
	return sp.send("LogoutRequest", "SAMLRequest", req, ep.Binding, ep.Location, relayState, sp.cfg.Key != nil)
}

// ParseLogoutResponse verifies the IdP's LogoutResponse to an SP-initiated
// logout, arrived at Config.SLOURL by GET (HTTP-Redirect) or POST
// (HTTP-POST). requestIDs are the IDs of the LogoutRequests this browser
// has outstanding; the response must answer one of them.
//
// The signature rules are those of ParseLogoutRequest; the response must
// also name the IdP as Issuer and Config.SLOURL as Destination, be recent,
// and be new to the replay cache. A top-level status other than Success is
// a *StatusError (errors.Is(err, ErrStatus)): the IdP session may still be
// alive, so tell the user to close the browser.
func (sp *SP) ParseLogoutResponse(ctx context.Context, r *http.Request, requestIDs []string) (*LogoutResponse, error) {
	sp = sp.current()
	now := sp.cfg.Clock().UTC()
	in, err := sp.receive(ctx, r, "SAMLResponse", "LogoutResponse", statusResponseSequence, now)
	if err != nil {
		return nil, err
	}
	g, err := sequence(in.root, statusResponseSequence...)
	if err != nil {
		return nil, err
	}
	h, err := sp.checkHeader("LogoutResponse", in.root, g[0], now)
	if err != nil {
		return nil, err
	}
	irt := attrValue(in.root, "InResponseTo")
	switch {
	case irt == "":
		return nil, failf(ErrInResponseTo, "LogoutResponse has no InResponseTo; it must answer a LogoutRequest of this SP")
	case !slices.Contains(requestIDs, irt):
		return nil, failf(ErrInResponseTo, "LogoutResponse answers request %q, which this SP did not make or already used", irt)
	}
	if err := sp.checkLogoutReplay(ctx, "logout-response:", h, time.Time{}, now); err != nil {
		return nil, err
	}
	status := g[3][0]
	if err := checkStatus(status); err != nil {
		return nil, err
	}
	resp := &LogoutResponse{ID: h.id, InResponseTo: irt, Issuer: h.issuer, RelayState: in.relayState}
	for code := firstChild(status, nsProtocol, "StatusCode"); code != nil; code = firstChild(code, nsProtocol, "StatusCode") {
		resp.Status = append(resp.Status, attrValue(code, "Value"))
	}
	sp.cfg.Logger.DebugContext(ctx, "saml2sp: logout response accepted", "idp", h.issuer, "in_response_to", irt, "binding", in.binding)
	return resp, nil
}

var logoutRequestSequence = []step{
	optional(nsAssertion, "Issuer"),
	optional(nsDSig, "Signature"),
	optional(nsProtocol, "Extensions"),
	{NS: nsAssertion, Names: []string{"NameID", "BaseID", "EncryptedID"}, Min: 1, Max: 1},
	many(nsProtocol, "SessionIndex"),
}

var statusResponseSequence = []step{
	optional(nsAssertion, "Issuer"),
	optional(nsDSig, "Signature"),
	optional(nsProtocol, "Extensions"),
	one(nsProtocol, "Status"),
}

// sloEndpoint returns the IdP's SLO endpoint for the preferred binding, else
// for HTTP-Redirect, else for HTTP-POST.
func (sp *SP) sloEndpoint(preferred string) (*Endpoint, error) {
	for _, b := range []string{preferred, BindingHTTPRedirect, BindingHTTPPost} {
		if b != BindingHTTPRedirect && b != BindingHTTPPost {
			continue
		}
		if ep := sp.cfg.IdP.SingleLogoutService(b); ep != nil && ep.Location != "" {
			return ep, nil
		}
	}
	return nil, fmt.Errorf("%w: IdP %q has no SingleLogoutService with the HTTP-Redirect or HTTP-POST binding", ErrConfig, sp.cfg.IdP.EntityID)
}

// received is a logout message that arrived at the SLS and passed its
// binding's signature check.
type received struct {
	// root is the authenticated document element: for HTTP-Redirect the
	// parse of the signed octets, for HTTP-POST the element goxmldsig
	// re-parsed from the digested bytes. Read values only from it.
	root       *etree.Element
	binding    string
	relayState string
}

// receive turns a request at the SLS into the authenticated root element
// of the message in param (SAMLRequest or SAMLResponse), which must be a
// samlp:<kind> shaped like steps. The signature is required in both
// bindings and verified with the IdP's metadata keys only.
func (sp *SP) receive(ctx context.Context, r *http.Request, param, kind string, steps []step, now time.Time) (*received, error) {
	if sp.cfg.SLOURL == "" {
		return nil, fmt.Errorf("%w: Config.SLOURL is not set, so this SP takes no logout messages", ErrConfig)
	}
	if err := sp.checkMetadataValid(now); err != nil {
		return nil, err
	}
	switch r.Method {
	case http.MethodGet:
		return sp.receiveRedirect(ctx, r, param, kind, steps, now)
	case http.MethodPost:
		return sp.receivePost(ctx, r, param, kind, steps, now)
	}
	return nil, failf(ErrMalformed, "%s arrived by %s; only GET (HTTP-Redirect) and POST (HTTP-POST) carry SAML messages", kind, r.Method)
}

// receiveRedirect checks the query-string signature over the octets as
// received, before the inflated XML is parsed.
func (sp *SP) receiveRedirect(ctx context.Context, r *http.Request, param, kind string, steps []step, now time.Time) (*received, error) {
	if len(r.URL.RawQuery) > sp.cfg.MaxResponseSize+sloPostOverhead {
		return nil, failf(ErrTooLarge, "%s query string is %d bytes; the limit is %d", kind, len(r.URL.RawQuery), sp.cfg.MaxResponseSize+sloPostOverhead)
	}
	release, err := sp.cfg.Limiter.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	msg, err := redirect.Decode(r.URL.RawQuery, sp.cfg.MaxResponseSize)
	if err != nil {
		return nil, wrapf(ErrMalformed, err, "HTTP-Redirect %s", kind)
	}
	if msg.Param != param {
		return nil, failf(ErrMalformed, "HTTP-Redirect message carries %s where %s (a %s) was expected", msg.Param, param, kind)
	}
	sp.trace(ctx, "in", kind, msg.XML)
	// Verify refuses an unsigned message. One certificate at a time, to
	// know which one verified (for the expiry policy).
	var cert *x509.Certificate
	var verr error
	for _, c := range sp.cfg.IdP.Certificates {
		if verr = msg.Verify([]*x509.Certificate{c}, sp.cfg.InsecureAllowSHA1); verr == nil {
			cert = c
			break
		}
	}
	if cert == nil {
		if msg.Signed() {
			// The Redirect binding names no key, so a rolled-over key and
			// a changed message look alike: either may mean the IdP has
			// new metadata. The re-fetch is rate-limited; this message
			// stays refused.
			sp.cfg.IdP.keyMiss()
		}
		return nil, wrapf(ErrSignature, verr, "HTTP-Redirect %s signature does not verify with the %d certificate(s) in the metadata of IdP %q", kind, len(sp.cfg.IdP.Certificates), sp.cfg.IdP.EntityID)
	}
	if err := sp.checkCertificateTime(cert, now); err != nil {
		return nil, err
	}
	if msg.UsesSHA1() {
		sp.warnSHA1("HTTP-Redirect "+kind, []string{msg.SigAlg})
	}
	root, err := parseMessage(msg.XML, kind, steps)
	if err != nil {
		return nil, err
	}
	return &received{root: root, binding: BindingHTTPRedirect, relayState: msg.RelayState}, nil
}

// receivePost reads the form with the body bounded, then checks the
// enveloped XML signature exactly as ParseResponse does. The POST binding
// is never inflated.
func (sp *SP) receivePost(ctx context.Context, r *http.Request, param, kind string, steps []step, now time.Time) (*received, error) {
	limit := int64(sp.cfg.MaxResponseSize) + sloPostOverhead
	if r.Body != nil {
		r.Body = http.MaxBytesReader(nil, r.Body, limit)
	}
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, failf(ErrTooLarge, "%s POST body exceeds %d bytes", kind, limit)
		}
		return nil, wrapf(ErrMalformed, err, "%s POST form", kind)
	}
	values := r.PostForm[param]
	if len(values) != 1 {
		return nil, failf(ErrMalformed, "POST form carries %d %s fields; exactly one is required", len(values), param)
	}
	relay := r.PostForm["RelayState"]
	switch {
	case len(relay) > 1:
		return nil, failf(ErrMalformed, "POST form carries %d RelayState fields; at most one is allowed", len(relay))
	case len(relay) == 1 && len(relay[0]) > maxRelayState:
		return nil, failf(ErrMalformed, "RelayState is %d bytes; SAML bindings 3.5.3 allow %d", len(relay[0]), maxRelayState)
	}
	raw, err := decodeFormValue(param, values[0], sp.cfg.MaxResponseSize)
	if err != nil {
		return nil, err
	}
	sp.trace(ctx, "in", kind, raw)
	// The body is read; the parse and verification are what the Limiter
	// bounds.
	release, err := sp.cfg.Limiter.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	root, err := parseMessage(raw, kind, steps)
	if err != nil {
		return nil, err
	}
	sig, err := xmldsig.Find(root)
	if err != nil {
		return nil, wrapf(ErrSignature, err, "%s", kind)
	}
	if sig == nil {
		return nil, failf(ErrSignature, "%s sent by HTTP-POST has no Signature; the IdP must sign logout messages", kind)
	}
	if err := onlySignature(root, sig); err != nil {
		return nil, err
	}
	// Cheap rejections before the cryptography, as in ParseResponse
	// (precheck.go): the header rules, on the unverified root that the
	// signature covers, only to reject. The caller applies them again to
	// the verified root.
	if _, err := sp.checkHeader(kind, root, issuerOf(root), now); err != nil {
		return nil, err
	}
	verified, err := sp.verifyElement(root, sig, kind, xmldsig.Policy{AllowSHA1: sp.cfg.InsecureAllowSHA1}, now)
	if err != nil {
		return nil, err
	}
	out := &received{root: verified, binding: BindingHTTPPost}
	if len(relay) == 1 {
		out.relayState = relay[0]
	}
	return out, nil
}

// parseMessage parses a logout message with the hardened parser and checks
// that its document element is samlp:<kind> with children shaped like
// steps.
func parseMessage(raw []byte, kind string, steps []step) (*etree.Element, error) {
	doc, err := xmlsafe.Parse(raw, xmlsafe.DefaultLimits)
	if err != nil {
		return nil, wrapf(ErrMalformed, err, "%s", kind)
	}
	root := doc.Root()
	if root == nil {
		return nil, failf(ErrMalformed, "%s document has no element", kind)
	}
	if !is(root, nsProtocol, kind) {
		return nil, failf(ErrMalformed, "document element is %s, not a SAML 2.0 protocol %s", root.FullTag(), kind)
	}
	if _, err := sequence(root, steps...); err != nil {
		return nil, err
	}
	return root, nil
}

// issuerOf returns root's direct-child saml:Issuer elements.
func issuerOf(root *etree.Element) []*etree.Element {
	var out []*etree.Element
	for _, c := range root.ChildElements() {
		if is(c, nsAssertion, "Issuer") {
			out = append(out, c)
		}
	}
	return out
}

// onlySignature refuses any ds:Signature in the document other than sig,
// the direct child of the root (signature wrapping needs a second one).
func onlySignature(root, sig *etree.Element) error {
	stack := []*etree.Element{root}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if el != sig && is(el, nsDSig, "Signature") {
			return failf(ErrSignature, "a Signature inside %s is not allowed; only the message itself may be signed", el.Parent().Tag)
		}
		if el == sig {
			continue // its insides are xmldsig.Check's business
		}
		stack = append(stack, el.ChildElements()...)
	}
	return nil
}

// messageHeader holds the checked values common to logout messages.
type messageHeader struct {
	id, issuer   string
	issueInstant time.Time
}

// checkHeader applies the rules shared by LogoutRequest and LogoutResponse
// to the authenticated root: Version, ID, Issuer, Destination and
// IssueInstant. issuer holds the Issuer element, if any.
func (sp *SP) checkHeader(kind string, root *etree.Element, issuer []*etree.Element, now time.Time) (*messageHeader, error) {
	if v := attrValue(root, "Version"); v != samlVersion {
		return nil, failf(ErrMalformed, "%s Version %q is not 2.0", kind, v)
	}
	h := &messageHeader{id: attrValue(root, "ID")}
	if h.id == "" {
		return nil, failf(ErrMalformed, "%s has no ID", kind)
	}
	// SAML profiles 4.4.4.1 and 4.4.4.2: logout messages must name their
	// issuer.
	if len(issuer) == 0 {
		return nil, failf(ErrIssuer, "%s has no Issuer; it must be %q", kind, sp.cfg.IdP.EntityID)
	}
	var err error
	if h.issuer, err = simpleText(issuer[0]); err != nil {
		return nil, err
	}
	if err := sp.checkIssuer(kind, h.issuer, attrValue(issuer[0], "Format")); err != nil {
		return nil, err
	}
	// SAML bindings 3.4.5.2 and 3.5.5.2: a signed message must name its
	// Destination, and it must be us.
	if dest, ok := attr(root, "Destination"); dest != sp.cfg.SLOURL {
		if !ok {
			return nil, failf(ErrDestination, "signed %s has no Destination; it must be %q", kind, sp.cfg.SLOURL)
		}
		return nil, failf(ErrDestination, "%s Destination %q is not this SP's SLO URL %q", kind, dest, sp.cfg.SLOURL)
	}
	if h.issueInstant, err = parseTime(root, "IssueInstant", true); err != nil {
		return nil, err
	}
	if err := sp.checkIssueInstant(kind, h.issueInstant, now); err != nil {
		return nil, err
	}
	return h, nil
}

// checkLogoutReplay stores the message ID until every time check above
// would refuse the message anyway, and refuses it if it was there.
func (sp *SP) checkLogoutReplay(ctx context.Context, prefix string, h *messageHeader, notOnOrAfter, now time.Time) error {
	exp := h.issueInstant.Add(sp.cfg.MaxAssertionAge)
	if !notOnOrAfter.IsZero() && notOnOrAfter.Before(exp) {
		exp = notOnOrAfter
	}
	exp = exp.Add(sp.cfg.ClockSkew)
	if exp.Before(now) {
		exp = now.Add(sp.cfg.ClockSkew)
	}
	if err := sp.remember(ctx, prefix+h.issuer+":"+h.id, exp, "message "+quote(h.id)+" from "+quote(h.issuer)); err != nil {
		return err
	}
	return nil
}
