package bench

import (
	"net/http"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/internal/xmlenc"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// The worst-case generators (worst_*_test.go) make the most expensive input
// the library's limits allow. They read each limit from the code, so that
// the suite follows the limits when they change.
const (
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
	bytesPerNode                           int
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
	d, md := xmlsafe.DefaultLimits, xmlsafe.MetadataLimits
	return worstLimits{
		maxEncoded: saml2sp.DefaultMaxResponseSize,
		// The padding goes inside the signed element, where
		// internal/xmldsig's caps apply on top of the parser's.
		msg: docLimits{
			maxDepth:          d.MaxDepth,
			maxElements:       d.MaxElements,
			maxAttributes:     min(d.MaxAttributes, xmldsig.MaxAttributes),
			maxNSDecl:         d.MaxNamespaceDeclarations,
			maxNSInScope:      min(d.MaxNamespacesInScope, xmldsig.MaxNamespacePrefixes),
			maxSignedElements: xmldsig.MaxSignedElements,
			bytesPerNode:      d.BytesPerNode,
		},
		metadata: docLimits{
			maxDepth:      md.MaxDepth,
			maxElements:   md.MaxElements,
			maxAttributes: md.MaxAttributes,
			maxNSDecl:     md.MaxNamespaceDeclarations,
			maxNSInScope:  md.MaxNamespacesInScope,
			bytesPerNode:  md.BytesPerNode,
		},
		maxMetadata:      saml2sp.MaxMetadataSize,
		maxEncryptedKeys: xmlenc.MaxEncryptedKeys,
		// An HTTP-Redirect message inflates to at most MaxResponseSize.
		maxInflated: saml2sp.DefaultMaxResponseSize,
		maxQuery:    min(saml2sp.DefaultMaxResponseSize+formOverhead, maxHeaderBytes),
	}
}
