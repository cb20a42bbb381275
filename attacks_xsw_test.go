package saml2sp_test

import (
	"testing"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp"
)

// Catalogue lines 1-8 and 14-16 of ../shared/saml-attacks.md: signature
// wrapping (SAML Raider applyXSW1..8), duplicate IDs, ID attribute tricks
// and misplaced signatures. The runner, modes and helpers are in
// attacks_signature_test.go and resign_test.go.

const (
	nsSAML  = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsSAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
)

var (
	// XSW1/2 wrap a signed Response, XSW3-8 a signed Assertion.
	responseWrapped  = []signMode{modeFR, modeBothR}
	assertionWrapped = []signMode{modeFA, modeBothA}
)

// unsignedCopy returns a copy of el without its direct-child Signature.
func unsignedCopy(el *etree.Element) *etree.Element {
	c := el.Copy()
	if s := directSignature(c); s != nil {
		c.RemoveChild(s)
	}
	return c
}

// makeEvil puts the attacker's values into an assertion (or the assertion
// of a Response), and a fresh ID when id is not "".
func makeEvil(el *etree.Element, id string) *etree.Element {
	el.FindElement(".//NameID").SetText(evilNameID)
	if id != "" {
		el.CreateAttr("ID", id)
	}
	return el
}

func TestSignatureWrapping(t *testing.T) {
	malformed := []error{saml2sp.ErrMalformed}
	runSigAttacks(t, []sigAttack{
		{name: "XSW1 clone of the Response inside its Signature, outer Response evil", modes: responseWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				f.sig.AddChild(unsignedCopy(f.resp))
				f.resp.CreateAttr("ID", "_evil-response")
				makeEvil(f.assertion(), "_evil-assertion")
			}},
		{name: "XSW2 clone of the Response before its Signature, outer Response evil", modes: responseWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				f.resp.InsertChildAt(f.sig.Index(), unsignedCopy(f.resp))
				f.resp.CreateAttr("ID", "_evil-response")
				makeEvil(f.assertion(), "_evil-assertion")
			}},
		{name: "XSW3 unsigned evil assertion before the signed one", modes: assertionWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				f.resp.InsertChildAt(f.target.Index(), makeEvil(unsignedCopy(f.target), "_evil"))
			}},
		{name: "XSW4 evil assertion appended, signed one moved inside it", modes: assertionWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				evil := makeEvil(unsignedCopy(f.target), "_evil")
				f.resp.AddChild(evil)
				evil.AddChild(f.target)
			}},
		{name: "XSW5 evil values in the signed assertion, unsigned clone of the original appended", modes: assertionWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				original := unsignedCopy(f.target)
				makeEvil(f.target, "_evil")
				f.resp.AddChild(original)
			}},
		{name: "XSW6 evil values in the signed assertion, unsigned clone of the original inside its Signature", modes: assertionWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				original := unsignedCopy(f.target)
				makeEvil(f.target, "_evil")
				f.sig.AddChild(original)
			}},
		{name: "XSW7 no-namespace Extensions before the assertion holding an evil clone with the same ID", modes: assertionWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				ext := etree.NewElement("Extensions")
				ext.AddChild(makeEvil(unsignedCopy(f.target), ""))
				f.resp.InsertChildAt(f.target.Index(), ext)
			}},
		{name: "XSW7 samlp:Extensions before the assertion holding an evil clone with the same ID", modes: assertionWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				ext := nsElement("samlp:Extensions", nsSAMLP)
				ext.AddChild(makeEvil(unsignedCopy(f.target), ""))
				f.resp.InsertChildAt(f.target.Index(), ext)
			}},
		{name: "XSW7 samlp:Extensions in schema position holding an evil clone with a new ID", modes: assertionWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				ext := nsElement("samlp:Extensions", nsSAMLP)
				ext.AddChild(makeEvil(unsignedCopy(f.target), "_evil"))
				f.resp.InsertChildAt(f.resp.SelectElement("Status").Index(), ext)
			}},
		{name: "XSW8 evil values in the signed assertion, ds:Object with the original inside its Signature", modes: assertionWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				obj := nsElement("ds:Object", dsNS)
				obj.AddChild(unsignedCopy(f.target))
				makeEvil(f.target, "")
				f.sig.AddChild(obj)
			}},
		{name: "XSW8 as above, the original renamed", modes: assertionWrapped, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				obj := nsElement("ds:Object", dsNS)
				obj.AddChild(unsignedCopy(f.target))
				makeEvil(f.target, "_evil")
				f.sig.AddChild(obj)
			}},
	})
}

func TestSignatureDuplicateIDs(t *testing.T) {
	malformed := []error{saml2sp.ErrMalformed}
	runSigAttacks(t, []sigAttack{
		// 14 DUPID
		{name: "DUPID Status carries the signed assertion's ID", modes: []signMode{modeFA}, control: true, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				f.resp.SelectElement("Status").CreateAttr("ID", f.target.SelectAttrValue("ID", ""))
			}},
		{name: "DUPID unsigned assertion reuses the signed Response's ID", modes: []signMode{modeFR}, control: true, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				f.assertion().CreateAttr("ID", f.resp.SelectAttrValue("ID", ""))
				f.sig = resign(t, f.e.idp, f.resp)
			}},
		// 15 IDATTR
		{name: "IDATTR duplicate ID attributes, evil one last", control: true, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				f.target.Attr = append(f.target.Attr, etree.Attr{Key: "ID", Value: "_evil"})
				f.seal(t)
			}},
		{name: "IDATTR signed ID only as a prefixed attribute foo:ID", control: true, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				id := f.target.SelectAttrValue("ID", "")
				f.target.RemoveAttr("ID")
				f.target.CreateAttr("xmlns:foo", "urn:example:evil")
				f.target.CreateAttr("foo:ID", id)
				f.seal(t)
			}},
		{name: "IDATTR prefixed foo:ID with the signed ID before an evil unprefixed ID", control: true, want: malformed,
			mutate: func(t *testing.T, f *forgery) {
				id := f.target.SelectAttrValue("ID", "")
				f.target.RemoveAttr("ID")
				f.target.CreateAttr("xmlns:foo", "urn:example:evil")
				f.target.CreateAttr("foo:ID", id)
				f.target.CreateAttr("ID", "_evil")
				f.seal(t)
			}},
	})
}

func TestSignatureLocation(t *testing.T) {
	// 16 SIGLOC
	advice := func(f *forgery, content *etree.Element) {
		a := f.assertion()
		adv := nsElement("saml:Advice", nsSAML)
		adv.AddChild(content)
		a.InsertChildAt(a.SelectElement("Conditions").Index()+1, adv)
	}
	runSigAttacks(t, []sigAttack{
		{name: "SIGLOC Signature moved into a child element (Subject, Status)", want: []error{saml2sp.ErrSignature},
			mutate: func(t *testing.T, f *forgery) {
				into := f.target.SelectElement("Subject")
				if into == nil {
					into = f.target.SelectElement("Status")
				}
				into.AddChild(f.sig)
			}},
		{name: "SIGLOC assertion Signature moved into Subject under a valid Response signature", modes: []signMode{modeBothR},
			control: true, want: []error{saml2sp.ErrSignature},
			mutate: func(t *testing.T, f *forgery) {
				a := f.assertion()
				a.SelectElement("Subject").AddChild(directSignature(a))
				f.sig = resign(t, f.e.idp, f.resp)
			}},
		{name: "SIGLOC Signature inside the Advice of a signed Response", modes: []signMode{modeFR},
			control: true, want: []error{saml2sp.ErrSignature},
			mutate: func(t *testing.T, f *forgery) {
				advice(f, f.sig.Copy())
				f.sig = resign(t, f.e.idp, f.resp)
			}},
		{name: "SIGLOC evil Assertion inside the Advice of a signed Response", modes: []signMode{modeFR},
			control: true, want: []error{saml2sp.ErrMalformed},
			mutate: func(t *testing.T, f *forgery) {
				advice(f, makeEvil(f.assertion().Copy(), "_evil"))
				f.sig = resign(t, f.e.idp, f.resp)
			}},
		{name: "SIGLOC EncryptedAssertion inside the Advice of a signed Response", modes: []signMode{modeFR},
			control: true, want: []error{saml2sp.ErrMalformed},
			mutate: func(t *testing.T, f *forgery) {
				enc := nsElement("saml:EncryptedAssertion", nsSAML)
				enc.AddChild(nsElement("xenc:EncryptedData", "http://www.w3.org/2001/04/xmlenc#"))
				advice(f, enc)
				f.sig = resign(t, f.e.idp, f.resp)
			}},
		{name: "SIGLOC two Signatures on one element", want: []error{saml2sp.ErrMalformed},
			mutate: func(t *testing.T, f *forgery) {
				f.target.InsertChildAt(f.sig.Index()+1, f.sig.Copy())
			}},
		{name: "SIGLOC second Signature as the element's last child", want: []error{saml2sp.ErrMalformed},
			mutate: func(t *testing.T, f *forgery) {
				f.target.AddChild(f.sig.Copy())
			}},
		{name: "SIGLOC Signature moved to the element's end", want: []error{saml2sp.ErrMalformed},
			mutate: func(t *testing.T, f *forgery) {
				f.target.AddChild(f.sig)
			}},
		{name: "SIGLOC ds:Object inside Signature", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				obj := f.sig.CreateElement("ds:Object")
				obj.CreateAttr("Id", "_object")
				obj.SetText("harmless")
			}},
	})
}
