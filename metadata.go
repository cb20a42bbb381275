package saml2sp

import (
	"crypto/x509"
	"time"
)

// SAML bindings this library speaks.
const (
	BindingHTTPPost     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	BindingHTTPRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
)

// Endpoint is one service location of an IdP, as listed in its metadata.
type Endpoint struct {
	Binding  string // BindingHTTPRedirect or BindingHTTPPost
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
