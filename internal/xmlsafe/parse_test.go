package xmlsafe

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	limits := Limits{MaxDepth: 8, MaxElements: 20}
	tests := []struct {
		name    string
		doc     string
		wantErr string // substring; empty means accepted
	}{
		{"plain", `<a xmlns="urn:x"><b ID="1"/><c ID="2">t</c></a>`, ""},
		{"xml declaration", `<?xml version="1.0" encoding="utf-8"?><a/>`, ""},
		{"comments are fine", `<a><!-- c --><b>x<!---->y</b></a>`, ""},
		{"doctype", `<!DOCTYPE a><a/>`, "DTD"},
		{"entity declaration", `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`, "invalid XML"},
		{"entity declaration unused", `<!DOCTYPE a [<!ENTITY e "x">]><a/>`, "DTD"},
		{"undefined entity", `<a>&e;</a>`, "invalid XML"},
		{"processing instruction", `<a><?php x?></a>`, "processing instruction"},
		{"processing instruction before root", `<?xml version="1.0"?><?xml-stylesheet href="x"?><a/>`, "processing instruction"},
		{"latin-1 declared", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, "encoding"},
		{"invalid utf-8", "<a>\xff</a>", "UTF-8"},
		{"overlong utf-8", "<a>\xc0\xaf</a>", "UTF-8"},
		{"bom", "\xef\xbb\xbf<a/>", "byte order mark"},
		{"duplicate attribute", `<a x="1" x="2"/>`, "duplicate attribute"},
		{"two ID attributes with prefixes", `<a xmlns:p="urn:p" ID="1" p:ID="2"/>`, "two ID"},
		{"prefixed ID", `<a xmlns:p="urn:p" p:ID="1"/>`, "prefixed ID"},
		{"duplicate ID values", `<a><b ID="x"/><c ID="x"/></a>`, "more than one element"},
		{"empty ID", `<a ID=""/>`, "empty ID"},
		{"undeclared element prefix", `<p:a/>`, "undeclared"},
		{"undeclared attribute prefix", `<a p:x="1"/>`, "undeclared"},
		{"empty prefixed namespace", `<a xmlns:p=""/>`, "empty namespace"},
		{"rebound xml prefix", `<a xmlns:xml="urn:x"/>`, "xml prefix"},
		{"declared xmlns prefix", `<a xmlns:xmlns="urn:x"/>`, "xmlns prefix"},
		{"xml namespace on other prefix", `<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>`, "XML namespace"},
		{"too deep", strings.Repeat("<a>", 9) + strings.Repeat("</a>", 9), "deeper"},
		{"too many elements", "<a>" + strings.Repeat("<b/>", 20) + "</a>", "more than 20 elements"},
		{"two roots", `<a/><b/>`, "invalid XML"},
		{"text after root", `<a/>x`, "invalid XML"},
		{"unclosed", `<a>`, "invalid XML"},
		{"colon attribute", `<a ::x="1"/>`, "invalid XML"},
		{"colon element", `<a><x::E xmlns:x="urn:x"/></a>`, "invalid XML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.doc), limits)
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

func TestParseRecordsIDs(t *testing.T) {
	d, err := Parse([]byte(`<a ID="r"><b ID="x"/></a>`), DefaultLimits)
	require.NoError(t, err)
	assert.Equal(t, "a", d.IDs["r"].Tag)
	assert.Equal(t, "b", d.IDs["x"].Tag)
}
