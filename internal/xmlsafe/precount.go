package xmlsafe

import "bytes"

// precount refuses, from the raw bytes and before etree builds anything, a
// document with more elements, deeper nesting, more attributes on one
// element or more nodes for its size (BytesPerNode) than limits allow. Building a tree costs a few hundred bytes per
// element and, through append growth in encoding/xml and etree, about 500
// bytes per attribute of one huge element, so 1 MiB of "<a/>" or of
// ` a1=""` would otherwise allocate 60 to 100 MB only to be refused.
//
// It reads markup only: start and end tags, skipping comments, CDATA
// sections, processing instructions and quoted attribute values, where "<",
// ">" and "=" are not markup. On well-formed XML its counts are exact ("<"
// cannot occur in text or in an attribute value, and each attribute has
// exactly one "=" outside quotes). On anything else they may be off, which is
// harmless: precount only ever refuses, the parser refuses malformed input,
// and the walk over the built tree checks every limit again. A DTD or other
// directive stops the count; the parser refuses those.
func precount(data []byte, limits Limits) error {
	elements, depth := 0, 0
	nodes, maxNodes := 0, limits.maxNodes(len(data))
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			return nil
		}
		i += j + 1
		rest := data[i:]
		if rest := rest[:min(len(rest), 1)]; !bytes.Equal(rest, []byte("/")) {
			// A start tag, comment, CDATA section or processing
			// instruction (an end tag is not a node).
			if nodes++; nodes > maxNodes {
				return tooDense(maxNodes, len(data), limits)
			}
		}
		var end []byte // what closes the construct that starts here
		switch {
		case bytes.HasPrefix(rest, []byte("!--")):
			i, end = i+3, []byte("-->")
		case bytes.HasPrefix(rest, []byte("![CDATA[")):
			i, end = i+8, []byte("]]>")
		case bytes.HasPrefix(rest, []byte("?")):
			i, end = i+1, []byte("?>")
		case bytes.HasPrefix(rest, []byte("!")):
			return nil
		case bytes.HasPrefix(rest, []byte("/")):
			depth--
			continue
		default:
			if elements++; elements > limits.MaxElements {
				return invalid("more than %d elements (MaxElements)", limits.MaxElements)
			}
			attrs, empty, next, ok := startTag(data, i, limits.MaxAttributes)
			if !ok {
				return nil
			}
			if attrs > limits.MaxAttributes {
				return invalid("element %q has more than %d attributes (MaxAttributes)", tagName(rest), limits.MaxAttributes)
			}
			if nodes += attrs; nodes > maxNodes {
				return tooDense(maxNodes, len(data), limits)
			}
			if depth+1 > limits.MaxDepth {
				return invalid("elements nest deeper than %d (MaxDepth)", limits.MaxDepth)
			}
			if !empty {
				depth++
			}
			i = next
			continue
		}
		k := bytes.Index(data[i:], end)
		if k < 0 {
			return nil
		}
		i += k + len(end)
	}
}

// startTag reads the start tag whose name begins at data[i] and returns how
// many attributes it has (counting no further than max+1), whether it is an
// empty-element tag ("/>"), and the index just past its ">". ok is false
// when the tag does not end.
func startTag(data []byte, i, max int) (attrs int, empty bool, next int, ok bool) {
	var prev byte
	for i < len(data) {
		c := data[i]
		i++
		switch c {
		case '>':
			return attrs, prev == '/', i, true
		case '"', '\'':
			q := bytes.IndexByte(data[i:], c)
			if q < 0 {
				return attrs, false, 0, false
			}
			i += q + 1
		case '=':
			if attrs++; attrs > max {
				return attrs, false, i, true
			}
		}
		prev = c
	}
	return attrs, false, 0, false
}

// tagName returns the element name at the start of b, for messages.
func tagName(b []byte) string {
	end := bytes.IndexAny(b, " \t\r\n/>")
	if end < 0 || end > 100 {
		end = min(len(b), 100)
	}
	return string(b[:end])
}

func tooDense(maxNodes, size int, limits Limits) error {
	return invalid("more than %d elements, attributes and comments in %d bytes (one per %d bytes: BytesPerNode)", maxNodes, size, limits.BytesPerNode)
}
