package xmlsafe

// Limits bounds the work a single document may cost. Every check Parse runs
// is linear in the document's size; the limits also bound what later readers
// pay, some of which (canonicalization, etree's namespace lookups) cost more
// than linear in these measures. A zero or negative field means the value
// in DefaultLimits, never "unlimited".
type Limits struct {
	// MaxDepth bounds element nesting; the root is depth 1. Readers that
	// recurse (canonicalization, etree's NamespaceURI walking up to the
	// root) pay it per element.
	MaxDepth int
	// MaxElements bounds the number of elements in the whole document. It is
	// checked by a scan of the raw bytes before the tree is built, so a
	// document of many tiny elements is refused without allocating them.
	MaxElements int
	// MaxAttributes bounds the attributes on one element, namespace
	// declarations included. Readers look attributes up by a linear scan
	// (etree's SelectAttr, every namespace lookup up the ancestors), so a
	// huge attribute list would make each lookup expensive.
	MaxAttributes int
	// MaxNamespaceDeclarations bounds the namespace declarations (xmlns and
	// xmlns:p attributes) on one element. They are all in scope there, so
	// MaxNamespacesInScope bounds them too; this one names the cause.
	MaxNamespaceDeclarations int
	// MaxNamespacesInScope bounds the distinct prefixes bound at any one
	// element by its own and its ancestors' declarations, the default
	// namespace counting as one prefix. Exclusive canonicalization
	// (goxmldsig) copies the in-scope bindings at every element it visits,
	// so signature verification costs about elements times this.
	MaxNamespacesInScope int
	// BytesPerNode bounds how densely a document packs nodes (elements,
	// attributes, namespace declarations included, comments, processing
	// instructions and CDATA sections): at most one per BytesPerNode bytes
	// of input, plus NodeAllowance. Each node costs a fixed amount of
	// memory and time to build and to read, whatever its size, so without
	// this a document of tiny nodes would cost several times a real one of
	// the same size.
	BytesPerNode int
}

// NodeAllowance is how many nodes any document may hold beyond what
// BytesPerNode allows, so that the density rule never bites small
// documents, whose cost is small anyway.
const NodeAllowance = 256

// maxNodes is how many nodes a document of size bytes may hold.
func (l Limits) maxNodes(size int) int { return NodeAllowance + size/l.orDefault().BytesPerNode }

// DefaultLimits bound a SAML message: a Response, a LogoutRequest or
// LogoutResponse, or a decrypted assertion. Each is at least four times the
// largest value of its measure in any real IdP message the project holds
// (TestLimitsCoverRealDocuments checks this): a real Response nests about 8
// deep, a 500-group assertion has about 1,100 elements, and no element
// carries more than 7 attributes or has more than 5 namespaces in scope.
// MaxNamespacesInScope is kept at that margin and no higher: at 50,000
// elements, canonicalization allocates about 50 MB with 5 prefixes in scope,
// 80 MB with up to 20 and 137 MB with 24 to 32. Real messages spend at least
// 44 bytes per node; BytesPerNode allows one per 11.
var DefaultLimits = Limits{
	MaxDepth:                 64,
	MaxElements:              50000,
	MaxAttributes:            64,
	MaxNamespaceDeclarations: 20,
	MaxNamespacesInScope:     20,
	BytesPerNode:             11,
}

// MetadataLimits bound IdP metadata (up to 10 MiB; the library raises
// MaxElements in proportion for a larger document it was told to accept):
// an aggregate holds far more elements than a message (from a dozen to
// about 90 per IdP), and federation aggregates declare more namespaces
// (mdui, mdattr, mdrpi, shibmd, alg, ...) than any message. Only signed
// metadata read with pinned signers is canonicalized, within the bounds of
// xmldsig.MetadataBounds and after the signature over SignedInfo verified.
// Real metadata spends at least 73 bytes per node; BytesPerNode allows one
// per 18.
var MetadataLimits = Limits{
	MaxDepth:                 64,
	MaxElements:              250000,
	MaxAttributes:            64,
	MaxNamespaceDeclarations: 64,
	MaxNamespacesInScope:     64,
	BytesPerNode:             18,
}

// orDefault returns l with every zero or negative field replaced by
// DefaultLimits' value.
func (l Limits) orDefault() Limits {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&l.MaxDepth, DefaultLimits.MaxDepth)
	set(&l.MaxElements, DefaultLimits.MaxElements)
	set(&l.MaxAttributes, DefaultLimits.MaxAttributes)
	set(&l.MaxNamespaceDeclarations, DefaultLimits.MaxNamespaceDeclarations)
	set(&l.MaxNamespacesInScope, DefaultLimits.MaxNamespacesInScope)
	set(&l.BytesPerNode, DefaultLimits.BytesPerNode)
	return l
}
