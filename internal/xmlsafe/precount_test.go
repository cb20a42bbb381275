package xmlsafe

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPrecountIsExact: on well-formed documents where "<", ">", "=" and "/"
// appear outside markup, precount accepts the exact limits and refuses one
// less, so it never refuses a document the walk would accept.
func TestPrecountIsExact(t *testing.T) {
	tests := []struct {
		name                    string
		doc                     string
		elements, depth, maxAtt int
	}{
		{"plain", `<a x="1"><b/><c y="2" z="3">t</c></a>`, 3, 2, 2},
		{"comment with markup", `<a><!-- <b x="1" y="2"><c><d> --><b/></a>`, 2, 2, 0},
		{"comment next to a tag", `<a><!----><b/><!-- - --></a>`, 2, 2, 0},
		{"CDATA with markup", `<a><![CDATA[<b><c x="1" y="2">]]><b/></a>`, 2, 2, 0},
		{"XML declaration with =", `<?xml version="1.0" encoding="utf-8"?><a/>`, 1, 1, 0},
		{"markup characters in values", `<a x="b=c>d/" y='"=>' z="'/>"><b/></a>`, 2, 2, 3},
		{"slash before the end of a start tag", `<a x="/"><b/></a>`, 2, 2, 1},
		{"white space around =", "<a x = \"1\"\n y\t=\t'2'><b/></a>", 2, 2, 2},
		{"end tags lower the depth", `<a><b><c/></b><b><c/></b></a>`, 5, 3, 0},
		{"text with > and =", `<a>x > y = z<b/></a>`, 2, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exact := Limits{MaxElements: tc.elements, MaxDepth: tc.depth, MaxAttributes: max(tc.maxAtt, 1)}
			require.NoError(t, precount([]byte(tc.doc), exact))
			_, err := Parse([]byte(tc.doc), exact)
			require.NoError(t, err, "the walk must agree")

			for name, l := range map[string]Limits{
				"MaxElements": {MaxElements: tc.elements - 1, MaxDepth: tc.depth, MaxAttributes: max(tc.maxAtt, 1)},
				"MaxDepth":    {MaxElements: tc.elements, MaxDepth: tc.depth - 1, MaxAttributes: max(tc.maxAtt, 1)},
			} {
				if l.MaxElements == 0 || l.MaxDepth == 0 {
					continue
				}
				err := precount([]byte(tc.doc), l)
				require.ErrorIs(t, err, ErrInvalid, name)
				assert.Contains(t, err.Error(), name)
			}
			if tc.maxAtt > 1 {
				l := exact
				l.MaxAttributes = tc.maxAtt - 1
				err := precount([]byte(tc.doc), l)
				require.ErrorIs(t, err, ErrInvalid)
				assert.Contains(t, err.Error(), "MaxAttributes")
			}
		})
	}
}

// TestPrecountStops: input precount cannot read ends the count without an
// error; the parser then refuses it.
func TestPrecountStops(t *testing.T) {
	tight := Limits{MaxElements: 1, MaxDepth: 1, MaxAttributes: 1}
	for _, doc := range []string{
		`<!DOCTYPE a><a><b/><c/></a>`,
		`<a><!-- unclosed <b/><c/>`,
		`<a><![CDATA[ unclosed <b/><c/>`,
		`<?pi unclosed <b/><c/>`,
		`<a x="unclosed><b/><c/>`,
		`<a x="1"`,
	} {
		assert.NoError(t, precount([]byte(doc), tight), doc)
		_, err := Parse([]byte(doc), DefaultLimits)
		assert.ErrorIs(t, err, ErrInvalid, doc)
	}
}

// TestPrecountSkipsProcessingInstructions: markup inside a processing
// instruction is not counted (the walk refuses the instruction itself).
func TestPrecountSkipsProcessingInstructions(t *testing.T) {
	doc := []byte(`<a><?pi <b x="1" y="2"><c>?><b/></a>`)
	require.NoError(t, precount(doc, Limits{MaxElements: 2, MaxDepth: 2, MaxAttributes: 1}))
	require.ErrorContains(t, precount(doc, Limits{MaxElements: 1, MaxDepth: 2, MaxAttributes: 1}), "MaxElements",
		"the count goes on after the instruction")
	_, err := Parse(doc, DefaultLimits)
	assert.ErrorContains(t, err, "processing instruction")
}
