package saml2sptest

import (
	"fmt"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// signCase is one way of signing a Response.
type signCase struct {
	name       string
	ecdsa      bool
	r          Response // Sign, algorithms and OmitKeyInfo only
	wantMethod string
	wantDigest string
}

const (
	digestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	digestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	digestSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

// signCases covers every Sign mode with and without KeyInfo for both key
// types, and the non-default algorithms.
func signCases() []signCase {
	var cases []signCase
	modes := map[Sign]string{SignAssertion: "assertion", SignResponse: "response", SignBoth: "both", SignNone: "none"}
	for _, ec := range []bool{false, true} {
		for _, sign := range []Sign{SignAssertion, SignResponse, SignBoth, SignNone} {
			for _, omit := range []bool{false, true} {
				c := signCase{
					name:       fmt.Sprintf("rsa/%s/omitKeyInfo=%v", modes[sign], omit),
					ecdsa:      ec,
					r:          Response{Sign: sign, OmitKeyInfo: omit},
					wantMethod: dsig.RSASHA256SignatureMethod,
					wantDigest: digestSHA256,
				}
				if ec {
					c.name = "ecdsa" + c.name[3:]
					c.wantMethod = dsig.ECDSASHA256SignatureMethod
				}
				cases = append(cases, c)
			}
		}
	}
	return append(cases,
		signCase{name: "rsa-sha1", r: Response{Sign: SignBoth, SignatureAlgorithm: "rsa-sha1", DigestAlgorithm: "sha1"},
			wantMethod: dsig.RSASHA1SignatureMethod, wantDigest: digestSHA1},
		signCase{name: "rsa-sha512 by URI", r: Response{Sign: SignBoth, SignatureAlgorithm: dsig.RSASHA512SignatureMethod, DigestAlgorithm: digestSHA512},
			wantMethod: dsig.RSASHA512SignatureMethod, wantDigest: digestSHA512},
		signCase{name: "rsa-sha256 with sha1 digest", r: Response{Sign: SignBoth, DigestAlgorithm: "sha1"},
			wantMethod: dsig.RSASHA256SignatureMethod, wantDigest: digestSHA1},
		signCase{name: "rsa-sha1 with sha512 digest", r: Response{Sign: SignBoth, SignatureAlgorithm: "rsa-sha1", DigestAlgorithm: "sha512"},
			wantMethod: dsig.RSASHA1SignatureMethod, wantDigest: digestSHA512},
		signCase{name: "ecdsa-sha512", ecdsa: true, r: Response{Sign: SignBoth, SignatureAlgorithm: "ecdsa-sha512", DigestAlgorithm: "sha512"},
			wantMethod: dsig.ECDSASHA512SignatureMethod, wantDigest: digestSHA512},
	)
}

// signsResponse and signsAssertion say what s signs.
func (s Sign) signsResponse() bool  { return s == SignResponse || s == SignBoth }
func (s Sign) signsAssertion() bool { return s == SignAssertion || s == SignBoth }

func TestSignaturesVerify(t *testing.T) {
	idps := map[bool]*IdP{false: newTestIdP(t), true: newECDSAIdP(t)}
	for _, tc := range signCases() {
		t.Run(tc.name, func(t *testing.T) {
			idp := idps[tc.ecdsa]
			r := tc.r
			r.Destination, r.Audience = testACS, testSPID
			root := responseDoc(t, idp, r)
			assertion := root.SelectElement("Assertion")

			for _, el := range []struct {
				name   string
				el     *etree.Element
				signed bool
			}{
				{"Response", root, r.Sign.signsResponse()},
				{"Assertion", assertion, r.Sign.signsAssertion()},
			} {
				_, err := verify(el.el, idp.Certificate)
				if el.signed != (err == nil) {
					t.Errorf("%s: signed = %v, but verification says %v", el.name, el.signed, err)
				}
				sig := el.el.SelectElement("Signature")
				if !el.signed {
					if sig != nil {
						t.Errorf("%s has a Signature", el.name)
					}
					continue
				}
				checkSignatureShape(t, el.el, sig, tc)
			}
		})
	}
}

// checkSignatureShape checks where sig sits in el and what it says.
func checkSignatureShape(t *testing.T, el, sig *etree.Element, tc signCase) {
	t.Helper()
	if sig.NamespaceURI() != nsDSig {
		t.Errorf("Signature namespace = %q", sig.NamespaceURI())
	}
	if c := el.ChildElements(); len(c) < 2 || c[0].Tag != "Issuer" || c[1] != sig {
		t.Errorf("%s: children %v, want Signature right after Issuer", el.Tag, childTags(el))
	}
	if got := sig.FindElement("./SignedInfo/CanonicalizationMethod").SelectAttrValue("Algorithm", ""); got != string(dsig.CanonicalXML10ExclusiveAlgorithmId) {
		t.Errorf("CanonicalizationMethod = %q", got)
	}
	if got := sig.FindElement("./SignedInfo/SignatureMethod").SelectAttrValue("Algorithm", ""); got != tc.wantMethod {
		t.Errorf("SignatureMethod = %q, want %q", got, tc.wantMethod)
	}
	ref := sig.FindElement("./SignedInfo/Reference")
	if got, want := ref.SelectAttrValue("URI", ""), "#"+el.SelectAttrValue("ID", ""); got != want {
		t.Errorf("Reference URI = %q, want %q", got, want)
	}
	var transforms []string
	for _, tr := range ref.FindElements("./Transforms/Transform") {
		transforms = append(transforms, tr.SelectAttrValue("Algorithm", ""))
	}
	if want := fmt.Sprint([]dsig.AlgorithmID{dsig.EnvelopedSignatureAltorithmId, dsig.CanonicalXML10ExclusiveAlgorithmId}); fmt.Sprint(transforms) != want {
		t.Errorf("Transforms = %v, want %v", transforms, want)
	}
	if got := ref.SelectElement("DigestMethod").SelectAttrValue("Algorithm", ""); got != tc.wantDigest {
		t.Errorf("DigestMethod = %q, want %q", got, tc.wantDigest)
	}
	if hasKeyInfo := sig.SelectElement("KeyInfo") != nil; hasKeyInfo == tc.r.OmitKeyInfo {
		t.Errorf("KeyInfo present = %v with OmitKeyInfo = %v", hasKeyInfo, tc.r.OmitKeyInfo)
	}
}

func TestTamperingBreaksSignatures(t *testing.T) {
	idp := newTestIdP(t)
	for _, sign := range []Sign{SignAssertion, SignResponse, SignBoth} {
		root := responseDoc(t, idp, Response{Destination: testACS, Audience: testSPID, Sign: sign})
		root.FindElement("./Assertion/Subject/NameID").SetText("mallory@example.com")
		if _, err := verify(root, idp.Certificate); err == nil {
			t.Errorf("sign %d: tampered Response verifies", sign)
		}
		if _, err := verify(root.SelectElement("Assertion"), idp.Certificate); err == nil {
			t.Errorf("sign %d: tampered Assertion verifies", sign)
		}
	}
}

func TestOtherKeyDoesNotVerify(t *testing.T) {
	idp, other := newTestIdP(t), newTestIdP(t)
	for _, omit := range []bool{false, true} {
		root := responseDoc(t, idp, Response{Destination: testACS, Audience: testSPID, Sign: SignBoth, OmitKeyInfo: omit})
		if _, err := verify(root, other.Certificate); err == nil {
			t.Errorf("omitKeyInfo=%v: verifies with another IdP's certificate", omit)
		}
	}
}
