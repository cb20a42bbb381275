// Package xmlsafe parses untrusted XML into an etree document once, and
// rejects every construct a SAML message has no business carrying: DTDs,
// processing instructions, non-UTF-8 input, duplicate or malformed names,
// undeclared or abused namespace prefixes, duplicate ID attributes, and trees
// that are too deep or too large.
//
// The checks run on the tree that the rest of the library reads, so there is
// no second parser whose view could differ from the one that is trusted.
package xmlsafe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// Limits bounds the work a single document may cost.
type Limits struct {
	MaxDepth    int // deepest element nesting; the root is depth 1
	MaxElements int // total number of elements
}

// DefaultLimits are generous for SAML (a real Response nests about 8 deep and
// a 500-group assertion has about 1,100 elements) and small enough that a
// hostile document is refused quickly.
var DefaultLimits = Limits{MaxDepth: 64, MaxElements: 50000}

// ErrInvalid is wrapped by every error this package returns.
var ErrInvalid = errors.New("invalid XML")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Namespace URIs that are reserved by the Namespaces in XML recommendation.
const (
	xmlNamespace   = "http://www.w3.org/XML/1998/namespace"
	xmlnsNamespace = "http://www.w3.org/2000/xmlns/"
)

// Parse reads data as one XML document and checks it. The returned document's
// IDs map holds every ID attribute value to its element.
func Parse(data []byte, limits Limits) (*Document, error) {
	if !utf8.Valid(data) {
		return nil, invalid("document is not valid UTF-8")
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, invalid("byte order mark is not allowed")
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		CharsetReader:          refuseCharset,
		PreserveDuplicateAttrs: true,
		MaxDepth:               limits.MaxDepth,
	}
	if err := doc.ReadFromBytes(data); err != nil {
		if errors.Is(err, etree.ErrMaxDepth) {
			return nil, invalid("elements nest deeper than %d", limits.MaxDepth)
		}
		return nil, invalid("%v", err)
	}
	d := &Document{Doc: doc, IDs: map[string]*etree.Element{}}
	if err := d.check(limits); err != nil {
		return nil, err
	}
	return d, nil
}

// Document is a parsed and checked document.
type Document struct {
	Doc *etree.Document
	// IDs maps each value of an attribute named ID to its element. Values are
	// unique: a duplicate is a parse error.
	IDs map[string]*etree.Element
}

// Root returns the document element.
func (d *Document) Root() *etree.Element { return d.Doc.Root() }

func refuseCharset(charset string, _ io.Reader) (io.Reader, error) {
	return nil, invalid("encoding %q is not allowed, only UTF-8", charset)
}

// check walks the whole tree without recursion.
func (d *Document) check(limits Limits) error {
	var root *etree.Element
	for i, tok := range d.Doc.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if root != nil {
				return invalid("more than one document element")
			}
			root = t
		case *etree.ProcInst:
			if t.Target != "xml" || i != 0 {
				return invalid("processing instruction %q is not allowed", t.Target)
			}
			if err := checkXMLDecl(t.Inst); err != nil {
				return err
			}
		case *etree.Directive:
			return invalid("DTDs and other directives are not allowed")
		case *etree.CharData:
			if !t.IsWhitespace() {
				return invalid("text outside the document element")
			}
		}
	}
	if root == nil {
		return invalid("no document element")
	}
	type frame struct {
		el    *etree.Element
		depth int
	}
	stack := []frame{{root, 1}}
	elements := 0
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		elements++
		if elements > limits.MaxElements {
			return invalid("more than %d elements", limits.MaxElements)
		}
		if f.depth > limits.MaxDepth {
			return invalid("elements nest deeper than %d", limits.MaxDepth)
		}
		if err := d.checkElement(f.el); err != nil {
			return err
		}
		for _, tok := range f.el.Child {
			switch t := tok.(type) {
			case *etree.Element:
				stack = append(stack, frame{t, f.depth + 1})
			case *etree.ProcInst:
				return invalid("processing instruction %q is not allowed", t.Target)
			case *etree.Directive:
				return invalid("DTDs and other directives are not allowed")
			}
		}
	}
	return nil
}

func checkXMLDecl(inst string) error {
	// encoding/xml already refused other encodings through refuseCharset, but
	// an explicit "UTF-8" spelled oddly still reaches here; accept only UTF-8.
	i := strings.Index(inst, "encoding=")
	if i < 0 {
		return nil
	}
	v := inst[i+len("encoding="):]
	if len(v) < 2 {
		return invalid("malformed XML declaration")
	}
	q := v[0]
	end := strings.IndexByte(v[1:], q)
	if (q != '"' && q != '\'') || end < 0 {
		return invalid("malformed XML declaration")
	}
	if enc := v[1 : 1+end]; !strings.EqualFold(enc, "utf-8") {
		return invalid("encoding %q is not allowed, only UTF-8", enc)
	}
	return nil
}

func (d *Document) checkElement(el *etree.Element) error {
	if !isNCName(el.Tag) || (el.Space != "" && !isNCName(el.Space)) {
		return invalid("malformed element name %q", el.FullTag())
	}
	if el.Space == "xmlns" {
		return invalid("element %q uses the reserved xmlns prefix", el.FullTag())
	}
	if el.Space != "" && el.Space != "xml" && lookupPrefix(el, el.Space) == "" {
		return invalid("element %q uses an undeclared namespace prefix", el.FullTag())
	}
	for i, a := range el.Attr {
		if !isNCName(a.Key) || (a.Space != "" && !isNCName(a.Space)) {
			return invalid("malformed attribute name %q on %s", a.FullKey(), el.FullTag())
		}
		for _, b := range el.Attr[:i] {
			if b.Key == a.Key && b.Space == a.Space {
				return invalid("duplicate attribute %q on %s", a.FullKey(), el.FullTag())
			}
			// Libraries match "ID" regardless of prefix (etree's SelectAttr
			// does), so two attributes with that local name are ambiguous.
			if a.Key == "ID" && b.Key == "ID" {
				return invalid("two ID attributes on %s", el.FullTag())
			}
		}
		if err := checkNamespaceAttr(el, a); err != nil {
			return err
		}
		if a.Key == "ID" {
			if a.Space != "" {
				return invalid("prefixed ID attribute %q on %s", a.FullKey(), el.FullTag())
			}
			if a.Value == "" {
				return invalid("empty ID attribute on %s", el.FullTag())
			}
			if _, dup := d.IDs[a.Value]; dup {
				return invalid("ID %q appears on more than one element", a.Value)
			}
			d.IDs[a.Value] = el
		}
	}
	return nil
}

func checkNamespaceAttr(el *etree.Element, a etree.Attr) error {
	switch {
	case a.Space == "xmlns":
		switch {
		case a.Key == "xmlns":
			return invalid("the xmlns prefix may not be declared")
		case a.Key == "xml" && a.Value != xmlNamespace:
			return invalid("the xml prefix may not be rebound")
		case a.Key != "xml" && a.Value == xmlNamespace:
			return invalid("the XML namespace may only be bound to the xml prefix")
		case a.Value == xmlnsNamespace:
			return invalid("the xmlns namespace may not be bound to a prefix")
		case a.Value == "":
			return invalid("prefix %q is declared with an empty namespace on %s", a.Key, el.FullTag())
		}
	case a.Space == "" && a.Key == "xmlns":
		if a.Value == xmlNamespace || a.Value == xmlnsNamespace {
			return invalid("a reserved namespace may not be the default namespace")
		}
	case a.Space != "" && a.Space != "xml":
		if lookupPrefix(el, a.Space) == "" {
			return invalid("attribute %q on %s uses an undeclared namespace prefix", a.FullKey(), el.FullTag())
		}
	}
	return nil
}

// lookupPrefix resolves a prefix in scope at el, or "" when undeclared.
func lookupPrefix(el *etree.Element, prefix string) string {
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return ""
}

// isNCName reports whether s is a plausible XML name without a colon. It is
// deliberately stricter than needed for attacks that rely on colons or empty
// names surviving a round trip (Go issues 43168 and friends).
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == ':':
			return false
		case r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r > 0x7f:
		case i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}
