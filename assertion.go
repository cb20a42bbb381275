package saml2sp

import (
	"time"

	"github.com/beevik/etree"
)

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
	// Name is the attribute's Name, often a URI or an OID
	// ("urn:oid:0.9.2342.19200300.100.1.3"), sometimes a short word.
	Name string
	// FriendlyName is the optional human-readable name ("mail").
	FriendlyName string
	// NameFormat says how to read Name (uri, basic or unspecified); may be
	// empty.
	NameFormat string
	// Values are the text of each AttributeValue, in document order.
	Values []string
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

// parsedAssertion is an Assertion plus the facts the protocol checks need.
type parsedAssertion struct {
	Assertion
	issuerFormat  string
	issueInstant  time.Time
	notBefore     time.Time // Conditions; zero if absent
	audiences     [][]string
	confirmations []confirmation
}

// confirmation is one bearer SubjectConfirmationData.
type confirmation struct {
	method       string
	hasData      bool
	recipient    string
	notBefore    time.Time
	notOnOrAfter time.Time
	inResponseTo string
}

// readAssertion reads the verified Assertion element. It insists on the
// schema's cardinalities (one Issuer, one Subject with one NameID, one
// Conditions, one AuthnStatement): a duplicate is an attack on some reader,
// so it is an error rather than "take the first".
func readAssertion(el *etree.Element) (*parsedAssertion, error) {
	if !is(el, nsAssertion, "Assertion") {
		return nil, failf(ErrMalformed, "signed element is %s, not an Assertion", el.Tag)
	}
	if v := attrValue(el, "Version"); v != samlVersion {
		return nil, failf(ErrMalformed, "Assertion Version %q is not 2.0", v)
	}
	g, err := sequence(el, assertionSequence...)
	if err != nil {
		return nil, err
	}
	pa := &parsedAssertion{}
	pa.ID = attrValue(el, "ID")
	if pa.ID == "" {
		return nil, failf(ErrMalformed, "Assertion has no ID")
	}
	if pa.issueInstant, err = parseTime(el, "IssueInstant", true); err != nil {
		return nil, err
	}
	if pa.Issuer, err = simpleText(g[0][0]); err != nil {
		return nil, err
	}
	pa.issuerFormat = attrValue(g[0][0], "Format")
	if len(g[2]) == 0 {
		return nil, failf(ErrSubject, "Assertion has no Subject")
	}
	if err := pa.readSubject(g[2][0]); err != nil {
		return nil, err
	}
	if len(g[3]) == 0 {
		return nil, failf(ErrAudience, "Assertion has no Conditions, so it is not restricted to this SP")
	}
	if err := pa.readConditions(g[3][0]); err != nil {
		return nil, err
	}
	authn := 0
	for _, st := range g[5] {
		switch st.Tag {
		case "AuthnStatement":
			authn++
			if authn > 1 {
				return nil, failf(ErrMalformed, "Assertion has more than one AuthnStatement")
			}
			if err := pa.readAuthnStatement(st); err != nil {
				return nil, err
			}
		case "AttributeStatement":
			if err := pa.readAttributeStatement(st); err != nil {
				return nil, err
			}
		case "Statement":
			return nil, failf(ErrUnsupported, "Assertion carries an extension Statement")
		}
	}
	if authn == 0 {
		return nil, failf(ErrSubject, "Assertion has no AuthnStatement, so it does not say the user logged in")
	}
	return pa, nil
}

func (pa *parsedAssertion) readSubject(subj *etree.Element) error {
	g, err := sequence(subj,
		step{NS: nsAssertion, Names: []string{"NameID", "BaseID", "EncryptedID"}, Min: 0, Max: 1},
		many(nsAssertion, "SubjectConfirmation"))
	if err != nil {
		return err
	}
	if len(g[0]) == 0 {
		return failf(ErrSubject, "Subject has no NameID")
	}
	if id := g[0][0]; id.Tag != "NameID" {
		return failf(ErrUnsupported, "Subject identifies the user with %s; configure the IdP to send a plain NameID", id.Tag)
	}
	nameID := g[0][0]
	if pa.NameID, err = simpleText(nameID); err != nil {
		return err
	}
	if pa.NameID == "" {
		return failf(ErrSubject, "NameID is empty")
	}
	pa.NameIDFormat = attrValue(nameID, "Format")
	pa.NameIDNameQualifier = attrValue(nameID, "NameQualifier")
	pa.NameIDSPNameQualifier = attrValue(nameID, "SPNameQualifier")
	for _, sc := range g[1] {
		c := confirmation{method: attrValue(sc, "Method")}
		sg, err := sequence(sc,
			step{NS: nsAssertion, Names: []string{"BaseID", "NameID", "EncryptedID"}, Min: 0, Max: 1},
			optional(nsAssertion, "SubjectConfirmationData"))
		if err != nil {
			return err
		}
		if len(sg[1]) == 1 {
			d := sg[1][0]
			c.hasData = true
			c.recipient = attrValue(d, "Recipient")
			c.inResponseTo = attrValue(d, "InResponseTo")
			if c.notBefore, err = parseTime(d, "NotBefore", false); err != nil {
				return err
			}
			if c.notOnOrAfter, err = parseTime(d, "NotOnOrAfter", false); err != nil {
				return err
			}
		}
		pa.confirmations = append(pa.confirmations, c)
	}
	return nil
}

func (pa *parsedAssertion) readConditions(cond *etree.Element) error {
	var err error
	if pa.notBefore, err = parseTime(cond, "NotBefore", false); err != nil {
		return err
	}
	if pa.NotOnOrAfter, err = parseTime(cond, "NotOnOrAfter", false); err != nil {
		return err
	}
	kids, err := children(cond)
	if err != nil {
		return err
	}
	for _, c := range kids {
		switch {
		case is(c, nsAssertion, "AudienceRestriction"):
			g, err := sequence(c, step{NS: nsAssertion, Names: []string{"Audience"}, Min: 1, Max: -1})
			if err != nil {
				return err
			}
			var list []string
			for _, a := range g[0] {
				v, err := simpleText(a)
				if err != nil {
					return err
				}
				list = append(list, v)
			}
			pa.audiences = append(pa.audiences, list)
		case is(c, nsAssertion, "OneTimeUse"), is(c, nsAssertion, "ProxyRestriction"):
			// OneTimeUse is what the replay cache enforces anyway; this SP
			// never re-issues assertions, so ProxyRestriction is moot.
		default:
			// An unknown condition makes the assertion Indeterminate
			// (SAML core 2.5.1.5), which is not valid.
			return failf(ErrUnsupported, "Conditions contain %s, which this SP does not understand", c.Tag)
		}
	}
	return nil
}

func (pa *parsedAssertion) readAuthnStatement(st *etree.Element) error {
	var err error
	if pa.AuthnInstant, err = parseTime(st, "AuthnInstant", true); err != nil {
		return err
	}
	if pa.SessionNotOnOrAfter, err = parseTime(st, "SessionNotOnOrAfter", false); err != nil {
		return err
	}
	pa.SessionIndex = attrValue(st, "SessionIndex")
	g, err := sequence(st, optional(nsAssertion, "SubjectLocality"), one(nsAssertion, "AuthnContext"))
	if err != nil {
		return err
	}
	for _, c := range g[1][0].ChildElements() {
		if is(c, nsAssertion, "AuthnContextClassRef") {
			if pa.AuthnContextClassRef, err = simpleText(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (pa *parsedAssertion) readAttributeStatement(st *etree.Element) error {
	g, err := sequence(st, many(nsAssertion, "Attribute", "EncryptedAttribute"))
	if err != nil {
		return err
	}
	for _, a := range g[0] {
		if a.Tag == "EncryptedAttribute" {
			continue // cannot be read without decryption; never trusted as plain
		}
		name, ok := attr(a, "Name")
		if !ok || name == "" {
			return failf(ErrMalformed, "Attribute without Name")
		}
		at := Attribute{Name: name, FriendlyName: attrValue(a, "FriendlyName"), NameFormat: attrValue(a, "NameFormat")}
		vg, err := sequence(a, many(nsAssertion, "AttributeValue"))
		if err != nil {
			return err
		}
		for _, v := range vg[0] {
			at.Values = append(at.Values, attributeValueText(v))
		}
		pa.Attributes = append(pa.Attributes, at)
	}
	return nil
}

// attributeValueText returns the text of an AttributeValue. Values with
// element content (such as eduPersonTargetedID's NameID) yield the text of
// their first child element instead.
func attributeValueText(v *etree.Element) string {
	if s, err := simpleText(v); err == nil {
		return s
	}
	for _, c := range v.ChildElements() {
		if s, err := simpleText(c); err == nil {
			return s
		}
	}
	return ""
}
