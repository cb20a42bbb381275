package xmldsig_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp/internal/xmldsig"
)

const thingXML = `<t:Thing xmlns:t="urn:example:thing" ID="_thing"><t:Issuer>idp</t:Issuer><t:Body>hello</t:Body></t:Thing>`

// signer is a key with its self-signed certificate.
type signer struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func newSigner(t *testing.T, ec bool) signer {
	t.Helper()
	var key crypto.Signer
	var err error
	if ec {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return signer{key, cert}
}

// signed returns thingXML signed by s the way SAML IdPs sign: enveloped,
// exclusive c14n, one Reference to #_thing, Signature after Issuer.
func (s signer) signed(t *testing.T) (*etree.Element, *etree.Element) {
	t.Helper()
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromString(thingXML))
	el := doc.Root()
	ctx, err := dsig.NewSigningContext(s.key, [][]byte{s.cert.Raw})
	require.NoError(t, err)
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(el.Copy(), true)
	require.NoError(t, err)
	el.InsertChildAt(1, sig)
	// Round trip, so the tree is what a parser produces.
	b, err := doc.WriteToBytes()
	require.NoError(t, err)
	doc = etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(b))
	el = doc.Root()
	return el, el.SelectElement("Signature")
}

func TestCheckAcceptsTheSAMLProfile(t *testing.T) {
	s := newSigner(t, false)
	_, sigEl := s.signed(t)
	sig, err := xmldsig.Check(sigEl, "_thing", xmldsig.Policy{})
	require.NoError(t, err)
	assert.Equal(t, s.cert.Raw, sig.KeyInfoCert)

	found, err := xmldsig.Find(sigEl.Parent())
	require.NoError(t, err)
	assert.Same(t, sigEl, found)
}

func TestCheckRejects(t *testing.T) {
	ref := func(sig *etree.Element) *etree.Element { return sig.FindElement("./SignedInfo/Reference") }
	algo := func(path string) func(*etree.Element) *etree.Element {
		return func(sig *etree.Element) *etree.Element { return sig.FindElement(path) }
	}
	hidden := func(find func(*etree.Element) *etree.Element, alg string) func(*etree.Element) {
		return func(sig *etree.Element) {
			e := find(sig)
			e.CreateAttr("xmlns:ev", "urn:example:evil")
			e.CreateAttr("ev:Algorithm", alg)
		}
	}
	for _, tc := range []struct {
		name   string
		id     string
		mutate func(sig *etree.Element)
	}{
		{"signed element without ID", "", func(*etree.Element) {}},
		{"Reference to another ID", "_other", func(*etree.Element) {}},
		{"comment inside SignedInfo", "_thing", func(sig *etree.Element) {
			sig.SelectElement("SignedInfo").CreateComment("x")
		}},
		{"ds:Object", "_thing", func(sig *etree.Element) { sig.CreateElement("ds:Object") }},
		{"two SignedInfo", "_thing", func(sig *etree.Element) {
			sig.InsertChildAt(0, sig.SelectElement("SignedInfo").Copy())
		}},
		{"two KeyInfo", "_thing", func(sig *etree.Element) { sig.AddChild(sig.SelectElement("KeyInfo").Copy()) }},
		{"no SignatureValue", "_thing", func(sig *etree.Element) { sig.RemoveChild(sig.SelectElement("SignatureValue")) }},
		{"SignatureValue not base64", "_thing", func(sig *etree.Element) { sig.SelectElement("SignatureValue").SetText("*") }},
		{"two References", "_thing", func(sig *etree.Element) {
			sig.SelectElement("SignedInfo").AddChild(ref(sig).Copy())
		}},
		{`URI ""`, "_thing", func(sig *etree.Element) { ref(sig).CreateAttr("URI", "") }},
		{"URI without #", "_thing", func(sig *etree.Element) { ref(sig).CreateAttr("URI", "_thing") }},
		{"three transforms", "_thing", func(sig *etree.Element) {
			ts := ref(sig).SelectElement("Transforms")
			ts.AddChild(ts.ChildElements()[1].Copy())
		}},
		{"inclusive c14n transform", "_thing", func(sig *etree.Element) {
			ref(sig).FindElement("./Transforms/Transform[2]").CreateAttr("Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
		}},
		{"sha1 digest", "_thing", func(sig *etree.Element) {
			ref(sig).SelectElement("DigestMethod").CreateAttr("Algorithm", xmldsig.SHA1)
			ref(sig).SelectElement("DigestValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 20)))
		}},
		{"rsa-sha1 signature", "_thing", func(sig *etree.Element) {
			sig.FindElement("./SignedInfo/SignatureMethod").CreateAttr("Algorithm", xmldsig.RSASHA1)
		}},
		{"hmac-sha1 signature", "_thing", func(sig *etree.Element) {
			sig.FindElement("./SignedInfo/SignatureMethod").CreateAttr("Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
		}},
		{"unknown DigestMethod", "_thing", func(sig *etree.Element) {
			ref(sig).SelectElement("DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5")
		}},
		{"two SignatureValues", "_thing", func(sig *etree.Element) {
			sig.AddChild(sig.SelectElement("SignatureValue").Copy())
		}},
		{"second SignatureMethod", "_thing", func(sig *etree.Element) {
			si := sig.SelectElement("SignedInfo")
			si.InsertChildAt(2, si.SelectElement("SignatureMethod").Copy())
		}},
		{"DigestValue of the wrong size", "_thing", func(sig *etree.Element) {
			ref(sig).SelectElement("DigestValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 20)))
		}},
		// Regression: goxmldsig reads the LAST Algorithm attribute in any
		// namespace, etree's SelectAttrValue the first.
		{"prefixed Algorithm on CanonicalizationMethod", "_thing",
			hidden(algo("./SignedInfo/CanonicalizationMethod"), "http://www.w3.org/TR/2001/REC-xml-c14n-20010315")},
		{"prefixed Algorithm on SignatureMethod", "_thing", hidden(algo("./SignedInfo/SignatureMethod"), xmldsig.RSASHA1)},
		{"prefixed Algorithm on DigestMethod", "_thing", hidden(algo("./SignedInfo/Reference/DigestMethod"), xmldsig.SHA512)},
		{"prefixed Algorithm on a Transform", "_thing",
			hidden(algo("./SignedInfo/Reference/Transforms/Transform[2]"), "http://www.w3.org/2001/10/xml-exc-c14n#WithComments")},
		{"Transform without Algorithm", "_thing", func(sig *etree.Element) {
			sig.FindElement("./SignedInfo/Reference/Transforms/Transform[1]").RemoveAttr("Algorithm")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, sigEl := newSigner(t, false).signed(t)
			tc.mutate(sigEl)
			_, err := xmldsig.Check(sigEl, tc.id, xmldsig.Policy{})
			require.ErrorIs(t, err, xmldsig.ErrStructure)
		})
	}
}

func TestCheckSHA1Policy(t *testing.T) {
	_, sigEl := newSigner(t, false).signed(t)
	sigEl.FindElement("./SignedInfo/SignatureMethod").CreateAttr("Algorithm", xmldsig.RSASHA1)
	_, err := xmldsig.Check(sigEl, "_thing", xmldsig.Policy{AllowSHA1: true})
	require.NoError(t, err)
}

func TestFindRefusesTwoSignatures(t *testing.T) {
	el, sigEl := newSigner(t, false).signed(t)
	el.AddChild(sigEl.Copy())
	_, err := xmldsig.Find(el)
	require.ErrorIs(t, err, xmldsig.ErrStructure)
}

func verify(t *testing.T, el, sigEl *etree.Element, trusted ...*x509.Certificate) (*etree.Element, *x509.Certificate, error) {
	t.Helper()
	sig, err := xmldsig.Check(sigEl, "_thing", xmldsig.Policy{})
	require.NoError(t, err)
	return xmldsig.Verify(el, sig, trusted)
}

func TestVerify(t *testing.T) {
	idp, other := newSigner(t, false), newSigner(t, false)

	t.Run("trusted key", func(t *testing.T) {
		el, sigEl := idp.signed(t)
		out, cert, err := verify(t, el, sigEl, idp.cert)
		require.NoError(t, err)
		assert.Same(t, idp.cert, cert)
		assert.Equal(t, "hello", out.FindElement("./Body").Text())
		assert.Nil(t, out.FindElement(".//Signature"), "the enveloped Signature is not part of the verified element")
	})
	t.Run("no trusted key", func(t *testing.T) {
		el, sigEl := idp.signed(t)
		_, _, err := verify(t, el, sigEl)
		require.ErrorIs(t, err, xmldsig.ErrNoTrustedKey)
	})
	t.Run("tampered content", func(t *testing.T) {
		el, sigEl := idp.signed(t)
		el.SelectElement("Body").SetText("evil")
		_, _, err := verify(t, el, sigEl, idp.cert)
		require.ErrorIs(t, err, xmldsig.ErrNoTrustedKey)
	})
	t.Run("attacker key with its certificate in KeyInfo", func(t *testing.T) {
		el, sigEl := other.signed(t)
		_, _, err := verify(t, el, sigEl, idp.cert)
		require.ErrorIs(t, err, xmldsig.ErrNoTrustedKey)
	})
	t.Run("rollover: second trusted key, no KeyInfo", func(t *testing.T) {
		el, sigEl := idp.signed(t)
		sigEl.RemoveChild(sigEl.SelectElement("KeyInfo"))
		_, cert, err := verify(t, el, sigEl, other.cert, idp.cert)
		require.NoError(t, err)
		assert.Same(t, idp.cert, cert)
	})
	t.Run("rollover: KeyInfo names the other trusted key", func(t *testing.T) {
		el, sigEl := idp.signed(t)
		sigEl.FindElement("./KeyInfo/X509Data/X509Certificate").SetText(base64.StdEncoding.EncodeToString(other.cert.Raw))
		_, cert, err := verify(t, el, sigEl, other.cert, idp.cert)
		require.NoError(t, err)
		assert.Same(t, idp.cert, cert)
	})
	t.Run("ECDSA raw r||s SignatureValue", func(t *testing.T) {
		ec := newSigner(t, true)
		el, sigEl := ec.signed(t)
		sv := sigEl.SelectElement("SignatureValue")
		der, err := base64.StdEncoding.DecodeString(sv.Text())
		require.NoError(t, err)
		var rs struct{ R, S *big.Int }
		_, err = asn1.Unmarshal(der, &rs)
		require.NoError(t, err)
		raw := make([]byte, 64)
		rs.R.FillBytes(raw[:32])
		rs.S.FillBytes(raw[32:])
		sv.SetText(base64.StdEncoding.EncodeToString(raw))
		_, cert, err := verify(t, el, sigEl, idp.cert, ec.cert)
		require.NoError(t, err)
		assert.Same(t, ec.cert, cert)
		assert.Equal(t, base64.StdEncoding.EncodeToString(raw), sv.Text(), "SignatureValue restored")
	})
}
