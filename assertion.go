package saml2sp

import "time"

// Assertion is what a verified Response says about the user. Every field was
// read from the element that the signature check returned.
type Assertion struct {
	// ID of the assertion (used for replay detection).
	ID string
	// Issuer is the IdP entity ID.
	Issuer string
	// NameID is the subject's identifier as the IdP sent it (full text,
	// comments ignored).
	NameID string
	// NameIDFormat is the NameID's Format attribute (may be empty).
	NameIDFormat string
	// NameIDNameQualifier and NameIDSPNameQualifier are the NameID's
	// qualifiers, needed to address the user in a LogoutRequest.
	NameIDNameQualifier   string
	NameIDSPNameQualifier string
	// SessionIndex identifies the IdP session, for single logout.
	SessionIndex string
	// SessionNotOnOrAfter is when the IdP wants the SP session to end (zero:
	// not given).
	SessionNotOnOrAfter time.Time
	// AuthnInstant is when the user authenticated at the IdP.
	AuthnInstant time.Time
	// AuthnContextClassRef names how the user authenticated, if given.
	AuthnContextClassRef string
	// InResponseTo is the ID of our AuthnRequest; empty when IdP-initiated.
	InResponseTo string
	// NotOnOrAfter is when the assertion stops being usable.
	NotOnOrAfter time.Time
	// Attributes in document order.
	Attributes []Attribute
}

// Attribute is one SAML attribute with its values as plain text.
type Attribute struct {
	Name         string
	FriendlyName string
	NameFormat   string
	Values       []string
}

// Attribute returns the values of every attribute whose Name or
// FriendlyName equals name, in document order.
func (a *Assertion) Attribute(name string) []string {
	var out []string
	for _, at := range a.Attributes {
		if at.Name == name || at.FriendlyName == name {
			out = append(out, at.Values...)
		}
	}
	return out
}
