package xmlsafe

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// streamTree reads data with a Stream and builds the tree its tokens
// describe, the way a consumer that keeps everything would.
func streamTree(data []byte, limits Limits) (*etree.Element, error) {
	s, err := NewStream(data, limits)
	if err != nil {
		return nil, err
	}
	var root, cur *etree.Element
	for {
		tok, err := s.Next()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch {
		case tok.Start != nil:
			el := tok.Element()
			if cur == nil {
				root = el
			} else {
				cur.AddChild(el)
			}
			cur = el
		case tok.End:
			cur = cur.Parent()
		default:
			cur.CreateText(string(tok.Text))
		}
	}
}

// withoutComments serializes el with its comments removed, the form in
// which a Stream's tree and Parse's tree must agree (a Stream does not
// return comments).
func withoutComments(el *etree.Element) string {
	el = el.Copy()
	stack := []*etree.Element{el}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		kept := e.Child[:0]
		for _, tok := range e.Child {
			switch t := tok.(type) {
			case *etree.Comment:
				continue
			case *etree.Element:
				stack = append(stack, t)
			}
			kept = append(kept, tok)
		}
		e.Child = kept
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	s, err := doc.WriteToString()
	if err != nil {
		return "write error: " + err.Error()
	}
	return s
}

// agree checks that Stream and Parse accept or refuse data alike, and that
// an accepted document reads as the same tree.
func agree(t *testing.T, data []byte, limits Limits) {
	t.Helper()
	d, perr := Parse(data, limits)
	root, serr := streamTree(data, limits)
	if perr != nil || serr != nil {
		require.Error(t, perr, "Stream refused what Parse accepts: %v", serr)
		require.Error(t, serr, "Stream accepted what Parse refuses: %v", perr)
		require.ErrorIs(t, serr, ErrInvalid)
		return
	}
	require.Equal(t, withoutComments(d.Root()), withoutComments(root))
}

// streamCorpus holds documents that exercise every check of Parse, read
// with small limits so that each limit is reached.
var streamCorpus = []struct {
	name string
	doc  string
}{
	{"plain", `<a xmlns="urn:x"><b ID="1"/><c ID="2">t</c></a>`},
	{"xml declaration", `<?xml version="1.0" encoding="utf-8"?><a/>`},
	{"declaration after whitespace", "\n<?xml version=\"1.0\"?><a/>"},
	{"declaration after a comment", `<!-- c --><?xml version="1.0"?><a/>`},
	{"declaration inside", `<a><?xml version="1.0"?></a>`},
	{"comments are fine", `<a><!-- c --><b>x<!---->y</b></a>`},
	{"comments outside", `<!-- a --><a/><!-- b -->`},
	{"text and references", `<a>x &amp; &#x41; &lt;<![CDATA[<b>]]></a>`},
	{"whitespace outside", " \n<a/>\t\r\n"},
	{"text before root", `x<a/>`},
	{"text after root", `<a/>x`},
	{"doctype", `<!DOCTYPE a><a/>`},
	{"entity declaration", `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`},
	{"undefined entity", `<a>&e;</a>`},
	{"processing instruction", `<a><?php x?></a>`},
	{"processing instruction before root", `<?xml version="1.0"?><?xml-stylesheet href="x"?><a/>`},
	{"processing instruction after root", `<a/><?x y?>`},
	{"latin-1 declared", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`},
	{"utf-8 spelled oddly", `<?xml version="1.0" encoding='UtF-8'?><a/>`},
	{"malformed declaration", `<?xml version="1.0" encoding=utf-8?><a/>`},
	{"invalid utf-8", "<a>\xff</a>"},
	{"bom", "\xef\xbb\xbf<a/>"},
	{"duplicate attribute", `<a x="1" x="2"/>`},
	{"duplicate attribute among many", `<a a1="" a2="" a3="" a4="" a5="" a6="" a7="" a8="" a9="" a1=""/>`},
	{"two ID attributes with prefixes", `<a xmlns:p="urn:p" ID="1" p:ID="2"/>`},
	{"prefixed ID", `<a xmlns:p="urn:p" p:ID="1"/>`},
	{"duplicate ID values", `<a><b ID="x"/><c ID="x"/></a>`},
	{"ID and Id on one element", `<a ID="x" Id="x"/>`},
	{"ID and Id on two elements", `<a><b ID="x"/><c Id="x"/></a>`},
	{"empty ID", `<a ID=""/>`},
	{"undeclared element prefix", `<p:a/>`},
	{"undeclared attribute prefix", `<a p:x="1"/>`},
	{"prefix out of scope", `<a><b xmlns:p="urn:p"/><p:c/></a>`},
	{"default namespace undeclared", `<a xmlns="urn:x"><b xmlns=""><c/></b></a>`},
	{"empty prefixed namespace", `<a xmlns:p=""/>`},
	{"rebound xml prefix", `<a xmlns:xml="urn:x"/>`},
	{"xml prefix declared correctly", `<a xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="en"/>`},
	{"declared xmlns prefix", `<a xmlns:xmlns="urn:x"/>`},
	{"xml namespace on other prefix", `<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>`},
	{"xmlns namespace bound", `<a xmlns:p="http://www.w3.org/2000/xmlns/"/>`},
	{"reserved default namespace", `<a xmlns="http://www.w3.org/2000/xmlns/"/>`},
	{"element in the xmlns prefix", `<xmlns:a/>`},
	{"too deep", strings.Repeat("<a>", 9) + strings.Repeat("</a>", 9)},
	{"deep at the limit", strings.Repeat("<a>", 8) + strings.Repeat("</a>", 8)},
	{"too many elements", "<a>" + strings.Repeat("<b/>", 20) + "</a>"},
	{"elements at the limit", "<a>" + strings.Repeat("<b/>", 19) + "</a>"},
	{"too many attributes", `<a` + attrs(11) + `/>`},
	{"too many declarations", `<a` + decls(0, 5) + `/>`},
	{"too many in scope", `<a` + decls(0, 3) + `><b` + decls(3, 6) + `><c xmlns="urn:d"/></b></a>`},
	{"too dense", "<a>" + strings.Repeat("<!---->", 300) + "</a>"},
	{"two roots", `<a/><b/>`},
	{"unclosed", `<a>`},
	{"unclosed inner", `<a><b></a>`},
	{"mismatched prefix", `<p:a xmlns:p="urn:p" xmlns:q="urn:p"></q:a>`},
	{"end without start", `</a>`},
	{"empty", ``},
	{"only whitespace", " \n"},
	{"colon attribute", `<a ::x="1"/>`},
	{"colon element", `<a><x::E xmlns:x="urn:x"/></a>`},
	{"name with dots and digits", `<a.b-1 c.d-2="v"/>`},
	{"name starting with a digit", `<a 1b="v"/>`},
	{"attribute without value", `<a b/>`},
	{"less-than in attribute", `<a b="<"/>`},
	{"control character", "<a>\x01</a>"},
	{"double hyphen in comment", `<a><!-- a -- b --></a>`},
}

var streamLimits = Limits{MaxDepth: 8, MaxElements: 20, MaxAttributes: 10, MaxNamespaceDeclarations: 4, MaxNamespacesInScope: 6}

// TestStreamAgreesWithParse: a Stream accepts exactly what Parse accepts,
// and yields the same tree, on documents that reach every check and on
// the repository's real messages and metadata.
func TestStreamAgreesWithParse(t *testing.T) {
	for _, tc := range streamCorpus {
		t.Run(tc.name, func(t *testing.T) { agree(t, []byte(tc.doc), streamLimits) })
	}
	hostile := []struct {
		name string
		doc  []byte
	}{
		{"harmless", harmlessDoc(64 << 10)},
		{"many attributes", manyAttrsDoc(64 << 10)},
		{"many prefixed attributes", manyPrefixedAttrsDoc(64 << 10)},
		{"many declarations", manyDeclsDoc(64 << 10)},
		{"deep", deepDoc(64<<10, 200)},
		{"tiny elements", tinyElementsDoc(64 << 10)},
		{"in scope", inScopeDoc(64<<10, 30, 100)},
	}
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			agree(t, tc.doc, DefaultLimits)
			agree(t, tc.doc, MetadataLimits)
		})
	}
	metadata, messages := realDocuments(t)
	for _, f := range append(metadata, messages...) {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			data = []byte(strings.TrimPrefix(string(data), "\xef\xbb\xbf"))
			agree(t, data, MetadataLimits)
			agree(t, data, DefaultLimits)
		})
	}
}

// TestStreamRefusals names the refusals a Stream adds to the tokenizer's,
// with Parse's wording.
func TestStreamRefusals(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"doctype", `<!DOCTYPE a><a/>`, "DTDs and other directives are not allowed"},
		{"processing instruction", `<a><?php x?></a>`, `processing instruction "php" is not allowed`},
		{"second root", `<a/><b/>`, "more than one document element"},
		{"text outside", `<a/>x`, "text outside the document element"},
		{"unclosed", `<a>`, "invalid XML"},
		{"mismatched end", `<a></b>`, "invalid XML"},
		{"no root", `<!-- -->`, "no document element"},
		{"too deep", strings.Repeat("<a>", 9) + strings.Repeat("</a>", 9), "deeper than 8"},
		{"duplicate ID", `<a><b ID="x"/><c ID="x"/></a>`, `ID "x" appears on more than one element`},
		{"ID and Id", `<a><b ID="x"/><c Id="x"/></a>`, `"x" is an Id on c and an ID on b`},
		{"undeclared", `<a><p:b/></a>`, "undeclared namespace prefix"},
		{"latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, "encoding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := streamTree([]byte(tc.doc), streamLimits)
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestStreamStopsAtTheFirstError: after an error, Next keeps returning
// an error and never a token.
func TestStreamStopsAtTheFirstError(t *testing.T) {
	s, err := NewStream([]byte(`<a><p:b/><c/></a>`), DefaultLimits)
	require.NoError(t, err)
	tok, err := s.Next()
	require.NoError(t, err)
	require.Equal(t, "a", tok.Start.Tag)
	_, err = s.Next()
	require.ErrorIs(t, err, ErrInvalid)
	_, err = s.Next()
	require.ErrorIs(t, err, io.EOF, "the stream is over")
}

// TestStreamDetachesIDs: the ID maps of a Stream hold stand-ins, not the
// elements it returned, so a consumer's subtrees can be collected.
func TestStreamDetachesIDs(t *testing.T) {
	s, err := NewStream([]byte(`<a><b ID="x"><c/></b></a>`), DefaultLimits)
	require.NoError(t, err)
	var b *etree.Element
	for {
		tok, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if tok.Start != nil && tok.Start.Tag == "b" {
			b = tok.Element()
		}
	}
	require.NotNil(t, b)
	owner := s.w.d.IDs["x"]
	require.NotNil(t, owner)
	assert.NotSame(t, b, owner)
	assert.Equal(t, "b", owner.Tag)
}

// TestStreamNamespaces: NamespaceURI follows the scope, and DeclareInScope
// lets a detached element resolve its prefixes as in the document.
func TestStreamNamespaces(t *testing.T) {
	s, err := NewStream([]byte(`<a xmlns="urn:d" xmlns:p="urn:p"><p:b xmlns:q="urn:q" xmlns:p="urn:p2"><q:c/></p:b><d/></a>`), DefaultLimits)
	require.NoError(t, err)
	var b *etree.Element
	for {
		tok, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if tok.Start == nil {
			continue
		}
		switch tok.Start.Tag {
		case "b":
			assert.Equal(t, "urn:p2", s.NamespaceURI("p"))
			assert.Equal(t, "urn:q", s.NamespaceURI("q"))
			b = tok.Element()
			s.DeclareInScope(b)
		case "d":
			assert.Equal(t, "urn:p", s.NamespaceURI("p"), "b's rebinding left scope with it")
			assert.Equal(t, "", s.NamespaceURI("q"))
			assert.Equal(t, "urn:d", s.NamespaceURI(""))
		}
	}
	require.NotNil(t, b)
	assert.Equal(t, "urn:p2", b.NamespaceURI(), "b's own declaration wins")
	c := etree.NewElement("q:c")
	b.AddChild(c)
	assert.Equal(t, "urn:q", c.NamespaceURI())
	d := etree.NewElement("d")
	b.AddChild(d)
	assert.Equal(t, "urn:d", d.NamespaceURI(), "the default namespace was copied")
}

// FuzzStreamAgreesWithParse: on any input, Stream and Parse agree.
func FuzzStreamAgreesWithParse(f *testing.F) {
	for _, tc := range streamCorpus {
		f.Add([]byte(tc.doc))
	}
	f.Add(harmlessDoc(2000))
	f.Fuzz(func(t *testing.T, data []byte) {
		agree(t, data, streamLimits)
	})
}
