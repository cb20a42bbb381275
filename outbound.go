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
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
)

// Messages this SP sends through the browser: the Outbound type, and how
// every outgoing message is built, signed, encoded and written.

// Outbound is a SAML message ready to leave through the browser: an
// AuthnRequest, a LogoutRequest or a LogoutResponse.
type Outbound struct {
	// ID of the message (track it to check the answer's InResponseTo).
	ID string
	// Binding is BindingHTTPRedirect or BindingHTTPPost.
	Binding string
	// URL is, for the Redirect binding, the complete URL to redirect to;
	// for the POST binding, the form's action.
	URL string
	// Form holds the POST binding's fields (SAMLRequest or SAMLResponse, and
	// RelayState); nil for the Redirect binding.
	Form url.Values
}

// Write sends the message: a 302 redirect, or an auto-submitting HTML form
// for the POST binding.
func (m *Outbound) Write(w http.ResponseWriter, r *http.Request) {
	if m.Binding == BindingHTTPRedirect {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, m.URL, http.StatusFound)
		return
	}
	writePostForm(w, m.URL, m.Form)
}

var postFormTemplate = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Continue</title></head>
<body>
<form method="post" action="{{.Action}}" id="saml2sp-form">
{{range $name, $values := .Fields}}{{range $values}}<input type="hidden" name="{{$name}}" value="{{.}}">
{{end}}{{end}}<noscript><p>JavaScript is off: press the button to continue.</p><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.getElementById("saml2sp-form").submit();</script>
</body></html>
`))

// writePostForm renders an auto-submitting form. A per-response nonce lets
// the one inline script run under a strict Content-Security-Policy.
func writePostForm(w http.ResponseWriter, action string, fields url.Values) {
	nonceBytes := make([]byte, 16)
	_, _ = rand.Read(nonceBytes)
	nonce := base64.RawURLEncoding.EncodeToString(nonceBytes)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; form-action "+formActionSource(action)+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_ = postFormTemplate.Execute(w, struct {
		Action string
		Fields url.Values
		Nonce  string
	}{action, fields, nonce})
}

// formActionSource is the CSP source for the form's target origin.
func formActionSource(action string) string {
	u, err := url.Parse(action)
	if err != nil || u.Host == "" {
		return "'self'"
	}
	return u.Scheme + "://" + u.Host
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

// send signs (when sign is set; the caller checked Config.Key) and encodes
// a protocol message for binding, addressed to destination: the shared
// last step of every message this SP sends. param is SAMLRequest or
// SAMLResponse.
func (sp *SP) send(kind, param string, el *etree.Element, binding, destination, relayState string, sign bool) (*Outbound, error) {
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
		var key crypto.Signer
		var sigAlg string
		if sign {
			key = sp.cfg.Key
			if sigAlg, err = signatureAlgorithm(key); err != nil {
				return nil, err
			}
		}
		query, err := redirect.Encode(param, xml, relayState, key, sigAlg)
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
		if sign {
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
