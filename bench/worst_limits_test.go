package bench

import (
	"net/http"
	"reflect"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/internal/xmlenc"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// The worst-case generators (worst_*_test.go) make the most expensive input
// the library's limits allow. They read each limit from the code where it
// exists, so that the suite follows the limits when they change. The ones
// below do not exist in the library yet (issue 9 adds them); each is one
// constant to point at the real limit once it lands. Until then the
// library does not enforce them, and the generators stay under them anyway.
const (
	// pendingMaxAttributes: xmlsafe.Limits.MaxAttributes (attributes on one
	// element, namespace declarations included). Read from
	// xmlsafe.DefaultLimits by name when the field exists.
	pendingMaxAttributes = 64
	// pendingMaxNamespaceDeclarations: xmlsafe.Limits.MaxNamespaceDeclarations
	// (xmlns attributes on one element); read by name when it exists.
	pendingMaxNamespaceDeclarations = 32
	// pendingMaxNamespacesInScope: xmlsafe.Limits.MaxNamespacesInScope
	// (distinct prefixes bound at one element); read by name when it exists.
	pendingMaxNamespacesInScope = 32
	// pendingMaxSignedElements: the cap internal/xmldsig puts on the
	// elements inside a signed element. Zero means no cap of its own: the
	// document's MaxElements bounds them.
	pendingMaxSignedElements = 0

	// pendingMetadata*: the limits of a metadata parse, today
	// mdLimits() in metadata.go (depth and elements only), later
	// xmlsafe.MetadataLimits.
	pendingMetadataMaxDepth                 = 64
	pendingMetadataMaxElements              = 250000
	pendingMetadataMaxAttributes            = 64
	pendingMetadataMaxNamespaceDeclarations = 64
	pendingMetadataMaxNamespacesInScope     = 64

	// formOverhead mirrors the unexported formOverhead (handler_state.go)
	// and sloPostOverhead (slo.go): a POST body may be this much larger
	// than MaxResponseSize, and an HTTP-Redirect query too.
	formOverhead = 64 << 10
	// maxHeaderBytes is what a default net/http server reads of a request
	// line and headers (http.Server.MaxHeaderBytes zero means
	// http.DefaultMaxHeaderBytes, with 4 KiB of slack): it bounds the
	// HTTP-Redirect query and the Cookie header of a login start before
	// any handler runs. The generators keep 8 KiB below it for the
	// request line and the other headers.
	maxHeaderBytes = http.DefaultMaxHeaderBytes - 8<<10
)

// docLimits are the limits one parsed document must stay within.
type docLimits struct {
	maxDepth, maxElements                  int
	maxAttributes, maxNSDecl, maxNSInScope int
	maxSignedElements                      int // 0: none of its own
}

// worstLimits are the limits the generators follow.
type worstLimits struct {
	// maxEncoded bounds the base64 SAMLResponse or SAMLRequest form value
	// (saml2sp.DefaultMaxResponseSize; the SP uses the default).
	maxEncoded int
	msg        docLimits // a SAML message (xmlsafe.DefaultLimits)
	metadata   docLimits // a metadata document
	// maxMetadata is saml2sp.MaxMetadataSize.
	maxMetadata int
	// maxEncryptedKeys is xmlenc.MaxEncryptedKeys.
	maxEncryptedKeys int
	// maxInflated bounds an inflated HTTP-Redirect message (redirect.MaxInflated).
	maxInflated int
	// maxQuery bounds an HTTP-Redirect query: the SP's own bound
	// (MaxResponseSize plus the overhead) or the server's header limit,
	// whichever is smaller.
	maxQuery int
}

func currentLimits() worstLimits {
	d := xmlsafe.DefaultLimits
	return worstLimits{
		maxEncoded: saml2sp.DefaultMaxResponseSize,
		msg: docLimits{
			maxDepth:          d.MaxDepth,
			maxElements:       d.MaxElements,
			maxAttributes:     limitField(d, "MaxAttributes", pendingMaxAttributes),
			maxNSDecl:         limitField(d, "MaxNamespaceDeclarations", pendingMaxNamespaceDeclarations),
			maxNSInScope:      limitField(d, "MaxNamespacesInScope", pendingMaxNamespacesInScope),
			maxSignedElements: pendingMaxSignedElements,
		},
		metadata: docLimits{
			maxDepth:      pendingMetadataMaxDepth,
			maxElements:   pendingMetadataMaxElements,
			maxAttributes: pendingMetadataMaxAttributes,
			maxNSDecl:     pendingMetadataMaxNamespaceDeclarations,
			maxNSInScope:  pendingMetadataMaxNamespacesInScope,
		},
		maxMetadata:      saml2sp.MaxMetadataSize,
		maxEncryptedKeys: xmlenc.MaxEncryptedKeys,
		maxInflated:      redirect.MaxInflated,
		maxQuery:         min(saml2sp.DefaultMaxResponseSize+formOverhead, maxHeaderBytes),
	}
}

// limitField returns the int field name of l when xmlsafe.Limits has it,
// else pending: the generators pick up a new limit without a code change.
func limitField(l xmlsafe.Limits, name string, pending int) int {
	f := reflect.ValueOf(l).FieldByName(name)
	if f.IsValid() && f.CanInt() && f.Int() > 0 {
		return int(f.Int())
	}
	return pending
}
