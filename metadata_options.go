package saml2sp

import (
	"crypto/x509"
	"fmt"
)

// MetadataOption changes how metadata is fetched, verified or read. The
// functions that read metadata (FetchMetadata, FetchMetadataEntity,
// ParseMetadata, ParseMetadataEntity, ParseMetadataEntities) take them;
// the Parse functions ignore the options about fetching.
type MetadataOption func(*mdOptions)

// FetchMetadataOption is the former name of MetadataOption.
//
// Deprecated: use MetadataOption.
type FetchMetadataOption = MetadataOption

type mdOptions struct {
	insecureHTTP bool
	maxSize      int // 0: MaxMetadataSize
	signers      []*x509.Certificate
	// maxSizeErr is a MetadataMaxSize that is not positive: every read
	// fails with it rather than quietly using the default.
	maxSizeErr error
}

func mdOptionsOf(opts []MetadataOption) mdOptions {
	var o mdOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// check refuses options that cannot be honored.
func (o mdOptions) check() error {
	if o.maxSizeErr != nil {
		return o.maxSizeErr
	}
	for i, c := range o.signers {
		if c == nil {
			return fmt.Errorf("MetadataSigners: certificate %d is nil", i)
		}
	}
	return nil
}

func (o mdOptions) maxSizeOrDefault() int {
	if o.maxSize > 0 {
		return o.maxSize
	}
	return MaxMetadataSize
}

// InsecureAllowHTTP lets FetchMetadata fetch plain http URLs on any host,
// and follow redirects to them (never from https). Anyone on the network
// path can then swap in their own signing key and sign in as any user:
// only for an IdP on a network the app fully trusts, never over the
// internet. http on localhost and loopback addresses needs no option, and
// neither does a document verified with MetadataSigners, whose trust does
// not rest on the transport.
func InsecureAllowHTTP() MetadataOption {
	return func(o *mdOptions) { o.insecureHTTP = true }
}

// MetadataMaxSize sets the largest document accepted, in bytes, instead
// of MaxMetadataSize (10 MiB): for a federation's aggregate, which lists
// thousands of entities (one IdP entity of a research federation takes
// about 4.5 KB, so 10,000 take 45 MB). The parse limits on elements grow
// in proportion; the other limits of the hardened parser stay. Reading an
// unsigned aggregate takes little memory beyond the document and the IdPs
// it returns (it is read one entity at a time), but verifying a signed one
// (MetadataSigners) holds it as several trees at once: about 16 times its
// size at the peak (see MetadataSigners). n must be positive.
func MetadataMaxSize(n int) MetadataOption {
	return func(o *mdOptions) {
		if n <= 0 {
			o.maxSizeErr = fmt.Errorf("MetadataMaxSize(%d): the size must be positive", n)
			return
		}
		o.maxSize = n
	}
}

// MetadataSigners requires the document to be signed by one of certs, as
// federations sign their aggregates and as the SAML metadata
// interoperability profile describes: one enveloped XML signature on the
// document element (an md:EntitiesDescriptor or md:EntityDescriptor), a
// direct child of it that references its ID, RSA or ECDSA with SHA-256 or
// stronger, exclusive canonicalization. The certificates are pinned: they
// are the only keys tried, their dates are not checked (as for the IdP's
// keys), and a certificate inside the document's KeyInfo is never used.
// An unsigned document, one signed by another key, or one whose signed
// content changed is refused, and the entities are read from the element
// the signature check returned, so nothing outside the signed element (an
// entity added next to it, a second document element) is ever read. List
// two certificates while the federation rolls its signing key over.
//
// The signature makes the transport irrelevant to trust, so plain http is
// fetched too (many federations publish over http). It does not make the
// document fresh: whoever can serve the URL can serve an older signed
// copy until its validUntil passes, which is why federations keep
// validUntil short (days).
//
// Verifying holds the document as a tree and canonicalizes copies of it:
// for a 23 MB aggregate of 5,000 IdPs, about 350 MB of heap at the peak
// above the document itself, 700 MB allocated in all and two seconds of
// CPU, once per fetch (BenchmarkFederationAggregateSigned in the bench
// module); an unsigned read of the same document takes a tenth of that.
// The limits of the signed element are those of xmldsig.MetadataBounds,
// sized by MetadataMaxSize, never the tighter ones of SAML messages.
func MetadataSigners(certs ...*x509.Certificate) MetadataOption {
	return func(o *mdOptions) { o.signers = append(o.signers, certs...) }
}

// mdSizeText writes a size limit as "10 MiB" when it is a whole number of
// MiB, else in bytes.
func mdSizeText(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d-byte", n)
}
