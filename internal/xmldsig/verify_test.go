package xmldsig_test

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp/internal/xmldsig"
)

// signXML signs the element with ID _thing in doc (which must declare
// every namespace it uses itself) with s, inserting the Signature after its
// first child, then puts it in wrap (a format with one %s, "%s" for none)
// and parses the result again.
func (s signer) signXML(t *testing.T, doc, wrap string) (*etree.Element, *etree.Element) {
	t.Helper()
	return s.signXMLPrefix(t, doc, wrap, dsig.DefaultPrefix)
}

// signXMLPrefix is signXML with the XML-DSig elements under prefix ("" for
// the default namespace).
func (s signer) signXMLPrefix(t *testing.T, doc, wrap, prefix string) (*etree.Element, *etree.Element) {
	t.Helper()
	d := etree.NewDocument()
	require.NoError(t, d.ReadFromString(doc))
	el := d.Root()
	ctx, err := dsig.NewSigningContext(s.key, [][]byte{s.cert.Raw})
	require.NoError(t, err)
	ctx.Prefix = prefix
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(el.Copy(), true)
	require.NoError(t, err)
	el.InsertChildAt(1, sig)
	b, err := d.WriteToString()
	require.NoError(t, err)
	d = etree.NewDocument()
	require.NoError(t, d.ReadFromString(fmt.Sprintf(wrap, b)))
	for _, e := range append([]*etree.Element{d.Root()}, d.Root().FindElements("//*")...) {
		if e.SelectAttrValue("ID", "") != "" {
			el = e
		}
	}
	require.NotNil(t, el)
	sigEl, err := xmldsig.Find(el)
	require.NoError(t, err)
	return el, sigEl
}

// observe runs Verify recording the certificate of each goxmldsig Validate.
func observe(t *testing.T, el, sigEl *etree.Element, trusted []*x509.Certificate) ([]*x509.Certificate, *etree.Element, *x509.Certificate, error) {
	t.Helper()
	sig, err := xmldsig.Check(sigEl, "_thing", xmldsig.Policy{})
	require.NoError(t, err)
	var ran []*x509.Certificate
	out, cert, err := xmldsig.VerifyObserved(el, sig, trusted, func(c *x509.Certificate) { ran = append(ran, c) })
	return ran, out, cert, err
}

// TestVerifyValidatesOnce: whatever KeyInfo says and however many keys are
// trusted, goxmldsig runs once, with the one certificate that verifies the
// SignedInfo, and never when none does.
func TestVerifyValidatesOnce(t *testing.T) {
	idp, attacker := newSigner(t, false), newSigner(t, false)
	decoys := make([]*x509.Certificate, 9)
	for i := range decoys {
		decoys[i] = newSigner(t, i%4 != 0).cert // ECDSA keys are quicker to make
	}
	last := append(append([]*x509.Certificate{}, decoys...), idp.cert)
	first := append([]*x509.Certificate{idp.cert}, decoys...)
	keyInfo := func(der []byte) func(*etree.Element, *etree.Element) {
		return func(_, sig *etree.Element) {
			sig.FindElement("./KeyInfo/X509Data/X509Certificate").SetText(base64.StdEncoding.EncodeToString(der))
		}
	}
	for _, tc := range []struct {
		name    string
		signer  signer
		mutate  func(el, sig *etree.Element)
		trusted []*x509.Certificate
		runs    int // goxmldsig Validate calls, each with idp's certificate
		wantErr error
	}{
		{name: "KeyInfo names the key, trusted last", signer: idp, trusted: last, runs: 1},
		{name: "no KeyInfo, trusted last", signer: idp, trusted: last, runs: 1,
			mutate: func(_, sig *etree.Element) { sig.RemoveChild(sig.SelectElement("KeyInfo")) }},
		{name: "no KeyInfo, trusted first", signer: idp, trusted: first, runs: 1,
			mutate: func(_, sig *etree.Element) { sig.RemoveChild(sig.SelectElement("KeyInfo")) }},
		{name: "KeyInfo names an untrusted certificate", signer: idp, trusted: last, runs: 1,
			mutate: keyInfo(attacker.cert.Raw)},
		{name: "KeyInfo names another trusted certificate", signer: idp, trusted: last, runs: 1,
			mutate: keyInfo(decoys[4].Raw)},
		{name: "forged SignatureValue", signer: idp, trusted: last, runs: 0, wantErr: xmldsig.ErrNoTrustedKey,
			mutate: func(_, sig *etree.Element) {
				forged := make([]byte, 256)
				_, _ = rand.Read(forged)
				sig.SelectElement("SignatureValue").SetText(base64.StdEncoding.EncodeToString(forged))
			}},
		{name: "signed by an untrusted key that KeyInfo names", signer: attacker, trusted: last, runs: 0,
			wantErr: xmldsig.ErrNoTrustedKey},
		{name: "genuine SignedInfo over changed content", signer: idp, trusted: last, runs: 1,
			wantErr: xmldsig.ErrNoTrustedKey,
			mutate:  func(el, _ *etree.Element) { el.SelectElement("Body").SetText("evil") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el, sigEl := tc.signer.signed(t)
			if tc.mutate != nil {
				tc.mutate(el, sigEl)
			}
			ran, out, cert, err := observe(t, el, sigEl, tc.trusted)
			require.Len(t, ran, tc.runs)
			for _, c := range ran {
				assert.Same(t, idp.cert, c)
			}
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Same(t, idp.cert, cert)
			assert.Equal(t, "hello", out.SelectElement("Body").Text())
		})
	}
}

// TestVerifyUnusualLayouts: the pre-check's canonical SignedInfo is
// goxmldsig's (see goxmldsigSignedInfo) for layouts the fixtures lack, and
// the signature verifies.
func TestVerifyUnusualLayouts(t *testing.T) {
	s := newSigner(t, true)
	const thing = `<t:Thing xmlns:t="urn:example:thing" ID="%s"><t:Issuer>idp</t:Issuer><t:Body>hello</t:Body></t:Thing>`
	moveDS := func(to func(el *etree.Element) *etree.Element) func(el, sig *etree.Element) {
		return func(el, sig *etree.Element) {
			sig.RemoveAttr("xmlns:ds")
			to(el).CreateAttr("xmlns:ds", xmldsig.NS)
		}
	}
	for _, tc := range []struct {
		name   string
		id     string
		wrap   string
		prefix string
		edit   func(el, sig *etree.Element)
	}{
		// Attribute values that etree escapes differently in canonical form.
		{name: "ID with an apostrophe, > and a tab", id: "_a'b>c\td", prefix: "ds"},
		{name: "Signature in the default namespace", id: "_thing"},
		{name: "ds declared on the signed element", id: "_thing", prefix: "ds",
			edit: moveDS(func(el *etree.Element) *etree.Element { return el })},
		{name: "ds declared on an ancestor", id: "_thing", prefix: "ds",
			wrap: `<w:Wrap xmlns:w="urn:example:wrap">%s</w:Wrap>`,
			edit: moveDS(func(el *etree.Element) *etree.Element { return el.Parent() })},
		{name: "unused prefixes in scope", id: "_thing", prefix: "ds",
			wrap: `<w:Wrap xmlns:w="urn:example:wrap" xmlns:a="urn:a" xmlns:b="urn:b" xmlns="urn:default">%s</w:Wrap>`},
		{name: "ds redeclared on SignedInfo and Reference", id: "_thing", prefix: "ds",
			edit: func(_, sig *etree.Element) {
				sig.SelectElement("SignedInfo").CreateAttr("xmlns:ds", xmldsig.NS)
				sig.FindElement("./SignedInfo/Reference").CreateAttr("xmlns:ds", xmldsig.NS)
			}},
		// Text that etree escapes differently in canonical form (a .NET
		// habit in base64); the SignedInfo is signed again as goxmldsig
		// reads it.
		{name: "DigestValue with carriage returns", id: "_thing", prefix: "ds",
			edit: func(el, sig *etree.Element) {
				dv := sig.FindElement("./SignedInfo/Reference/DigestValue")
				v := dv.Text()
				dv.SetText(v[:20] + "\r\n" + v[20:] + "\r")
				resign(t, s, el, sig)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wrap := tc.wrap
			if wrap == "" {
				wrap = "%s"
			}
			var id strings.Builder
			require.NoError(t, xml.EscapeText(&id, []byte(tc.id)))
			el, sigEl := s.signXMLPrefix(t, fmt.Sprintf(thing, id.String()), wrap, tc.prefix)
			if tc.edit != nil {
				tc.edit(el, sigEl)
			}
			sig, err := xmldsig.Check(sigEl, el.SelectAttrValue("ID", ""), xmldsig.Policy{})
			require.NoError(t, err)
			_, err = xmldsig.Prepare(el, sig)
			require.NoError(t, err)
			ours, err := xmldsig.CanonicalSignedInfo(sig)
			require.NoError(t, err)
			require.Equal(t, string(goxmldsigSignedInfo(t, el)), string(ours))
			out, cert, err := xmldsig.Verify(el, sig, []*x509.Certificate{newSigner(t, true).cert, s.cert})
			require.NoError(t, err)
			assert.Same(t, s.cert, cert)
			assert.Equal(t, "hello", out.SelectElement("Body").Text())
		})
	}
}

// resign signs the SignedInfo of sig again with s, over the bytes goxmldsig
// verifies.
func resign(t *testing.T, s signer, el, sig *etree.Element) {
	t.Helper()
	h := crypto.SHA256.New()
	h.Write(goxmldsigSignedInfo(t, el))
	value, err := s.key.Sign(rand.Reader, h.Sum(nil), crypto.SHA256)
	require.NoError(t, err)
	sig.SelectElement("SignatureValue").SetText(base64.StdEncoding.EncodeToString(value))
}

func TestKeyOrder(t *testing.T) {
	a, b, c, other := newSigner(t, true).cert, newSigner(t, true).cert, newSigner(t, true).cert, newSigner(t, true).cert
	for _, tc := range []struct {
		name    string
		keyInfo []byte
		want    []*x509.Certificate
	}{
		{"KeyInfo names a trusted key: it comes first", b.Raw, []*x509.Certificate{b, a, c}},
		{"KeyInfo names the last trusted key", c.Raw, []*x509.Certificate{c, a, b}},
		{"KeyInfo names an untrusted key: metadata order", other.Raw, []*x509.Certificate{a, b, c}},
		{"no KeyInfo: metadata order", nil, []*x509.Certificate{a, b, c}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := xmldsig.KeyOrder(&xmldsig.Signature{KeyInfoCert: tc.keyInfo}, []*x509.Certificate{a, b, c})
			require.Len(t, got, len(tc.want))
			for i := range got {
				assert.Same(t, tc.want[i], got[i], "position %d", i)
			}
		})
	}
}

// boundedThing returns a Thing with n Pad children; attrs adds attributes
// to the first one, prefixes declares that many more namespaces (the first
// Pad uses one of them), and uri is the namespace of the Pads.
func boundedThing(n, attrs, prefixes int, uri string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<t:Thing xmlns:t="urn:example:thing" xmlns:p=%q`, uri)
	for i := range prefixes {
		fmt.Fprintf(&b, ` xmlns:n%d="urn:example:n%d"`, i, i)
	}
	b.WriteString(` ID="_thing"><t:Issuer>idp</t:Issuer><t:Body>hello</t:Body>`)
	for i := range n {
		b.WriteString(`<p:Pad`)
		if i == 0 {
			for j := range attrs {
				fmt.Fprintf(&b, ` a%d="%d"`, j, j)
			}
		}
		b.WriteString(`/>`)
	}
	b.WriteString(`</t:Thing>`)
	return b.String()
}

// TestVerifyBounds: each bound admits a signed element exactly at it and
// refuses one just past it, before goxmldsig runs.
func TestVerifyBounds(t *testing.T) {
	s := newSigner(t, false)
	const uri = "urn:example:pad"
	// Thing, Issuer, Body and the Signature without KeyInfo (11 elements).
	const fixed = 14
	// t, p, ds.
	const declared = 3
	// Declarations copied from ancestors, as MaxNamespaceBytes counts them:
	// one on each of the n Pads (p, declared on Thing, which does not use
	// it) and all those on Thing (t, p and the extra prefixes).
	uses := func(n, prefixes int) int { return n + 2 + prefixes }
	// The longest declaration as counted: ` xmlns:p="<uri>"`.
	long := strings.Repeat("x", 3000)
	longest := len(` xmlns:p=""`) + len(long)
	atNSBytes := xmldsig.MaxNamespaceBytes/longest - uses(0, 0)
	for _, tc := range []struct {
		name    string
		doc     string
		wrap    string
		wantErr error
	}{
		{name: "elements at the bound", doc: boundedThing(xmldsig.MaxSignedElements-fixed, 0, 0, uri)},
		{name: "one element too many", doc: boundedThing(xmldsig.MaxSignedElements-fixed+1, 0, 0, uri), wantErr: xmldsig.ErrLimit},
		{name: "prefixes at the bound", doc: boundedThing(1, 0, xmldsig.MaxNamespacePrefixes-declared, uri)},
		{name: "one prefix too many", doc: boundedThing(1, 0, xmldsig.MaxNamespacePrefixes-declared+1, uri), wantErr: xmldsig.ErrLimit},
		{name: "one prefix too many, declared on an ancestor", doc: boundedThing(1, 0, xmldsig.MaxNamespacePrefixes-declared, uri),
			wrap: `<w:Wrap xmlns:w="urn:example:wrap">%s</w:Wrap>`, wantErr: xmldsig.ErrLimit},
		{name: "attributes at the bound", doc: boundedThing(1, xmldsig.MaxAttributes, 0, uri)},
		{name: "one attribute too many", doc: boundedThing(1, xmldsig.MaxAttributes+1, 0, uri), wantErr: xmldsig.ErrLimit},
		{name: "namespace bytes at the bound", doc: boundedThing(atNSBytes, 0, 0, long)},
		{name: "namespace bytes past the bound", doc: boundedThing(atNSBytes+1, 0, 0, long), wantErr: xmldsig.ErrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wrap := tc.wrap
			if wrap == "" {
				wrap = "%s"
			}
			el, sigEl := s.signXML(t, tc.doc, wrap)
			ran, _, _, err := observe(t, el, sigEl, []*x509.Certificate{s.cert})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Empty(t, ran, "goxmldsig ran")
				return
			}
			require.NoError(t, err)
			assert.Len(t, ran, 1)
		})
	}
}

// TestVerifyStripsComments: comments in the signed element are removed in
// one pass before goxmldsig runs; the verified text is whole, the tree stays
// consistent, and comments inside a nested ds:Signature are refused as
// Check refuses them.
func TestVerifyStripsComments(t *testing.T) {
	s := newSigner(t, false)
	const full = "alice@example.com.evil.com"
	doc := `<t:Thing xmlns:t="urn:example:thing" ID="_thing"><t:Issuer>idp</t:Issuer>` +
		`<t:Body>` + full + `</t:Body><t:Other><x:Signature xmlns:x="urn:example:not-dsig">v</x:Signature></t:Other></t:Thing>`
	comment := func(text string) *etree.Comment { return etree.NewComment(text) }
	for _, tc := range []struct {
		name    string
		mutate  func(el *etree.Element)
		wantErr error
	}{
		{name: "comment inside the text", mutate: func(el *etree.Element) {
			body := el.SelectElement("Body")
			body.SetText("alice@example.com")
			body.AddChild(comment(""))
			body.CreateText(".evil.com")
		}},
		{name: "comment before the Signature", mutate: func(el *etree.Element) {
			el.InsertChildAt(1, comment("shifts the Signature"))
		}},
		{name: "thousands of comments under one parent", mutate: func(el *etree.Element) {
			for i := range 5000 {
				el.InsertChildAt(len(el.Child)-1, comment(fmt.Sprint(i)))
			}
		}},
		{name: "comments everywhere", mutate: func(el *etree.Element) {
			el.InsertChildAt(0, comment("first"))
			el.AddChild(comment("last"))
			el.SelectElement("Other").AddChild(comment("inside"))
			el.SelectElement("Issuer").InsertChildAt(0, comment("before idp"))
		}},
		{name: "comment inside a non-XML-DSig Signature", mutate: func(el *etree.Element) {
			el.FindElement("./Other/Signature").AddChild(comment("fine"))
		}},
		{name: "comment inside a nested ds:Signature", wantErr: xmldsig.ErrStructure, mutate: func(el *etree.Element) {
			x := el.SelectElement("Other").CreateElement("Signature")
			x.CreateAttr("xmlns", xmldsig.NS)
			x.CreateElement("SignatureValue").AddChild(comment("refused"))
		}},
		{name: "comment deep inside a nested ds:Signature, prefixed", wantErr: xmldsig.ErrStructure, mutate: func(el *etree.Element) {
			x := el.SelectElement("Other").CreateElement("dsx:Signature")
			x.CreateAttr("xmlns:dsx", xmldsig.NS)
			x.CreateElement("dsx:KeyInfo").CreateElement("y:Any").AddChild(comment("refused"))
			x.SelectElement("KeyInfo").SelectElement("Any").CreateAttr("xmlns:y", "urn:example:y")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el, sigEl := s.signXML(t, doc, "%s")
			tc.mutate(el)
			ran, out, _, err := observe(t, el, sigEl, []*x509.Certificate{s.cert})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Empty(t, ran, "goxmldsig ran")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, full, out.SelectElement("Body").Text())
			assertNoCommentsAndIndexed(t, el)
		})
	}
}

// assertNoCommentsAndIndexed checks that no comment is left under el and
// that every token knows its own position (etree's Index).
func assertNoCommentsAndIndexed(t *testing.T, el *etree.Element) {
	t.Helper()
	for i, tok := range el.Child {
		_, isComment := tok.(*etree.Comment)
		assert.False(t, isComment, "comment left in %s", el.Tag)
		assert.Equal(t, i, tok.Index(), "index of token %d of %s", i, el.Tag)
		if c, ok := tok.(*etree.Element); ok {
			assertNoCommentsAndIndexed(t, c)
		}
	}
}

func TestCheckSHA1(t *testing.T) {
	s := newSigner(t, false)
	for _, tc := range []struct {
		name      string
		method    string
		digest    bool // switch the DigestMethod to sha1
		allow     bool
		wantErr   *xmldsig.SHA1Error
		wantSHA1s []string
	}{
		{name: "rsa-sha256 and sha256"},
		{name: "rsa-sha1 refused", method: xmldsig.RSASHA1,
			wantErr: &xmldsig.SHA1Error{Element: "SignatureMethod", Algorithm: xmldsig.RSASHA1}},
		{name: "ecdsa-sha1 refused", method: xmldsig.ECDSASHA1,
			wantErr: &xmldsig.SHA1Error{Element: "SignatureMethod", Algorithm: xmldsig.ECDSASHA1}},
		{name: "sha1 digest refused", digest: true,
			wantErr: &xmldsig.SHA1Error{Element: "DigestMethod", Algorithm: xmldsig.SHA1}},
		{name: "rsa-sha1 allowed", method: xmldsig.RSASHA1, allow: true, wantSHA1s: []string{xmldsig.RSASHA1}},
		{name: "sha1 digest allowed", digest: true, allow: true, wantSHA1s: []string{xmldsig.SHA1}},
		{name: "both allowed", method: xmldsig.RSASHA1, digest: true, allow: true, wantSHA1s: []string{xmldsig.RSASHA1, xmldsig.SHA1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, sigEl := s.signed(t)
			if tc.method != "" {
				sigEl.FindElement("./SignedInfo/SignatureMethod").CreateAttr("Algorithm", tc.method)
			}
			if tc.digest {
				ref := sigEl.FindElement("./SignedInfo/Reference")
				ref.SelectElement("DigestMethod").CreateAttr("Algorithm", xmldsig.SHA1)
				ref.SelectElement("DigestValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 20)))
			}
			sig, err := xmldsig.Check(sigEl, "_thing", xmldsig.Policy{AllowSHA1: tc.allow})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, xmldsig.ErrStructure)
				var got *xmldsig.SHA1Error
				require.ErrorAs(t, err, &got)
				assert.Equal(t, tc.wantErr, got)
				assert.Contains(t, err.Error(), tc.wantErr.Algorithm)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantSHA1s, sig.SHA1())
		})
	}
}

// TestVerifyNeedsCheckedSignature: a Signature that did not come from Check
// is refused, not a panic.
func TestVerifyNeedsCheckedSignature(t *testing.T) {
	s := newSigner(t, true)
	el, sigEl := s.signed(t)
	_, _, err := xmldsig.Verify(el, &xmldsig.Signature{Element: sigEl}, []*x509.Certificate{s.cert})
	require.ErrorIs(t, err, xmldsig.ErrNoTrustedKey)
}
