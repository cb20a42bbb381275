package xmlsafe

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// Stream reads a document one token at a time, with every check Parse
// runs, for documents too large to hold as one tree: a federation's
// metadata aggregate of tens of megabytes costs about five times its size
// as an etree, and most of it is read only to be skipped.
//
// It reads the bytes with a tokenizer that accepts what encoding/xml's
// RawToken accepts with Parse's settings and yields the same tokens (see
// tokenizer; etree builds Parse's tree from RawToken's), at a fraction of
// its cost, then applies to each token the checks Parse applies to the
// tree built from those tokens: the whole document is refused by Stream
// exactly when Parse refuses it, and read as the same tree
// (TestStreamAgreesWithParse, FuzzStreamAgreesWithParse), though a
// document with several faults may be refused for another of them, and
// later: a consumer must treat everything it read as unchecked until Next
// returned io.EOF.
//
// The library reads with a Stream only documents that no signature covers
// (unsigned metadata): a signed document is read with Parse, so that the
// signature check and every reader see one tree.
type Stream struct {
	tok    *tokenizer
	w      walker
	open   []openElement
	tokens int  // tokens read, to place the XML declaration
	root   bool // the document element has started
	done   bool
	// start is the element of the last start tag, reused: most elements
	// of an aggregate are checked and dropped, never kept.
	start etree.Element
}

type openElement struct {
	space, tag string
	mark       int // the scope's undo mark before the element's declarations
}

// Token is one step of a Stream.
type Token struct {
	// Start is the element a start tag opened, checked, with its
	// attributes (namespace declarations included, duplicates kept, each
	// Attr's Element() nil) and no parent or children. It belongs to the
	// Stream and is valid only until the next call to Next: Element
	// returns a copy to keep.
	Start *etree.Element
	// End reports an end tag; Start and End are never both set.
	End bool
	// Text is character data inside the document element (text, CDATA
	// sections and references already decoded); it is valid only until the
	// next call to Next. Comments and the XML declaration are checked but
	// not returned.
	Text []byte
	// Depth is the depth of the element that starts or ends (the document
	// element is 1), or of the element that holds Text.
	Depth int
}

// Element returns a copy of t.Start that the caller may keep and attach
// to a tree of its own, or nil when t is not a start tag.
func (t Token) Element() *etree.Element {
	if t.Start == nil {
		return nil
	}
	return &etree.Element{Space: t.Start.Space, Tag: t.Start.Tag, Attr: slices.Clone(t.Start.Attr)}
}

// NewStream checks what Parse checks before reading (UTF-8, no byte order
// mark, the precount of elements, attributes, depth and density) and
// returns a Stream positioned before the first token. A zero field of
// limits means DefaultLimits' value.
func NewStream(data []byte, limits Limits) (*Stream, error) {
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
	d := &Document{IDs: map[string]*etree.Element{}, XMLSecIDs: map[string]*etree.Element{}}
	return &Stream{
		tok: newTokenizer(data),
		w: walker{d: d, limits: limits, scope: newScope(), size: len(data), maxNodes: limits.maxNodes(len(data)),
			detachIDs: true},
	}, nil
}

// Next returns the next element start, element end or text of the
// document, and io.EOF once the whole document has been read and found
// acceptable. Any other error wraps ErrInvalid and ends the stream.
func (s *Stream) Next() (Token, error) {
	for !s.done {
		raw, err := s.tok.next()
		if err == io.EOF {
			s.done = true
			switch {
			case len(s.open) > 0:
				return Token{}, invalid("%v", etree.ErrXML)
			case !s.root:
				return Token{}, invalid("no document element")
			}
			return Token{}, io.EOF
		}
		if err != nil {
			s.done = true
			return Token{}, invalid("%v", err)
		}
		s.tokens++
		tok, ok, err := s.token(raw)
		if err != nil {
			s.done = true
			return Token{}, err
		}
		if ok {
			return tok, nil
		}
	}
	return Token{}, io.EOF
}

// token checks one raw token; ok reports whether it is returned.
func (s *Stream) token(t rawToken) (tok Token, ok bool, err error) {
	switch t.kind {
	case tokStart:
		if len(s.open) == 0 && s.root {
			return tok, false, invalid("more than one document element")
		}
		if len(s.open)+1 > s.w.limits.MaxDepth {
			return tok, false, invalid("elements nest deeper than %d (MaxDepth)", s.w.limits.MaxDepth)
		}
		s.root = true
		// The tokenizer's attributes are valid until its next token, as
		// this element is until the Stream's.
		s.start = etree.Element{Space: t.space, Tag: t.local, Attr: t.attrs}
		el := &s.start
		mark := s.w.scope.mark()
		if err := s.w.element(el); err != nil {
			return tok, false, err
		}
		s.open = append(s.open, openElement{space: el.Space, tag: el.Tag, mark: mark})
		return Token{Start: el, Depth: len(s.open)}, true, nil
	case tokEnd:
		// etree refuses an end tag that does not close the open element.
		n := len(s.open)
		if n == 0 || s.open[n-1].space != t.space || s.open[n-1].tag != t.local {
			return tok, false, invalid("%v", etree.ErrXML)
		}
		s.w.scope.restore(s.open[n-1].mark)
		s.open = s.open[:n-1]
		return Token{End: true, Depth: n}, true, nil
	case tokText:
		if len(s.open) == 0 {
			if !isXMLWhitespace(t.data) {
				return tok, false, invalid("text outside the document element")
			}
			return tok, false, nil
		}
		return Token{Text: t.data, Depth: len(s.open)}, true, nil
	case tokComment:
		if len(s.open) > 0 {
			return tok, false, s.w.count(1)
		}
		return tok, false, nil
	case tokProcInst:
		if t.local != "xml" || s.tokens != 1 {
			return tok, false, invalid("processing instruction %q is not allowed", t.local)
		}
		return tok, false, checkXMLDecl(string(t.data))
	case tokDirective:
		return tok, false, invalid("DTDs and other directives are not allowed")
	}
	return tok, false, errors.New("xmlsafe: unexpected token")
}

// NamespaceURI returns the namespace bound to prefix ("" for the default
// namespace) at the current position: after a Start, in that element's
// scope. An unbound prefix gives "".
func (s *Stream) NamespaceURI(prefix string) string { return s.w.scope.uris[prefix] }

// DeclareInScope adds to el a declaration of every namespace in scope at
// the current position that el does not declare itself, so that el,
// detached from its ancestors, resolves its prefixes as it did in the
// document (etree's NamespaceURI reads declarations up the tree).
func (s *Stream) DeclareInScope(el *etree.Element) {
	declares := func(prefix string) bool {
		for _, a := range el.Attr {
			if p, ok := declaredPrefix(a); ok && p == prefix {
				return true
			}
		}
		return false
	}
	el.Attr = slices.Grow(el.Attr, len(s.w.scope.uris))
	for p, uri := range s.w.scope.uris {
		switch {
		case uri == "" || p == "xml" || declares(p):
		case p == "":
			el.Attr = append(el.Attr, etree.Attr{Key: "xmlns", Value: uri})
		default:
			el.Attr = append(el.Attr, etree.Attr{Space: "xmlns", Key: p, Value: uri})
		}
	}
}

// isXMLWhitespace is etree's test for whitespace-only character data,
// which Parse allows outside the document element.
func isXMLWhitespace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
