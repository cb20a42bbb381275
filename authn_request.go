package saml2sp

// AuthnRequestOptions shape an SP-initiated login request.
type AuthnRequestOptions struct {
	// ForceAuthn asks the IdP to authenticate the user again even if it
	// has a session (step-up before sensitive actions).
	ForceAuthn bool
	// IsPassive asks the IdP not to interact with the user; it answers
	// NoPassive when it would have to.
	IsPassive bool
	// NameIDFormat requested in NameIDPolicy. Empty: Config.NameIDFormat,
	// or none.
	NameIDFormat string
	// RequestedAuthnContext lists AuthnContextClassRef values the IdP must
	// satisfy exactly (none: the IdP decides).
	RequestedAuthnContext []string
	// Binding that carries the request: BindingHTTPRedirect (the default
	// when the IdP offers it) or BindingHTTPPost.
	Binding string
}
