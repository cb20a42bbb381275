// Package xmldsig checks the shape of an enveloped XML signature before it is
// handed to goxmldsig, and runs goxmldsig with keys taken only from trusted
// certificates.
//
// goxmldsig verifies the cryptography but is lenient about structure: it
// accepts a Reference URI without '#', an empty URI, several References,
// any canonicalization, SHA-1, and a certificate carried in the message as a
// selector. Every one of those leniencies has been an authentication bypass
// somewhere, so this package narrows the accepted form to the one profile
// SAML IdPs actually use (the OpenSAML signature profile): one direct-child
// Signature, one Reference to "#"+ID, enveloped + exclusive c14n, and a small
// algorithm allowlist.
package xmldsig

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// Namespaces and algorithm identifiers.
const (
	NS        = "http://www.w3.org/2000/09/xmldsig#"
	nsExcC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"

	ExcC14N     = "http://www.w3.org/2001/10/xml-exc-c14n#"
	Enveloped   = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	RSASHA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	RSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	RSASHA384   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	RSASHA512   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	ECDSASHA1   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
	ECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	ECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	ECDSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
	SHA1        = "http://www.w3.org/2000/09/xmldsig#sha1"
	SHA256      = "http://www.w3.org/2001/04/xmlenc#sha256"
	SHA384      = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	SHA512      = "http://www.w3.org/2001/04/xmlenc#sha512"
)

// ErrStructure is wrapped by every structural rejection.
var ErrStructure = errors.New("signature structure not allowed")

func structural(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrStructure, fmt.Sprintf(format, args...))
}

// Policy selects which algorithms are acceptable.
type Policy struct {
	// AllowSHA1 admits rsa-sha1/ecdsa-sha1 signatures and sha1 digests.
	AllowSHA1 bool
}

// signatureMethod is an allowed SignatureMethod: the x509 algorithm
// goxmldsig verifies it with, and whether it hashes with SHA-1.
type signatureMethod struct {
	x509 x509.SignatureAlgorithm
	sha1 bool
}

var signatureMethods = map[string]signatureMethod{
	RSASHA256: {x509.SHA256WithRSA, false}, RSASHA384: {x509.SHA384WithRSA, false}, RSASHA512: {x509.SHA512WithRSA, false},
	ECDSASHA256: {x509.ECDSAWithSHA256, false}, ECDSASHA384: {x509.ECDSAWithSHA384, false}, ECDSASHA512: {x509.ECDSAWithSHA512, false},
	RSASHA1: {x509.SHA1WithRSA, true}, ECDSASHA1: {x509.ECDSAWithSHA1, true},
}

var digestMethods = map[string]crypto.Hash{
	SHA256: crypto.SHA256, SHA384: crypto.SHA384, SHA512: crypto.SHA512, SHA1: crypto.SHA1,
}

// Signature is a checked ds:Signature element.
type Signature struct {
	// Element is the ds:Signature element itself.
	Element *etree.Element
	// KeyInfoCert is the DER of the first X509Certificate in KeyInfo, if any.
	// It is only ever a hint for which trusted key to try first.
	KeyInfoCert []byte
	// SignatureMethod and DigestMethod are the Algorithm URIs of SignedInfo's
	// SignatureMethod and of the Reference's DigestMethod.
	SignatureMethod, DigestMethod string

	signedInfo *etree.Element
	value      []byte // the decoded SignatureValue
}

// SHA1 returns the algorithm URIs of the signature that use SHA-1 (the
// SignatureMethod, the DigestMethod, or both), nil when none does. They
// are only accepted under Policy.AllowSHA1.
func (s *Signature) SHA1() []string {
	var out []string
	if signatureMethods[s.SignatureMethod].sha1 {
		out = append(out, s.SignatureMethod)
	}
	if digestMethods[s.DigestMethod] == crypto.SHA1 {
		out = append(out, s.DigestMethod)
	}
	return out
}

// SHA1Error is the error for a SHA-1 SignatureMethod or DigestMethod when
// the Policy refuses SHA-1. It matches ErrStructure.
type SHA1Error struct {
	// Element is "SignatureMethod" or "DigestMethod".
	Element string
	// Algorithm is the refused algorithm URI.
	Algorithm string
}

func (e *SHA1Error) Error() string {
	return fmt.Sprintf("%v: %s %q uses SHA-1, which is refused", ErrStructure, e.Element, e.Algorithm)
}

// Is makes a SHA1Error match ErrStructure.
func (e *SHA1Error) Is(target error) bool { return target == ErrStructure }

// Is reports whether el is the element {ns}local, matching on namespace URI.
func Is(el *etree.Element, ns, local string) bool { return xmlsafe.Is(el, ns, local) }

// Find returns the ds:Signature that is a direct child of el, nil if there
// is none, and an error if there are several.
func Find(el *etree.Element) (*etree.Element, error) {
	var found *etree.Element
	for _, c := range el.ChildElements() {
		if Is(c, NS, "Signature") {
			if found != nil {
				return nil, structural("%s has more than one Signature", el.Tag)
			}
			found = c
		}
	}
	return found, nil
}

// Check verifies that sig, a direct child of the element whose ID is id, has
// the one shape this library accepts.
func Check(sig *etree.Element, id string, p Policy) (*Signature, error) {
	if id == "" {
		return nil, structural("signed element has no ID")
	}
	if err := noComments(sig); err != nil {
		return nil, err
	}
	kids, err := dsChildren(sig, "SignedInfo", "SignatureValue", "KeyInfo")
	if err != nil {
		return nil, err
	}
	if len(kids["SignedInfo"]) != 1 || len(kids["SignatureValue"]) != 1 || len(kids["KeyInfo"]) > 1 {
		return nil, structural("Signature must have one SignedInfo, one SignatureValue and at most one KeyInfo")
	}
	out := &Signature{Element: sig, signedInfo: kids["SignedInfo"][0]}
	if err := checkSignedInfo(out, id, p); err != nil {
		return nil, err
	}
	sv, err := textOnly(kids["SignatureValue"][0])
	if err != nil {
		return nil, err
	}
	if out.value, err = decodeBase64(sv); err != nil || len(out.value) == 0 {
		return nil, structural("SignatureValue is not base64")
	}
	if ki := kids["KeyInfo"]; len(ki) == 1 {
		out.KeyInfoCert = keyInfoCert(ki[0])
	}
	return out, nil
}

func checkSignedInfo(sig *Signature, id string, p Policy) error {
	si := sig.signedInfo
	if len(si.Attr) > 0 {
		for _, a := range si.Attr {
			if a.Space != "xmlns" && !(a.Space == "" && a.Key == "xmlns") && a.Key != "Id" {
				return structural("unexpected attribute %s on SignedInfo", a.FullKey())
			}
		}
	}
	kids, err := dsChildren(si, "CanonicalizationMethod", "SignatureMethod", "Reference")
	if err != nil {
		return err
	}
	if len(kids["CanonicalizationMethod"]) != 1 || len(kids["SignatureMethod"]) != 1 {
		return structural("SignedInfo must have one CanonicalizationMethod and one SignatureMethod")
	}
	if n := len(kids["Reference"]); n != 1 {
		return structural("SignedInfo must have exactly one Reference, has %d", n)
	}
	cm := kids["CanonicalizationMethod"][0]
	alg, err := algorithm(cm)
	if err != nil {
		return err
	}
	if alg != ExcC14N || len(cm.ChildElements()) > 0 {
		return structural("CanonicalizationMethod %q is not allowed, only exclusive c14n without comments", alg)
	}
	sm := kids["SignatureMethod"][0]
	if alg, err = algorithm(sm); err != nil {
		return err
	}
	method, ok := signatureMethods[alg]
	if !ok || len(sm.ChildElements()) > 0 {
		return structural("SignatureMethod %q is not allowed", alg)
	}
	if method.sha1 && !p.AllowSHA1 {
		return &SHA1Error{Element: "SignatureMethod", Algorithm: alg}
	}
	sig.SignatureMethod = alg
	return checkReference(sig, kids["Reference"][0], id, p)
}

func checkReference(sig *Signature, ref *etree.Element, id string, p Policy) error {
	uri := ref.SelectAttr("URI")
	if uri == nil || uri.Space != "" || uri.Value != "#"+id {
		got := "(none)"
		if uri != nil {
			got = fmt.Sprintf("%q", uri.Value)
		}
		return structural("Reference URI %s does not point at the signed element #%s", got, id)
	}
	for _, a := range ref.Attr {
		if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" || a.Space == "" && (a.Key == "URI" || a.Key == "Id") {
			continue
		}
		return structural("unexpected attribute %s on Reference", a.FullKey())
	}
	kids, err := dsChildren(ref, "Transforms", "DigestMethod", "DigestValue")
	if err != nil {
		return err
	}
	if len(kids["Transforms"]) != 1 || len(kids["DigestMethod"]) != 1 || len(kids["DigestValue"]) != 1 {
		return structural("Reference must have one Transforms, one DigestMethod and one DigestValue")
	}
	if err := checkTransforms(kids["Transforms"][0]); err != nil {
		return err
	}
	dm := kids["DigestMethod"][0]
	alg, err := algorithm(dm)
	if err != nil {
		return err
	}
	h, ok := digestMethods[alg]
	if !ok || len(dm.ChildElements()) > 0 {
		return structural("DigestMethod %q is not allowed", alg)
	}
	if h == crypto.SHA1 && !p.AllowSHA1 {
		return &SHA1Error{Element: "DigestMethod", Algorithm: alg}
	}
	sig.DigestMethod = alg
	dv, err := textOnly(kids["DigestValue"][0])
	if err != nil {
		return err
	}
	b, err := decodeBase64(dv)
	if err != nil || len(b) != h.Size() {
		return structural("DigestValue is not a base64 %s digest", h)
	}
	return nil
}

func checkTransforms(ts *etree.Element) error {
	kids, err := dsChildren(ts, "Transform")
	if err != nil {
		return err
	}
	list := kids["Transform"]
	if len(list) != 2 {
		return structural("Reference must list exactly the enveloped-signature and exclusive c14n transforms, has %d transforms", len(list))
	}
	seen := map[string]bool{}
	for _, t := range list {
		alg, err := algorithm(t)
		if err != nil {
			return err
		}
		if seen[alg] {
			return structural("transform %q listed twice", alg)
		}
		seen[alg] = true
		switch alg {
		case Enveloped:
			if len(t.ChildElements()) > 0 {
				return structural("enveloped-signature transform has children")
			}
		case ExcC14N:
			for _, c := range t.ChildElements() {
				if !Is(c, nsExcC14N, "InclusiveNamespaces") || len(c.ChildElements()) > 0 {
					return structural("unexpected %s inside the c14n transform", c.Tag)
				}
			}
		default:
			return structural("transform %q is not allowed", alg)
		}
	}
	return nil
}

// algorithm returns the Algorithm attribute of a CanonicalizationMethod,
// SignatureMethod, DigestMethod or Transform, refusing every other attribute
// but namespace declarations. goxmldsig reads the Algorithm of
// SignatureMethod, DigestMethod and Transform through encoding/xml, which
// keeps the LAST attribute of that local name in any namespace, while etree's
// SelectAttrValue returns the FIRST: with a second, prefixed Algorithm the
// check here and the verification disagreed, and rsa-sha1 or inclusive or
// with-comments c14n passed the allowlist.
func algorithm(el *etree.Element) (string, error) {
	alg, found := "", false
	for _, a := range el.Attr {
		switch {
		case a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns":
		case a.Space == "" && a.Key == "Algorithm":
			alg, found = a.Value, true
		default:
			return "", structural("unexpected attribute %s on %s", a.FullKey(), el.Tag)
		}
	}
	if !found {
		return "", structural("%s has no Algorithm", el.Tag)
	}
	return alg, nil
}

// dsChildren groups el's child elements by local name, refusing anything
// outside the allowed names or the ds namespace, and any text content.
func dsChildren(el *etree.Element, allowed ...string) (map[string][]*etree.Element, error) {
	out := make(map[string][]*etree.Element, len(allowed))
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			ok := false
			for _, name := range allowed {
				if t.Tag == name {
					ok = true
				}
			}
			if !ok || t.NamespaceURI() != NS {
				return nil, structural("unexpected element %s inside %s", t.FullTag(), el.Tag)
			}
			out[t.Tag] = append(out[t.Tag], t)
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, structural("unexpected text inside %s", el.Tag)
			}
		}
	}
	return out, nil
}

// textOnly returns el's text, refusing child elements. (Comments were
// refused for the whole Signature already.)
func textOnly(el *etree.Element) (string, error) {
	var b strings.Builder
	for _, tok := range el.Child {
		cd, ok := tok.(*etree.CharData)
		if !ok {
			return "", structural("%s must hold only text", el.Tag)
		}
		b.WriteString(cd.Data)
	}
	return b.String(), nil
}

// noComments refuses comments anywhere inside a Signature: they are dropped
// by canonicalization, so any reader that stops at one sees a different
// digest or signature value than the one that was verified (CVE-2025-29775).
func noComments(sig *etree.Element) error {
	stack := []*etree.Element{sig}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, tok := range el.Child {
			switch t := tok.(type) {
			case *etree.Comment:
				return structural("comment inside Signature")
			case *etree.Element:
				stack = append(stack, t)
			}
		}
	}
	return nil
}

func keyInfoCert(ki *etree.Element) []byte {
	for _, xd := range ki.ChildElements() {
		if !Is(xd, NS, "X509Data") {
			continue
		}
		for _, c := range xd.ChildElements() {
			if Is(c, NS, "X509Certificate") {
				s, err := textOnly(c)
				if err != nil {
					return nil
				}
				der, err := decodeBase64(s)
				if err != nil {
					return nil
				}
				return der
			}
		}
	}
	return nil
}

// decodeBase64 decodes standard base64 with any XML white space removed.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(s)
}
