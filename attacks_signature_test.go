package saml2sp_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// Catalogue lines 9-13 and 17-23 of ../shared/saml-attacks.md: attacks on
// the shape, algorithms and keys of one signature. Line numbers and ids are
// in the subtest names.
//
// Each attack starts from a Response minted and signed by saml2sptest and
// is reshaped with etree. When the reshaping breaks the digest or the
// signature value, the helpers of resign_test.go make it valid again with
// the IdP's own key, and the case sets control: goxmldsig alone accepts the
// result, so the SP's own check is the only thing between the attack and a
// login. Cases without control are refused by goxmldsig as well (defence in
// depth); they assert xmldsig.ErrStructure so that they still fail if the
// SP's shape check is deleted.

func TestSignatureStructureAttacks(t *testing.T) {
	runSigAttacks(t, []sigAttack{
		// 9 SI2
		{name: "SI2 second SignedInfo with an evil digest after the genuine one", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				evil := f.signedInfo().Copy()
				evil.FindElement("./Reference/DigestValue").SetText(tamperedDigest(t, f))
				f.sig.InsertChildAt(f.signedInfo().Index()+1, evil)
			}},
		{name: "SI2 evil SignedInfo before the genuine one", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				evil := f.signedInfo().Copy()
				evil.FindElement("./Reference/DigestValue").SetText(tamperedDigest(t, f))
				f.sig.InsertChildAt(f.signedInfo().Index(), evil)
			}},
		{name: "SI2 second SignedInfo in a foreign namespace", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				evil := f.signedInfo().Copy()
				evil.Space = "ev"
				evil.CreateAttr("xmlns:ev", "urn:example:evil")
				f.sig.InsertChildAt(f.signedInfo().Index()+1, evil)
			}},

		// 10 DV1 (CVE-2024-45409): the digest that counts is the one in the
		// verified SignedInfo; no shape check is involved.
		{name: "DV1 evil DigestValue in Extensions ahead of the Signature", modes: []signMode{modeFA},
			want: wantCrypto,
			mutate: func(t *testing.T, f *forgery) {
				ext := nsElement("samlp:Extensions", "urn:oasis:names:tc:SAML:2.0:protocol")
				ext.AddChild(nsElement("ds:DigestValue", dsNS))
				ext.SelectElement("DigestValue").SetText(tamperedDigest(t, f))
				f.resp.InsertChildAt(f.resp.SelectElement("Issuer").Index()+1, ext)
			}},

		// 11 DV2 (CVE-2025-29775)
		{name: "DV2 evil digest in a comment inside DigestValue", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().SelectElement("DigestValue").InsertChildAt(0, etree.NewComment(tamperedDigest(t, f)))
			}},
		{name: "DV2 evil value in a comment inside SignatureValue", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.sig.SelectElement("SignatureValue").InsertChildAt(0, etree.NewComment(enc64(make([]byte, 256))))
			}},
		{name: "DV2 comment inside the Reference of a genuine signature", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().InsertChildAt(f.ref().SelectElement("DigestValue").Index(), etree.NewComment("x"))
			}},

		// 12 REF2
		{name: "REF2 second Reference to the same ID with an evil digest", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				genuine := f.ref()
				evil := genuine.Copy()
				evil.SelectElement("DigestValue").SetText(enc64(make([]byte, 32)))
				f.signedInfo().InsertChildAt(genuine.Index()+1, evil)
				f.signSignedInfo(t)
			}},
		{name: "REF2 Reference to another ID before the genuine one", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				genuine := f.ref()
				other := genuine.Copy()
				other.CreateAttr("URI", "#_other")
				f.signedInfo().InsertChildAt(genuine.Index(), other)
				f.signSignedInfo(t)
			}},
		{name: "MALF no Reference", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.signedInfo().RemoveChild(f.ref())
				f.signSignedInfo(t)
			}},

		// 13 URI
		{name: "URI #otherID", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				other := f.resp
				if f.target == f.resp {
					other = f.assertion()
				}
				f.ref().CreateAttr("URI", "#"+other.SelectAttrValue("ID", ""))
				f.seal(t)
			}},
		{name: "URI X<id> without '#'", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().CreateAttr("URI", "X"+f.target.SelectAttrValue("ID", ""))
				f.seal(t)
			}},
		{name: "URI # alone", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().CreateAttr("URI", "#")
				f.seal(t)
			}},
		{name: "URI # on an element without ID", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.target.RemoveAttr("ID")
				f.ref().CreateAttr("URI", "#")
				f.seal(t)
			}},
		{name: "URI external http", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().CreateAttr("URI", "https://evil.example.com/assertion.xml#"+f.target.SelectAttrValue("ID", ""))
				f.seal(t)
			}},
		{name: `URI "" (whole document)`, control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().CreateAttr("URI", "")
				f.seal(t)
			}},
		{name: "URI only as a prefixed attribute", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				ref := f.ref()
				uri := ref.SelectAttrValue("URI", "")
				ref.RemoveAttr("URI")
				ref.CreateAttr("xmlns:ev", "urn:example:evil")
				ref.CreateAttr("ev:URI", uri)
				f.seal(t)
			}},
		{name: "URI Reference with a Type attribute", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().CreateAttr("Type", "http://www.w3.org/2000/09/xmldsig#Object")
				f.seal(t)
			}},
	})
}

func TestSignatureTransformAttacks(t *testing.T) {
	// 17 XFORM: only enveloped-signature + exclusive c14n are allowed.
	runSigAttacks(t, []sigAttack{
		{name: "XFORM XSLT", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				setTransforms(f, algEnveloped, algXSLT)
				f.transforms().ChildElements()[1].AddChild(nsElement("xsl:stylesheet", "http://www.w3.org/1999/XSL/Transform"))
				f.seal(t)
			}},
		{name: "XFORM XPath", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				setTransforms(f, algEnveloped, algXPath, algExcC14N)
				f.transforms().ChildElements()[1].CreateElement("ds:XPath").SetText("not(ancestor-or-self::ds:Signature)")
				f.seal(t)
			}},
		{name: "XFORM base64", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				setTransforms(f, algEnveloped, algBase64)
				f.seal(t)
			}},
		{name: "XFORM inclusive c14n", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				setTransforms(f, algEnveloped, algC14N10)
				f.seal(t)
			}},
		{name: "XFORM inclusive c14n WithComments", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				setTransforms(f, algEnveloped, algC14N10Cmt)
				f.seal(t)
			}},
		{name: "XFORM exclusive c14n WithComments", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				setTransforms(f, algEnveloped, algExcC14NCmt)
				f.seal(t)
			}},
		{name: "XFORM c14n 1.1", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				setTransforms(f, algEnveloped, algC14N11)
				f.seal(t)
			}},
		{name: "XFORM more than two transforms", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				setTransforms(f, algEnveloped, algExcC14N, algExcC14N)
				f.seal(t)
			}},
		{name: "XFORM no enveloped transform", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				setTransforms(f, algExcC14N)
				f.seal(t)
			}},
		{name: "XFORM enveloped only, no c14n", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				setTransforms(f, algEnveloped)
				f.seal(t)
			}},
		{name: "XFORM enveloped listed twice", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				// goxmldsig removes the Signature, then whatever element
				// took its place (Status or Subject).
				setTransforms(f, algEnveloped, algEnveloped)
				f.seal(t)
			}},
		{name: "XFORM enveloped transform with an XPath child", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.transforms().ChildElements()[0].CreateElement("ds:XPath").SetText("1")
				f.seal(t)
			}},
		{name: "XFORM exclusive c14n transform with a foreign child", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.transforms().ChildElements()[1].CreateElement("ds:XPath").SetText("1")
				f.seal(t)
			}},
		{name: "XFORM InclusiveNamespaces with a child", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				in := nsElement("ec:InclusiveNamespaces", nsExcC14NPrefix)
				in.CreateAttr("PrefixList", "xs")
				in.CreateElement("ec:Extra")
				f.transforms().ChildElements()[1].AddChild(in)
				f.seal(t)
			}},
		{name: "XFORM Transform in a foreign namespace", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				x := nsElement("ev:Transform", "urn:example:evil")
				x.CreateAttr("Algorithm", algXSLT)
				f.transforms().AddChild(x)
				f.seal(t)
			}},
		{name: "XFORM foreign element inside Transforms", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.transforms().AddChild(nsElement("ev:Extra", "urn:example:evil"))
				f.seal(t)
			}},
		{name: "XFORM inclusive c14n behind a second, prefixed Algorithm", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				hideAlgorithm(f.transforms().ChildElements()[1], algC14N10Cmt)
				f.seal(t)
			}},
		// The same rules for the SignedInfo's CanonicalizationMethod.
		{name: "XFORM SignedInfo canonicalized with inclusive c14n", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.signedInfo().SelectElement("CanonicalizationMethod").CreateAttr("Algorithm", algC14N10)
				f.signSignedInfo(t)
			}},
		{name: "XFORM SignedInfo canonicalized exclusive WithComments", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.signedInfo().SelectElement("CanonicalizationMethod").CreateAttr("Algorithm", algExcC14NCmt)
				f.signSignedInfo(t)
			}},
		{name: "XFORM CanonicalizationMethod with InclusiveNamespaces", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				in := nsElement("ec:InclusiveNamespaces", nsExcC14NPrefix)
				in.CreateAttr("PrefixList", "saml")
				f.signedInfo().SelectElement("CanonicalizationMethod").AddChild(in)
				f.signSignedInfo(t)
			}},
	})
}

func TestSignatureAlgorithmAttacks(t *testing.T) {
	certHMAC := func(key []byte) func(t *testing.T, f *forgery) {
		return func(t *testing.T, f *forgery) {
			f.signedInfo().SelectElement("SignatureMethod").CreateAttr("Algorithm", algHMACSHA1)
			if key == nil {
				key = f.e.idp.Certificate.Raw
			}
			mac := hmac.New(sha1.New, key)
			mac.Write(canonicalSignedInfo(t, f.sig))
			f.sig.SelectElement("SignatureValue").SetText(enc64(mac.Sum(nil)))
		}
	}
	runSigAttacks(t, []sigAttack{
		// 18 ALG
		{name: "ALG rsa-sha1 signature", want: wantShape,
			resp: func(r *saml2sptest.Response) { r.SignatureAlgorithm = "rsa-sha1" }, mutate: func(*testing.T, *forgery) {}},
		{name: "ALG sha1 digest", want: wantShape,
			resp: func(r *saml2sptest.Response) { r.DigestAlgorithm = "sha1" }, mutate: func(*testing.T, *forgery) {}},
		{name: "ALG rsa-sha1 signature and sha1 digest", want: wantShape,
			resp: func(r *saml2sptest.Response) {
				r.SignatureAlgorithm, r.DigestAlgorithm = "rsa-sha1", "sha1"
			}, mutate: func(*testing.T, *forgery) {}},
		{name: "ALG rsa-sha1 behind a second, prefixed Algorithm on SignatureMethod", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				hideAlgorithm(f.signedInfo().SelectElement("SignatureMethod"), algRSASHA1)
				f.signSignedInfo(t)
			}},
		{name: "ALG sha1 digest behind a second, prefixed Algorithm on DigestMethod", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				hideAlgorithm(f.ref().SelectElement("DigestMethod"), algSHA1)
				f.seal(t)
			}},
		{name: "ALG unknown DigestMethod (md5 URI, 32-byte value)", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().SelectElement("DigestMethod").CreateAttr("Algorithm", algMD5)
				f.signSignedInfo(t)
			}},
		{name: "ALG second SignatureMethod rsa-sha1 after the genuine one", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				sm := f.signedInfo().SelectElement("SignatureMethod")
				sha1 := sm.Copy()
				sha1.CreateAttr("Algorithm", algRSASHA1)
				f.signedInfo().InsertChildAt(sm.Index()+1, sha1)
				f.signSignedInfo(t)
			}},
		{name: "ALG DigestMethod with a child", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().SelectElement("DigestMethod").CreateElement("ds:Extra")
				f.seal(t)
			}},

		// 19 HMAC (CVE-2018-7644, CVE-2009-0217)
		{name: "HMAC hmac-sha1 keyed with the certificate DER", want: wantShape, mutate: certHMAC(nil)},
		{name: "HMAC hmac-sha1 keyed with the certificate's base64 text", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				certHMAC([]byte(enc64(f.e.idp.Certificate.Raw)))(t, f)
			}},
		{name: "HMAC HMACOutputLength 8 (CVE-2009-0217)", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				certHMAC(nil)(t, f)
				f.signedInfo().SelectElement("SignatureMethod").CreateElement("ds:HMACOutputLength").SetText("8")
				f.sig.SelectElement("SignatureValue").SetText("AA==")
			}},
		{name: "HMAC rsa-sha256 SignatureMethod with an HMACOutputLength child", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.signedInfo().SelectElement("SignatureMethod").CreateElement("ds:HMACOutputLength").SetText("8")
				f.signSignedInfo(t)
			}},
		{name: "HMAC hmac-sha1 SignatureMethod before the genuine one", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				sm := f.signedInfo().SelectElement("SignatureMethod")
				h := sm.Copy()
				h.CreateAttr("Algorithm", algHMACSHA1)
				f.signedInfo().InsertChildAt(sm.Index(), h)
				f.signSignedInfo(t)
			}},

		// 23 VOID (CVE-2025-66568, CVE-2025-66578): canonicalization that
		// fails to the empty string must not meet a digest of "".
		{name: "VOID xmlns:ns=1 and DigestValue of the empty string", want: wantCrypto,
			mutate: func(t *testing.T, f *forgery) {
				f.target.CreateAttr("xmlns:ns", "1")
				f.nameID().SetText(evilNameID)
				empty := sha256.Sum256(nil)
				f.ref().SelectElement("DigestValue").SetText(enc64(empty[:]))
				f.signSignedInfo(t)
			}},
		{name: "VOID xmlns:ns=1 on SignedInfo and SignatureValue over the empty string", want: wantCrypto,
			mutate: func(t *testing.T, f *forgery) {
				f.signedInfo().CreateAttr("xmlns:ns", "1")
				empty := sha256.Sum256(nil)
				v, err := f.e.idp.Key.Sign(rand.Reader, empty[:], crypto.SHA256)
				require.NoError(t, err)
				f.sig.SelectElement("SignatureValue").SetText(enc64(v))
			}},
	})
}

func TestSignatureMalformedAttacks(t *testing.T) {
	// 22 MALF: refused cleanly, without panic; plus the other shape
	// checks of SignedInfo and Reference.
	runSigAttacks(t, []sigAttack{
		{name: "MALF no SignatureValue", want: wantShape,
			mutate: func(t *testing.T, f *forgery) { f.sig.RemoveChild(f.sig.SelectElement("SignatureValue")) }},
		{name: "MALF no SignedInfo", want: wantShape,
			mutate: func(t *testing.T, f *forgery) { f.sig.RemoveChild(f.signedInfo()) }},
		{name: "MALF empty DigestValue", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().SelectElement("DigestValue").SetText("")
				f.signSignedInfo(t)
			}},
		{name: "MALF DigestValue too short for its DigestMethod", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().SelectElement("DigestValue").SetText(enc64(make([]byte, 16)))
				f.signSignedInfo(t)
			}},
		{name: "MALF DigestValue not base64", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().SelectElement("DigestValue").SetText("%%%")
				f.signSignedInfo(t)
			}},
		{name: "MALF bad base64 SignatureValue", want: wantShape,
			mutate: func(t *testing.T, f *forgery) { f.sig.SelectElement("SignatureValue").SetText("!!not*base64!!") }},
		{name: "MALF two SignatureValues, evil one first", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				sv := f.sig.SelectElement("SignatureValue")
				evil := sv.Copy()
				evil.SetText(enc64(make([]byte, 256)))
				f.sig.InsertChildAt(sv.Index(), evil)
			}},
		{name: "MALF empty SignatureValue", want: wantShape,
			mutate: func(t *testing.T, f *forgery) { f.sig.SelectElement("SignatureValue").SetText("") }},
		{name: "MALF element inside SignatureValue", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.sig.SelectElement("SignatureValue").InsertChildAt(0, nsElement("ev:x", "urn:example:evil"))
			}},
		{name: "MALF element inside DigestValue", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.seal(t)
				dv := f.ref().SelectElement("DigestValue")
				dv.InsertChildAt(0, nsElement("ev:x", "urn:example:evil"))
				f.signSignedInfo(t)
			}},
		{name: "MALF two DigestValues, evil one first", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				dv := f.ref().SelectElement("DigestValue")
				evil := dv.Copy()
				f.ref().InsertChildAt(dv.Index(), evil)
				f.seal(t)
				evil.SetText(enc64(make([]byte, 32)))
				f.signSignedInfo(t)
			}},
		{name: "MALF two DigestMethods", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				dm := f.ref().SelectElement("DigestMethod")
				f.ref().InsertChildAt(dm.Index(), dm.Copy())
				f.seal(t)
			}},
		{name: "MALF no DigestMethod", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().RemoveChild(f.ref().SelectElement("DigestMethod"))
				f.signSignedInfo(t)
			}},
		{name: "MALF no Transforms", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().RemoveChild(f.transforms())
				f.seal(t)
			}},
		{name: "MALF foreign element inside Reference", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().AddChild(nsElement("ev:DigestValue", "urn:example:evil"))
				f.seal(t)
			}},
		{name: "MALF ds:Object inside Reference", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.ref().CreateElement("ds:Object").SetText("x")
				f.seal(t)
			}},
		{name: "MALF foreign element inside SignedInfo", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.signedInfo().AddChild(nsElement("ev:Reference", "urn:example:evil"))
				f.signSignedInfo(t)
			}},
		{name: "MALF text inside SignedInfo", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.signedInfo().AddChild(etree.NewText("evil"))
				f.signSignedInfo(t)
			}},
		{name: "MALF unexpected attribute on SignedInfo", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.signedInfo().CreateAttr("URI", "#_other")
				f.signSignedInfo(t)
			}},
		{name: "MALF no CanonicalizationMethod", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.signedInfo().RemoveChild(f.signedInfo().SelectElement("CanonicalizationMethod"))
				f.signSignedInfo(t)
			}},
		{name: "MALF two CanonicalizationMethods", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				cm := f.signedInfo().SelectElement("CanonicalizationMethod")
				f.signedInfo().InsertChildAt(cm.Index(), cm.Copy())
				f.signSignedInfo(t)
			}},
		{name: "MALF no SignatureMethod", want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				f.signedInfo().RemoveChild(f.signedInfo().SelectElement("SignatureMethod"))
				f.signSignedInfo(t)
			}},
		{name: "MALF signed element without ID", want: wantShape,
			mutate: func(t *testing.T, f *forgery) { f.target.RemoveAttr("ID") }},
	})
}

func TestSignatureKeyInfoAttacks(t *testing.T) {
	runSigAttacks(t, []sigAttack{
		// 20 KEYINFO: a second KeyInfo is refused even though the SP never
		// reads keys from the message.
		{name: "KEYINFO second KeyInfo with the attacker's certificate", control: true, want: wantShape,
			mutate: func(t *testing.T, f *forgery) {
				attacker := newAttackerIdP(t, testIdPEntityID)
				ki := f.sig.SelectElement("KeyInfo").Copy()
				ki.FindElement("./X509Data/X509Certificate").SetText(enc64(attacker.Certificate.Raw))
				f.sig.InsertChildAt(f.sig.SelectElement("KeyInfo").Index(), ki)
			}},
	})
}

func TestSignatureByUntrustedKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signer func(t *testing.T, e *testEnv) *saml2sptest.IdP
		resp   func(*saml2sptest.Response)
		fix    func(t *testing.T, signer *saml2sptest.IdP, doc *etree.Document)
		// relabel: with only the assertion signed, the attacker also
		// rewrites the unsigned Response's Issuer to IdP A, so that the
		// signed assertion's Issuer is what must refuse it.
		relabel bool
		want    []error
	}{
		// 20 KEYINFO (CVE-2023-48703): keys come from metadata only.
		{name: "KEYINFO signed by an attacker key whose certificate is in KeyInfo",
			signer: func(t *testing.T, _ *testEnv) *saml2sptest.IdP { return newAttackerIdP(t, testIdPEntityID) },
			want:   wantCrypto},
		{name: "KEYINFO signed by an attacker key given only as RSAKeyValue",
			signer: func(t *testing.T, _ *testEnv) *saml2sptest.IdP { return newAttackerIdP(t, testIdPEntityID) },
			fix: func(t *testing.T, signer *saml2sptest.IdP, doc *etree.Document) {
				pub := signer.Key.Public().(*rsa.PublicKey)
				for _, ki := range doc.FindElements("//KeyInfo") {
					for _, c := range ki.ChildElements() {
						ki.RemoveChild(c)
					}
					kv := ki.CreateElement("ds:KeyValue").CreateElement("ds:RSAKeyValue")
					kv.CreateElement("ds:Modulus").SetText(enc64(pub.N.Bytes()))
					kv.CreateElement("ds:Exponent").SetText(enc64(big.NewInt(int64(pub.E)).Bytes()))
				}
			},
			want: wantCrypto},
		// 21 XIDP
		{name: "XIDP signed by untrusted IdP B claiming Issuer A",
			signer: func(t *testing.T, _ *testEnv) *saml2sptest.IdP {
				return newAttackerIdP(t, "https://idp-b.example.net/metadata")
			},
			resp: func(r *saml2sptest.Response) { r.Issuer = testIdPEntityID },
			want: wantCrypto},
		{name: "XIDP signed by trusted IdP A with Issuer B",
			signer:  func(_ *testing.T, e *testEnv) *saml2sptest.IdP { return e.idp },
			resp:    func(r *saml2sptest.Response) { r.Issuer = "https://idp-b.example.net/metadata" },
			relabel: true,
			want:    []error{saml2sp.ErrIssuer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sign := range allSignModes {
				t.Run(signName(sign), func(t *testing.T) {
					e := newTestEnv(t)
					signer := tc.signer(t, e)
					r := e.response(func(r *saml2sptest.Response) { r.Sign = sign })
					if tc.resp != nil {
						tc.resp(&r)
					}
					b, err := signer.ResponseXML(r)
					require.NoError(t, err)
					doc := etree.NewDocument()
					require.NoError(t, doc.ReadFromBytes(b))
					if tc.fix != nil {
						tc.fix(t, signer, doc)
					}
					if tc.relabel && sign == saml2sptest.SignAssertion {
						doc.Root().SelectElement("Issuer").SetText(testIdPEntityID)
					}
					a, err := e.parse(encodeDoc(t, doc))
					requireRefused(t, a, err, tc.want...)
				})
			}
		})
	}
}

func TestSignatureSHA1OnlyWithInsecureAllowSHA1(t *testing.T) {
	for _, tc := range []struct{ name, sig, digest string }{
		{"ALG rsa-sha1 signature", "rsa-sha1", ""},
		{"ALG sha1 digest", "", "sha1"},
		{"ALG rsa-sha1 signature and sha1 digest", "rsa-sha1", "sha1"},
	} {
		for _, sign := range oneSignature {
			t.Run(tc.name+"/"+signName(sign), func(t *testing.T) {
				r := func(r *saml2sptest.Response) {
					r.Sign, r.SignatureAlgorithm, r.DigestAlgorithm = sign, tc.sig, tc.digest
				}
				strict := newTestEnv(t)
				a, err := strict.parse(strict.mint(strict.response(r)))
				requireRefused(t, a, err, wantShape...)

				lax := newTestEnv(t, func(c *saml2sp.Config) { c.InsecureAllowSHA1 = true })
				a, err = lax.parse(lax.mint(lax.response(r)))
				require.NoError(t, err)
				assert.Equal(t, "alice@example.com", a.NameID)
			})
		}
	}
}

func TestSignatureUnsignedOrTampered(t *testing.T) {
	t.Run("unsigned Response (SignNone)", func(t *testing.T) {
		e := newTestEnv(t)
		a, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) { r.Sign = saml2sptest.SignNone })))
		requireRefused(t, a, err, saml2sp.ErrSignature)
	})
	for _, sign := range allSignModes {
		t.Run("NameID tampered after signing/"+signName(sign), func(t *testing.T) {
			e := newTestEnv(t)
			doc := e.mintXML(e.response(func(r *saml2sptest.Response) { r.Sign = sign }))
			doc.FindElement("//NameID").SetText(evilNameID)
			a, err := e.parse(encodeDoc(t, doc))
			requireRefused(t, a, err, wantCrypto...)
		})
	}
}

// rolloverEnv is an SP that trusts two certificates of its IdP, whose
// saml2sptest.IdP signs with the second key.
func rolloverEnv(t *testing.T) (*testEnv, *x509.Certificate) {
	t.Helper()
	old := newAttackerIdP(t, testIdPEntityID)
	e := newTestEnv(t)
	certs := []*x509.Certificate{old.Certificate, e.idp.Certificate}
	e2 := newTestEnv(t, func(c *saml2sp.Config) {
		c.IdP = e.idp.IdentityProvider()
		c.IdP.Certificates = certs
	})
	e2.idp = e.idp
	return e2, old.Certificate
}

func TestSignatureKeyRollover(t *testing.T) {
	for _, tc := range []struct {
		name        string
		omitKeyInfo bool
		keyInfo     func(first *x509.Certificate) *x509.Certificate
		signs       []saml2sptest.Sign
	}{
		{name: "signed by the second certificate, KeyInfo names it", signs: allSignModes},
		{name: "signed by the second certificate, no KeyInfo", omitKeyInfo: true, signs: allSignModes},
		// Editing KeyInfo after signing: only where no outer signature
		// covers it.
		{name: "signed by the second certificate, KeyInfo names the first", signs: oneSignature,
			keyInfo: func(first *x509.Certificate) *x509.Certificate { return first }},
	} {
		for _, sign := range tc.signs {
			t.Run(tc.name+"/"+signName(sign), func(t *testing.T) {
				e, first := rolloverEnv(t)
				doc := e.mintXML(e.response(func(r *saml2sptest.Response) {
					r.Sign, r.OmitKeyInfo = sign, tc.omitKeyInfo
				}))
				if tc.keyInfo != nil {
					for _, c := range doc.FindElements("//X509Certificate") {
						c.SetText(enc64(tc.keyInfo(first).Raw))
					}
				}
				a, err := e.parse(encodeDoc(t, doc))
				require.NoError(t, err)
				assert.Equal(t, "alice@example.com", a.NameID)
			})
		}
	}
}

func newECDSAEnv(t *testing.T) *testEnv {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	cert, err := saml2sptest.NewCertificate(key, testNow.Add(-time.Hour), testNow.AddDate(1, 0, 0))
	require.NoError(t, err)
	idp := saml2sptest.NewIdPWithKey(testIdPEntityID, key, cert)
	idp.Clock = func() time.Time { return testNow }
	e := newTestEnv(t, func(c *saml2sp.Config) { c.IdP = idp.IdentityProvider() })
	e.idp = idp
	return e
}

func TestSignatureECDSAP256Accepted(t *testing.T) {
	// XML-DSig writes an ECDSA SignatureValue as raw r||s (RFC 4050);
	// goxmldsig writes and reads ASN.1 DER. Both must verify.
	toRaw := func(t *testing.T, doc *etree.Document) {
		for _, sv := range doc.FindElements("//SignatureValue") {
			der, err := base64.StdEncoding.DecodeString(sv.Text())
			require.NoError(t, err)
			var rs struct{ R, S *big.Int }
			_, err = asn1.Unmarshal(der, &rs)
			require.NoError(t, err)
			raw := make([]byte, 64)
			rs.R.FillBytes(raw[:32])
			rs.S.FillBytes(raw[32:])
			sv.SetText(enc64(raw))
		}
	}
	for _, tc := range []struct {
		name  string
		fix   func(t *testing.T, doc *etree.Document)
		signs []saml2sptest.Sign
	}{
		{"ASN.1 DER SignatureValue", func(*testing.T, *etree.Document) {}, allSignModes},
		{"raw r||s SignatureValue", toRaw, oneSignature},
	} {
		for _, sign := range tc.signs {
			t.Run(tc.name+"/"+signName(sign), func(t *testing.T) {
				e := newECDSAEnv(t)
				doc := e.mintXML(e.response(func(r *saml2sptest.Response) { r.Sign = sign }))
				tc.fix(t, doc)
				a, err := e.parse(encodeDoc(t, doc))
				require.NoError(t, err)
				assert.Equal(t, "alice@example.com", a.NameID)

				doc.FindElement("//NameID").SetText(evilNameID)
				a, err = e.parse(encodeDoc(t, doc))
				requireRefused(t, a, err, wantCrypto...)
			})
		}
	}
}

func TestSignatureExpiredCertificate(t *testing.T) {
	expiredEnv := func(t *testing.T, mods ...func(*saml2sp.Config)) *testEnv {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		cert, err := saml2sptest.NewCertificate(key, testNow.AddDate(-2, 0, 0), testNow.AddDate(-1, 0, 0))
		require.NoError(t, err)
		idp := saml2sptest.NewIdPWithKey(testIdPEntityID, key, cert)
		idp.Clock = func() time.Time { return testNow }
		e := newTestEnv(t, append([]func(*saml2sp.Config){func(c *saml2sp.Config) { c.IdP = idp.IdentityProvider() }}, mods...)...)
		e.idp = idp
		return e
	}
	for _, sign := range oneSignature {
		t.Run("accepted by default/"+signName(sign), func(t *testing.T) {
			e := expiredEnv(t)
			a, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) { r.Sign = sign })))
			require.NoError(t, err)
			assert.Equal(t, "alice@example.com", a.NameID)
		})
		t.Run("rejected with RejectExpiredCertificates/"+signName(sign), func(t *testing.T) {
			e := expiredEnv(t, func(c *saml2sp.Config) { c.RejectExpiredCertificates = true })
			a, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) { r.Sign = sign })))
			requireRefused(t, a, err, saml2sp.ErrSignature)
		})
	}
}
