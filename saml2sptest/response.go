package saml2sptest

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"time"

	"github.com/beevik/etree"
	"github.com/saml2sp/saml2sp"
)

// Fixed values of a Response.
const (
	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"

	attrNameFormatBasic        = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	methodBearer               = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	passwordProtectedTransport = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
)

// Sign says which elements of a Response carry a signature.
type Sign int

const (
	// SignAssertion signs the Assertion only (the default, like most IdPs).
	// A Response without an assertion is then unsigned.
	SignAssertion Sign = iota
	// SignResponse signs the Response only.
	SignResponse
	// SignBoth signs the Assertion, then the Response around it.
	SignBoth
	// SignNone signs nothing.
	SignNone
)

// Response describes one SAML Response. Only Destination and Audience (or
// Audiences) are required; every other zero field gets a working default,
// and every field can be set to something wrong for negative tests.
type Response struct {
	// Destination is the SP's ACS URL, sent as Response@Destination and,
	// unless Recipient is set, as SubjectConfirmationData@Recipient.
	// Required.
	Destination string
	// Audience is the SP's entity ID, sent in the one AudienceRestriction
	// and as NameID@SPNameQualifier. Required unless Audiences is set.
	Audience string
	// Audiences, when set, replaces Audience in the Conditions: one
	// AudienceRestriction per entry, each with these Audience values.
	Audiences [][]string
	// Recipient overrides SubjectConfirmationData@Recipient.
	Recipient string
	// InResponseTo is the AuthnRequest ID, sent on the Response and on
	// SubjectConfirmationData. Empty means IdP-initiated.
	InResponseTo string
	// NameID identifies the user. Default "alice@example.com".
	NameID string
	// NameIDFormat defaults to the emailAddress format.
	NameIDFormat string
	// SessionIndex defaults to a random "_sess..." ID.
	SessionIndex string
	// Attributes go into an AttributeStatement (none when empty). A zero
	// NameFormat means the basic format; each value becomes one
	// AttributeValue of xsi:type xs:string.
	Attributes []saml2sp.Attribute
	// IssueInstant of the Response and Assertion, and the AuthnInstant.
	// Default: the IdP's Clock, truncated to the second.
	IssueInstant time.Time
	// NotBefore and NotOnOrAfter bound the Conditions. Default:
	// IssueInstant-30s and IssueInstant+5min.
	NotBefore, NotOnOrAfter time.Time
	// SubjectNotOnOrAfter bounds SubjectConfirmationData. Default:
	// IssueInstant+5min.
	SubjectNotOnOrAfter time.Time
	// SessionNotOnOrAfter is the AuthnStatement's session end. Default:
	// IssueInstant+8h.
	SessionNotOnOrAfter time.Time
	// Issuer of the Response and Assertion. Default: the IdP's EntityID.
	Issuer string
	// StatusCode defaults to urn:oasis:names:tc:SAML:2.0:status:Success. Any other value makes a Response
	// without an assertion.
	StatusCode string
	// SubStatusCode, when set, is nested inside StatusCode; StatusMessage,
	// when set, follows it.
	SubStatusCode, StatusMessage string
	// Sign chooses the signed elements. Default SignAssertion.
	Sign Sign
	// ResponseID and AssertionID default to "_" and 32 random hex digits.
	ResponseID, AssertionID string
	// SignatureAlgorithm is an XML-DSig SignatureMethod, as a URI or its
	// short name ("rsa-sha1", "rsa-sha256", "ecdsa-sha256"...). Default:
	// rsa-sha256, or ecdsa-sha256 for an ECDSA key.
	SignatureAlgorithm string
	// DigestAlgorithm is an XML-DSig DigestMethod, as a URI or its short
	// name ("sha1", "sha256", "sha384", "sha512"). Default sha256.
	DigestAlgorithm string
	// OmitKeyInfo leaves the certificate out of signatures.
	OmitKeyInfo bool

	// Encrypt, when set, sends the Assertion as a saml:EncryptedAssertion
	// for this SP certificate (RSA): the Assertion is signed first when
	// Sign asks for it, then encrypted, and a Response signature covers
	// the EncryptedAssertion. The EncryptedKey sits inside the
	// EncryptedData's KeyInfo and names the certificate.
	Encrypt *x509.Certificate
	// Encryption chooses the algorithms used with Encrypt. The zero value
	// means AES-256-GCM with the key transported by rsa-oaep-mgf1p (SHA-1).
	Encryption Encryption

	// EditAssertion, when set, may change the Assertion element just before
	// it is signed, to build validly signed but wrong assertions (two
	// NameIDs, a missing Recipient...) for negative tests.
	EditAssertion func(assertion *etree.Element)
	// EditResponse, when set, may change the Response element (with the
	// signed, and possibly encrypted, Assertion inside) just before the
	// Response is signed.
	EditResponse func(response *etree.Element)
}

// Response returns the signed Response base64-encoded (standard encoding,
// no line breaks): exactly the SAMLResponse form value a browser posts to
// the ACS.
func (idp *IdP) Response(r Response) (string, error) {
	b, err := idp.ResponseXML(r)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ResponseXML returns the signed Response document.
func (idp *IdP) ResponseXML(r Response) ([]byte, error) {
	if r.Destination == "" {
		return nil, errors.New("saml2sptest: Response.Destination is required")
	}
	if r.Audience == "" && len(r.Audiences) == 0 {
		return nil, errors.New("saml2sptest: Response.Audience is required")
	}
	r = idp.withDefaults(r)

	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("xmlns:saml", nsAssertion)
	resp.CreateAttr("ID", r.ResponseID)
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", xmlTime(r.IssueInstant))
	resp.CreateAttr("Destination", r.Destination)
	if r.InResponseTo != "" {
		resp.CreateAttr("InResponseTo", r.InResponseTo)
	}
	resp.CreateElement("saml:Issuer").SetText(r.Issuer)

	status := resp.CreateElement("samlp:Status")
	code := status.CreateElement("samlp:StatusCode")
	code.CreateAttr("Value", r.StatusCode)
	if r.SubStatusCode != "" {
		code.CreateElement("samlp:StatusCode").CreateAttr("Value", r.SubStatusCode)
	}
	if r.StatusMessage != "" {
		status.CreateElement("samlp:StatusMessage").SetText(r.StatusMessage)
	}

	if r.StatusCode == statusSuccess {
		a := assertion(r)
		if r.EditAssertion != nil {
			r.EditAssertion(a)
		}
		if r.Sign == SignAssertion || r.Sign == SignBoth {
			if err := idp.sign(a, r); err != nil {
				return nil, err
			}
		}
		if r.Encrypt != nil {
			ea, err := encryptAssertion(a, r.Encrypt, r.Encryption)
			if err != nil {
				return nil, err
			}
			a = ea
		}
		resp.AddChild(a)
	}
	if r.EditResponse != nil {
		r.EditResponse(resp)
	}
	if r.Sign == SignResponse || r.Sign == SignBoth {
		if err := idp.sign(resp, r); err != nil {
			return nil, err
		}
	}

	doc := etree.NewDocument()
	// Escape tabs, line breaks and CRs as character references, so that a
	// parser reads back exactly the values that were signed.
	doc.WriteSettings.CanonicalAttrVal = true
	doc.WriteSettings.CanonicalText = true
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(resp)
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// withDefaults fills in the zero fields of r.
func (idp *IdP) withDefaults(r Response) Response {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defTime := func(t *time.Time, v time.Time) {
		if t.IsZero() {
			*t = v
		}
	}
	def(&r.Recipient, r.Destination)
	def(&r.NameID, "alice@example.com")
	def(&r.NameIDFormat, nameIDFormatEmail)
	def(&r.SessionIndex, newID("_sess"))
	def(&r.Issuer, idp.EntityID)
	def(&r.StatusCode, statusSuccess)
	def(&r.ResponseID, newID("_"))
	def(&r.AssertionID, newID("_"))
	if len(r.Audiences) == 0 {
		r.Audiences = [][]string{{r.Audience}}
	}
	defTime(&r.IssueInstant, idp.now().Truncate(time.Second))
	defTime(&r.NotBefore, r.IssueInstant.Add(-30*time.Second))
	defTime(&r.NotOnOrAfter, r.IssueInstant.Add(5*time.Minute))
	defTime(&r.SubjectNotOnOrAfter, r.IssueInstant.Add(5*time.Minute))
	defTime(&r.SessionNotOnOrAfter, r.IssueInstant.Add(8*time.Hour))
	return r
}

// assertion builds the unsigned Assertion of r (defaults filled in). It
// declares every namespace it uses itself, so that it canonicalizes the
// same detached (as signers and verifiers see it) as inside the Response.
func assertion(r Response) *etree.Element {
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsAssertion)
	a.CreateAttr("xmlns:xs", nsXS)
	a.CreateAttr("xmlns:xsi", nsXSI)
	a.CreateAttr("ID", r.AssertionID)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", xmlTime(r.IssueInstant))
	a.CreateElement("saml:Issuer").SetText(r.Issuer)

	subject := a.CreateElement("saml:Subject")
	nameID := subject.CreateElement("saml:NameID")
	nameID.CreateAttr("Format", r.NameIDFormat)
	if r.Audience != "" {
		nameID.CreateAttr("SPNameQualifier", r.Audience)
	}
	nameID.SetText(r.NameID)
	sc := subject.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", methodBearer)
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("NotOnOrAfter", xmlTime(r.SubjectNotOnOrAfter))
	scd.CreateAttr("Recipient", r.Recipient)
	if r.InResponseTo != "" {
		scd.CreateAttr("InResponseTo", r.InResponseTo)
	}

	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", xmlTime(r.NotBefore))
	cond.CreateAttr("NotOnOrAfter", xmlTime(r.NotOnOrAfter))
	for _, audiences := range r.Audiences {
		ar := cond.CreateElement("saml:AudienceRestriction")
		for _, aud := range audiences {
			ar.CreateElement("saml:Audience").SetText(aud)
		}
	}

	authn := a.CreateElement("saml:AuthnStatement")
	authn.CreateAttr("AuthnInstant", xmlTime(r.IssueInstant))
	authn.CreateAttr("SessionIndex", r.SessionIndex)
	authn.CreateAttr("SessionNotOnOrAfter", xmlTime(r.SessionNotOnOrAfter))
	authn.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").
		SetText(passwordProtectedTransport)

	if len(r.Attributes) > 0 {
		stmt := a.CreateElement("saml:AttributeStatement")
		for _, at := range r.Attributes {
			el := stmt.CreateElement("saml:Attribute")
			el.CreateAttr("Name", at.Name)
			if at.FriendlyName != "" {
				el.CreateAttr("FriendlyName", at.FriendlyName)
			}
			format := at.NameFormat
			if format == "" {
				format = attrNameFormatBasic
			}
			el.CreateAttr("NameFormat", format)
			for _, v := range at.Values {
				val := el.CreateElement("saml:AttributeValue")
				val.CreateAttr("xsi:type", "xs:string")
				val.SetText(v)
			}
		}
	}
	return a
}

// xmlTime formats t as an xs:dateTime in UTC, with fractional seconds only
// when t has them.
func xmlTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
