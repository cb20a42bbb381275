package xmlsafe

import (
	"fmt"
	"testing"
)

// BenchmarkParse parses a harmless SAML-like document and hostile ones of
// the same size with DefaultLimits. Each hostile case should cost about what
// the harmless one does, whether it is refused or accepted; the "refused"
// metric says which (1 = refused). The "accepted" cases sit just within
// DefaultLimits (64 attributes per element, 20 prefixes in scope, 50,000
// elements with the root): the most work a document that passes can cost.
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
			// The most work the checks accept per byte.
			{"accepted/attributes", wideElementsDoc(size, 64)},
			{"accepted/ns-in-scope", inScopeDoc(size, DefaultLimits.MaxNamespacesInScope, DefaultLimits.MaxElements-1)},
			{"accepted/elements", elementsAtLimitDoc(size, DefaultLimits.MaxElements-1)},
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
