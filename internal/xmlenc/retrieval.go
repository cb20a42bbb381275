package xmlenc

import (
	"strings"

	"github.com/beevik/etree"
)

// TypeEncryptedKey is the one RetrievalMethod Type that is followed.
const TypeEncryptedKey = NS + "EncryptedKey"

// resolveRetrieval returns the EncryptedKey that rm, the RetrievalMethod in
// the EncryptedData's KeyInfo, names. Exactly one form is followed, the one
// Okta and OpenSAML's "peer" placement write:
//
//	<ds:RetrievalMethod Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey" URI="#id"/>
//
// with no other attribute and no children, where id is the Id of one of
// m.Peers and of no other element anywhere in the document. Nothing is
// fetched: anything else is an error.
func resolveRetrieval(rm *etree.Element, m Message) (*etree.Element, error) {
	var uri, typ string // absent is "", which is refused
	for _, a := range rm.Attr {
		switch {
		case a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns"):
		case a.Space == "" && a.Key == "URI":
			uri = a.Value
		case a.Space == "" && a.Key == "Type":
			typ = a.Value
		default:
			return nil, fail("RetrievalMethod has an attribute %s; only URI and Type are accepted", a.FullKey())
		}
	}
	if typ != TypeEncryptedKey {
		return nil, fail("RetrievalMethod Type must be %s", TypeEncryptedKey)
	}
	if !strings.HasPrefix(uri, "#") || !isID(uri[1:]) {
		return nil, fail("RetrievalMethod URI must be a same-document reference #id")
	}
	kids, err := children(rm)
	if err != nil {
		return nil, err
	}
	if len(kids) > 0 {
		return nil, fail("RetrievalMethod has child elements (%s); transforms are not followed", kids[0].Tag)
	}
	id := uri[1:]

	// The Id must be unique in the received document and, when the
	// EncryptedData was taken from another tree (the verified copy of a
	// signed Response), in that tree too.
	docs := []*etree.Element{treeRoot(m.EncryptedData)}
	if m.Document != nil && m.Document != docs[0] {
		docs = append(docs, m.Document)
	}
	for _, root := range docs {
		if n := countID(root, id); n != 1 {
			return nil, fail("RetrievalMethod names an Id that %d elements of the document carry; exactly one must", n)
		}
	}
	var found *etree.Element
	for _, p := range m.Peers {
		if v, ok := attr(p, "Id"); ok && v == id {
			if found != nil {
				return nil, fail("RetrievalMethod names an Id that more than one EncryptedKey carries")
			}
			found = p
		}
	}
	if found == nil {
		return nil, fail("RetrievalMethod does not name an EncryptedKey next to the EncryptedData")
	}
	return found, nil
}

// countID returns how many elements under root (root included) carry id
// as an unprefixed Id, ID or id attribute, or as xml:id: every attribute
// that one XML processor or another treats as an ID. One pass, no
// recursion.
func countID(root *etree.Element, id string) int {
	n := 0
	stack := []*etree.Element{root}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, a := range el.Attr {
			if a.Value == id && ((a.Space == "" && (a.Key == "Id" || a.Key == "ID" || a.Key == "id")) || (a.Space == "xml" && a.Key == "id")) {
				n++
				break
			}
		}
		stack = append(stack, el.ChildElements()...)
	}
	return n
}

// treeRoot returns the topmost element above el.
func treeRoot(el *etree.Element) *etree.Element {
	for p := el.Parent(); p != nil && p.Tag != ""; p = el.Parent() {
		el = p
	}
	return el
}

// isID accepts the ASCII subset of an XML NCName, which is what IdPs use
// for Ids; anything else (an XPointer, an empty fragment) is not followed.
func isID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
