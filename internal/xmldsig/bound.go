package xmldsig

import (
	"errors"
	"fmt"

	"github.com/beevik/etree"
)

// Bounds on a signed element, checked in one pass before any
// canonicalization of it.
//
// goxmldsig copies the signed element three times, builds a namespace
// context (a map of every prefix in scope) for each element it
// canonicalizes, sorts each element's attributes with a comparison that
// scans all of them when two prefixed attributes share a local name, writes
// the canonical form (where each element re-declares the prefixes it uses
// that its parent does not) and re-parses it. Unbounded, each of those is
// super-linear in the message. The bounds leave a wide margin over what
// IdPs send: the largest signed elements in this repository's fixtures hold
// 768 elements (an Assertion with 121 attributes, one of them with 500
// values), 6 distinct namespace prefixes, 7 attributes on one element and
// a NamespaceBytes estimate (see MaxNamespaceBytes) of 74,892.
const (
	// MaxSignedElements bounds the elements inside a signed element, itself
	// included.
	MaxSignedElements = 5000
	// MaxNamespacePrefixes bounds the distinct namespace prefixes (the
	// default namespace counting as one) declared on a signed element, its
	// descendants and its ancestors: every prefix that can be in scope
	// anywhere inside it.
	MaxNamespacePrefixes = 32
	// MaxAttributes bounds the attributes other than namespace declarations
	// on any one element inside a signed element.
	MaxAttributes = 32
	// MaxNamespaceBytes bounds an over-estimate of the namespace declarations
	// that exclusive c14n writes for a signed element: the number of
	// prefixed names and namespace declarations in it (each element's own
	// name counting as one even when unprefixed), times the longest
	// declaration. Without it, one long namespace URI used by every element
	// is copied into the canonical form once per element.
	MaxNamespaceBytes = 320 << 10
)

// ErrLimit is wrapped by the errors for a signed element beyond one of the
// bounds above.
var ErrLimit = errors.New("signed element too large")

func limit(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrLimit, fmt.Sprintf(format, args...))
}

// size is what prepare measured of a signed element, as the bounds above
// count it.
type size struct {
	elements, prefixes, attributes, namespaceBytes int
}

// prepare checks el against the bounds above and removes every comment
// inside it, in one pass over the tree. el's inherited namespace
// declarations must already be on it (declareInheritedNamespaces).
//
// Removing comments changes nothing that is signed: exclusive c14n without
// comments, the only one Check accepts, drops them from the digested bytes.
// It spares goxmldsig, which removes them one RemoveChildAt at a time
// (quadratic in the comments under one parent). Text around a comment stays
// split into two CharData tokens here, but the element goxmldsig returns is
// re-parsed from the canonical bytes, where it is one.
//
// Comments inside a ds:Signature, el's own or a nested one, are refused
// instead, as Check refuses them: removing them here would hide them from
// the Check of an inner signature that runs after this outer one.
func prepare(el *etree.Element) (size, error) {
	type frame struct {
		el *etree.Element
		// ds holds the prefixes bound to the XML-DSig namespace in scope
		// ("" for the default namespace), shared with the parent until el
		// changes it; inSig is whether a ds:Signature encloses el.
		ds    []string
		inSig bool
	}
	var (
		sz       size
		prefixes = map[string]bool{}
		uses     int // prefixed names and namespace declarations, over all elements
		longest  int // longest namespace declaration, as c14n writes it
	)
	stack := []frame{{el: el}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if sz.elements++; sz.elements > MaxSignedElements {
			return sz, limit("more than %d elements", MaxSignedElements)
		}
		uses++ // the element's own prefix, or the default namespace
		attrs := 0
		for _, a := range f.el.Attr {
			switch {
			case a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns":
				prefix := a.Key
				if a.Space == "" {
					prefix = ""
				}
				if prefixes[prefix] = true; len(prefixes) > MaxNamespacePrefixes {
					return sz, limit("more than %d namespace prefixes declared in and around it", MaxNamespacePrefixes)
				}
				uses++
				longest = max(longest, len(` xmlns:=""`)+len(prefix)+escapedLen(a.Value))
				f.ds = bindDS(f.ds, prefix, a.Value)
			default:
				if attrs++; attrs > MaxAttributes {
					return sz, limit("%s has more than %d attributes", f.el.FullTag(), MaxAttributes)
				}
				if a.Space != "" {
					uses++
				}
			}
		}
		sz.attributes = max(sz.attributes, attrs)
		sz.prefixes = len(prefixes)
		if f.el.Tag == "Signature" && contains(f.ds, f.el.Space) {
			f.inSig = true
		}
		comments := 0
		for _, tok := range f.el.Child {
			switch t := tok.(type) {
			case *etree.Comment:
				comments++
			case *etree.Element:
				stack = append(stack, frame{el: t, ds: f.ds, inSig: f.inSig})
			}
		}
		if comments > 0 {
			if f.inSig {
				return sz, structural("comment inside Signature")
			}
			stripComments(f.el, comments)
		}
	}
	if sz.namespaceBytes = uses * longest; sz.namespaceBytes > MaxNamespaceBytes {
		return sz, limit("its canonical form could hold %d bytes of namespace declarations, more than %d", sz.namespaceBytes, MaxNamespaceBytes)
	}
	return sz, nil
}

// stripComments removes el's n comment children in one pass.
func stripComments(el *etree.Element, n int) {
	kept := make([]etree.Token, 0, len(el.Child)-n)
	for _, tok := range el.Child {
		if _, ok := tok.(*etree.Comment); !ok {
			kept = append(kept, tok)
		}
	}
	el.Child = kept
	// goxmldsig and etree's Copy rely on each token's own index.
	el.ReindexChildren()
}

// bindDS returns the prefixes bound to the XML-DSig namespace after the
// declaration of prefix as uri, given those bound before (never modified).
func bindDS(ds []string, prefix, uri string) []string {
	switch bound := contains(ds, prefix); {
	case uri == NS && !bound:
		return append(append([]string(nil), ds...), prefix)
	case uri != NS && bound:
		out := make([]string, 0, len(ds)-1)
		for _, p := range ds {
			if p != prefix {
				out = append(out, p)
			}
		}
		return out
	}
	return ds
}

// escapedLen bounds the length of s as an escaped attribute value.
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&', '<', '>', '"', '\'', '\t', '\n', '\r':
			n += len("&quot;") - 1
		}
	}
	return n
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
