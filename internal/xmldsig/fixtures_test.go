package xmldsig_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/internal/xmlenc"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestRealSignatures runs every signature of the repository's signed
// fixtures, and of Responses minted by saml2sptest with RSA and ECDSA keys,
// through the key pre-check and Verify. For each one it shows that
//
//   - the bytes the pre-check verifies are exactly those goxmldsig verifies,
//     recomputed here with goxmldsig's own exported API, step by step as its
//     Validate does (goxmldsigSignedInfo);
//   - the pre-check finds the certificate that made the signature, with
//     and without the KeyInfo hint, among all the test certificates;
//   - Verify then accepts it with that certificate.
//
// It also checks that every fixture stays within a quarter of each of
// Verify's bounds, and logs the largest values.
func TestRealSignatures(t *testing.T) {
	fx := loadFixtureKeys(t)
	var cases []sigCase
	cases = append(cases, xmlsec1Cases(t, fx)...)
	cases = append(cases, xmlencCases(t, fx)...)
	cases = append(cases, benchCases(t, fx)...)
	cases = append(cases, saml2sptestCases(t, fx)...)

	var most xmldsig.Size
	seen := map[string]int{}
	for _, c := range cases {
		seen[c.source]++
		t.Run(c.name, func(t *testing.T) {
			sig, err := xmldsig.Check(c.sigEl, c.el.SelectAttrValue("ID", ""), xmldsig.Policy{AllowSHA1: true})
			require.NoError(t, err)
			sz, err := xmldsig.Prepare(c.el, sig)
			require.NoError(t, err)
			most = xmldsig.Size{
				Elements:       max(most.Elements, sz.Elements),
				Prefixes:       max(most.Prefixes, sz.Prefixes),
				Attributes:     max(most.Attributes, sz.Attributes),
				NamespaceBytes: max(most.NamespaceBytes, sz.NamespaceBytes),
			}

			ours, err := xmldsig.CanonicalSignedInfo(sig)
			require.NoError(t, err)
			theirs := goxmldsigSignedInfo(t, c.el)
			require.Equal(t, string(theirs), string(ours), "canonical SignedInfo differs from goxmldsig's")

			cert, err := xmldsig.SelectKey(sig, fx.trusted)
			require.NoError(t, err)
			assert.Equal(t, fx.name(c.want), fx.name(cert), "pre-check with the KeyInfo hint")
			noHint := *sig
			noHint.KeyInfoCert = nil
			cert, err = xmldsig.SelectKey(&noHint, fx.trusted)
			require.NoError(t, err)
			assert.Equal(t, fx.name(c.want), fx.name(cert), "pre-check without the KeyInfo hint")

			out, cert, err := xmldsig.Verify(c.el, sig, fx.trusted)
			require.NoError(t, err)
			assert.Equal(t, fx.name(c.want), fx.name(cert))
			assert.Equal(t, c.el.SelectAttrValue("ID", ""), out.SelectAttrValue("ID", ""))
		})
	}
	t.Logf("signatures per source: %v", seen)
	t.Logf("largest signed element: %d elements, %d namespace prefixes, %d attributes on one element, %d namespace bytes (estimate)",
		most.Elements, most.Prefixes, most.Attributes, most.NamespaceBytes)
	for _, src := range []string{"xmlsec1", "xmlenc", "bench", "saml2sptest"} {
		assert.NotZero(t, seen[src], "no signature from %s", src)
	}
	assert.LessOrEqual(t, 4*most.Elements, xmldsig.MaxSignedElements)
	assert.LessOrEqual(t, 4*most.Prefixes, xmldsig.MaxNamespacePrefixes)
	assert.LessOrEqual(t, 4*most.Attributes, xmldsig.MaxAttributes)
	assert.LessOrEqual(t, 4*most.NamespaceBytes, xmldsig.MaxNamespaceBytes)
}

// goxmldsigSignedInfo returns the bytes goxmldsig v1.6.1 verifies the
// SignatureValue of el's signature over, obtained as its Validate does:
// on a copy of el, findSignature walks the tree with NSFindIterate, detaches
// SignedInfo in the namespace context of its Signature (NSDetatch), applies
// TransformExcC14n with an empty prefix list and puts the result in place
// of SignedInfo, keeping the first Signature whose Reference points at el;
// getCanonicalSignedInfo then finds that SignedInfo again in the context of
// the Signature's parent and serializes it with etree's canonical settings.
// el must already be prepared as Verify prepares it.
func goxmldsigSignedInfo(t *testing.T, el *etree.Element) []byte {
	t.Helper()
	el = el.Copy()
	id := el.SelectAttrValue(dsig.DefaultIdAttr, "")
	var out []byte
	err := etreeutils.NSFindIterate(el, dsig.Namespace, dsig.SignatureTag, func(ctx etreeutils.NSContext, sigEl *etree.Element) error {
		var canonical *etree.Element
		err := etreeutils.NSFindChildrenIterateCtx(ctx, sigEl, dsig.Namespace, dsig.SignedInfoTag,
			func(ctx etreeutils.NSContext, si *etree.Element) error {
				detached, err := etreeutils.NSDetatch(ctx, si)
				if err != nil {
					return err
				}
				if err := etreeutils.TransformExcC14n(detached, "", false); err != nil {
					return err
				}
				sigEl.InsertChildAt(si.Index(), detached)
				sigEl.RemoveChild(si)
				canonical = detached
				return etreeutils.ErrTraversalHalted
			})
		if err != nil {
			return err
		}
		require.NotNil(t, canonical, "goxmldsig finds no SignedInfo")
		if uri := canonical.FindElement("./Reference").SelectAttrValue(dsig.URIAttr, ""); uri != "#"+id {
			return nil // not el's signature; goxmldsig walks on
		}
		pctx, err := etreeutils.NSBuildParentContext(sigEl)
		if err != nil {
			return err
		}
		si, err := etreeutils.NSFindOneChildCtx(pctx, sigEl, dsig.Namespace, dsig.SignedInfoTag)
		if err != nil {
			return err
		}
		doc := etree.NewDocument()
		doc.SetRoot(si.Copy())
		doc.WriteSettings = etree.WriteSettings{CanonicalAttrVal: true, CanonicalEndTags: true, CanonicalText: true}
		out, err = doc.WriteToBytes()
		if err != nil {
			return err
		}
		return etreeutils.ErrTraversalHalted
	})
	require.NoError(t, err)
	require.NotNil(t, out, "goxmldsig finds no signature of %s", id)
	return out
}

// sigCase is one signature: the signed element, its Signature, and the
// certificate that made it.
type sigCase struct {
	source, name string
	el, sigEl    *etree.Element
	want         *x509.Certificate
}

// fixtureKeys holds the test certificates (all of them trusted, in an order
// that puts the usual signer last) and the SP decryption keys.
type fixtureKeys struct {
	certs   map[string]*x509.Certificate
	trusted []*x509.Certificate
	spKeys  []crypto.Decrypter
	rsaIdP  *saml2sptest.IdP
	ecIdPs  []*saml2sptest.IdP
}

func loadFixtureKeys(t *testing.T) *fixtureKeys {
	t.Helper()
	fx := &fixtureKeys{certs: map[string]*x509.Certificate{}}
	for _, name := range []string{"idp", "idp2", "idp-ec"} {
		fx.certs[name] = readCert(t, "../../testdata/xmlsec1/"+name+"-cert.pem")
	}
	// bench/testdata signs with the same key (see its generate.sh).
	require.True(t, readCert(t, benchDir+"idp-cert.pem").Equal(fx.certs["idp"]))
	var err error
	fx.rsaIdP, err = saml2sptest.NewIdP("https://idp.example.org/metadata")
	require.NoError(t, err)
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		key, err := ecdsa.GenerateKey(curve, rand.Reader)
		require.NoError(t, err)
		cert, err := saml2sptest.NewCertificate(key, fx.rsaIdP.Certificate.NotBefore, fx.rsaIdP.Certificate.NotAfter)
		require.NoError(t, err)
		fx.ecIdPs = append(fx.ecIdPs, saml2sptest.NewIdPWithKey(fx.rsaIdP.EntityID, key, cert))
	}
	fx.certs["decoy"] = newRSACert(t)
	fx.certs["saml2sptest-rsa"] = fx.rsaIdP.Certificate
	fx.certs["saml2sptest-p256"] = fx.ecIdPs[0].Certificate
	fx.certs["saml2sptest-p384"] = fx.ecIdPs[1].Certificate
	for _, name := range []string{"decoy", "saml2sptest-p384", "idp2", "saml2sptest-rsa", "idp-ec", "saml2sptest-p256", "idp"} {
		fx.trusted = append(fx.trusted, fx.certs[name])
	}
	for _, name := range []string{"sp-key.pem", "sp2-key.pem"} {
		block, _ := pem.Decode(readFile(t, "../../testdata/xmlenc/"+name))
		require.NotNil(t, block, name)
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		require.NoError(t, err)
		fx.spKeys = append(fx.spKeys, key.(crypto.Decrypter))
	}
	return fx
}

// name returns the name of a test certificate, for messages.
func (fx *fixtureKeys) name(cert *x509.Certificate) string {
	for name, c := range fx.certs {
		if c == cert {
			return name
		}
	}
	return "unknown certificate"
}

func xmlsec1Cases(t *testing.T, fx *fixtureKeys) []sigCase {
	t.Helper()
	var expected struct {
		Fixtures []struct {
			File, Key string
		}
	}
	require.NoError(t, json.Unmarshal(readFile(t, "../../testdata/xmlsec1/expected.json"), &expected))
	keys := map[string]string{}
	for _, f := range expected.Fixtures {
		keys[f.File] = f.Key
	}
	files, err := filepath.Glob("../../testdata/xmlsec1/signed-*.xml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []sigCase
	for _, f := range files {
		key, ok := keys[filepath.Base(f)]
		require.True(t, ok, "%s is not in expected.json", f)
		require.Contains(t, fx.certs, key)
		out = append(out, signatures(t, "xmlsec1", filepath.Base(f), parse(t, readFile(t, f)), fx.certs[key])...)
	}
	return out
}

// xmlencCases covers the Response signatures of testdata/xmlenc and the
// Assertion signatures inside their ciphertexts (all by the idp key).
func xmlencCases(t *testing.T, fx *fixtureKeys) []sigCase {
	t.Helper()
	files, err := filepath.Glob("../../testdata/xmlenc/encrypted-*.xml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []sigCase
	for _, f := range files {
		root := parse(t, readFile(t, f))
		out = append(out, signatures(t, "xmlenc", filepath.Base(f), root, fx.certs["idp"])...)
		for _, inner := range decryptAll(t, fx, root) {
			out = append(out, signatures(t, "xmlenc", filepath.Base(f)+" decrypted", inner, fx.certs["idp"])...)
		}
	}
	return out
}

func benchCases(t *testing.T, fx *fixtureKeys) []sigCase {
	t.Helper()
	files, err := filepath.Glob(benchDir + "signed-*.xml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []sigCase
	for _, f := range files {
		out = append(out, signatures(t, "bench", filepath.Base(f), parse(t, readFile(t, f)), fx.certs["idp"])...)
	}
	return out
}

// saml2sptestCases mints Responses with every signing layout, with and
// without KeyInfo, with RSA (several hashes, SHA-1 too) and ECDSA (P-256,
// P-384) keys, and encrypted.
func saml2sptestCases(t *testing.T, fx *fixtureKeys) []sigCase {
	t.Helper()
	spCert := readCert(t, "../../testdata/xmlenc/sp-cert.pem")
	type variant struct {
		name string
		idp  *saml2sptest.IdP
		r    saml2sptest.Response
	}
	var variants []variant
	for _, idp := range []struct {
		name string
		idp  *saml2sptest.IdP
	}{{"rsa", fx.rsaIdP}, {"ecdsa-p256", fx.ecIdPs[0]}, {"ecdsa-p384", fx.ecIdPs[1]}} {
		for _, sign := range []struct {
			name string
			sign saml2sptest.Sign
		}{{"assertion", saml2sptest.SignAssertion}, {"response", saml2sptest.SignResponse}, {"both", saml2sptest.SignBoth}} {
			for _, omit := range []bool{false, true} {
				variants = append(variants, variant{
					name: idp.name + " " + sign.name + map[bool]string{true: " no KeyInfo"}[omit], idp: idp.idp,
					r: saml2sptest.Response{Sign: sign.sign, OmitKeyInfo: omit},
				})
			}
		}
		variants = append(variants, variant{name: idp.name + " encrypted both", idp: idp.idp,
			r: saml2sptest.Response{Sign: saml2sptest.SignBoth, Encrypt: spCert}})
	}
	for _, alg := range [][2]string{{"rsa-sha384", "sha384"}, {"rsa-sha512", "sha512"}, {"rsa-sha1", "sha1"}, {"rsa-sha256", "sha1"}} {
		variants = append(variants, variant{name: "rsa " + alg[0] + " " + alg[1], idp: fx.rsaIdP,
			r: saml2sptest.Response{Sign: saml2sptest.SignBoth, SignatureAlgorithm: alg[0], DigestAlgorithm: alg[1]}})
	}
	for _, alg := range []string{"ecdsa-sha384", "ecdsa-sha512", "ecdsa-sha1"} {
		variants = append(variants, variant{name: "ecdsa " + alg, idp: fx.ecIdPs[0],
			r: saml2sptest.Response{Sign: saml2sptest.SignBoth, SignatureAlgorithm: alg}})
	}
	var out []sigCase
	for _, v := range variants {
		r := v.r
		r.Destination, r.Audience = "https://sp.example.com/saml/acs", "https://sp.example.com/saml/metadata"
		r.Attributes = []saml2sp.Attribute{{Name: "groups", Values: []string{"a & b", "<c>", `"d"`}}}
		data, err := v.idp.ResponseXML(r)
		require.NoError(t, err, v.name)
		root := parse(t, data)
		out = append(out, signatures(t, "saml2sptest", v.name, root, v.idp.Certificate)...)
		for _, inner := range decryptAll(t, fx, root) {
			out = append(out, signatures(t, "saml2sptest", v.name+" decrypted", inner, v.idp.Certificate)...)
		}
	}
	return out
}

// signatures lists the enveloped signatures under root, outer ones first
// (Verify edits the tree, and an outer digest covers the inner KeyInfo).
func signatures(t *testing.T, source, name string, root *etree.Element, want *x509.Certificate) []sigCase {
	t.Helper()
	var out []sigCase
	for level := []*etree.Element{root}; len(level) > 0; {
		var next []*etree.Element
		for _, el := range level {
			sig, err := xmldsig.Find(el)
			require.NoError(t, err)
			if sig != nil {
				out = append(out, sigCase{source: source, name: name + " " + el.Tag, el: el, sigEl: sig, want: want})
			}
			next = append(next, el.ChildElements()...)
		}
		level = next
	}
	return out
}

// decryptAll returns the decrypted Assertion of each EncryptedAssertion
// under root, parsed inside an element declaring the namespaces in scope
// at the EncryptedAssertion, as the SP does.
func decryptAll(t *testing.T, fx *fixtureKeys, root *etree.Element) []*etree.Element {
	t.Helper()
	var out []*etree.Element
	for _, ea := range root.FindElements("//EncryptedAssertion") {
		ed := ea.FindElement("./EncryptedData")
		require.NotNil(t, ed)
		spKeys := make([]xmlenc.Key, len(fx.spKeys))
		for i, k := range fx.spKeys {
			spKeys[i] = xmlenc.Key{Decrypter: k}
		}
		plain, err := xmlenc.Decrypt(xmlenc.Message{EncryptedData: ed, Peers: ea.SelectElements("EncryptedKey"), MaxSize: 1 << 20}, spKeys)
		require.NoError(t, err)
		decls := map[string]string{}
		for e := ea; e != nil; e = e.Parent() {
			for _, a := range e.Attr {
				if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
					key := a.FullKey()
					if _, ok := decls[key]; !ok {
						decls[key] = a.Value
					}
				}
			}
		}
		keys := make([]string, 0, len(decls))
		for k := range decls {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("<wrap")
		for _, k := range keys {
			b.WriteString(" " + k + `="`)
			require.NoError(t, xml.EscapeText(&b, []byte(decls[k])))
			b.WriteString(`"`)
		}
		b.WriteString(">" + string(plain) + "</wrap>")
		wrapped := parse(t, []byte(b.String()))
		require.Len(t, wrapped.ChildElements(), 1)
		out = append(out, wrapped.ChildElements()[0])
	}
	return out
}

func parse(t *testing.T, data []byte) *etree.Element {
	t.Helper()
	doc, err := xmlsafe.Parse(data, xmlsafe.DefaultLimits)
	require.NoError(t, err)
	return doc.Root()
}
