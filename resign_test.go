package saml2sp_test

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// XML-DSig identifiers the attack tests put into signatures. The ones
// goxmldsig knows are taken from it.
const (
	dsNS            = dsig.Namespace
	algEnveloped    = string(dsig.EnvelopedSignatureAltorithmId)
	algExcC14N      = string(dsig.CanonicalXML10ExclusiveAlgorithmId)
	algExcC14NCmt   = string(dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId)
	algC14N10       = string(dsig.CanonicalXML10RecAlgorithmId)
	algC14N10Cmt    = string(dsig.CanonicalXML10WithCommentsAlgorithmId)
	algC14N11       = string(dsig.CanonicalXML11AlgorithmId)
	algXSLT         = "http://www.w3.org/TR/1999/REC-xslt-19991116"
	algXPath        = "http://www.w3.org/TR/1999/REC-xpath-19991116"
	algBase64       = "http://www.w3.org/2000/09/xmldsig#base64"
	algRSASHA1      = dsig.RSASHA1SignatureMethod
	algRSASHA256    = dsig.RSASHA256SignatureMethod
	algHMACSHA1     = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
	algSHA1         = "http://www.w3.org/2000/09/xmldsig#sha1"
	algSHA256       = "http://www.w3.org/2001/04/xmlenc#sha256"
	algMD5          = "http://www.w3.org/2001/04/xmldsig-more#md5"
	nsExcC14NPrefix = "http://www.w3.org/2001/10/xml-exc-c14n#"
)

// dsigHashes maps the DigestMethod and SignatureMethod URIs to their hash.
var dsigHashes = map[string]crypto.Hash{
	algSHA1: crypto.SHA1, algSHA256: crypto.SHA256,
	"http://www.w3.org/2001/04/xmldsig-more#sha384": crypto.SHA384,
	"http://www.w3.org/2001/04/xmlenc#sha512":       crypto.SHA512,
	algRSASHA1: crypto.SHA1, algRSASHA256: crypto.SHA256,
	dsig.RSASHA384SignatureMethod: crypto.SHA384, dsig.RSASHA512SignatureMethod: crypto.SHA512,
	dsig.ECDSASHA1SignatureMethod: crypto.SHA1, dsig.ECDSASHA256SignatureMethod: crypto.SHA256,
}

// The helpers below make a manipulated document validly signed again, so
// that an attack test proves the check it targets is what refuses it, and
// not a broken digest. They sign with the IdP's own key: "the IdP signed
// this shape" is the strongest assumption an attacker could hope for.

// resign gives el a fresh enveloped signature by idp, made the way an IdP
// makes it (goxmldsig, exclusive c14n, SHA-256, one Reference to "#"+ID,
// KeyInfo with idp's certificate), in place of its direct-child ds:Signature
// if it had one, right after its Issuer. Use it after changing signed
// content.
func resign(t *testing.T, idp *saml2sptest.IdP, el *etree.Element) *etree.Element {
	t.Helper()
	if old := directSignature(el); old != nil {
		el.RemoveChild(old)
	}
	ctx, err := dsig.NewSigningContext(idp.Key, [][]byte{idp.Certificate.Raw})
	require.NoError(t, err)
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(detachedCopy(t, el), true)
	require.NoError(t, err)
	issuer := el.SelectElement("Issuer")
	require.NotNil(t, issuer, "resign: %s has no Issuer", el.Tag)
	el.InsertChildAt(issuer.Index()+1, sig)
	return sig
}

// seal makes sig, a ds:Signature somewhere inside el that a test reshaped,
// cryptographically valid again for el as goxmldsig checks it: every
// Reference's DigestValue becomes the digest goxmldsig computes for el under
// that Reference's transforms and DigestMethod, and the SignatureValue
// becomes idp's signature over the first SignedInfo.
func seal(t *testing.T, idp *saml2sptest.IdP, el, sig *etree.Element) {
	t.Helper()
	setDigests(t, el, sig)
	signSignedInfo(t, idp.Key, sig)
}

// setDigests sets the DigestValue of every Reference of sig to the digest
// goxmldsig computes for el under it.
func setDigests(t *testing.T, el, sig *etree.Element) {
	t.Helper()
	for _, si := range sig.SelectElements("SignedInfo") {
		for _, ref := range si.SelectElements("Reference") {
			d := base64.StdEncoding.EncodeToString(referenceDigest(t, el, sig, ref))
			for _, dv := range ref.SelectElements("DigestValue") {
				dv.SetText(d)
			}
		}
	}
}

// referenceDigest returns the digest goxmldsig (validate.go, transform)
// computes for el under ref: a copy of el detached with its in-scope
// namespaces, the enveloped transform removing sig, the last c14n transform
// listed (none: goxmldsig's "null" canonicalizer), the DigestMethod's hash.
// Unknown transforms are skipped: goxmldsig refuses them anyway.
func referenceDigest(t *testing.T, el, sig, ref *etree.Element) []byte {
	t.Helper()
	var path []int
	for e := sig; e != el; e = e.Parent() {
		require.NotNil(t, e.Parent(), "signature is not inside the signed element")
		path = append([]int{e.Index()}, path...)
	}
	c := detachedCopy(t, el)
	var canon dsig.Canonicalizer
	if ts := ref.SelectElement("Transforms"); ts != nil {
		for _, tr := range ts.SelectElements("Transform") {
			prefixes := ""
			if in := tr.SelectElement("InclusiveNamespaces"); in != nil {
				prefixes = in.SelectAttrValue("PrefixList", "")
			}
			switch lastAlgorithm(tr) {
			case algEnveloped:
				target := c
				for _, i := range path[:len(path)-1] {
					target = target.Child[i].(*etree.Element)
				}
				if len(target.Child) > path[len(path)-1] {
					if e, ok := target.Child[path[len(path)-1]].(*etree.Element); ok {
						target.RemoveChild(e)
					}
				}
			case algExcC14N:
				canon = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixes)
			case algExcC14NCmt:
				canon = dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(prefixes)
			case algC14N10:
				canon = dsig.MakeC14N10RecCanonicalizer()
			case algC14N10Cmt:
				canon = dsig.MakeC14N10WithCommentsCanonicalizer()
			case algC14N11:
				canon = dsig.MakeC14N11Canonicalizer()
			}
		}
	}
	if canon == nil {
		canon = dsig.MakeNullCanonicalizer()
	}
	b, err := canon.Canonicalize(c)
	require.NoError(t, err)
	h := crypto.SHA256
	if dm := ref.SelectElement("DigestMethod"); dm != nil {
		if known, ok := dsigHashes[lastAlgorithm(dm)]; ok {
			h = known
		}
	}
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

// signSignedInfo sets sig's SignatureValue to key's signature over the
// first SignedInfo, canonicalized as goxmldsig does (findSignature): as its
// first CanonicalizationMethod says, hashed as its last SignatureMethod says.
func signSignedInfo(t *testing.T, key crypto.Signer, sig *etree.Element) {
	t.Helper()
	// goxmldsig's encoding/xml struct keeps the last SignatureMethod.
	h := crypto.SHA256
	if sms := sig.SelectElement("SignedInfo").SelectElements("SignatureMethod"); len(sms) > 0 {
		if known, ok := dsigHashes[lastAlgorithm(sms[len(sms)-1])]; ok {
			h = known
		}
	}
	d := h.New()
	d.Write(canonicalSignedInfo(t, sig))
	v, err := key.Sign(rand.Reader, d.Sum(nil), h)
	require.NoError(t, err)
	if sv := sig.SelectElement("SignatureValue"); sv != nil {
		sv.SetText(base64.StdEncoding.EncodeToString(v))
	}
}

// canonicalSignedInfo returns the bytes goxmldsig verifies the
// SignatureValue over.
func canonicalSignedInfo(t *testing.T, sig *etree.Element) []byte {
	t.Helper()
	si := sig.SelectElement("SignedInfo")
	require.NotNil(t, si)
	ctx, err := etreeutils.NSBuildParentContext(si)
	require.NoError(t, err)
	c, err := etreeutils.NSDetatch(ctx, si)
	require.NoError(t, err)
	canon := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if cm := si.SelectElement("CanonicalizationMethod"); cm != nil {
		switch cm.SelectAttrValue("Algorithm", "") {
		case algExcC14NCmt:
			canon = dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList("")
		case algC14N10, algC14N11:
			canon = dsig.MakeC14N11Canonicalizer()
		case algC14N10Cmt:
			canon = dsig.MakeC14N11WithCommentsCanonicalizer()
		}
	}
	b, err := canon.Canonicalize(c)
	require.NoError(t, err)
	return b
}

// requireGoxmldsigAccepts is the control of an attack test: goxmldsig alone,
// trusting only idp's certificate, accepts el's signature after the
// manipulation (KeyInfo removed first, as the SP does). So the attack is
// validly signed and only the SP's own check can refuse it.
func requireGoxmldsigAccepts(t *testing.T, idp *saml2sptest.IdP, el *etree.Element) {
	t.Helper()
	c := detachedCopy(t, el)
	if sig := directSignature(c); sig != nil {
		for _, ki := range sig.SelectElements("KeyInfo") {
			sig.RemoveChild(ki)
		}
	}
	require.NoError(t, goxmldsigValidate(c, idp.Certificate),
		"control: goxmldsig alone must accept the manipulated signature, or the test proves nothing")
}

func goxmldsigValidate(el *etree.Element, cert *x509.Certificate) error {
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	ctx.Clock = dsig.NewFakeClockAt(cert.NotBefore)
	_, err := ctx.Validate(el)
	return err
}

// detachedCopy copies el and declares on the copy, after its own
// attributes, the namespaces it inherits, as the SP does before it hands el
// to goxmldsig (attribute order matters to etree's SelectAttr).
func detachedCopy(t *testing.T, el *etree.Element) *etree.Element {
	t.Helper()
	c := el.Copy()
	have := map[string]bool{}
	for _, a := range c.Attr {
		if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
			have[a.FullKey()] = true
		}
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if (a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns") && !have[a.FullKey()] {
				have[a.FullKey()] = true
				c.CreateAttr(a.FullKey(), a.Value)
			}
		}
	}
	return c
}

// directSignature returns el's first direct-child ds:Signature, or nil.
func directSignature(el *etree.Element) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == dsNS {
			return c
		}
	}
	return nil
}

// lastAlgorithm reads an Algorithm attribute the way goxmldsig's
// encoding/xml structs do: the last attribute of that local name, whatever
// its namespace.
func lastAlgorithm(el *etree.Element) string {
	v := ""
	for _, a := range el.Attr {
		if a.Key == "Algorithm" {
			v = a.Value
		}
	}
	return v
}

// The attack harness: mint, manipulate, check the control, parse.

// signMode is which element saml2sptest signs and which one the attack
// targets.
type signMode struct {
	name   string
	sign   saml2sptest.Sign
	target string // "Response" or "Assertion"
}

var (
	modeFA    = signMode{"F-A", saml2sptest.SignAssertion, "Assertion"}
	modeFR    = signMode{"F-R", saml2sptest.SignResponse, "Response"}
	modeBothA = signMode{"both signed, assertion attacked", saml2sptest.SignBoth, "Assertion"}
	modeBothR = signMode{"both signed, response attacked", saml2sptest.SignBoth, "Response"}
	faAndFR   = []signMode{modeFA, modeFR}
)

// forgery is a minted document being manipulated.
type forgery struct {
	e      *testEnv
	doc    *etree.Document
	resp   *etree.Element // the samlp:Response
	target *etree.Element // the element whose signature is attacked
	sig    *etree.Element // target's direct-child ds:Signature (nil if unsigned)
}

func (f *forgery) assertion() *etree.Element { return f.resp.SelectElement("Assertion") }
func (f *forgery) signedInfo() *etree.Element {
	return f.sig.SelectElement("SignedInfo")
}
func (f *forgery) ref() *etree.Element        { return f.signedInfo().SelectElement("Reference") }
func (f *forgery) transforms() *etree.Element { return f.ref().SelectElement("Transforms") }
func (f *forgery) nameID() *etree.Element     { return f.resp.FindElement(".//NameID") }
func (f *forgery) seal(t *testing.T)          { seal(t, f.e.idp, f.target, f.sig) }
func (f *forgery) signSignedInfo(t *testing.T) {
	signSignedInfo(t, f.e.idp.Key, f.sig)
}

// sigAttack is one catalogue manipulation.
type sigAttack struct {
	name   string
	modes  []signMode // nil: F-A and F-R
	resp   func(*saml2sptest.Response)
	mutate func(t *testing.T, f *forgery)
	// control: after mutate, goxmldsig alone accepts the target's
	// signature.
	control bool
	// want: every error the SP's error must match (errors.Is).
	want []error
}

// wantShape is what a rejection by a signature shape check matches.
var wantShape = []error{saml2sp.ErrSignature, xmldsig.ErrStructure}

// wantCrypto is what a rejection by the digest or signature
// verification itself matches.
var wantCrypto = []error{saml2sp.ErrSignature, xmldsig.ErrNoTrustedKey}

func runSigAttacks(t *testing.T, attacks []sigAttack) {
	t.Helper()
	for _, tc := range attacks {
		modes := tc.modes
		if modes == nil {
			modes = faAndFR
		}
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range modes {
				t.Run(m.name, func(t *testing.T) {
					e := newTestEnv(t)
					f := mintForgery(t, e, m, tc.resp)
					tc.mutate(t, f)
					if tc.control {
						requireGoxmldsigAccepts(t, e.idp, f.target)
					}
					a, err := e.parse(encodeDoc(t, f.doc))
					requireRefused(t, a, err, tc.want...)
				})
			}
		})
	}
}

func mintForgery(t *testing.T, e *testEnv, m signMode, mod func(*saml2sptest.Response)) *forgery {
	t.Helper()
	doc := e.mintXML(e.response(func(r *saml2sptest.Response) {
		r.Sign = m.sign
		if mod != nil {
			mod(r)
		}
	}))
	f := &forgery{e: e, doc: doc, resp: doc.Root()}
	f.target = f.resp
	if m.target == "Assertion" {
		f.target = f.assertion()
	}
	f.sig = directSignature(f.target)
	return f
}

// requireRefused asserts a clean rejection: an error matching every class
// in want, and no assertion.
func requireRefused(t *testing.T, a *saml2sp.Assertion, err error, want ...error) {
	t.Helper()
	require.Error(t, err, "attack accepted: NameID %q", nameIDOf(a))
	t.Logf("refused: %v", err)
	for _, w := range want {
		require.ErrorIs(t, err, w)
	}
	require.Nil(t, a)
}

func nameIDOf(a *saml2sp.Assertion) string {
	if a == nil {
		return ""
	}
	return a.NameID
}

// nsElement builds a detached prefix:local element that declares the
// namespace of its prefix.
func nsElement(tag, ns string) *etree.Element {
	e := etree.NewElement(tag)
	prefix, _, _ := strings.Cut(tag, ":")
	e.CreateAttr("xmlns:"+prefix, ns)
	return e
}

// setTransforms replaces the Reference's transforms by algs, in order.
func setTransforms(f *forgery, algs ...string) {
	ts := f.transforms()
	for _, c := range ts.ChildElements() {
		ts.RemoveChild(c)
	}
	for _, alg := range algs {
		ts.CreateElement("ds:Transform").CreateAttr("Algorithm", alg)
	}
}

// hideAlgorithm gives el a second, prefixed Algorithm attribute after its
// genuine one. etree's SelectAttr returns the first; goxmldsig's
// encoding/xml structs keep the last.
func hideAlgorithm(el *etree.Element, alg string) {
	el.CreateAttr("xmlns:ev", "urn:example:evil")
	el.CreateAttr("ev:Algorithm", alg)
}

const evilNameID = "admin@example.com"

func enc64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// tamperedDigest changes the NameID inside the target and returns the
// digest goxmldsig computes for the tampered target.
func tamperedDigest(t *testing.T, f *forgery) string {
	f.nameID().SetText(evilNameID)
	return enc64(referenceDigest(t, f.target, f.sig, f.ref()))
}

// newAttackerIdP returns an IdP with its own fresh key, at testNow.
func newAttackerIdP(t *testing.T, entityID string) *saml2sptest.IdP {
	t.Helper()
	idp, err := saml2sptest.NewIdP(entityID)
	require.NoError(t, err)
	idp.Clock = func() time.Time { return testNow }
	return idp
}

var (
	allSignModes = []saml2sptest.Sign{saml2sptest.SignAssertion, saml2sptest.SignResponse, saml2sptest.SignBoth}
	oneSignature = []saml2sptest.Sign{saml2sptest.SignAssertion, saml2sptest.SignResponse}
)

func signName(s saml2sptest.Sign) string {
	return map[saml2sptest.Sign]string{
		saml2sptest.SignAssertion: "F-A", saml2sptest.SignResponse: "F-R",
		saml2sptest.SignBoth: "both signed", saml2sptest.SignNone: "unsigned",
	}[s]
}
func TestResignHelpersKeepGenuineResponsesValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		sign saml2sptest.Sign
		fix  func(t *testing.T, e *testEnv, doc *etree.Document)
	}{
		{"resign assertion", saml2sptest.SignAssertion, func(t *testing.T, e *testEnv, doc *etree.Document) {
			resign(t, e.idp, doc.Root().SelectElement("Assertion"))
		}},
		{"resign response", saml2sptest.SignResponse, func(t *testing.T, e *testEnv, doc *etree.Document) {
			resign(t, e.idp, doc.Root())
		}},
		{"seal assertion", saml2sptest.SignAssertion, func(t *testing.T, e *testEnv, doc *etree.Document) {
			a := doc.Root().SelectElement("Assertion")
			seal(t, e.idp, a, directSignature(a))
		}},
		{"seal response", saml2sptest.SignResponse, func(t *testing.T, e *testEnv, doc *etree.Document) {
			seal(t, e.idp, doc.Root(), directSignature(doc.Root()))
		}},
		{"resign both", saml2sptest.SignBoth, func(t *testing.T, e *testEnv, doc *etree.Document) {
			resign(t, e.idp, doc.Root().SelectElement("Assertion"))
			resign(t, e.idp, doc.Root())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			doc := e.mintXML(e.response(func(r *saml2sptest.Response) { r.Sign = tc.sign }))
			// A different NameID, validly re-signed, must come through:
			// the helpers really sign what they are given.
			doc.Root().FindElement(".//NameID").SetText("resigned@example.com")
			tc.fix(t, e, doc)
			a, err := e.parse(encodeDoc(t, doc))
			require.NoError(t, err)
			require.Equal(t, "resigned@example.com", a.NameID)
		})
	}
}
