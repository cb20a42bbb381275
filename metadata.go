package saml2sp

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// SAML bindings this library speaks.
const (
	BindingHTTPPost     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	BindingHTTPRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
)

// Endpoint is one service location of an IdP, as listed in its metadata.
type Endpoint struct {
	// Binding is the SAML binding URI. This library uses BindingHTTPRedirect
	// and BindingHTTPPost; metadata may list others (SOAP, HTTP-Artifact).
	Binding string
	// Location is the endpoint's URL: an absolute http or https URL.
	Location string
	// ResponseLocation is where LogoutResponses go, when it differs from
	// Location (SingleLogoutService only).
	ResponseLocation string
}

// IdentityProvider is everything the SP needs to trust one IdP. Build it with
// ParseMetadata, FetchMetadata, IdentityProviderConfig, or as a struct
// literal; New checks it.
type IdentityProvider struct {
	// EntityID is the IdP's entity ID; Issuer elements must equal it.
	EntityID string
	// SingleSignOnServices lists the SSO endpoints by binding.
	SingleSignOnServices []Endpoint
	// SingleLogoutServices lists the SLO endpoints by binding.
	SingleLogoutServices []Endpoint
	// Certificates holds every signing certificate; any of them may sign.
	// These are the only keys ever trusted: certificates inside messages are
	// ignored.
	Certificates []*x509.Certificate
	// NameIDFormats the IdP says it supports.
	NameIDFormats []string
	// WantAuthnRequestsSigned is the IdP's request for signed AuthnRequests.
	WantAuthnRequestsSigned bool
	// ValidUntil is the metadata's expiry (zero: none given). The SP refuses
	// Responses once it has passed.
	ValidUntil time.Time
	// CacheDuration is how long the metadata may be cached (zero: not given).
	CacheDuration time.Duration

	// source is the document a MetadataCache or a MetadataRefresher read
	// this IdP from (nil otherwise), so that every SP built with it, one
	// per request or not, can have that document fetched again when a
	// message is signed with a key it does not list (keyMiss). Copies of
	// the struct share it.
	source *mdDoc
}

// keyMiss reports that a message verified with none of idp's
// certificates because it was signed with another key: when idp came from
// a MetadataCache or a MetadataRefresher, its metadata is fetched again in
// the background, rate-limited, in case the IdP rolled its key over. The
// message itself stays refused.
func (idp *IdentityProvider) keyMiss() {
	if idp != nil && idp.source != nil {
		idp.source.keyMiss()
	}
}

// endpoint returns the first endpoint with the binding, or nil.
func endpoint(list []Endpoint, binding string) *Endpoint {
	for i := range list {
		if list[i].Binding == binding {
			return &list[i]
		}
	}
	return nil
}

// SingleSignOnService returns the IdP's SSO endpoint for binding, or nil.
func (idp *IdentityProvider) SingleSignOnService(binding string) *Endpoint {
	return endpoint(idp.SingleSignOnServices, binding)
}

// SingleLogoutService returns the IdP's SLO endpoint for binding, or nil.
func (idp *IdentityProvider) SingleLogoutService(binding string) *Endpoint {
	return endpoint(idp.SingleLogoutServices, binding)
}

// MaxMetadataSize is the largest metadata document ParseMetadata,
// ParseMetadataEntity, ParseMetadataEntities and FetchMetadata accept by
// default, in bytes (10 MiB): far more than one IdP's metadata (15 KB at
// most in the fixtures) and the aggregates of small federations. Larger
// input is an error, never silently truncated; MetadataMaxSize raises the
// bound for a federation's aggregate.
const MaxMetadataSize = 10 << 20

// Names read from and written to metadata.
const (
	mdNamespace     = "urn:oasis:names:tc:SAML:2.0:metadata"
	mdDSNamespace   = "http://www.w3.org/2000/09/xmldsig#"
	mdSAML2Protocol = "urn:oasis:names:tc:SAML:2.0:protocol"
	// mdMaxEntityIDLength is the limit SAML core 8.3.6 sets on entity IDs.
	mdMaxEntityIDLength = 1024
)

// mdLimits bounds the parse of a metadata document of at most maxSize
// bytes: xmlsafe.MetadataLimits, which allow the elements of an aggregate
// (about 25 per IdP) and the namespaces of a federation, with MaxElements
// raised in proportion for a larger maxSize (MetadataMaxSize), so that an
// aggregate may hold as many elements per byte as a 10 MiB one. The size
// bounds the rest.
func mdLimits(maxSize int) xmlsafe.Limits {
	l := xmlsafe.MetadataLimits
	if maxSize > MaxMetadataSize {
		l.MaxElements = int(int64(l.MaxElements) * int64(maxSize) / MaxMetadataSize)
	}
	return l
}

// ParseMetadata reads the SAML 2.0 metadata of one identity provider: an
// md:EntityDescriptor, or an md:EntitiesDescriptor in which exactly one
// entity has an md:IDPSSODescriptor (entities without one, such as service
// providers in a federation aggregate, are skipped). When an aggregate lists
// several IdPs, the error says so; use ParseMetadataEntity to choose one.
//
// The document is parsed with the library's hardened XML parser (no DTDs,
// no processing instructions, UTF-8 only, bounded depth and size), one
// entity at a time: only the entities' IdP roles are kept while it is read,
// so an aggregate costs about its own size in memory, not a tree of it.
// The IdP is refused unless its IDPSSODescriptor supports the SAML 2.0
// protocol, has a SingleSignOnService with the HTTP-Redirect or HTTP-POST
// binding, and publishes at least one signing certificate (a KeyDescriptor
// with use="signing" or without use; encryption keys are never trusted for
// signatures). Every endpoint Location and ResponseLocation in the
// IDPSSODescriptor must be an absolute http or https URL without user
// information: one javascript:, data:, file: or relative URL rejects the whole
// document rather than just dropping the endpoint. Endpoints of every binding
// are returned. Metadata whose
// validUntil has passed is refused; the earliest validUntil and the shortest
// cacheDuration of the enclosing EntitiesDescriptors, the EntityDescriptor and
// the IDPSSODescriptor are returned in ValidUntil and CacheDuration.
//
// Without the MetadataSigners option a ds:Signature on the metadata is
// ignored, not verified: the trust in the returned certificates comes from
// how the administrator obtained the document (an https URL of the IdP, a
// file downloaded from its admin console). Metadata from a third party,
// such as a federation aggregate, should be read with MetadataSigners and
// the federation's signing certificate. The documents may be at most
// MaxMetadataSize bytes unless MetadataMaxSize says otherwise; fetch options
// (InsecureAllowHTTP) are ignored.
//
// Errors wrap ErrMetadata.
func ParseMetadata(data []byte, opts ...MetadataOption) (*IdentityProvider, error) {
	now := time.Now()
	idp, err := mdParseSingle(mdReader(data, mdOptionsOf(opts), now), now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
	}
	return idp, nil
}

// ParseMetadataEntity reads the identity provider whose entityID equals
// entityID (exactly) from an md:EntityDescriptor or from an
// md:EntitiesDescriptor, which may nest further EntitiesDescriptors. It
// applies the same checks as ParseMetadata, to that entity only: other
// entities in the document are not examined beyond the XML rules (and the
// signature, with MetadataSigners). An entityID that appears more than
// once is an error.
func ParseMetadataEntity(data []byte, entityID string, opts ...MetadataOption) (*IdentityProvider, error) {
	now := time.Now()
	idp, err := mdParseEntity(mdReader(data, mdOptionsOf(opts), now), entityID, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
	}
	return idp, nil
}

// ParseMetadataEntities reads every identity provider in an md:EntityDescriptor
// or md:EntitiesDescriptor, in document order, skipping entities without an
// md:IDPSSODescriptor. Each IdP gets the checks of ParseMetadata, and the call
// fails as a whole, naming the entity, if one of them is unusable or if two
// entities share an entityID: a partial list would silently drop an IdP.
// (MetadataCache, which looks entities up one at a time, keeps the error
// of an unusable entity to itself instead.) Each IdentityProvider holds
// only its own strings and certificates: about 3.8 KB for an IdP with one
// RSA-2048 certificate and four endpoints (bench: BenchmarkFederationAggregate,
// where 10,000 IdPs in 45 MB take half the CPU of crewjam/saml's
// xml.Unmarshal of the same aggregate).
func ParseMetadataEntities(data []byte, opts ...MetadataOption) ([]*IdentityProvider, error) {
	now := time.Now()
	idps, err := mdParseAll(mdReader(data, mdOptionsOf(opts), now), now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
	}
	return idps, nil
}

// mdEntity is one EntityDescriptor with the validity inherited from the
// EntitiesDescriptors around it. Read from a stream, el holds only what
// identityProvider and the error messages read (see mdStream).
type mdEntity struct {
	el       *etree.Element
	validity mdValidity
}

func (e mdEntity) entityID() string { return strings.TrimSpace(attrValue(e.el, "entityID")) }

func (e mdEntity) isIdP() bool { return mdHasChild(e.el, "IDPSSODescriptor") }

// mdValidity is the earliest validUntil and shortest cacheDuration seen on
// the way from the document element down to an element.
type mdValidity struct {
	until time.Time
	cache time.Duration
	set   bool // cache was given
}

// narrow applies el's validUntil and cacheDuration to v. A validUntil that
// has already passed is an error naming the date.
func (v mdValidity) narrow(el *etree.Element, now time.Time) (mdValidity, error) {
	if raw, ok := attr(el, "validUntil"); ok {
		t, err := mdParseDateTime(raw)
		if err != nil {
			return v, fmt.Errorf("%s validUntil %s: %w", el.Tag, mdQuote(raw), err)
		}
		if !t.After(now) {
			return v, fmt.Errorf("%s validUntil %s has passed (it is now %s): the metadata expired, get a fresh copy from the IdP",
				el.Tag, t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		if v.until.IsZero() || t.Before(v.until) {
			v.until = t
		}
	}
	if raw, ok := attr(el, "cacheDuration"); ok {
		d, err := mdParseDuration(raw)
		if err != nil {
			return v, fmt.Errorf("%s cacheDuration %s: %w", el.Tag, mdQuote(raw), err)
		}
		if !v.set || d < v.cache {
			v.cache, v.set = d, true
		}
	}
	return v, nil
}

// narrowGroup is narrow for an EntitiesDescriptor, whose Name, when it has
// one, the error names.
func (v mdValidity) narrowGroup(el *etree.Element, now time.Time) (mdValidity, error) {
	v, err := v.narrow(el, now)
	if err != nil {
		if name := attrValue(el, "Name"); name != "" {
			err = fmt.Errorf("EntitiesDescriptor %s: %w", mdQuote(name), err)
		}
		return v, err
	}
	return v, nil
}

// mdEntities reads data and hands visit each EntityDescriptor in it, in
// document order: from a Stream when the document is not to be verified,
// else from the element its signature check returned (mdSigned). An error
// from visit ends the read. What visit saw counts only once mdEntities
// returned nil: the rest of the document may still be refused.
func mdEntities(data []byte, o mdOptions, now time.Time, visit func(mdEntity) error) error {
	if err := o.check(); err != nil {
		return err
	}
	maxSize := o.maxSizeOrDefault()
	if len(data) > maxSize {
		return fmt.Errorf("document is %d bytes, more than the %s limit", len(data), mdSizeText(maxSize))
	}
	// A UTF-8 byte order mark changes nothing about how the document reads,
	// and some IdPs serve metadata with one; xmlsafe refuses it in messages.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(o.signers) > 0 {
		return mdSignedEntities(data, o, now, visit)
	}
	return mdStream(data, mdLimits(maxSize), now, visit)
}

// mdRead hands a visitor the entities of a document: mdReader's, or, in
// tests, another reading of the same document.
type mdRead func(visit func(mdEntity) error) error

// mdReader reads data with mdEntities.
func mdReader(data []byte, o mdOptions, now time.Time) mdRead {
	return func(visit func(mdEntity) error) error { return mdEntities(data, o, now, visit) }
}

// mdCheckRoot refuses a document element other than md:EntityDescriptor
// and md:EntitiesDescriptor; ns is its namespace URI.
func mdCheckRoot(root *etree.Element, ns string) error {
	if ns != mdNamespace || root.Tag != "EntityDescriptor" && root.Tag != "EntitiesDescriptor" {
		return fmt.Errorf("document element is <%s> in namespace %s, want md:EntityDescriptor or md:EntitiesDescriptor in %s",
			root.Tag, mdQuote(ns), mdNamespace)
	}
	return nil
}

// mdCollect hands visit the EntityDescriptors at or below el, a tree's
// element: el itself, or the ones inside EntitiesDescriptors. Recursion
// depth is bounded by the parser's MaxDepth.
func mdCollect(el *etree.Element, v mdValidity, now time.Time, visit func(mdEntity) error) error {
	if mdIs(el, "EntityDescriptor") {
		return visit(mdEntity{el: el, validity: v})
	}
	v, err := v.narrowGroup(el, now)
	if err != nil {
		return err
	}
	for _, c := range el.ChildElements() {
		if mdIs(c, "EntityDescriptor") || mdIs(c, "EntitiesDescriptor") {
			if err := mdCollect(c, v, now, visit); err != nil {
				return err
			}
		}
	}
	return nil
}

// mdIdPList collects, for error messages, the number of IdP entities seen
// and the entity IDs of the first few.
type mdIdPList struct {
	n   int
	ids []string
}

// mdListMax is how many entity IDs an error message names.
const mdListMax = 5

func (l *mdIdPList) add(e mdEntity) {
	l.n++
	if len(l.ids) < mdListMax {
		l.ids = append(l.ids, e.entityID())
	}
}

// String names up to five entities.
func (l *mdIdPList) String() string {
	var ids []string
	for _, id := range l.ids {
		ids = append(ids, mdQuote(id))
	}
	if l.n > len(l.ids) {
		ids = append(ids, fmt.Sprintf("and %d more", l.n-len(l.ids)))
	}
	return strings.Join(ids, ", ")
}

func mdParseSingle(read mdRead, now time.Time) (*IdentityProvider, error) {
	var first, only mdEntity
	var idps mdIdPList
	entities := 0
	err := read(func(e mdEntity) error {
		if entities++; entities == 1 {
			only = e
		}
		if e.isIdP() {
			if idps.n == 0 {
				first = e
			}
			idps.add(e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case idps.n == 1:
		return first.identityProvider(now)
	case idps.n > 1:
		return nil, fmt.Errorf("the document lists %d identity providers (%s); use ParseMetadataEntity to choose one by entityID",
			idps.n, &idps)
	case entities == 1:
		return nil, mdNotIdP(only)
	default:
		return nil, fmt.Errorf("none of the %d entities in the document has an IDPSSODescriptor: it describes no identity provider", entities)
	}
}

func mdParseEntity(read mdRead, entityID string, now time.Time) (*IdentityProvider, error) {
	if entityID == "" {
		return nil, errors.New("no entityID given to select")
	}
	var match mdEntity
	var idps mdIdPList
	matches := 0
	err := read(func(e mdEntity) error {
		if e.entityID() == entityID {
			if matches++; matches == 1 {
				match = e
			}
		}
		if e.isIdP() {
			idps.add(e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch matches {
	case 0:
		if idps.n == 0 {
			return nil, fmt.Errorf("no entity %s in the document, which lists no identity provider", mdQuote(entityID))
		}
		return nil, fmt.Errorf("no entity %s in the document; it lists %d identity providers (%s)",
			mdQuote(entityID), idps.n, &idps)
	case 1:
		if !match.isIdP() {
			return nil, mdNotIdP(match)
		}
		return match.identityProvider(now)
	default:
		return nil, fmt.Errorf("entity %s appears %d times in the document", mdQuote(entityID), matches)
	}
}

func mdParseAll(read mdRead, now time.Time) ([]*IdentityProvider, error) {
	var out []*IdentityProvider
	var only mdEntity
	seen := map[string]bool{}
	entities := 0
	err := read(func(e mdEntity) error {
		if entities++; entities == 1 {
			only = e
		}
		if !e.isIdP() {
			return nil
		}
		idp, err := e.identityProvider(now)
		if err != nil {
			return err
		}
		if seen[idp.EntityID] {
			return fmt.Errorf("entity %s appears more than once in the document", mdQuote(idp.EntityID))
		}
		seen[idp.EntityID] = true
		out = append(out, idp)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		if entities == 1 {
			return nil, mdNotIdP(only)
		}
		return nil, fmt.Errorf("none of the %d entities in the document has an IDPSSODescriptor: it describes no identity provider", entities)
	}
	return slices.Clip(out), nil
}

func mdNotIdP(e mdEntity) error {
	hint := ""
	if mdHasChild(e.el, "SPSSODescriptor") {
		hint = "; this is service provider metadata, not the IdP's"
	}
	return fmt.Errorf("entity %s has no IDPSSODescriptor%s", mdQuote(e.entityID()), hint)
}
