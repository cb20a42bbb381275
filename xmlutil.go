package saml2sp

import (
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// SAML namespaces and fixed values.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"

	statusSuccess       = "urn:oasis:names:tc:SAML:2.0:status:Success"
	nameIDFormatEntity  = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
	confirmationBearer  = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	samlVersion         = "2.0"
	nameIDFormatUnspec  = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	nameIDFormatEmail   = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	nameIDFormatPersist = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
)

// is reports whether el is {ns}local, by namespace URI (xmlsafe.Is).
func is(el *etree.Element, ns, local string) bool { return xmlsafe.Is(el, ns, local) }

// attr returns the value of the unprefixed attribute key, and whether it is
// present. Unlike etree's SelectAttr it never matches a prefixed attribute.
func attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

func attrValue(el *etree.Element, key string) string {
	v, _ := attr(el, key)
	return v
}

// simpleText returns the full character content of an element that must hold
// only text. Comments are skipped, never treated as the end of the text, so
// "alice@example.com<!---->.evil.com" reads as the whole string (the 2018
// comment-truncation attacks). Surrounding XML white space (space, tab, CR,
// LF) is trimmed, and only that: strings.TrimSpace would also drop U+00A0,
// U+3000 and the like, so that "admin" plus a no-break space would read as
// "admin".
func simpleText(el *etree.Element) (string, error) {
	var b strings.Builder
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Comment:
		default:
			return "", failf(ErrMalformed, "%s must contain only text", el.Tag)
		}
	}
	return trimXMLSpace(b.String()), nil
}

// xmlSpace is XML's white space (the S production): the only characters
// trimmed from values read from a message.
const xmlSpace = " \t\r\n"

// trimXMLSpace trims XML white space, and no other Unicode space.
func trimXMLSpace(s string) string { return strings.Trim(s, xmlSpace) }

// parseTime parses an xs:dateTime, which must carry a time zone.
func parseTime(el *etree.Element, name string, required bool) (time.Time, error) {
	v, ok := attr(el, name)
	if !ok {
		if required {
			return time.Time{}, failf(ErrMalformed, "%s has no %s", el.Tag, name)
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, failf(ErrMalformed, "%s %s %q is not an xs:dateTime with time zone", el.Tag, name, v)
	}
	return t.UTC(), nil
}

// children returns el's child elements, refusing text between them.
func children(el *etree.Element) ([]*etree.Element, error) {
	kids, err := xmlsafe.Children(el)
	if err != nil {
		return nil, failf(ErrMalformed, "%v", err)
	}
	return kids, nil
}

// sequence checks el's children against a schema sequence (see
// xmlsafe.Sequence); a mismatch is malformed.
func sequence(el *etree.Element, steps ...step) ([][]*etree.Element, error) {
	g, err := xmlsafe.Sequence(el, steps...)
	if err != nil {
		return nil, failf(ErrMalformed, "%v", err)
	}
	return g, nil
}

type step = xmlsafe.Step

var (
	one      = xmlsafe.One
	optional = xmlsafe.Optional
	many     = xmlsafe.Many
)

// firstChild returns the first child element {ns}local of el, or nil.
func firstChild(el *etree.Element, ns, local string) *etree.Element {
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			return c
		}
	}
	return nil
}
