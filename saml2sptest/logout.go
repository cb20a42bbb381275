package saml2sptest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/saml2sp/saml2sp/internal/redirect"
)

// LogoutRequest describes an IdP-initiated LogoutRequest to the SP's single
// logout service. Only Destination is required; every other zero field gets
// a working default, and every field can be set to something wrong for
// negative tests.
type LogoutRequest struct {
	// Destination is the SP's SLO URL, sent as Destination and used as the
	// URL the message goes to. Required.
	Destination string
	// NameID identifies the user. Default "alice@example.com".
	NameID string
	// NameIDFormat defaults to the emailAddress format.
	NameIDFormat string
	// NameQualifier and SPNameQualifier are sent on the NameID when set.
	// An IdP names the user exactly as in the assertion it issued, so to
	// end a session that a Response of this package opened, set
	// SPNameQualifier to that Response's Audience.
	NameQualifier   string
	SPNameQualifier string
	// SessionIndex is the session to end; empty sends none (every session).
	SessionIndex string
	// RelayState is sent next to the message when set.
	RelayState string
	// ID defaults to "_" and 32 random hex digits.
	ID string
	// Issuer defaults to the IdP's EntityID.
	Issuer string
	// IssueInstant defaults to the IdP's Clock, truncated to the second.
	IssueInstant time.Time
	// NotOnOrAfter defaults to IssueInstant+5min.
	NotOnOrAfter time.Time
	// Unsigned leaves the message unsigned (no query signature, no XML
	// signature).
	Unsigned bool
	// SignatureAlgorithm is a signature method URI or short name
	// ("rsa-sha256", "rsa-sha1", "ecdsa-sha256"...). Default: rsa-sha256,
	// or ecdsa-sha256 for an ECDSA key. Unlike saml2sp, it may be SHA-1,
	// to test that SHA-1 is refused.
	SignatureAlgorithm string
}

// LogoutResponse describes the IdP's answer to an SP-initiated
// LogoutRequest. Only Destination is required.
type LogoutResponse struct {
	// Destination is the SP's SLO URL, sent as Destination and used as the
	// URL the message goes to. Required.
	Destination string
	// InResponseTo is the ID of the SP's LogoutRequest (none when empty).
	InResponseTo string
	// StatusCode defaults to urn:oasis:names:tc:SAML:2.0:status:Success.
	StatusCode string
	// RelayState is sent next to the message when set.
	RelayState string
	// ID defaults to "_" and 32 random hex digits.
	ID string
	// Issuer defaults to the IdP's EntityID.
	Issuer string
	// IssueInstant defaults to the IdP's Clock, truncated to the second.
	IssueInstant time.Time
	// Unsigned leaves the message unsigned.
	Unsigned bool
}

// LogoutRequestURL returns the URL that carries l to the SP by the
// HTTP-Redirect binding (DEFLATE, base64, query string), signed in the query
// string with the IdP's key unless l.Unsigned. A test sends a GET to it.
func (idp *IdP) LogoutRequestURL(l LogoutRequest) (string, error) {
	el, err := idp.logoutRequest(l)
	if err != nil {
		return "", err
	}
	return idp.redirectURL(l.Destination, "SAMLRequest", el, l.RelayState, l.Unsigned, l.SignatureAlgorithm)
}

// LogoutRequestForm returns the form fields (SAMLRequest and, when set,
// RelayState) that carry l to the SP by the HTTP-POST binding, with an
// enveloped XML signature unless l.Unsigned. A test POSTs them,
// form-encoded, to l.Destination.
func (idp *IdP) LogoutRequestForm(l LogoutRequest) (url.Values, error) {
	el, err := idp.logoutRequest(l)
	if err != nil {
		return nil, err
	}
	return idp.postForm("SAMLRequest", el, l.RelayState, l.Unsigned, l.SignatureAlgorithm)
}

// LogoutResponseURL returns the URL that carries l to the SP by the
// HTTP-Redirect binding, signed unless l.Unsigned.
func (idp *IdP) LogoutResponseURL(l LogoutResponse) (string, error) {
	el, err := idp.logoutResponse(l)
	if err != nil {
		return "", err
	}
	return idp.redirectURL(l.Destination, "SAMLResponse", el, l.RelayState, l.Unsigned, "")
}

// LogoutResponseForm returns the form fields (SAMLResponse and, when set,
// RelayState) that carry l to the SP by the HTTP-POST binding, signed
// unless l.Unsigned.
func (idp *IdP) LogoutResponseForm(l LogoutResponse) (url.Values, error) {
	el, err := idp.logoutResponse(l)
	if err != nil {
		return nil, err
	}
	return idp.postForm("SAMLResponse", el, l.RelayState, l.Unsigned, "")
}

// logoutRequest builds the unsigned LogoutRequest element of l.
func (idp *IdP) logoutRequest(l LogoutRequest) (*etree.Element, error) {
	if l.Destination == "" {
		return nil, errors.New("saml2sptest: LogoutRequest.Destination is required")
	}
	def(&l.NameID, "alice@example.com")
	def(&l.NameIDFormat, nameIDFormatEmail)
	def(&l.ID, newID("_"))
	def(&l.Issuer, idp.EntityID)
	if l.IssueInstant.IsZero() {
		l.IssueInstant = idp.now().Truncate(time.Second)
	}
	if l.NotOnOrAfter.IsZero() {
		l.NotOnOrAfter = l.IssueInstant.Add(5 * time.Minute)
	}
	el := protocolElement("samlp:LogoutRequest", l.ID, l.IssueInstant, l.Destination, l.Issuer)
	el.CreateAttr("NotOnOrAfter", xmlTime(l.NotOnOrAfter))
	nameID := el.CreateElement("saml:NameID")
	if l.NameQualifier != "" {
		nameID.CreateAttr("NameQualifier", l.NameQualifier)
	}
	if l.SPNameQualifier != "" {
		nameID.CreateAttr("SPNameQualifier", l.SPNameQualifier)
	}
	nameID.CreateAttr("Format", l.NameIDFormat)
	nameID.SetText(l.NameID)
	if l.SessionIndex != "" {
		el.CreateElement("samlp:SessionIndex").SetText(l.SessionIndex)
	}
	return el, nil
}

// logoutResponse builds the unsigned LogoutResponse element of l.
func (idp *IdP) logoutResponse(l LogoutResponse) (*etree.Element, error) {
	if l.Destination == "" {
		return nil, errors.New("saml2sptest: LogoutResponse.Destination is required")
	}
	def(&l.StatusCode, statusSuccess)
	def(&l.ID, newID("_"))
	def(&l.Issuer, idp.EntityID)
	if l.IssueInstant.IsZero() {
		l.IssueInstant = idp.now().Truncate(time.Second)
	}
	el := protocolElement("samlp:LogoutResponse", l.ID, l.IssueInstant, l.Destination, l.Issuer)
	if l.InResponseTo != "" {
		el.CreateAttr("InResponseTo", l.InResponseTo)
	}
	el.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", l.StatusCode)
	return el, nil
}

func def(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// protocolElement starts a protocol message that declares both SAML
// namespaces itself, with its Issuer.
func protocolElement(tag, id string, issueInstant time.Time, destination, issuer string) *etree.Element {
	el := etree.NewElement(tag)
	el.CreateAttr("xmlns:samlp", nsProtocol)
	el.CreateAttr("xmlns:saml", nsAssertion)
	el.CreateAttr("ID", id)
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", xmlTime(issueInstant))
	el.CreateAttr("Destination", destination)
	el.CreateElement("saml:Issuer").SetText(issuer)
	return el
}

// writeElement serializes el with tabs, line breaks and CRs escaped.
func writeElement(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalAttrVal = true
	doc.WriteSettings.CanonicalText = true
	doc.SetRoot(el)
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// postForm signs el (enveloped) unless unsigned and returns the POST
// binding's fields.
func (idp *IdP) postForm(param string, el *etree.Element, relayState string, unsigned bool, sigAlg string) (url.Values, error) {
	if !unsigned {
		if err := idp.sign(el, Response{SignatureAlgorithm: sigAlg}); err != nil {
			return nil, err
		}
	}
	b, err := writeElement(el)
	if err != nil {
		return nil, err
	}
	form := url.Values{param: {base64.StdEncoding.EncodeToString(b)}}
	if relayState != "" {
		form.Set("RelayState", relayState)
	}
	return form, nil
}

// redirectURL encodes el for the HTTP-Redirect binding, signed unless
// unsigned, and appends it to destination.
func (idp *IdP) redirectURL(destination, param string, el *etree.Element, relayState string, unsigned bool, sigAlg string) (string, error) {
	b, err := writeElement(el)
	if err != nil {
		return "", err
	}
	var query string
	if unsigned {
		query, err = redirect.Encode(param, b, relayState, nil, "")
	} else {
		query, err = idp.signedQuery(param, b, relayState, sigAlg)
	}
	if err != nil {
		return "", fmt.Errorf("saml2sptest: %w", err)
	}
	sep := "?"
	if strings.Contains(destination, "?") {
		sep = "&"
	}
	return destination + sep + query, nil
}

// signedQuery signs the query string with the IdP's key. redirect.Encode
// does it, except for SHA-1, which it refuses to produce; that case signs
// the same octets here.
func (idp *IdP) signedQuery(param string, xml []byte, relayState, sigAlg string) (string, error) {
	if idp.Key == nil {
		return "", errors.New("IdP has no Key to sign with")
	}
	if sigAlg == "" {
		return redirect.Encode(param, xml, relayState, idp.Key, "")
	}
	method, hash, ok := lookup(sigAlg, signatureMethods)
	if !ok {
		return "", fmt.Errorf("unknown SignatureAlgorithm %q", sigAlg)
	}
	if hash != crypto.SHA1 {
		return redirect.Encode(param, xml, relayState, idp.Key, method)
	}
	q, err := redirect.Encode(param, xml, relayState, nil, "")
	if err != nil {
		return "", err
	}
	if _, isEC := idp.Key.Public().(*ecdsa.PublicKey); isEC != (method == dsig.ECDSASHA1SignatureMethod) {
		return "", fmt.Errorf("SignatureAlgorithm %q does not fit a %T key", sigAlg, idp.Key.Public())
	}
	q += "&SigAlg=" + url.QueryEscape(method)
	h := hash.New()
	h.Write([]byte(q))
	sig, err := idp.Key.Sign(rand.Reader, h.Sum(nil), hash)
	if err != nil {
		return "", err
	}
	return q + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig)), nil
}
