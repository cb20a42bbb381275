package saml2sp

import (
	"fmt"
	"strings"
)

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
	// Sign signs the request with Config.Key even when the IdP's metadata
	// does not ask for it (WantAuthnRequestsSigned), for IdPs configured to
	// require signed requests without saying so. Requests are unsigned
	// otherwise: the signature protects nothing of the SP's (the Response
	// is what is verified), and it would make every anonymous login start
	// cost an RSA signature.
	Sign bool
}

// NewAuthnRequest builds a login request for the IdP. opts nil means
// Config.AuthnRequest. Remember the returned Outbound.ID for this browser:
// the Response must answer it (ParseResponse's requestIDs).
//
// The request asks for the HTTP-POST binding to Config.ACSURL and, with
// NameIDPolicy AllowCreate="true", for a NameID in the chosen format. It
// travels by opts.Binding, or by HTTP-Redirect when the IdP offers it,
// else by HTTP-POST. It is signed with Config.Key when the IdP's metadata
// says WantAuthnRequestsSigned or opts.Sign is set (a query-string
// signature for HTTP-Redirect, an enveloped XML signature for HTTP-POST,
// both RSA-SHA256 or ECDSA-SHA256); signing without a Key is an error.
//
// relayState comes back unchanged with the Response. It may be at most 80
// bytes (SAML bindings 3.4.3); keep it an opaque reference to state kept
// by the app, never a URL taken from the request.
//
//	out, err := sp.NewAuthnRequest(state, nil)
//	if err != nil { ... }
//	remember(out.ID)
//	out.Write(w, r)
func (sp *SP) NewAuthnRequest(relayState string, opts *AuthnRequestOptions) (*Outbound, error) {
	sp = sp.current()
	if opts == nil {
		opts = &sp.cfg.AuthnRequest
	}
	idp := sp.cfg.IdP
	binding := opts.Binding
	switch binding {
	case "":
		binding = BindingHTTPPost
		if idp.SingleSignOnService(BindingHTTPRedirect) != nil {
			binding = BindingHTTPRedirect
		}
	case BindingHTTPRedirect, BindingHTTPPost:
	default:
		return nil, fmt.Errorf("%w: AuthnRequest binding %q is neither HTTP-Redirect nor HTTP-POST", ErrConfig, binding)
	}
	ep := idp.SingleSignOnService(binding)
	if ep == nil || ep.Location == "" {
		return nil, fmt.Errorf("%w: IdP %q has no SingleSignOnService for binding %s", ErrConfig, idp.EntityID, binding)
	}
	sign := idp.WantAuthnRequestsSigned || opts.Sign
	switch {
	case idp.WantAuthnRequestsSigned && sp.cfg.Key == nil:
		return nil, fmt.Errorf("%w: IdP %q wants signed AuthnRequests (WantAuthnRequestsSigned) and Config.Key is not set", ErrConfig, idp.EntityID)
	case sign && sp.cfg.Key == nil:
		return nil, fmt.Errorf("%w: AuthnRequestOptions.Sign is set and Config.Key is not", ErrConfig)
	}
	format := opts.NameIDFormat
	if format == "" {
		format = sp.cfg.NameIDFormat
	}
	if err := checkXMLChars("AuthnRequest", append([]string{format}, opts.RequestedAuthnContext...)...); err != nil {
		return nil, err
	}
	for _, ref := range opts.RequestedAuthnContext {
		if strings.TrimSpace(ref) == "" {
			return nil, fmt.Errorf("%w: RequestedAuthnContext holds an empty class reference", ErrConfig)
		}
	}

	id, err := newMessageID()
	if err != nil {
		return nil, err
	}
	req := newProtocolElement("samlp:AuthnRequest", id, sp.cfg.Clock(), ep.Location)
	if opts.ForceAuthn {
		req.CreateAttr("ForceAuthn", "true")
	}
	if opts.IsPassive {
		req.CreateAttr("IsPassive", "true")
	}
	req.CreateAttr("ProtocolBinding", BindingHTTPPost)
	req.CreateAttr("AssertionConsumerServiceURL", sp.cfg.ACSURL)
	req.CreateElement("saml:Issuer").SetText(sp.cfg.EntityID)
	policy := req.CreateElement("samlp:NameIDPolicy")
	if format != "" {
		policy.CreateAttr("Format", format)
	}
	policy.CreateAttr("AllowCreate", "true")
	if len(opts.RequestedAuthnContext) > 0 {
		rac := req.CreateElement("samlp:RequestedAuthnContext")
		rac.CreateAttr("Comparison", "exact")
		for _, ref := range opts.RequestedAuthnContext {
			rac.CreateElement("saml:AuthnContextClassRef").SetText(ref)
		}
	}
	return sp.send("AuthnRequest", "SAMLRequest", req, binding, ep.Location, relayState, sign)
}
