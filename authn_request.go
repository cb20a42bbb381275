package saml2sp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
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
}

// NewAuthnRequest builds a login request for the IdP. opts nil means
// Config.AuthnRequest. Remember the returned Outbound.ID for this browser:
// the Response must answer it (ParseResponse's requestIDs).
//
// The request asks for the HTTP-POST binding to Config.ACSURL and, with
// NameIDPolicy AllowCreate="true", for a NameID in the chosen format. It
// travels by opts.Binding, or by HTTP-Redirect when the IdP offers it,
// else by HTTP-POST. It is signed when Config.Key is set (a query-string
// signature for HTTP-Redirect, an enveloped XML signature for HTTP-POST,
// both RSA-SHA256 or ECDSA-SHA256); when the IdP's metadata says
// WantAuthnRequestsSigned and there is no Key, it is an error.
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
	if idp.WantAuthnRequestsSigned && sp.cfg.Key == nil {
		return nil, fmt.Errorf("%w: IdP %q wants signed AuthnRequests (WantAuthnRequestsSigned) and Config.Key is not set", ErrConfig, idp.EntityID)
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
	return sp.send("AuthnRequest", "SAMLRequest", req, binding, ep.Location, relayState)
}

// newMessageID returns "_" followed by 20 random bytes in hex: an xs:ID
// (an NCName) with 160 bits of entropy, as SAML core 1.3.4 asks.
func newMessageID() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("saml2sp: generating message ID: %w", err)
	}
	return "_" + hex.EncodeToString(b), nil
}

// newProtocolElement starts an outgoing protocol message: the root element
// with both SAML namespaces declared on it (so it canonicalizes the same
// on its own as in its document), ID, Version, IssueInstant in UTC with
// second precision, and Destination.
func newProtocolElement(tag, id string, now time.Time, destination string) *etree.Element {
	el := etree.NewElement(tag)
	el.CreateAttr("xmlns:samlp", nsProtocol)
	el.CreateAttr("xmlns:saml", nsAssertion)
	el.CreateAttr("ID", id)
	el.CreateAttr("Version", samlVersion)
	el.CreateAttr("IssueInstant", xmlTime(now))
	el.CreateAttr("Destination", destination)
	return el
}

// xmlTime formats t as an xs:dateTime in UTC with second precision.
func xmlTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
}

// checkXMLChars refuses values that XML 1.0 cannot carry (invalid UTF-8,
// most C0 controls, U+FFFE, U+FFFF): written out they would make an
// ill-formed message.
func checkXMLChars(what string, values ...string) error {
	for _, v := range values {
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: a value for the %s is not valid UTF-8", ErrConfig, what)
		}
		for _, r := range v {
			if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
				return fmt.Errorf("%w: a value for the %s holds the character %U, which XML cannot carry", ErrConfig, what, r)
			}
		}
	}
	return nil
}

// send signs (when Config.Key is set) and encodes a protocol message for
// binding, addressed to destination: the shared last step of every
// message this SP sends. param is SAMLRequest or SAMLResponse.
func (sp *SP) send(kind, param string, el *etree.Element, binding, destination, relayState string) (*Outbound, error) {
	if len(relayState) > maxRelayState {
		return nil, fmt.Errorf("%w: RelayState is %d bytes; SAML bindings 3.4.3 and 3.5.3 allow %d", ErrConfig, len(relayState), maxRelayState)
	}
	out := &Outbound{ID: attrValue(el, "ID"), Binding: binding}
	switch binding {
	case BindingHTTPRedirect:
		// The query string carries the signature (SAML bindings 3.4.4.1);
		// the XML itself stays unsigned.
		xml, err := writeMessage(el)
		if err != nil {
			return nil, err
		}
		var sigAlg string
		if sp.cfg.Key != nil {
			if sigAlg, err = signatureAlgorithm(sp.cfg.Key); err != nil {
				return nil, err
			}
		}
		query, err := redirect.Encode(param, xml, relayState, sp.cfg.Key, sigAlg)
		if err != nil {
			return nil, fmt.Errorf("saml2sp: encoding %s for HTTP-Redirect: %w", kind, err)
		}
		sep := "?"
		if strings.Contains(destination, "?") {
			sep = "&"
		}
		out.URL = destination + sep + query
		sp.trace(context.Background(), "out", kind, xml)
	case BindingHTTPPost:
		if sp.cfg.Key != nil {
			if err := sp.signEnveloped(el); err != nil {
				return nil, fmt.Errorf("saml2sp: signing %s: %w", kind, err)
			}
		}
		xml, err := writeMessage(el)
		if err != nil {
			return nil, err
		}
		out.URL = destination
		out.Form = url.Values{param: {base64.StdEncoding.EncodeToString(xml)}}
		if relayState != "" {
			out.Form.Set("RelayState", relayState)
		}
		sp.trace(context.Background(), "out", kind, xml)
	default:
		return nil, fmt.Errorf("%w: binding %q is neither HTTP-Redirect nor HTTP-POST", ErrConfig, binding)
	}
	return out, nil
}

// writeMessage serializes el without an XML declaration. Tabs, line breaks
// and CRs in text and attributes are written as character references, so
// a parser reads back exactly the values that were signed.
func writeMessage(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalAttrVal = true
	doc.WriteSettings.CanonicalText = true
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("saml2sp: writing message: %w", err)
	}
	return b, nil
}

// signatureAlgorithm is the signature method used with key: RSA-SHA256 or
// ECDSA-SHA256. SHA-1 is never used for signing.
func signatureAlgorithm(key crypto.Signer) (string, error) {
	switch key.Public().(type) {
	case *rsa.PublicKey:
		return xmldsig.RSASHA256, nil
	case *ecdsa.PublicKey:
		return xmldsig.ECDSASHA256, nil
	}
	return "", fmt.Errorf("%w: Key is a %T; only RSA and ECDSA keys can sign SAML messages", ErrConfig, key.Public())
}

// signEnveloped adds an enveloped XML signature of el (the root of an
// outgoing message) in the profile this library accepts itself: one
// Reference to "#"+ID, enveloped-signature and exclusive c14n transforms,
// SHA-256 digest, RSA-SHA256 or ECDSA-SHA256, and KeyInfo with
// Config.Certificate. The Signature goes right after the Issuer, where the
// schema puts it.
func (sp *SP) signEnveloped(el *etree.Element) error {
	if _, err := signatureAlgorithm(sp.cfg.Key); err != nil {
		return err
	}
	ctx, err := dsig.NewSigningContext(sp.cfg.Key, [][]byte{sp.cfg.Certificate.Raw})
	if err != nil {
		return err
	}
	ctx.Hash = crypto.SHA256
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	// Canonicalization rewrites its input, hence the copy. el declares
	// every namespace it uses, so the copy canonicalizes as el does.
	sig, err := ctx.ConstructSignature(el.Copy(), true)
	if err != nil {
		return err
	}
	if pub, ok := sp.cfg.Key.Public().(*ecdsa.PublicKey); ok {
		if err := rawECDSASignatureValue(sig, pub); err != nil {
			return err
		}
	}
	at := 0
	if issuer := firstChild(el, nsAssertion, "Issuer"); issuer != nil {
		at = issuer.Index() + 1
	}
	el.InsertChildAt(at, sig)
	return nil
}

// rawECDSASignatureValue rewrites the ASN.1 ECDSA signature that
// crypto.Signer returns into the fixed-size r||s form that XML-DSig
// (RFC 4051 section 3.3) prescribes and libxmlsec1, Santuario and .NET
// expect.
func rawECDSASignatureValue(sig *etree.Element, pub *ecdsa.PublicKey) error {
	var sv *etree.Element
	for _, c := range sig.ChildElements() {
		if c.Tag == "SignatureValue" {
			sv = c
		}
	}
	if sv == nil {
		return fmt.Errorf("signature has no SignatureValue")
	}
	der, err := base64.StdEncoding.DecodeString(sv.Text())
	if err != nil {
		return err
	}
	var rs struct{ R, S *big.Int }
	size := (pub.Curve.Params().BitSize + 7) / 8
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 ||
		rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return fmt.Errorf("ECDSA signature is not an ASN.1 (r, s) pair for %s", pub.Curve.Params().Name)
	}
	raw := make([]byte, 2*size)
	rs.R.FillBytes(raw[:size])
	rs.S.FillBytes(raw[size:])
	sv.SetText(base64.StdEncoding.EncodeToString(raw))
	return nil
}
