package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// safe makes untrusted text fit for a terminal: control characters (C0,
// DEL, C1, which can drive the terminal) and the invisible characters
// that reorder or hide text (bidirectional controls, zero-width
// characters) are shown as \u escapes, bytes that are not UTF-8 as
// U+FFFD.
func safe(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || hidden(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			sb.WriteRune('\uFFFD')
		case hidden(r):
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func hidden(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
		r == 0x061c, r == 0xfeff, r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// stamp shows a time in UTC to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ago says how far t is from now: "3 h ago", "in 5 min".
func ago(t, now time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		return "in " + span(-d)
	}
	if d < time.Second {
		return "now"
	}
	return span(d) + " ago"
}

// span shows a duration roughly, in the largest fitting unit.
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	case d < 2*365*24*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	default:
		return fmt.Sprintf("%d years", int(d/(365*24*time.Hour)))
	}
}

// when shows a time and how far it is from now.
func when(t, now time.Time) string { return fmt.Sprintf("%s (%s)", stamp(t), ago(t, now)) }

// until shows an end time (NotOnOrAfter): expired or still valid.
func until(t, now time.Time) string {
	if !t.After(now) {
		return fmt.Sprintf("%s (expired %s ago)", stamp(t), span(now.Sub(t)))
	}
	return fmt.Sprintf("%s (valid for %s more)", stamp(t), span(t.Sub(now)))
}

// since shows a start time (NotBefore): valid already or not yet.
func since(t, now time.Time) string {
	if t.After(now) {
		return fmt.Sprintf("%s (NOT YET VALID: starts in %s)", stamp(t), span(t.Sub(now)))
	}
	return fmt.Sprintf("%s (%s ago)", stamp(t), span(now.Sub(t)))
}

// parseXMLTime reads an xs:dateTime as SAML uses it.
func parseXMLTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	return t, err == nil
}

// xmlWhen shows an xs:dateTime attribute with show, or as written when it
// cannot be read.
func xmlWhen(s string, now time.Time, show func(t, now time.Time) string) string {
	if s == "" {
		return ""
	}
	t, ok := parseXMLTime(s)
	if !ok {
		return safe(s) + " (not an xs:dateTime)"
	}
	return show(t, now)
}

// shortAlg names an algorithm URI by its last path segment
// ("xmldsig-more#rsa-sha256", "xmlenc#aes256-cbc", "xml-exc-c14n").
func shortAlg(uri string) string {
	s := uri
	if i := strings.LastIndex(strings.TrimRight(s, "/"), "/"); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSuffix(s, "#")
	if s == "" {
		return safe(uri)
	}
	return safe(s)
}

// isSHA1 reports whether a signature or digest algorithm uses SHA-1.
func isSHA1(uri string) bool {
	s := strings.ToLower(uri)
	return strings.HasSuffix(s, "sha1") || strings.Contains(s, "-sha1")
}

// shortURN names a SAML URN by its last part ("emailAddress", "Success").
func shortURN(urn string) string {
	if i := strings.LastIndex(urn, ":"); i >= 0 && strings.HasPrefix(urn, "urn:") {
		return safe(urn[i+1:])
	}
	return safe(urn)
}

// fields prints aligned "key: value" lines, skipping empty values.
type fields struct {
	tw     *tabwriter.Writer
	indent string
}

func newFields(w io.Writer, indent string) *fields {
	return &fields{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0), indent: indent}
}

// add prints one line; value is shown as given (make it safe first).
func (f *fields) add(key, value string) {
	if value != "" {
		fmt.Fprintf(f.tw, "%s%s:\t%s\n", f.indent, key, value)
	}
}

func (f *fields) flush() { f.tw.Flush() }

// plural returns "n thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", thing)
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
