package main

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// Bounds on what the CLI reads. They fail closed: larger input is an
// error, never truncated.
const (
	// maxInput bounds a file or stdin: a HAR export of a login, with the
	// pages' bodies, is a few MB; one of a long session may be more.
	maxInput = 100 << 20
	// maxValue bounds one encoded SAML message (a form value or a bare
	// input), eight times the library's DefaultMaxResponseSize, so that
	// decode can still show what the SP refuses as too large.
	maxValue = 2 << 20
	// maxXML bounds a decoded or inflated document (a DEFLATE bomb costs
	// at most this much memory).
	maxXML = 2 << 20
	// maxMessages bounds the messages taken from one input.
	maxMessages = 1000
)

// SAML parameter names (bindings 3.4.4, 3.5.4).
const (
	paramRequest  = "SAMLRequest"
	paramResponse = "SAMLResponse"
)

// message is one SAML message found in the input.
type message struct {
	// Param is SAMLResponse or SAMLRequest, or "" when the input named
	// none (a bare value, an XML document).
	Param string
	// Value is the parameter's value as the receiving endpoint reads it
	// (form-decoded); "" for an XML document.
	Value string
	// Source says where it was found.
	Source string
	// InURL is true when it came in a URL's query string (the
	// HTTP-Redirect binding).
	InURL bool
	// RelayState, SigAlg and HasSignature are the other binding
	// parameters found next to it.
	RelayState    string
	HasRelayState bool
	SigAlg        string
	HasSignature  bool
	// XML is the decoded document, Encoding how it was encoded; Err why
	// it could not be decoded (XML is then nil).
	XML      []byte
	Encoding string
	Err      error
	// Notes are remarks about how it was found.
	Notes []string
}

// Encodings of a message.
const (
	encBase64  = "base64"
	encDeflate = "base64 of raw DEFLATE (HTTP-Redirect binding)"
	encXML     = "an XML document as is"
)

// label names the message for headers ("SAMLResponse", "XML document"...).
func (m *message) label() string {
	switch {
	case m.Param != "":
		return m.Param
	case m.Encoding == encXML:
		return "XML document"
	default:
		return "SAML message"
	}
}

// readInput reads FILE, or stdin for "" or "-", up to limit bytes.
func readInput(path string, stdin io.Reader, limit int) (data []byte, name string, err error) {
	r := stdin
	name = "standard input"
	if path != "" && path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		r, name = f, path
	}
	data, err = io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > limit {
		return nil, "", fmt.Errorf("%s is larger than %d MiB; for a HAR file, export only the login's requests", name, limit>>20)
	}
	return data, name, nil
}

// readMessages reads the input a command names in pos (FILE, "-" or
// nothing: standard input) and finds its SAML messages; name and kind
// say what the input was ("login.har", "a HAR file").
func readMessages(pos []string, stdin io.Reader) (msgs []*message, name, kind string, err error) {
	path := ""
	if len(pos) == 1 {
		path = pos[0]
	}
	data, name, err := readInput(path, stdin, maxInput)
	if err != nil {
		return nil, "", "", err
	}
	msgs, kind, err = findMessages(data)
	if err != nil {
		return nil, "", "", fmt.Errorf("%s: %w", name, err)
	}
	return msgs, name, kind, nil
}

// findMessages finds every SAML message in data, whatever the form a user
// captured it in: a HAR file, a URL, a query string or form body, a bare
// base64 or URL-encoded value, or an XML document. kind names the form.
func findMessages(data []byte) (msgs []*message, kind string, err error) {
	text := strings.TrimSpace(string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	switch {
	case text == "":
		return nil, "", errors.New("the input is empty")
	case text[0] == '{':
		msgs, err = harMessages([]byte(text))
		return msgs, "a HAR file", err
	case len(text) > maxValue:
		return nil, "", fmt.Errorf("the input is %d bytes: more than the %d MiB a single SAML message may take (HAR files are read up to %d MiB)",
			len(text), maxValue>>20, maxInput>>20)
	case text[0] == '<':
		return []*message{{XML: []byte(text), Encoding: encXML, Source: "the input"}}, "an XML document", nil
	case hasPrefixFold(text, "http://") || hasPrefixFold(text, "https://"):
		u, err := url.Parse(text)
		if err != nil {
			return nil, "", fmt.Errorf("the input looks like a URL but is not one: %w", err)
		}
		msgs, err := queryMessages(u.RawQuery, "the URL's query string ("+withoutQuery(u)+")", true)
		if err == nil && len(msgs) == 0 {
			err = fmt.Errorf("the URL %s has no SAMLRequest or SAMLResponse parameter", withoutQuery(u))
		}
		return msgs, "a URL", err
	case strings.Contains(text, paramResponse+"=") || strings.Contains(text, paramRequest+"="):
		msgs, err := queryMessages(strings.TrimPrefix(text, "?"), "the form body or query string", false)
		return msgs, "a form body or query string", err
	default:
		return []*message{bareValue(text)}, "a single value", nil
	}
}

// bareValue decodes an input that is just the parameter's value: base64,
// or URL-encoded base64 when it holds a '%' (base64 never does).
func bareValue(text string) *message {
	m := &message{Value: text, Source: "the input"}
	if strings.Contains(text, "%") {
		// PathUnescape keeps '+' (a base64 character): a form-encoded
		// base64 value has none, its '+' being %2B.
		if v, err := url.PathUnescape(text); err == nil {
			m.Value = v
			m.Notes = append(m.Notes, "the input was URL-encoded")
		}
	}
	m.XML, m.Encoding, m.Err = decodeValue(m.Value)
	return m
}

// queryMessages reads the SAML messages of a query string or of an
// application/x-www-form-urlencoded body, parsed as a server parses it.
func queryMessages(raw, source string, inURL bool) ([]*message, error) {
	values, err := url.ParseQuery(raw)
	if err != nil && len(values) == 0 {
		return nil, fmt.Errorf("%s cannot be parsed: %w", source, err)
	}
	return formMessages(values, source, inURL), nil
}

// formMessages builds the messages of parsed form or query values.
func formMessages(values url.Values, source string, inURL bool) []*message {
	var out []*message
	for _, p := range []string{paramRequest, paramResponse} {
		vs, ok := values[p]
		if !ok {
			continue
		}
		m := &message{Param: p, Value: vs[0], Source: source, InURL: inURL}
		if len(vs) > 1 {
			m.Notes = append(m.Notes, fmt.Sprintf("%s appears %d times; this is the first", p, len(vs)))
		}
		if rs, ok := values["RelayState"]; ok {
			m.RelayState, m.HasRelayState = rs[0], true
		}
		if sa, ok := values["SigAlg"]; ok {
			m.SigAlg = sa[0]
		}
		_, m.HasSignature = values["Signature"]
		m.XML, m.Encoding, m.Err = decodeValue(m.Value)
		out = append(out, m)
	}
	return out
}

// decodeValue decodes a SAML parameter's value: base64 of the XML (the
// POST binding), or base64 of its raw DEFLATE compression (the Redirect
// binding), told apart by what the base64 decodes to. White space inside
// the base64 is ignored, as the library does.
func decodeValue(v string) (xml []byte, encoding string, err error) {
	if len(v) > maxValue {
		return nil, "", fmt.Errorf("the value is %d bytes, more than %d MiB", len(v), maxValue>>20)
	}
	v = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, v)
	if v == "" {
		return nil, "", errors.New("the value is empty")
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, "", fmt.Errorf("the value is not standard base64 (%v)", err)
	}
	if looksLikeXML(raw) {
		return raw, encBase64, nil
	}
	doc, err := inflate(raw)
	if err != nil {
		return nil, "", fmt.Errorf("the base64 decodes to neither XML nor DEFLATE-compressed XML (%v)", err)
	}
	if !looksLikeXML(doc) {
		return nil, "", errors.New("the value inflates to something that is not XML")
	}
	return doc, encDeflate, nil
}

// inflate decompresses raw DEFLATE (RFC 1951) data, up to maxXML bytes.
func inflate(data []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(data))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxXML+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxXML {
		return nil, fmt.Errorf("it inflates to more than %d MiB", maxXML>>20)
	}
	return out, nil
}

// looksLikeXML reports whether b starts, after an optional byte order
// mark and white space, with '<'.
func looksLikeXML(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// withoutQuery shows a URL without its query string (which holds the
// message) and fragment.
func withoutQuery(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment, c.RawFragment, c.ForceQuery = "", "", "", false
	return c.Redacted()
}
