package xmlsafe

import (
	"fmt"
	"strings"
)

// Documents of a given size for the cost tests and benchmarks: one harmless
// SAML-like Response, and the shapes a hostile sender would pick to make the
// checks expensive. Each generator stops before size bytes.

// harmlessDoc is a Response whose Assertion lists attribute values the way
// Okta writes them (xs and xsi declared on every AttributeValue).
func harmlessDoc(size int) []byte {
	const (
		head = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
			` ID="_r1" Version="2.0" IssueInstant="2025-01-01T00:00:00Z" Destination="https://sp.example.com/saml/acs">` +
			`<saml:Issuer>https://idp.example.org</saml:Issuer>` +
			`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
			`<saml:Assertion ID="_a1" Version="2.0" IssueInstant="2025-01-01T00:00:00Z">` +
			`<saml:Issuer>https://idp.example.org</saml:Issuer>` +
			`<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</saml:NameID></saml:Subject>` +
			`<saml:AttributeStatement>`
		tail = `</saml:AttributeStatement></saml:Assertion></samlp:Response>`
	)
	var b strings.Builder
	b.WriteString(head)
	for i := 0; ; i++ {
		item := fmt.Sprintf(`<saml:Attribute Name="groups" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">`+
			`<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`+
			` xsi:type="xs:string">group-%06d</saml:AttributeValue></saml:Attribute>`, i)
		if b.Len()+len(item)+len(tail) > size {
			break
		}
		b.WriteString(item)
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// fill writes open, then item(i) for i = 0, 1, ... while the whole still
// fits in size, then close.
func fill(size int, open, close string, item func(i int) string) []byte {
	var b strings.Builder
	b.WriteString(open)
	for i := 0; ; i++ {
		s := item(i)
		if b.Len()+len(s)+len(close) > size {
			break
		}
		b.WriteString(s)
	}
	b.WriteString(close)
	return []byte(b.String())
}

// manyAttrsDoc is one element with as many distinct attributes as fit.
func manyAttrsDoc(size int) []byte {
	return fill(size, "<a", "/>", func(i int) string { return fmt.Sprintf(` a%d=""`, i) })
}

// manyPrefixedAttrsDoc is one element declaring a prefix and using it on as
// many attributes as fit (each prefix lookup used to scan every attribute).
func manyPrefixedAttrsDoc(size int) []byte {
	return fill(size, `<p:a xmlns:p="urn:p"`, "/>", func(i int) string { return fmt.Sprintf(` p:a%d=""`, i) })
}

// manyDeclsDoc is one element declaring as many prefixes as fit.
func manyDeclsDoc(size int) []byte {
	return fill(size, "<a", "/>", func(i int) string { return fmt.Sprintf(` xmlns:p%d="urn:%d"`, i, i) })
}

// spreadDeclsDoc declares perLevel prefixes on each of depth nested
// elements, then fills the innermost with elements that use the outermost
// prefix, so that every lookup must see past every declaration in scope.
func spreadDeclsDoc(size, depth, perLevel int) []byte {
	var open, close strings.Builder
	n := 0
	for d := 0; d < depth; d++ {
		open.WriteString("<p0:e")
		for k := 0; k < perLevel; k++ {
			fmt.Fprintf(&open, ` xmlns:p%d="urn:%d"`, n, n)
			n++
		}
		open.WriteString(">")
		close.WriteString("</p0:e>")
	}
	return fill(size, open.String(), close.String(), func(int) string { return `<p0:x p0:y=""/>` })
}

// deepDoc repeats, inside a root, chains that reach depth counting the root.
func deepDoc(size, depth int) []byte {
	chain := strings.Repeat("<a>", depth-2) + "<a/>" + strings.Repeat("</a>", depth-2)
	return fill(size, "<r>", "</r>", func(int) string { return chain })
}

// tinyElementsDoc is as many empty elements as fit.
func tinyElementsDoc(size int) []byte {
	return fill(size, "<r>", "</r>", func(int) string { return "<a/>" })
}

// wideElementsDoc is elements that each carry n attributes, as many as fit:
// the most attribute work the walk accepts per byte.
func wideElementsDoc(size, n int) []byte {
	var el strings.Builder
	el.WriteString("<a")
	for i := range n {
		fmt.Fprintf(&el, ` a%d=""`, i)
	}
	el.WriteString("/>")
	return fill(size, "<r>", "</r>", func(int) string { return el.String() })
}

// inScopeDoc declares n prefixes on the root and fills it with up to
// elements elements that use the last one, on the element and on an
// attribute, then text up to size.
func inScopeDoc(size, n, elements int) []byte {
	var open strings.Builder
	open.WriteString("<r")
	for i := range n {
		fmt.Fprintf(&open, ` xmlns:p%d="urn:%d"`, i, i)
	}
	open.WriteString(">")
	el := fmt.Sprintf(`<p%d:x p%d:y=""/>`, n-1, n-1)
	return fill(size, open.String(), "</r>", func(i int) string { return pad(i, elements, el) })
}

// elementsAtLimitDoc is n empty elements, then text up to size: the most
// elements the walk accepts, in a document of the given size.
func elementsAtLimitDoc(size, n int) []byte {
	return fill(size, "<r>", "</r>", func(i int) string { return pad(i, n, "<a/>") })
}

// pad returns item for the first n items of a fill, then text.
func pad(i, n int, item string) string {
	if i < n {
		return item
	}
	return "x"
}
