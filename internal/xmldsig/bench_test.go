package xmldsig_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// Benchmarks of Verify, run with go test -bench . -benchmem.
//
// BenchmarkVerifyKeys measures what each extra trusted certificate costs
// when the signature names the right key in KeyInfo, names none, or names
// a certificate the SP does not trust (the message chooses its KeyInfo).
// The right certificate is always the last one trusted.
//
// BenchmarkVerifyPadded compares a genuine 65 KB signed Assertion
// (bench/testdata/signed-large.xml) with validly signed elements of the
// same size built to be as expensive as the bounds of Verify allow, the
// rest of their bytes filled with comments: the most elements, each
// redeclaring one of the most namespace prefixes (padded=elements); the
// most attributes per element, with shared local names under different
// prefixes (padded=attributes); a long namespace URI redeclared as often as
// MaxNamespaceBytes allows (padded=namespace-bytes). genuine-at-element-bound
// is a saml2sptest Assertion with about MaxSignedElements elements (one
// attribute with that many values), what an IdP may legitimately send.

const (
	benchDir = "../../bench/testdata/"
	// Padding up to the limits of Verify: the elements of the padded Thing
	// other than its Signature (which holds 11 once KeyInfo is removed),
	// and the prefixes declared on it besides t and the Signature's ds.
	paddedElements = xmldsig.MaxSignedElements - 11
	paddedPrefixes = xmldsig.MaxNamespacePrefixes - 2
)

func BenchmarkVerifyKeys(b *testing.B) {
	data := readFile(b, benchDir+"signed-okta-assertion.xml")
	idp := readCert(b, benchDir+"idp-cert.pem")
	decoys := make([]*x509.Certificate, 9)
	for i := range decoys {
		decoys[i] = newRSACert(b)
	}
	untrusted := newRSACert(b)
	keyInfo := map[string]func(sig *etree.Element){
		"KeyInfo=right": func(*etree.Element) {},
		"KeyInfo=none": func(sig *etree.Element) {
			sig.RemoveChild(sig.SelectElement("KeyInfo"))
		},
		"KeyInfo=untrusted": func(sig *etree.Element) {
			sig.FindElement("./KeyInfo/X509Data/X509Certificate").SetText(base64.StdEncoding.EncodeToString(untrusted.Raw))
		},
	}
	for _, ki := range []string{"KeyInfo=right", "KeyInfo=none", "KeyInfo=untrusted"} {
		for _, n := range []int{1, 4, 10} {
			trusted := append(append([]*x509.Certificate{}, decoys[:n-1]...), idp)
			b.Run(fmt.Sprintf("%s/certs=%d", ki, n), func(b *testing.B) {
				benchVerify(b, data, "Assertion", keyInfo[ki], trusted)
			})
		}
	}
}

func BenchmarkVerifyPadded(b *testing.B) {
	genuine := readFile(b, benchDir+"signed-large.xml")
	el, _ := signedElement(b, genuine, "Assertion")
	size := len(serialize(b, el))

	key := mustRSAKey(b)
	s := signer{key: key, cert: selfSigned(b, key)}
	idp := saml2sptest.NewIdPWithKey("https://idp.example.org/metadata", key, s.cert)
	// An Assertion with as many elements as the bound allows: one
	// attribute whose values fill it up (the rest of the Assertion and its
	// Signature take about 40 elements).
	values := make([]string, xmldsig.MaxSignedElements-40)
	for i := range values {
		values[i] = fmt.Sprintf("group-%d", i)
	}
	atBound, err := idp.ResponseXML(saml2sptest.Response{
		Destination: "https://sp.example.com/saml/acs", Audience: "https://sp.example.com/saml/metadata",
		Attributes: []saml2sp.Attribute{{Name: "groups", Values: values}},
	})
	if err != nil {
		b.Fatal(err)
	}
	trusted := []*x509.Certificate{s.cert}
	b.Run("genuine", func(b *testing.B) {
		benchVerify(b, genuine, "Assertion", nil, []*x509.Certificate{readCert(b, benchDir+"idp-cert.pem")})
	})
	b.Run("padded=elements", func(b *testing.B) {
		benchVerify(b, paddedDocument(b, s, size, paddedElementsXML()), "Thing", nil, trusted)
	})
	b.Run("padded=attributes", func(b *testing.B) {
		benchVerify(b, paddedDocument(b, s, size, paddedAttributesXML(size)), "Thing", nil, trusted)
	})
	b.Run("padded=namespace-bytes", func(b *testing.B) {
		benchVerify(b, paddedDocument(b, s, size, paddedNamespaceBytesXML()), "Thing", nil, trusted)
	})
	b.Run("genuine-at-element-bound", func(b *testing.B) {
		benchVerify(b, atBound, "Assertion", nil, trusted)
	})
}

// paddedElementsXML is a Thing with the most elements, each redeclaring
// one of the most prefixes (declared on Thing but not used by it).
func paddedElementsXML() string {
	var sb strings.Builder
	sb.WriteString(`<t:Thing xmlns:t="urn:example:thing"`)
	for p := range paddedPrefixes {
		fmt.Fprintf(&sb, ` xmlns:n%d="urn:example:n%d"`, p, p)
	}
	sb.WriteString(` ID="_thing"><t:Issuer>idp</t:Issuer>`)
	for i := range paddedElements - 2 {
		fmt.Fprintf(&sb, `<n%d:a/>`, i%paddedPrefixes)
	}
	sb.WriteString(`</t:Thing>`)
	return sb.String()
}

// paddedAttributesXML is a Thing of about size bytes whose elements carry
// the most attributes, prefixed with the most prefixes and sharing local
// names (goxmldsig's attribute sort scans all attributes to compare two
// of those).
func paddedAttributesXML(size int) string {
	var sb strings.Builder
	sb.WriteString(`<t:Thing xmlns:t="urn:example:thing"`)
	for p := range paddedPrefixes {
		fmt.Fprintf(&sb, ` xmlns:n%d="urn:example:n%d"`, p, p)
	}
	sb.WriteString(` ID="_thing"><t:Issuer>idp</t:Issuer>`)
	for sb.Len() < size-1000 {
		sb.WriteString(`<t:a`)
		for i := range xmldsig.MaxAttributes {
			fmt.Fprintf(&sb, ` n%d:a%d=""`, i%paddedPrefixes, i/paddedPrefixes)
		}
		sb.WriteString(`/>`)
	}
	sb.WriteString(`</t:Thing>`)
	return sb.String()
}

// paddedNamespaceBytesXML is a Thing whose elements each redeclare one
// long namespace URI, as many as MaxNamespaceBytes allows.
func paddedNamespaceBytesXML() string {
	uri := "urn:example:" + strings.Repeat("x", 4000)
	n := xmldsig.MaxNamespaceBytes/(len(` xmlns:p=""`)+len(uri)) - 20
	var sb strings.Builder
	fmt.Fprintf(&sb, `<t:Thing xmlns:t="urn:example:thing" xmlns:p=%q ID="_thing"><t:Issuer>idp</t:Issuer>`, uri)
	for range n {
		sb.WriteString(`<p:a/>`)
	}
	sb.WriteString(`</t:Thing>`)
	return sb.String()
}

// benchVerify times Verify alone: parsing and Check run with the timer
// stopped, since Verify edits the tree it is given.
func benchVerify(b *testing.B, data []byte, tag string, prep func(*etree.Element), trusted []*x509.Certificate) {
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		el, sigEl := signedElement(b, data, tag)
		if prep != nil {
			prep(sigEl)
		}
		sig, err := xmldsig.Check(sigEl, el.SelectAttrValue("ID", ""), xmldsig.Policy{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		_, _, err = xmldsig.Verify(el, sig, trusted)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// signedElement parses data and returns the first element named tag that
// has a Signature child, with that Signature.
func signedElement(tb testing.TB, data []byte, tag string) (*etree.Element, *etree.Element) {
	tb.Helper()
	doc, err := xmlsafe.Parse(data, xmlsafe.DefaultLimits)
	if err != nil {
		tb.Fatal(err)
	}
	for _, el := range append([]*etree.Element{doc.Root()}, doc.Root().FindElements("//"+tag)...) {
		if el.Tag != tag {
			continue
		}
		if sig, err := xmldsig.Find(el); err == nil && sig != nil {
			return el, sig
		}
	}
	tb.Fatalf("no signed %s", tag)
	return nil, nil
}

// paddedDocument returns thing (a Thing with ID _thing and an Issuer as its
// first child) signed by s, with comments between its children until its
// serialization is about size bytes.
func paddedDocument(tb testing.TB, s signer, size int, thing string) []byte {
	tb.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(thing); err != nil {
		tb.Fatal(err)
	}
	el := doc.Root()
	ctx, err := dsig.NewSigningContext(s.key, [][]byte{s.cert.Raw})
	if err != nil {
		tb.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(el.Copy(), true)
	if err != nil {
		tb.Fatal(err)
	}
	el.InsertChildAt(1, sig)
	// Comments between the padding elements (after the Signature), about
	// seven bytes each, until the element reaches size.
	fill := max(0, size-len(serialize(tb, el))) / len("<!---->")
	kids := el.Child[2:]
	tokens := make([]etree.Token, 0, len(el.Child)+fill)
	tokens = append(tokens, el.Child[:2]...)
	for i, k := range kids {
		tokens = append(tokens, k)
		for range fill/len(kids) + boolInt(i < fill%len(kids)) {
			// Seven bytes of comment cost etree more to parse than seven
			// of anything else, and nothing to strip.
			tokens = append(tokens, etree.NewComment(""))
		}
	}
	el.Child = tokens
	el.ReindexChildren()
	return serialize(tb, el)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func serialize(tb testing.TB, el *etree.Element) []byte {
	tb.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	out, err := doc.WriteToBytes()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func readCert(tb testing.TB, path string) *x509.Certificate {
	tb.Helper()
	block, _ := pem.Decode(readFile(tb, path))
	if block == nil {
		tb.Fatalf("%s: no PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}

func mustRSAKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func selfSigned(tb testing.TB, key *rsa.PrivateKey) *x509.Certificate {
	tb.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bench"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}

func newRSACert(tb testing.TB) *x509.Certificate { return selfSigned(tb, mustRSAKey(tb)) }
