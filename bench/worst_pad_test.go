package bench

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// Padding kinds: what a hostile document is made of, each as much as the
// limits allow (see padding).
const (
	padAttributes = "attributes" // elements with MaxAttributes-1 attributes each
	padNamespaces = "namespaces" // elements each declaring as many prefixes as allowed
	padComments   = "comments"   // empty comments, as many as fit
	padElements   = "elements"   // as many elements as MaxElements allows
	padDepth      = "depth"      // chains nested down to MaxDepth
	padBase64     = "base64"     // one huge base64 text (placed by the carrier)
)

var padKinds = []string{padAttributes, padNamespaces, padComments, padElements, padDepth, padBase64}

// container is where the padding goes: an element at depth depth, which
// binds the prefix "x" (counted in inScope, the prefixes bound there), in
// a document whose other elements leave room for elems more elements and
// nodes more nodes (xmlsafe's BytesPerNode: elements, attributes and
// comments).
type container struct {
	depth, inScope, elems, nodes int
}

// padding returns exactly n bytes of element content of the given kind
// for c, staying just under lim: never more elements than c.elems, never
// deeper than lim.maxDepth, never more than lim.maxAttributes-1 attributes
// or lim.maxNSDecl-1 declarations on an element, and never more than
// lim.maxNSInScope-1 prefixes in scope. padBase64 gives only white space
// here: the carrier puts its text elsewhere.
func padding(kind string, n int, c container, lim docLimits) string {
	switch kind {
	case padAttributes:
		k := lim.maxAttributes - 1
		return fill(n, min(c.elems, c.nodes/(1+k)), func(v int) string {
			var b strings.Builder
			b.WriteString("<x:e")
			for i := range k {
				fmt.Fprintf(&b, ` a%d="%s"`, i, strings.Repeat("v", v))
			}
			b.WriteString("/>")
			return b.String()
		})
	case padNamespaces:
		k := min(lim.maxNSDecl-1, lim.maxNSInScope-1-c.inScope, lim.maxAttributes-1)
		return fill(n, min(c.elems, c.nodes/(1+k)), func(v int) string {
			var b strings.Builder
			b.WriteString("<x:e")
			for i := range k {
				fmt.Fprintf(&b, ` xmlns:n%d="urn:n%s"`, i, strings.Repeat("v", v))
			}
			b.WriteString("/>")
			return b.String()
		})
	case padComments:
		return fill(n, c.nodes, func(v int) string { return "<!--" + strings.Repeat("c", v) + "-->" })
	case padElements:
		return fill(n, min(c.elems, c.nodes), func(v int) string { return "<x:e>" + strings.Repeat("t", v) + "</x:e>" })
	case padDepth:
		chain := lim.maxDepth - 1 - c.depth // from depth+1 down to maxDepth-1
		return fill(n, min(c.elems, c.nodes)/chain, func(v int) string {
			return strings.Repeat("<x:e>", chain) + strings.Repeat("t", v) + strings.Repeat("</x:e>", chain)
		})
	case padBase64:
		return strings.Repeat(" ", n)
	}
	panic("unknown padding kind " + kind)
}

// fill repeats unit(v) at most maxUnits times to make up to n bytes, with
// v = 0 when that fits in maxUnits units, else the smallest v (the length
// of the text the unit stretches) that reaches n with maxUnits units; then
// white space makes it exactly n. unit's length must grow linearly in v.
func fill(n, maxUnits int, unit func(v int) string) string {
	var b strings.Builder
	b.Grow(n)
	if maxUnits > 0 {
		base, step := len(unit(0)), len(unit(1))-len(unit(0))
		count, v := n/base, 0
		if count > maxUnits {
			count = maxUnits
			v = (n/count - base) / step
		}
		u := unit(v)
		for i := 0; i < count && b.Len()+len(u) <= n; i++ {
			b.WriteString(u)
		}
	}
	b.WriteString(strings.Repeat(" ", n-b.Len()))
	return b.String()
}

// randomBase64 returns n characters of standard base64 (n a multiple of
// 4) of random bytes.
func randomBase64(n int) string {
	raw := make([]byte, n/4*3)
	_, _ = rand.Read(raw)
	return base64.StdEncoding.EncodeToString(raw)
}

// countNodes counts what xmlsafe's BytesPerNode counts in an XML text:
// start tags, attributes (one "=" each outside quotes), comments,
// processing instructions and CDATA sections.
func countNodes(s string) int {
	n, inTag := 0, false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '<' && i+1 < len(s) && s[i+1] != '/':
			n++
			inTag = s[i+1] != '!' && s[i+1] != '?'
		case c == '>':
			inTag = false
		case inTag && (c == '"' || c == '\''):
			quote = c
		case inTag && c == '=':
			n++
		}
	}
	return n
}

// nodeBudget is how many more nodes a document of size bytes, which holds
// the nodes of s already, may hold under lim.bytesPerNode.
func nodeBudget(s string, size int, lim docLimits) int {
	return xmlsafe.NodeAllowance + size/lim.bytesPerNode - countNodes(s) - 1
}

// countElements counts the start tags of an XML text.
func countElements(s string) int {
	n := 0
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '<' && s[i+1] != '/' && s[i+1] != '!' && s[i+1] != '?' {
			n++
		}
	}
	return n
}

// rawFor returns the largest raw size whose standard base64 encoding is at
// most encoded bytes.
func rawFor(encoded int) int { return encoded / 4 * 3 }

// cut returns s with the first occurrence of the text between start and
// end (both included) replaced by repl; it panics when they are missing,
// since the generators depend on the shape of the test IdP's output.
func cut(s, start, end, repl string) string {
	i := strings.Index(s, start)
	if i < 0 {
		panic(fmt.Sprintf("%q not found", start))
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		panic(fmt.Sprintf("%q not found after %q", end, start))
	}
	return s[:i] + repl + s[i+j+len(end):]
}

// insertBefore inserts ins before the first occurrence of at in s.
func insertBefore(s, at, ins string) string {
	i := strings.Index(s, at)
	if i < 0 {
		panic(fmt.Sprintf("%q not found", at))
	}
	return s[:i] + ins + s[i:]
}

// textOf returns the text between start and end.
func textOf(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		panic(fmt.Sprintf("%q not found", start))
	}
	i += len(start)
	j := strings.Index(s[i:], end)
	if j < 0 {
		panic(fmt.Sprintf("%q not found", end))
	}
	return s[i : i+j]
}
