package xmlsafe

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseIDsAndIds(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string // substring; empty means accepted
	}{
		{"distinct Id values", `<a Id="x"><b Id="y"/></a>`, ""},
		{"duplicate Id values", `<a><b Id="x"/><c Id="x"/></a>`, `Id "x" appears on more than one element`},
		{"empty Id", `<a Id=""/>`, "empty Id"},
		{"ID then Id on another element", `<a><b ID="x"/><c Id="x"/></a>`, `"x" is an Id on c and an ID on b`},
		{"Id then ID on another element", `<a><b Id="x"/><c ID="x"/></a>`, `"x" is an ID on c and an Id on b`},
		{"ID and Id with one value on one element", `<a ID="x" Id="x"/>`, ""},
		{"Id and ID with one value on one element", `<a Id="x" ID="x"/>`, ""},
		{"ID and Id with other values", `<a ID="x"><b Id="y"/></a>`, ""},
		{"prefixed Id is not an Id", `<a xmlns:p="urn:p"><b p:Id="x"/><c p:Id="x"/><d Id="x"/></a>`, ""},
		{"ID values stay unique", `<a><b ID="x" Id="y"/><c ID="x"/></a>`, `ID "x" appears on more than one element`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.doc), DefaultLimits)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, d.Root())
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestParseRecordsXMLSecIDs(t *testing.T) {
	d, err := Parse([]byte(`<a ID="r" Id="r"><b Id="x"/><c xmlns:p="urn:p" p:Id="y"/></a>`), DefaultLimits)
	require.NoError(t, err)
	assert.Equal(t, "a", d.XMLSecIDs["r"].Tag)
	assert.Equal(t, "a", d.IDs["r"].Tag)
	assert.Equal(t, "b", d.XMLSecIDs["x"].Tag)
	assert.NotContains(t, d.XMLSecIDs, "y", "only the unprefixed Id is recorded")
	assert.Len(t, d.XMLSecIDs, 2)
	assert.Len(t, d.IDs, 1)
}

// TestParseNamespaceScope: the scope the walk keeps matches the tree's.
func TestParseNamespaceScope(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"declared on an ancestor", `<a xmlns:p="urn:p"><b><p:c p:x="1"/></b></a>`, ""},
		{"declared on the element itself after use", `<p:a p:x="1" xmlns:p="urn:p"/>`, ""},
		{"declared on a sibling", `<a><b xmlns:p="urn:p"/><p:c/></a>`, "undeclared"},
		{"declared on a sibling, used by an attribute", `<a><b xmlns:p="urn:p"/><c p:x="1"/></a>`, "undeclared"},
		{"declared on a child", `<p:a><b xmlns:p="urn:p"/></p:a>`, "undeclared"},
		{"outer binding restored after a rebinding", `<a xmlns:p="urn:1"><b xmlns:p="urn:2"/><p:c/></a>`, ""},
		{"xml prefix needs no declaration", `<a xml:lang="en"/>`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.doc), DefaultLimits)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, d.Root())
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// TestParseDuplicateAttributesOnLargeElements covers the set the walk uses
// for elements with more than smallAttrs attributes.
func TestParseDuplicateAttributesOnLargeElements(t *testing.T) {
	many := attrs(smallAttrs + 4)
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"distinct", `<a` + many + `/>`, ""},
		{"duplicate at the end", `<a` + many + ` a0="x"/>`, `duplicate attribute "a0"`},
		{"same local name, other prefixes", `<a xmlns:p="urn:p" xmlns:q="urn:q"` + many + ` p:a0="" q:a0=""/>`, ""},
		{"duplicate prefixed", `<a xmlns:p="urn:p"` + many + ` p:a0="" p:a0=""/>`, `duplicate attribute "p:a0"`},
		{"two ID attributes", `<a xmlns:p="urn:p" ID="x"` + many + ` p:ID="y"/>`, "two ID attributes"},
		{"set is emptied between elements", `<r><a` + many + `/><b` + many + `/></r>`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), DefaultLimits)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}
