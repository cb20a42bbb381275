package saml2sp

import (
	"strings"
	"time"

	"github.com/beevik/etree"
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

// is reports whether el is {ns}local, matching the namespace URI, never the
// prefix (CVE-2025-25292 was a prefix match).
func is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && el.NamespaceURI() == ns
}

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
// comment-truncation attacks). Surrounding white space is trimmed.
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
	return strings.TrimSpace(b.String()), nil
}

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

// children returns el's child elements, refusing non-white-space text
// between them.
func children(el *etree.Element) ([]*etree.Element, error) {
	out := make([]*etree.Element, 0, len(el.Child))
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			out = append(out, t)
		case *etree.CharData:
			if strings.TrimSpace(t.Data) != "" {
				return nil, failf(ErrMalformed, "unexpected text inside %s", el.Tag)
			}
		}
	}
	return out, nil
}

// sequence checks that el's children follow a schema sequence: each child
// matches one of the steps, steps appear in order, and each step occurs
// between min and max times (max < 0: unbounded). It returns the children
// grouped by step index. Anything else is malformed, including a second copy
// of a single-occurrence element (duplicate Subject, Issuer...).
func sequence(el *etree.Element, steps ...step) ([][]*etree.Element, error) {
	kids, err := children(el)
	if err != nil {
		return nil, err
	}
	groups := make([][]*etree.Element, len(steps))
	pos := 0
	for _, k := range kids {
		for pos < len(steps) && !steps[pos].matches(k) {
			pos++
		}
		if pos == len(steps) {
			return nil, failf(ErrMalformed, "unexpected or out-of-order element %s inside %s", k.Tag, el.Tag)
		}
		groups[pos] = append(groups[pos], k)
		if s := steps[pos]; s.max >= 0 && len(groups[pos]) > s.max {
			return nil, failf(ErrMalformed, "%s has more than %d %s", el.Tag, s.max, k.Tag)
		}
	}
	for i, s := range steps {
		if len(groups[i]) < s.min {
			return nil, failf(ErrMalformed, "%s has no %s", el.Tag, s.names[0])
		}
	}
	return groups, nil
}

// step is one position in a schema sequence; several names form a choice.
type step struct {
	ns       string
	names    []string
	min, max int
}

func one(ns, name string) step      { return step{ns, []string{name}, 1, 1} }
func optional(ns, name string) step { return step{ns, []string{name}, 0, 1} }
func many(ns string, names ...string) step {
	return step{ns, names, 0, -1}
}

func (s step) matches(el *etree.Element) bool {
	if el.NamespaceURI() != s.ns {
		return false
	}
	for _, n := range s.names {
		if el.Tag == n {
			return true
		}
	}
	return false
}

// firstChild returns the first child element {ns}local of el, or nil.
func firstChild(el *etree.Element, ns, local string) *etree.Element {
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			return c
		}
	}
	return nil
}
