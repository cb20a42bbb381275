package xmlsafe

import (
	"fmt"
	"testing"
)

// BenchmarkParse parses a harmless SAML-like document and hostile ones of
// the same size with DefaultLimits. Each hostile case should cost about what
// the harmless one does, whether it is refused or accepted; the "refused"
// metric says which (1 = refused).
func BenchmarkParse(b *testing.B) {
	for _, size := range []int{256 << 10, 1 << 20} {
		cases := []struct {
			name string
			doc  []byte
		}{
			{"harmless", harmlessDoc(size)},
			{"attributes", manyAttrsDoc(size)},
			{"prefixed-attributes", manyPrefixedAttrsDoc(size)},
			{"ns-decls-one-element", manyDeclsDoc(size)},
			{"ns-decls-in-scope", spreadDeclsDoc(size, DefaultLimits.MaxDepth-2, 16)},
			{"deep", deepDoc(size, DefaultLimits.MaxDepth)},
			{"too-deep", deepDoc(size, DefaultLimits.MaxDepth+1)},
			{"tiny-elements", tinyElementsDoc(size)},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("%dKiB/%s", size>>10, c.name), func(b *testing.B) {
				b.SetBytes(int64(len(c.doc)))
				b.ReportAllocs()
				refused := 0.0
				for b.Loop() {
					if _, err := Parse(c.doc, DefaultLimits); err != nil {
						refused = 1
					}
				}
				b.ReportMetric(refused, "refused")
			})
		}
	}
}
