// Package xmlsafe parses untrusted XML into an etree document once, and
// rejects every construct a SAML message has no business carrying: DTDs,
// processing instructions, non-UTF-8 input, duplicate or malformed names,
// undeclared or abused namespace prefixes, duplicate ID and Id values, and
// trees that exceed Limits (depth, elements, attributes, namespaces).
//
// The checks run on the tree that the rest of the library reads, so there is
// no second parser whose view could differ from the one that is trusted. A
// scan of the raw bytes before the tree is built (precount) only refuses
// documents whose tree would exceed the limits; it never accepts anything.
// Every check costs time linear in the document's size.
//
// Stream applies the same checks token by token, for documents too large to
// hold as a tree that no signature covers (unsigned metadata aggregates). Its
// tokenizer is held to encoding/xml's, and the Stream to Parse, by
// differential tests and fuzz targets: same documents accepted, same tree.
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

// Parse reads data as one XML document and checks it within limits (a zero
// field of limits means DefaultLimits' value). The returned document's IDs
// and XMLSecIDs maps hold every ID and Id attribute value to its element.
// Every check costs time linear in len(data).
func Parse(data []byte, limits Limits) (*Document, error) {
	limits = limits.orDefault()
	if !utf8.Valid(data) {
		return nil, invalid("document is not valid UTF-8")
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, invalid("byte order mark is not allowed")
	}
	if err := precount(data, limits); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		CharsetReader:          refuseCharset,
		PreserveDuplicateAttrs: true,
		MaxDepth:               limits.MaxDepth,
	}
	if err := doc.ReadFromBytes(data); err != nil {
		if errors.Is(err, etree.ErrMaxDepth) {
			return nil, invalid("elements nest deeper than %d (MaxDepth)", limits.MaxDepth)
		}
		return nil, invalid("%v", err)
	}
	d := &Document{Doc: doc, IDs: map[string]*etree.Element{}, XMLSecIDs: map[string]*etree.Element{}}
	if err := d.check(limits, len(data)); err != nil {
		return nil, err
	}
	return d, nil
}

// Document is a parsed and checked document.
type Document struct {
	// Doc is the parsed tree.
	Doc *etree.Document
	// IDs maps each value of an attribute named ID (SAML's spelling) to its
	// element. Values are unique: a duplicate is a parse error.
	IDs map[string]*etree.Element
	// XMLSecIDs maps each value of an unprefixed attribute named Id (the
	// spelling of XML Signature and XML Encryption) to its element. Values
	// are unique, and a value that is also in IDs belongs to the same
	// element, so a same-document reference "#v" names at most one element
	// across both maps.
	XMLSecIDs map[string]*etree.Element
}

// Root returns the document element.
func (d *Document) Root() *etree.Element { return d.Doc.Root() }

func refuseCharset(charset string, _ io.Reader) (io.Reader, error) {
	return nil, invalid("encoding %q is not allowed, only UTF-8", charset)
}

// check walks the whole tree in document order without recursion, keeping
// the namespace bindings in scope as it enters and leaves elements.
func (d *Document) check(limits Limits, size int) error {
	limits = limits.orDefault()
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
	w := walker{d: d, limits: limits, scope: newScope(), size: size, maxNodes: limits.maxNodes(size)}
	type frame struct {
		el   *etree.Element
		next int // index in el.Child of the next token to visit
		mark int // the scope's undo mark before el's declarations
	}
	enter := func(stack []frame, el *etree.Element) ([]frame, error) {
		if len(stack)+1 > limits.MaxDepth {
			return nil, invalid("elements nest deeper than %d (MaxDepth)", limits.MaxDepth)
		}
		mark := w.scope.mark()
		if err := w.element(el); err != nil {
			return nil, err
		}
		return append(stack, frame{el: el, mark: mark}), nil
	}
	stack, err := enter(make([]frame, 0, 16), root)
	if err != nil {
		return err
	}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next == len(f.el.Child) {
			w.scope.restore(f.mark)
			stack = stack[:len(stack)-1]
			continue
		}
		tok := f.el.Child[f.next]
		f.next++
		switch t := tok.(type) {
		case *etree.Element:
			if stack, err = enter(stack, t); err != nil {
				return err
			}
		case *etree.ProcInst:
			return invalid("processing instruction %q is not allowed", t.Target)
		case *etree.Directive:
			return invalid("DTDs and other directives are not allowed")
		case *etree.Comment:
			if err := w.count(1); err != nil {
				return err
			}
		case *etree.CharData:
			if t.IsCData() {
				if err := w.count(1); err != nil {
					return err
				}
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

// walker holds what the check of one element needs from the walk so far.
type walker struct {
	d        *Document
	limits   Limits
	elements int
	// nodes counts elements, attributes, comments and CDATA sections, at
	// most maxNodes for a document of size bytes (BytesPerNode).
	nodes, maxNodes, size int
	scope                 *scope
	seen                  map[attrName]struct{} // attribute names of one element; reused
	// detachIDs records, for an element with an ID or Id, a stand-in of its
	// name instead of the element itself, so that a Stream's IDs do not
	// keep the subtrees its caller builds alive.
	detachIDs bool
}

type attrName struct{ space, key string }

// count adds n nodes and refuses a document denser than BytesPerNode.
func (w *walker) count(n int) error {
	if w.nodes += n; w.nodes > w.maxNodes {
		return tooDense(w.maxNodes, w.size, w.limits)
	}
	return nil
}

// smallAttrs is how many attributes an element may have before duplicates
// are found with a set instead of comparing each pair (cheaper for the
// handful real elements carry; bounded either way by MaxAttributes).
const smallAttrs = 8

func (w *walker) element(el *etree.Element) error {
	w.elements++
	if w.elements > w.limits.MaxElements {
		return invalid("more than %d elements (MaxElements)", w.limits.MaxElements)
	}
	if err := w.count(1 + len(el.Attr)); err != nil {
		return err
	}
	if !isNCName(el.Tag) || (el.Space != "" && !isNCName(el.Space)) {
		return invalid("malformed element name %q", el.FullTag())
	}
	if el.Space == "xmlns" {
		return invalid("element %q uses the reserved xmlns prefix", el.FullTag())
	}
	if n := len(el.Attr); n > w.limits.MaxAttributes {
		return invalid("element %s has %d attributes, more than %d (MaxAttributes)", el.FullTag(), n, w.limits.MaxAttributes)
	}
	if err := w.declare(el); err != nil {
		return err
	}
	if el.Space != "" && el.Space != "xml" && !w.scope.declared(el.Space) {
		return invalid("element %q uses an undeclared namespace prefix", el.FullTag())
	}
	if len(el.Attr) > smallAttrs {
		if w.seen == nil {
			w.seen = make(map[attrName]struct{}, len(el.Attr))
		}
		// Delete this element's names rather than clear the set: clear
		// costs the set's capacity, which one large element could make
		// far bigger than every later element.
		defer func() {
			for _, a := range el.Attr {
				delete(w.seen, attrName{a.Space, a.Key})
			}
		}()
	}
	idAttr := false
	owner := el // the element the ID maps record
	for i, a := range el.Attr {
		if !isNCName(a.Key) || (a.Space != "" && !isNCName(a.Space)) {
			return invalid("malformed attribute name %q on %s", a.FullKey(), el.FullTag())
		}
		if w.duplicate(el.Attr, i) {
			return invalid("duplicate attribute %q on %s", a.FullKey(), el.FullTag())
		}
		// Libraries match "ID" regardless of prefix (etree's SelectAttr
		// does), so two attributes with that local name are ambiguous.
		if a.Key == "ID" {
			if idAttr {
				return invalid("two ID attributes on %s", el.FullTag())
			}
			idAttr = true
		}
		if err := w.checkNamespaceAttr(el, a); err != nil {
			return err
		}
		if w.detachIDs && owner == el && (a.Key == "ID" || a.Key == "Id" && a.Space == "") {
			owner = &etree.Element{Space: el.Space, Tag: el.Tag}
		}
		if err := w.d.recordID(owner, a); err != nil {
			return err
		}
	}
	return nil
}

// declare binds el's namespace declarations in the scope, refusing more
// than the limits allow.
func (w *walker) declare(el *etree.Element) error {
	n := 0
	for _, a := range el.Attr {
		prefix, ok := declaredPrefix(a)
		if !ok {
			continue
		}
		if n++; n > w.limits.MaxNamespaceDeclarations {
			return invalid("element %s declares more than %d namespaces (MaxNamespaceDeclarations)", el.FullTag(), w.limits.MaxNamespaceDeclarations)
		}
		w.scope.bind(prefix, a.Value)
	}
	if n := w.scope.size(); n > w.limits.MaxNamespacesInScope {
		return invalid("element %s has %d namespace prefixes in scope, more than %d (MaxNamespacesInScope)", el.FullTag(), n, w.limits.MaxNamespacesInScope)
	}
	return nil
}

// duplicate reports whether attrs[i] has the name of an earlier attribute:
// pairwise for a few attributes, with the reused set for more.
func (w *walker) duplicate(attrs []etree.Attr, i int) bool {
	a := attrs[i]
	if len(attrs) <= smallAttrs {
		for _, b := range attrs[:i] {
			if b.Key == a.Key && b.Space == a.Space {
				return true
			}
		}
		return false
	}
	k := attrName{a.Space, a.Key}
	if _, dup := w.seen[k]; dup {
		return true
	}
	w.seen[k] = struct{}{}
	return false
}

// recordID records an ID or unprefixed Id attribute, refusing a value that
// already names another element under either spelling.
func (d *Document) recordID(el *etree.Element, a etree.Attr) error {
	switch {
	case a.Key == "ID":
		if a.Space != "" {
			return invalid("prefixed ID attribute %q on %s", a.FullKey(), el.FullTag())
		}
		if a.Value == "" {
			return invalid("empty ID attribute on %s", el.FullTag())
		}
		if _, dup := d.IDs[a.Value]; dup {
			return invalid("ID %q appears on more than one element", a.Value)
		}
		if other, ok := d.XMLSecIDs[a.Value]; ok && other != el {
			return invalid("%q is an ID on %s and an Id on %s", a.Value, el.FullTag(), other.FullTag())
		}
		d.IDs[a.Value] = el
	case a.Key == "Id" && a.Space == "":
		if a.Value == "" {
			return invalid("empty Id attribute on %s", el.FullTag())
		}
		if _, dup := d.XMLSecIDs[a.Value]; dup {
			return invalid("Id %q appears on more than one element", a.Value)
		}
		if other, ok := d.IDs[a.Value]; ok && other != el {
			return invalid("%q is an Id on %s and an ID on %s", a.Value, el.FullTag(), other.FullTag())
		}
		d.XMLSecIDs[a.Value] = el
	}
	return nil
}

func (w *walker) checkNamespaceAttr(el *etree.Element, a etree.Attr) error {
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
		if !w.scope.declared(a.Space) {
			return invalid("attribute %q on %s uses an undeclared namespace prefix", a.FullKey(), el.FullTag())
		}
	}
	return nil
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
