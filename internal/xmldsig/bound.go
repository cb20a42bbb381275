package xmldsig

import (
	"errors"
	"fmt"
	"math/bits"

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
// IdPs send: the largest signed elements of this repository's fixtures
// (TestRealSignatures) hold 765 elements once KeyInfo is removed (an
// Assertion with 121 attributes, one of them with 500 values), 6 distinct
// namespace prefixes, 6 attributes on one element and 540 bytes by the
// MaxNamespaceBytes estimate.
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
	// that exclusive c14n copies into the canonical form of a signed element
	// from ancestors: on each element, the prefixes its name and attributes
	// use that neither it declares nor its parent uses, times the longest
	// declaration (plus every declaration on the signed element itself).
	// Without it, one long namespace URI used by thousands of sibling
	// elements is written out once for each. The bound lets every one of
	// MaxSignedElements elements copy a 64-byte declaration (an IdP that
	// declares xsi once and writes xsi:type on each value does that).
	MaxNamespaceBytes = MaxSignedElements * 64
)

// Bounds are the limits prepare checks a signed element against, so that
// a signed element of another kind than a message (SAML metadata) can get
// limits of its own without loosening the message ones.
type Bounds struct {
	// Elements bounds the elements inside the signed element, itself
	// included (MaxSignedElements).
	Elements int
	// NamespacePrefixes bounds the distinct prefixes declared in and
	// around it (MaxNamespacePrefixes); at most 64.
	NamespacePrefixes int
	// Attributes bounds the attributes of one element (MaxAttributes).
	Attributes int
	// NamespaceBytes bounds the copied namespace declarations
	// (MaxNamespaceBytes).
	NamespaceBytes int
}

// MessageBounds are the bounds Verify applies: the constants above, sized
// for SAML messages.
var MessageBounds = Bounds{
	Elements:          MaxSignedElements,
	NamespacePrefixes: MaxNamespacePrefixes,
	Attributes:        MaxAttributes,
	NamespaceBytes:    MaxNamespaceBytes,
}

// MetadataBounds returns the bounds for a signed SAML metadata document of
// at most size bytes that the hardened parser read with at least
// bytesPerNode bytes per node (xmlsafe.Limits.BytesPerNode): a federation
// aggregate holds hundreds of thousands of elements and declares the
// namespaces of its extensions (mdui, mdrpi, mdattr, shibmd, ...).
//
//   - Elements: as many as the parser can have let through, one per
//     bytesPerNode bytes plus xmlsafe's allowance; the size is the bound.
//   - NamespacePrefixes: 64, the most the walk can count, against 8 to 12
//     in real aggregates (whose aggregators declare them once, on the
//     document element).
//   - Attributes: 64, xmlsafe.MetadataLimits' MaxAttributes.
//   - NamespaceBytes: 64 per element, as for messages.
//
// Canonicalization costs about elements times prefixes in scope, so the
// size the caller allows is what bounds the work; it only runs once the
// signature over SignedInfo verified with a pinned key.
func MetadataBounds(size, bytesPerNode int) Bounds {
	elements := 256 + size/max(bytesPerNode, 1)
	return Bounds{Elements: elements, NamespacePrefixes: 64, Attributes: 64, NamespaceBytes: elements * 64}
}

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
func prepare(el *etree.Element, b Bounds) (size, error) {
	const _ uint = 64 - MaxNamespacePrefixes // prefix sets fit in a uint64
	if b.NamespacePrefixes > 64 {
		return size{}, fmt.Errorf("xmldsig: Bounds.NamespacePrefixes %d exceeds 64", b.NamespacePrefixes)
	}
	// Prefixes are numbered in the order they are first declared, so that
	// sets of them are bit masks.
	type frame struct {
		el *etree.Element
		// ds is the set of prefixes bound to the XML-DSig namespace in
		// scope; used, the prefixes the parent's name and attributes use
		// (exclusive c14n has rendered those in the parent's scope).
		ds, used uint64
		// inSig is whether a ds:Signature encloses el.
		inSig bool
	}
	var (
		sz          size
		prefixes    = map[string]int{}
		redeclared  int // prefixes an element uses without declaring them
		longest     int // longest namespace declaration, as c14n writes it
		stack       = []frame{{el: el}}
		first       = true
		bitOf       = func(p string) uint64 { return 1 << prefixes[p] }
		isDeclared  = func(p string) bool { _, ok := prefixes[p]; return ok }
		declaration = func(a etree.Attr) (string, bool) {
			switch {
			case a.Space == "xmlns":
				return a.Key, true
			case a.Space == "" && a.Key == "xmlns":
				return "", true
			}
			return "", false
		}
	)
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if sz.elements++; sz.elements > b.Elements {
			return sz, limit("more than %d elements", b.Elements)
		}
		var declared, used uint64
		attrs := 0
		for _, a := range f.el.Attr {
			prefix, isDecl := declaration(a)
			if !isDecl {
				if attrs++; attrs > b.Attributes {
					return sz, limit("%s has more than %d attributes", f.el.FullTag(), b.Attributes)
				}
				continue
			}
			if !isDeclared(prefix) {
				if len(prefixes) == b.NamespacePrefixes {
					return sz, limit("more than %d namespace prefixes declared in and around it", b.NamespacePrefixes)
				}
				prefixes[prefix] = len(prefixes)
			}
			declared |= bitOf(prefix)
			longest = max(longest, len(` xmlns:=""`)+len(prefix)+escapedLen(a.Value))
			if a.Value == NS {
				f.ds |= bitOf(prefix)
			} else {
				f.ds &^= bitOf(prefix)
			}
		}
		// Prefixes that are declared nowhere here (xml, or the default
		// namespace when nothing sets it) are never written by c14n.
		if isDeclared(f.el.Space) {
			used |= bitOf(f.el.Space)
		}
		for _, a := range f.el.Attr {
			if _, isDecl := declaration(a); !isDecl && a.Space != "" && isDeclared(a.Space) {
				used |= bitOf(a.Space)
			}
		}
		// Exclusive c14n writes a declaration on an element for each prefix
		// it uses that is not rendered in its parent's scope. A prefix the
		// element declares itself costs no more than the input did, and one
		// its parent uses is rendered there already; the rest are copies of
		// ancestors' declarations. The signed element itself may write every
		// declaration it carries (declareInheritedNamespaces added some).
		if first {
			redeclared += bits.OnesCount64(used | declared)
			first = false
		} else {
			redeclared += bits.OnesCount64(used &^ declared &^ f.used)
		}
		sz.attributes = max(sz.attributes, attrs)
		sz.prefixes = len(prefixes)
		if f.el.Tag == "Signature" && isDeclared(f.el.Space) && f.ds&bitOf(f.el.Space) != 0 {
			f.inSig = true
		}
		comments := 0
		for _, tok := range f.el.Child {
			switch t := tok.(type) {
			case *etree.Comment:
				comments++
			case *etree.Element:
				stack = append(stack, frame{el: t, ds: f.ds, used: used, inSig: f.inSig})
			}
		}
		if comments > 0 {
			if f.inSig {
				return sz, structural("comment inside Signature")
			}
			stripComments(f.el, comments)
		}
	}
	if sz.namespaceBytes = redeclared * longest; sz.namespaceBytes > b.NamespaceBytes {
		return sz, limit("its canonical form could repeat %d bytes of namespace declarations, more than %d", sz.namespaceBytes, b.NamespaceBytes)
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
