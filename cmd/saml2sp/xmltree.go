package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// A small XML tree for display: decode's pretty-printing and summary, and
// the parts of metadata the library does not return. It keeps prefixes as
// written (for printing) and resolves namespaces on demand. It is never
// used to decide anything: verification is the library's, on its own
// hardened parse.

// treeLimits bound a parse.
type treeLimits struct{ depth, nodes int }

// messageLimits bound a SAML message (the library allows 50,000
// elements); metadataLimits a metadata document (10 MiB).
func messageLimits() treeLimits  { return treeLimits{depth: 64, nodes: 100_000} }
func metadataLimits() treeLimits { return treeLimits{depth: 64, nodes: 1_000_000} }

// Kinds of item in an element's content.
const (
	itemElement = iota
	itemText
	itemComment
	itemProcInst
	itemDirective
)

type item struct {
	kind int
	el   *xnode
	text string // text, comment, processing instruction or directive
}

// xnode is an element.
type xnode struct {
	prefix, local string
	attrs         []xml.Attr // Name.Space holds the prefix as written
	parent        *xnode
	items         []item
}

// xdoc is a parsed document.
type xdoc struct {
	root *xnode
	// prolog holds what precedes the root (declaration, DOCTYPE,
	// comments) and epilog what follows it.
	prolog, epilog []item
	hasDTD         bool
}

// parseTree parses data within lim. Entities other than XML's five and
// character references are errors; a DOCTYPE is kept as a directive, never
// interpreted.
func parseTree(data []byte, lim treeLimits) (*xdoc, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	doc := &xdoc{}
	var cur *xnode
	depth, nodes := 0, 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var it item
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > lim.depth {
				return nil, fmt.Errorf("elements nest deeper than %d", lim.depth)
			}
			if nodes++; nodes > lim.nodes {
				return nil, fmt.Errorf("more than %d elements", lim.nodes)
			}
			if cur == nil && doc.root != nil {
				return nil, errors.New("more than one document element")
			}
			n := &xnode{prefix: t.Name.Space, local: t.Name.Local, attrs: t.Attr, parent: cur}
			if cur == nil {
				doc.root = n
			} else {
				cur.items = append(cur.items, item{kind: itemElement, el: n})
			}
			cur = n
			continue
		case xml.EndElement:
			// RawToken does not match end tags: do it here.
			if cur == nil || t.Name.Space != cur.prefix || t.Name.Local != cur.local {
				line, _ := d.InputPos()
				return nil, fmt.Errorf("line %d: unexpected end tag </%s>", line, qname(t.Name.Space, t.Name.Local))
			}
			cur = cur.parent
			depth--
			continue
		case xml.CharData:
			it = item{kind: itemText, text: string(t)}
		case xml.Comment:
			it = item{kind: itemComment, text: string(t)}
		case xml.ProcInst:
			it = item{kind: itemProcInst, text: t.Target + " " + string(t.Inst)}
		case xml.Directive:
			it = item{kind: itemDirective, text: string(t)}
			doc.hasDTD = true
		}
		switch {
		case cur != nil:
			cur.items = append(cur.items, it)
		case it.kind == itemText && strings.TrimSpace(it.text) != "":
			return nil, errors.New("text outside the document element")
		case it.kind == itemText:
		case doc.root == nil:
			doc.prolog = append(doc.prolog, it)
		default:
			doc.epilog = append(doc.epilog, it)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("the document ends inside <%s>", qname(cur.prefix, cur.local))
	}
	if doc.root == nil {
		return nil, errors.New("no document element")
	}
	return doc, nil
}

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// ns resolves the element's namespace.
func (n *xnode) ns() string { return n.lookup(n.prefix) }

// lookup resolves prefix in the element's scope.
func (n *xnode) lookup(prefix string) string {
	if prefix == "xml" {
		return "http://www.w3.org/XML/1998/namespace"
	}
	for e := n; e != nil; e = e.parent {
		for _, a := range e.attrs {
			if (prefix == "" && a.Name.Space == "" && a.Name.Local == "xmlns") ||
				(prefix != "" && a.Name.Space == "xmlns" && a.Name.Local == prefix) {
				return a.Value
			}
		}
	}
	return ""
}

// is reports whether n is the element {ns}local.
func (n *xnode) is(ns, local string) bool { return n != nil && n.local == local && n.ns() == ns }

// kids returns the child elements named {ns}local ("" local: all).
func (n *xnode) kids(ns, local string) []*xnode {
	if n == nil {
		return nil
	}
	var out []*xnode
	for _, it := range n.items {
		if it.kind == itemElement && (local == "" || it.el.is(ns, local)) {
			out = append(out, it.el)
		}
	}
	return out
}

// kid returns the first child element {ns}local, or nil.
func (n *xnode) kid(ns, local string) *xnode {
	if k := n.kids(ns, local); len(k) > 0 {
		return k[0]
	}
	return nil
}

// path follows child elements of one namespace.
func (n *xnode) path(ns string, locals ...string) *xnode {
	for _, l := range locals {
		n = n.kid(ns, l)
	}
	return n
}

// attr returns the unprefixed attribute name.
func (n *xnode) attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// text returns the element's own character data, and whether a comment
// sits among it (which splits the text: some parsers read only a part).
func (n *xnode) text() (string, bool) {
	if n == nil {
		return "", false
	}
	var sb strings.Builder
	comment := false
	for _, it := range n.items {
		switch it.kind {
		case itemText:
			sb.WriteString(it.text)
		case itemComment:
			comment = true
		}
	}
	return strings.TrimSpace(sb.String()), comment
}

// str is text without the comment flag.
func (n *xnode) str() string {
	s, _ := n.text()
	return s
}

// walk calls f on n and every element below it, in document order.
func (n *xnode) walk(f func(*xnode)) {
	f(n)
	for _, it := range n.items {
		if it.kind == itemElement {
			it.el.walk(f)
		}
	}
}

// writePretty writes the document indented by two spaces per level, with
// prefixes and attributes as written. Text is escaped, white-space-only
// text between elements dropped: the output is for reading, and no
// signature would verify over it.
func writePretty(w io.Writer, doc *xdoc, indent string) {
	for _, it := range doc.prolog {
		writeItem(w, it, indent)
	}
	writeElement(w, doc.root, indent)
	for _, it := range doc.epilog {
		writeItem(w, it, indent)
	}
}

func writeItem(w io.Writer, it item, indent string) {
	switch it.kind {
	case itemElement:
		writeElement(w, it.el, indent)
	case itemText:
		if s := strings.TrimSpace(it.text); s != "" {
			fmt.Fprintln(w, indent+safe(escapeText(displayText(s))))
		}
	case itemComment:
		fmt.Fprintln(w, indent+safe("<!--"+it.text+"-->"))
	case itemProcInst:
		fmt.Fprintln(w, indent+safe("<?"+strings.TrimSpace(it.text)+"?>"))
	case itemDirective:
		fmt.Fprintln(w, indent+safe("<!"+it.text+">"))
	}
}

func writeElement(w io.Writer, n *xnode, indent string) {
	var sb strings.Builder
	sb.WriteString(indent + "<" + qname(n.prefix, n.local))
	for _, a := range n.attrs {
		sb.WriteString(" " + qname(a.Name.Space, a.Name.Local) + `="` + escapeAttr(a.Value) + `"`)
	}
	var content []item
	onlyText := true
	for _, it := range n.items {
		if it.kind == itemText && strings.TrimSpace(it.text) == "" {
			continue
		}
		content = append(content, it)
		onlyText = onlyText && it.kind == itemText
	}
	switch {
	case len(content) == 0:
		fmt.Fprintln(w, safe(sb.String()+"/>"))
	case onlyText:
		var text strings.Builder
		for _, it := range n.items {
			text.WriteString(it.text)
		}
		fmt.Fprintln(w, safe(sb.String()+">"+escapeText(displayText(text.String()))+"</"+qname(n.prefix, n.local)+">"))
	default:
		fmt.Fprintln(w, safe(sb.String()+">"))
		for _, it := range content {
			writeItem(w, it, indent+"  ")
		}
		fmt.Fprintln(w, safe(indent+"</"+qname(n.prefix, n.local)+">"))
	}
}

func escapeText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// displayText joins the lines of a base64 blob (a certificate, a
// signature or cipher value, wrapped at 64 or 76 characters) into one.
func displayText(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	joined := strings.Join(strings.Fields(s), "")
	for _, r := range joined {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=') {
			return s
		}
	}
	return joined
}

func escapeAttr(s string) string {
	// EscapeText escapes '"' too, and tab, CR and LF, which matter in
	// attribute values.
	return escapeText(s)
}
