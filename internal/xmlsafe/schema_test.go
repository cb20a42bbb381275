package xmlsafe

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSequence(t *testing.T) {
	const ns = "urn:x"
	steps := []Step{One(ns, "A"), Optional(ns, "B"), Many(ns, "C", "D")}
	tests := []struct {
		name    string
		doc     string
		wantErr string
		counts  []int
	}{
		{"minimal", `<r xmlns="urn:x"><A/></r>`, "", []int{1, 0, 0}},
		{"full, prefix irrelevant", `<p:r xmlns:p="urn:x"><p:A/> <p:B/><p:D/><p:C/><p:D/></p:r>`, "", []int{1, 1, 3}},
		{"missing required", `<r xmlns="urn:x"><B/></r>`, "has no A", nil},
		{"duplicate single", `<r xmlns="urn:x"><A/><A/></r>`, "more than 1 A", nil},
		{"out of order", `<r xmlns="urn:x"><A/><C/><B/></r>`, "out-of-order element B", nil},
		{"look-alike namespace", `<r xmlns="urn:x"><A/><B xmlns="urn:y"/></r>`, "out-of-order element B", nil},
		{"text between", `<r xmlns="urn:x"><A/>evil<B/></r>`, "unexpected text", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.doc), DefaultLimits)
			require.NoError(t, err)
			g, err := Sequence(d.Root(), steps...)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			for i, n := range tc.counts {
				assert.Len(t, g[i], n)
			}
		})
	}
}
