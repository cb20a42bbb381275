package xmlsafe

import (
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attrs returns n attributes " a0=\"\" a1=\"\" ...".
func attrs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ` a%d=""`, i)
	}
	return b.String()
}

// decls returns declarations of the prefixes p<from> to p<to-1>.
func decls(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, ` xmlns:p%d="urn:%d"`, i, i)
	}
	return b.String()
}

func TestParseLimits(t *testing.T) {
	limits := Limits{MaxDepth: 4, MaxElements: 6, MaxAttributes: 10, MaxNamespaceDeclarations: 4, MaxNamespacesInScope: 6}
	tests := []struct {
		name    string
		doc     string
		wantErr string // substring; empty means accepted
	}{
		{"attributes at the limit", `<a` + attrs(10) + `/>`, ""},
		{"attributes over the limit", `<a><b` + attrs(11) + `/></a>`, `element "b" has more than 10 attributes (MaxAttributes)`},
		{"declarations count as attributes", `<a` + attrs(8) + decls(0, 3) + `/>`, "more than 10 attributes (MaxAttributes)"},
		{"declarations at the limit", `<a` + decls(0, 3) + ` xmlns="urn:d"/>`, ""},
		{"declarations over the limit", `<a` + decls(0, 5) + `/>`, "element a declares more than 4 namespaces (MaxNamespaceDeclarations)"},
		{"default declaration counts", `<a` + decls(0, 4) + ` xmlns="urn:d"/>`, "more than 4 namespaces (MaxNamespaceDeclarations)"},
		{"in scope at the limit", `<a` + decls(0, 3) + `><b` + decls(3, 6) + `/></a>`, ""},
		{"in scope over the limit", `<a` + decls(0, 3) + `><b` + decls(3, 6) + `><c xmlns="urn:d"/></b></a>`,
			"element c has 7 namespace prefixes in scope, more than 6 (MaxNamespacesInScope)"},
		{"rebinding a prefix adds none", `<a` + decls(0, 3) + `><b` + decls(1, 4) + `><c` + decls(2, 5) + `/></b></a>`, ""},
		{"a sibling's declarations leave scope with it",
			`<a` + decls(0, 2) + `><b` + decls(2, 6) + `/><c` + decls(6, 10) + `/></a>`, ""},
		{"elements at the limit", `<a><b/><c/><d/><e/><f/></a>`, ""},
		{"elements over the limit", `<a><b/><c/><d/><e/><f/><g/></a>`, "more than 6 elements (MaxElements)"},
		{"depth at the limit", `<a><b><c><d/></c></b></a>`, ""},
		{"depth over the limit", `<a><b><c><d><e/></d></c></b></a>`, "elements nest deeper than 4 (MaxDepth)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), limits)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// TestWalkEnforcesLimits checks the walk over the built tree on its own:
// precount refuses these documents first when Parse reads them from bytes.
func TestWalkEnforcesLimits(t *testing.T) {
	limits := Limits{MaxDepth: 3, MaxElements: 4, MaxAttributes: 2, MaxNamespaceDeclarations: 2, MaxNamespacesInScope: 2}
	tests := []struct {
		name    string
		build   func(root *etree.Element)
		wantErr string
	}{
		{"accepted", func(r *etree.Element) { r.CreateElement("b").CreateAttr("x", "1") }, ""},
		{"elements", func(r *etree.Element) {
			for range 4 {
				r.CreateElement("b")
			}
		}, "more than 4 elements (MaxElements)"},
		{"depth", func(r *etree.Element) { r.CreateElement("b").CreateElement("c").CreateElement("d") }, "nest deeper than 3 (MaxDepth)"},
		{"attributes", func(r *etree.Element) {
			b := r.CreateElement("b")
			b.CreateAttr("x", "1")
			b.CreateAttr("y", "1")
			b.CreateAttr("z", "1")
		}, "element b has 3 attributes, more than 2 (MaxAttributes)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := etree.NewDocument()
			tc.build(doc.CreateElement("a"))
			d := &Document{Doc: doc, IDs: map[string]*etree.Element{}, XMLSecIDs: map[string]*etree.Element{}}
			err := d.check(limits, 1<<20)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// TestNodeDensity: a document may hold one node (element, attribute,
// comment, CDATA section) per BytesPerNode bytes, plus NodeAllowance;
// precount and the walk each enforce it.
func TestNodeDensity(t *testing.T) {
	limits := Limits{BytesPerNode: 16} // more than any unit below, so n is bounded
	doc := func(nodes int, unit string) []byte {
		return []byte("<r>" + strings.Repeat(unit, nodes-1) + "</r>")
	}
	for _, tc := range []struct {
		name string
		unit string // one node
	}{
		{"elements", "<e/>"},
		{"attributes", ""},
		{"comments", "<!---->"},
		{"CDATA sections", "<![CDATA[]]>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := func(n int) []byte {
				if tc.unit == "" {
					var b strings.Builder
					b.WriteString("<r")
					for i := range n - 1 {
						fmt.Fprintf(&b, " a%d=''", i)
					}
					b.WriteString("/>")
					return []byte(b.String())
				}
				return doc(n, tc.unit)
			}
			// The largest count allowed for the size the document has.
			n := 1
			for NodeAllowance+len(build(n+1))/16 >= n+1 {
				n++
			}
			lim := limits
			lim.MaxAttributes = n + 1
			_, err := Parse(build(n), lim)
			require.NoError(t, err, "%d nodes in %d bytes", n, len(build(n)))
			_, err = Parse(build(n+1), lim)
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), "(one per 16 bytes: BytesPerNode)")

			// The walk alone, on the tree etree built (which merges
			// adjacent CDATA sections into one text).
			if tc.name == "CDATA sections" {
				return
			}
			d := etree.NewDocument()
			require.NoError(t, d.ReadFromBytes(build(n+1)))
			sd := &Document{Doc: d, IDs: map[string]*etree.Element{}, XMLSecIDs: map[string]*etree.Element{}}
			err = sd.check(lim.orDefault(), len(build(n+1)))
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), "BytesPerNode")
		})
	}
}

// TestZeroLimitsMeanDefault: a field left zero takes DefaultLimits' value,
// never "no limit" (and never "refuse everything").
func TestZeroLimitsMeanDefault(t *testing.T) {
	n := DefaultLimits.MaxAttributes
	_, err := Parse([]byte(`<a`+attrs(n)+`/>`), Limits{})
	require.NoError(t, err)
	_, err = Parse([]byte(`<a`+attrs(n+1)+`/>`), Limits{MaxDepth: 8})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), fmt.Sprintf("more than %d attributes", n))
	_, err = Parse([]byte(`<a`+decls(0, DefaultLimits.MaxNamespaceDeclarations+1)+`/>`), Limits{MaxAttributes: 1000})
	assert.ErrorContains(t, err, "MaxNamespaceDeclarations")
	assert.Equal(t, DefaultLimits, Limits{}.orDefault())
	assert.Equal(t, MetadataLimits, MetadataLimits.orDefault())
}

// TestHostileDocuments parses the benchmark's hostile documents at 1 MiB:
// each is refused by the limit it attacks (BenchmarkParse measures the cost).
func TestHostileDocuments(t *testing.T) {
	const size = 1 << 20
	tests := []struct {
		name    string
		doc     []byte
		wantErr string
	}{
		{"harmless", harmlessDoc(size), ""},
		{"attributes", manyAttrsDoc(size), "(MaxAttributes)"},
		{"prefixed attributes", manyPrefixedAttrsDoc(size), "(MaxAttributes)"},
		{"declarations on one element", manyDeclsDoc(size), "(MaxAttributes)"},
		{"declarations on one element within MaxAttributes", []byte(`<a` + decls(0, 40) + `/>`), "(MaxNamespaceDeclarations)"},
		{"declarations in scope", spreadDeclsDoc(size/4, 20, 16), "bytes: BytesPerNode)"},
		{"declarations in scope, however dense", spreadDeclsDoc(size/4, 20, 16), "(MaxNamespacesInScope)"},
		{"deep", deepDoc(size, DefaultLimits.MaxDepth+1), "(MaxDepth)"},
		{"tiny elements", tinyElementsDoc(size), "(MaxElements)"},
		{"tiny elements within MaxElements", tinyElementsDoc(size / 8), "bytes: BytesPerNode)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Greater(t, len(tc.doc), 30, "generator produced nothing")
			limits := DefaultLimits
			if strings.HasSuffix(tc.name, "however dense") {
				limits.BytesPerNode = 1
			}
			_, err := Parse(tc.doc, limits)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}
