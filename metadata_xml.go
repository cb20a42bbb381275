package saml2sp

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// Small XML readers of the metadata parser: booleans, element lookups by
// namespace, text, quoting for errors, and xs:dateTime / xs:duration.

// mdBool reads an optional xs:boolean attribute.
func mdBool(el *etree.Element, name string) (bool, error) {
	switch v := strings.TrimSpace(attrValue(el, name)); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%s is not a boolean", name, mdQuote(v))
	}
}

// mdIs reports whether el is the metadata element named local, by namespace
// URI, whatever its prefix.
func mdIs(el *etree.Element, local string) bool {
	return el.Tag == local && el.NamespaceURI() == mdNamespace
}

// mdChildren returns el's child elements named local in the metadata
// namespace.
func mdChildren(el *etree.Element, local string) []*etree.Element {
	return slices.Collect(mdChildSeq(el, mdNamespace, local))
}

// mdChildSeq yields el's child elements named local in namespace ns,
// without building a slice of them (an aggregate has 10,000 entities).
func mdChildSeq(el *etree.Element, ns, local string) iter.Seq[*etree.Element] {
	return func(yield func(*etree.Element) bool) {
		for _, t := range el.Child {
			if c, ok := t.(*etree.Element); ok && c.Tag == local && c.NamespaceURI() == ns {
				if !yield(c) {
					return
				}
			}
		}
	}
}

// mdHasChild reports whether el has a child element named local in the
// metadata namespace.
func mdHasChild(el *etree.Element, local string) bool {
	for range mdChildSeq(el, mdNamespace, local) {
		return true
	}
	return false
}

// mdText returns all the character data directly inside el (comments are
// skipped, CDATA sections included).
func mdText(el *etree.Element) string {
	if len(el.Child) == 1 {
		if cd, ok := el.Child[0].(*etree.CharData); ok {
			return cd.Data // the usual case, without a copy
		}
	}
	var b strings.Builder
	for _, t := range el.Child {
		if cd, ok := t.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return b.String()
}

// mdQuote quotes a value from the document for an error message, shortened
// so that a hostile document cannot flood logs.
func mdQuote(s string) string {
	const max = 120
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

// mdIntern returns the package's copy of common binding and NameID format
// strings, so that a thousand parsed IdPs share them.
func mdIntern(s string) string {
	switch s {
	case BindingHTTPPost:
		return BindingHTTPPost
	case BindingHTTPRedirect:
		return BindingHTTPRedirect
	case "urn:oasis:names:tc:SAML:2.0:bindings:SOAP":
		return "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
	case "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact":
		return "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
	case "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified":
		return "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	case "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress":
		return "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	case "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent":
		return "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	case "urn:oasis:names:tc:SAML:2.0:nameid-format:transient":
		return "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	}
	return s
}

// mdParseDateTime parses an xs:dateTime. SAML wants UTC; a value without a
// time zone is read as UTC, one with an offset is honored.
func mdParseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	zoned := strings.HasSuffix(s, "Z") ||
		len(s) > 6 && (s[len(s)-6] == '+' || s[len(s)-6] == '-') && s[len(s)-3] == ':'
	var t time.Time
	var err error
	if zoned {
		t, err = time.Parse(time.RFC3339Nano, s)
	} else {
		t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	}
	if err != nil {
		return time.Time{}, errors.New("is not an xs:dateTime such as 2030-01-02T15:04:05Z")
	}
	return t, nil
}

// mdParseDuration parses an xs:duration such as PT1H, P1D, PT30M, P1DT2H or
// P0Y0M0DT6H0M0.000S: "P", then date components in the order Y, M, D, then
// optionally "T" and time components in the order H, M, S. At least one
// component is required, only seconds may have a fraction, and negative
// durations are refused. A year counts as 365 days and a month as 30, which
// is close enough for a cache lifetime.
func mdParseDuration(s string) (time.Duration, error) {
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("is not an xs:duration such as PT1H or P1D: %s", why)
	}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return bad("negative")
	}
	rest, ok := strings.CutPrefix(s, "P")
	if !ok {
		return bad("no leading P")
	}
	var total time.Duration
	units, inTime, components := "YMD", false, 0
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || len(rest) == 1 {
				return bad("misplaced T")
			}
			units, inTime, rest = "HMS", true, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return bad(fmt.Sprintf("expected a number at %s", mdQuote(rest)))
		}
		if i > 18 {
			return bad("number too large")
		}
		num, _ := strconv.ParseInt(rest[:i], 10, 64)
		rest = rest[i:]
		frac := ""
		if rest != "" && rest[0] == '.' {
			j := 1
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			frac, rest = rest[1:j], rest[j:]
			if frac == "" || !inTime || rest == "" || rest[0] != 'S' {
				return bad("only seconds may have a fraction")
			}
		}
		if rest == "" {
			return bad("number without a unit")
		}
		k := strings.IndexByte(units, rest[0])
		if k < 0 {
			return bad(fmt.Sprintf("unexpected %q", rest[0]))
		}
		var unit time.Duration
		switch designator := rest[0]; {
		case designator == 'Y':
			unit = 365 * 24 * time.Hour
		case designator == 'M' && !inTime:
			unit = 30 * 24 * time.Hour
		case designator == 'D':
			unit = 24 * time.Hour
		case designator == 'H':
			unit = time.Hour
		case designator == 'M':
			unit = time.Minute
		default:
			unit = time.Second
		}
		units, rest = units[k+1:], rest[1:]
		if num > int64(math.MaxInt64/unit) {
			return bad("too long")
		}
		add := time.Duration(num) * unit
		if frac != "" {
			frac = (frac + "000000000")[:9]
			ns, _ := strconv.ParseInt(frac, 10, 64)
			add += time.Duration(ns)
		}
		if total > math.MaxInt64-add {
			return bad("too long")
		}
		total += add
		components++
	}
	if components == 0 {
		return bad("no component")
	}
	return total, nil
}
