package xmlenc

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

var (
	keyOnce    sync.Once
	keyA, keyB *rsa.PrivateKey
)

// testKeys returns two RSA-2048 keys, made once per test binary.
func testKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if keyA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keyB, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return keyA, keyB
}

const testPlaintext = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0"><saml:Issuer>https://idp.example.org</saml:Issuer></saml:Assertion>`

// encrypt returns the EncryptedData for testPlaintext, re-parsed with
// xmlsafe as ParseResponse would hand it over.
func encrypt(t testing.TB, pub *rsa.PublicKey, o EncryptOptions) *etree.Element {
	t.Helper()
	ed, err := Encrypt([]byte(testPlaintext), pub, o)
	if err != nil {
		t.Fatal(err)
	}
	return reparse(t, ed)
}

// reparse writes el with the namespace declarations in scope at it and
// parses it with xmlsafe, as ParseResponse does.
func reparse(t testing.TB, el *etree.Element) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(standalone(el))
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	d, err := xmlsafe.Parse(b, xmlsafe.DefaultLimits)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return d.Root()
}

// standalone returns a copy of el that declares every namespace in scope
// at el.
func standalone(el *etree.Element) *etree.Element {
	out := el.Copy()
	have := map[string]bool{}
	for _, a := range out.Attr {
		if a.Space == "xmlns" {
			have[a.Key] = true
		}
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if a.Space == "xmlns" && !have[a.Key] {
				have[a.Key] = true
				out.CreateAttr("xmlns:"+a.Key, a.Value)
			}
		}
	}
	return out
}

func decrypters(keys ...*rsa.PrivateKey) []Key {
	out := make([]Key, len(keys))
	for i, k := range keys {
		out[i] = Key{Decrypter: k}
	}
	return out
}

// decrypt is Decrypt of ed and its peers, with no document to resolve a
// RetrievalMethod in but ed's own.
func decrypt(ed *etree.Element, peers []*etree.Element, keys []Key, maxSize int) ([]byte, error) {
	return Decrypt(Message{EncryptedData: ed, Peers: peers, MaxSize: maxSize}, keys)
}

func TestRoundTrip(t *testing.T) {
	a, b := testKeys(t)
	type tc struct {
		name string
		o    EncryptOptions
	}
	var cases []tc
	for _, data := range DataAlgorithms {
		cases = append(cases, tc{data + " mgf1p", EncryptOptions{Data: data, KeyTransport: RSAOAEPMGF1P}})
		cases = append(cases, tc{data + " rsa-oaep sha256/mgf1sha256", EncryptOptions{Data: data, KeyTransport: RSAOAEP, Digest: SHA256, MGF: MGF1SHA256}})
	}
	for d := range digestMethods {
		cases = append(cases, tc{"mgf1p digest " + d, EncryptOptions{KeyTransport: RSAOAEPMGF1P, Digest: d}})
		for m := range mgfMethods {
			cases = append(cases, tc{"rsa-oaep " + d + " " + m, EncryptOptions{Data: AES128CBC, KeyTransport: RSAOAEP, Digest: d, MGF: m}})
		}
	}
	cases = append(cases, tc{"OAEPparams", EncryptOptions{OAEPParams: []byte("label")}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ed := encrypt(t, &a.PublicKey, c.o)
			// The right key is tried after a wrong one, as in key rollover.
			pt, err := decrypt(ed, nil, decrypters(b, a), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if string(pt) != testPlaintext {
				t.Fatalf("plaintext %q", pt)
			}
		})
	}
}

// TestOAEPParametersHonoured: a content key transported with one digest,
// MGF or label does not decrypt when the message names another, so each of
// them is really read from the EncryptionMethod (crypto/rsa's DecryptOAEP
// uses one hash for both; Decrypt must not).
func TestOAEPParametersHonoured(t *testing.T) {
	a, _ := testKeys(t)
	cases := []struct {
		name    string
		o       EncryptOptions
		rewrite func(em *etree.Element)
	}{
		{"MGF differs from digest", EncryptOptions{KeyTransport: RSAOAEP, Digest: SHA256, MGF: MGF1SHA1},
			func(em *etree.Element) { findAttr(em, "MGF").CreateAttr("Algorithm", MGF1SHA256) }},
		{"digest differs from MGF", EncryptOptions{KeyTransport: RSAOAEP, Digest: SHA1, MGF: MGF1SHA512},
			func(em *etree.Element) { findAttr(em, "DigestMethod").CreateAttr("Algorithm", SHA512) }},
		{"absent MGF means mgf1sha1", EncryptOptions{KeyTransport: RSAOAEP, Digest: SHA256, MGF: MGF1SHA256},
			func(em *etree.Element) { em.RemoveChild(findAttr(em, "MGF")) }},
		{"absent DigestMethod means sha1", EncryptOptions{KeyTransport: RSAOAEPMGF1P, Digest: SHA256},
			func(em *etree.Element) { em.RemoveChild(findAttr(em, "DigestMethod")) }},
		{"mgf1p always uses MGF1 with SHA-1", EncryptOptions{KeyTransport: RSAOAEP, Digest: SHA256, MGF: MGF1SHA256},
			func(em *etree.Element) {
				em.CreateAttr("Algorithm", RSAOAEPMGF1P)
				em.RemoveChild(findAttr(em, "MGF"))
			}},
		{"OAEPparams is the label", EncryptOptions{OAEPParams: []byte("label")},
			func(em *etree.Element) {
				findAttr(em, "OAEPparams").SetText(base64.StdEncoding.EncodeToString([]byte("other")))
			}},
		{"missing OAEPparams", EncryptOptions{OAEPParams: []byte("label")},
			func(em *etree.Element) { em.RemoveChild(findAttr(em, "OAEPparams")) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ed := encrypt(t, &a.PublicKey, c.o)
			if _, err := decrypt(ed, nil, decrypters(a), 1<<20); err != nil {
				t.Fatalf("unmodified: %v", err)
			}
			c.rewrite(keyMethod(ed))
			ed = reparse(t, ed)
			_, err := decrypt(ed, nil, decrypters(a), 1<<20)
			if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "no EncryptedKey could be decrypted") {
				t.Fatalf("got %v, want the key-transport failure", err)
			}
		})
	}
}

func keyMethod(ed *etree.Element) *etree.Element {
	return ed.FindElement("./KeyInfo/EncryptedKey/EncryptionMethod")
}

func findAttr(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	panic("no " + tag)
}

// cipherValue returns the data CipherValue element of ed.
func dataCipherValue(ed *etree.Element) *etree.Element {
	return ed.FindElement("./CipherData/CipherValue")
}

func setBytes(el *etree.Element, b []byte) { el.SetText(base64.StdEncoding.EncodeToString(b)) }

func getBytes(t testing.TB, el *etree.Element) []byte {
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cbcWithPadding encrypts testPlaintext with AES-128-CBC and a final block
// whose last byte is pad, under key.
func cbcWithPadding(t *testing.T, key []byte, pad byte) []byte {
	pt := []byte(testPlaintext)
	n := 16 - len(pt)%16
	padded := append(append([]byte{}, pt...), make([]byte, n)...)
	padded[len(padded)-1] = pad
	// encryptCBC pads again; strip its full block of padding afterwards by
	// encrypting an exact multiple: it adds one whole block, dropped here.
	ct, err := encryptCBC(key, padded)
	if err != nil {
		t.Fatal(err)
	}
	return ct[:len(ct)-16]
}

// TestRejections: every refused or broken input fails with ErrDecrypt and
// never panics; failures after a content key was recovered all carry the
// same message, so nothing tells padding from tag from length errors.
func TestRejections(t *testing.T) {
	a, b := testKeys(t)
	type mutation func(t *testing.T, ed *etree.Element) (*etree.Element, []*etree.Element)
	gcm := EncryptOptions{Data: AES128GCM}
	cbc := EncryptOptions{Data: AES128CBC}
	// transport replaces the EncryptedKey's CipherValue with key encrypted
	// with OAEP(SHA-1), and returns ed.
	transport := func(t *testing.T, ed *etree.Element, key []byte) {
		wrapped, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, &a.PublicKey, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		setBytes(ed.FindElement("./KeyInfo/EncryptedKey/CipherData/CipherValue"), wrapped)
	}
	setData := func(ed *etree.Element, alg string) { ed.SelectElement("EncryptionMethod").CreateAttr("Algorithm", alg) }
	setKeyAlg := func(ed *etree.Element, alg string) { keyMethod(ed).CreateAttr("Algorithm", alg) }
	addTo := func(path, xml string) func(t *testing.T, ed *etree.Element) {
		return func(t *testing.T, ed *etree.Element) {
			d := etree.NewDocument()
			if err := d.ReadFromString(xml); err != nil {
				t.Fatal(err)
			}
			ed.FindElement(path).AddChild(d.Root())
		}
	}
	same := func(f func(t *testing.T, ed *etree.Element)) mutation {
		return func(t *testing.T, ed *etree.Element) (*etree.Element, []*etree.Element) { f(t, ed); return ed, nil }
	}
	ds := `xmlns:ds="` + NSDSig + `"`
	xenc := `xmlns:xenc="` + NS + `"`
	cases := []struct {
		name    string
		o       EncryptOptions
		mutate  mutation
		keys    []Key
		content bool   // the one content-failure message
		alg     bool   // an *AlgorithmError, that says what to change
		want    string // part of the message otherwise
	}{
		{name: "RetrievalMethod next to an EncryptedKey in EncryptedData KeyInfo", want: "both an EncryptedKey and a RetrievalMethod",
			mutate: same(addTo("./KeyInfo", `<ds:RetrievalMethod `+ds+` Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey" URI="#_ek"/>`))},
		{name: "RetrievalMethod with XSLT in EncryptedKey KeyInfo", want: "is not followed",
			mutate: same(addTo("./KeyInfo/EncryptedKey", `<ds:KeyInfo `+ds+`><ds:RetrievalMethod URI="http://evil.example/k"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/></ds:Transforms></ds:RetrievalMethod></ds:KeyInfo>`))},
		{name: "CipherReference", want: "CipherReference is not followed",
			mutate: same(func(t *testing.T, ed *etree.Element) {
				cd := ed.SelectElement("CipherData")
				cd.RemoveChild(cd.SelectElement("CipherValue"))
				addTo("./CipherData", `<xenc:CipherReference `+xenc+` URI="http://evil.example/ct"/>`)(t, ed)
			})},
		{name: "key agreement", alg: true, want: "key agreement",
			mutate: same(addTo("./KeyInfo", `<xenc:AgreementMethod `+xenc+` Algorithm="http://www.w3.org/2009/xmlenc11#ECDH-ES"/>`))},
		{name: "RSA-1_5 key transport", alg: true, want: "Bleichenbacher",
			mutate: same(func(t *testing.T, ed *etree.Element) {
				setKeyAlg(ed, RSA15)
				em := keyMethod(ed)
				em.RemoveChild(findAttr(em, "DigestMethod"))
			})},
		{name: "Triple-DES", alg: true, want: "Triple-DES (" + TripleDESCBC + ") is refused; configure the IdP to encrypt assertions with AES-GCM", mutate: same(func(t *testing.T, ed *etree.Element) { setData(ed, TripleDESCBC) })},
		{name: "AES key wrap", alg: true, want: "key wrap", mutate: same(func(t *testing.T, ed *etree.Element) { setKeyAlg(ed, NS+"kw-aes128") })},
		{name: "unknown content algorithm", alg: true, want: `"` + NS + `aes128-ofb" is not supported; configure the IdP to encrypt assertions with AES-GCM`, mutate: same(func(t *testing.T, ed *etree.Element) { setData(ed, NS+"aes128-ofb") })},
		{name: "content algorithm used for the key", alg: true, want: "not supported; configure the IdP to transport the key with RSA-OAEP", mutate: same(func(t *testing.T, ed *etree.Element) { setKeyAlg(ed, AES128GCM) })},
		{name: "key algorithm used for the content", alg: true, want: "not supported", mutate: same(func(t *testing.T, ed *etree.Element) { setData(ed, RSAOAEP) })},
		{name: "no Algorithm", want: "no Algorithm", mutate: same(func(t *testing.T, ed *etree.Element) {
			ed.SelectElement("EncryptionMethod").RemoveAttr("Algorithm")
		})},
		{name: "prefixed Algorithm only", want: "no Algorithm", mutate: same(func(t *testing.T, ed *etree.Element) {
			em := ed.SelectElement("EncryptionMethod")
			em.RemoveAttr("Algorithm")
			em.CreateAttr("xenc:Algorithm", AES128GCM)
		})},
		{name: "no EncryptionMethod", want: "no EncryptionMethod", mutate: same(func(t *testing.T, ed *etree.Element) {
			ed.RemoveChild(ed.SelectElement("EncryptionMethod"))
		})},
		{name: "KeySize mismatch", want: "KeySize", mutate: same(addTo("./EncryptionMethod", `<xenc:KeySize `+xenc+`>128</xenc:KeySize>`))},
		{name: "unknown OAEP digest", alg: true, want: "OAEP digest", mutate: same(func(t *testing.T, ed *etree.Element) {
			findAttr(keyMethod(ed), "DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#ripemd160")
		})},
		{name: "MGF on rsa-oaep-mgf1p", want: "unsupported parameter", mutate: same(addTo("./KeyInfo/EncryptedKey/EncryptionMethod",
			`<xenc11:MGF xmlns:xenc11="`+NS11+`" Algorithm="`+MGF1SHA256+`"/>`))},
		{name: "unknown MGF", o: EncryptOptions{KeyTransport: RSAOAEP}, alg: true, want: "mask generation", mutate: same(func(t *testing.T, ed *etree.Element) {
			findAttr(keyMethod(ed), "MGF").CreateAttr("Algorithm", NS11+"mgf1sha3-256")
		})},
		{name: "two DigestMethods", want: "more than one", mutate: same(addTo("./KeyInfo/EncryptedKey/EncryptionMethod",
			`<ds:DigestMethod `+ds+` Algorithm="`+SHA256+`"/>`))},
		{name: "Type Content", want: "Type", mutate: same(func(t *testing.T, ed *etree.Element) { ed.CreateAttr("Type", NS+"Content") })},
		{name: "Encoding", want: "Encoding", mutate: same(func(t *testing.T, ed *etree.Element) { ed.CreateAttr("Encoding", "base64") })},
		{name: "X509Data in EncryptedData KeyInfo", want: "only EncryptedKey", mutate: same(addTo("./KeyInfo", `<ds:X509Data `+ds+`/>`))},
		{name: "comment inside CipherValue", want: "only text", mutate: same(func(t *testing.T, ed *etree.Element) {
			dataCipherValue(ed).CreateComment("x")
		})},
		{name: "bad base64", want: "base64", mutate: same(func(t *testing.T, ed *etree.Element) { dataCipherValue(ed).SetText("%%%") })},
		{name: "URL-safe base64", want: "base64", mutate: same(func(t *testing.T, ed *etree.Element) { dataCipherValue(ed).SetText("-_-_") })},
		{name: "empty CipherValue", want: "empty", mutate: same(func(t *testing.T, ed *etree.Element) { dataCipherValue(ed).SetText("") })},
		{name: "no EncryptedKey", want: "no EncryptedKey", mutate: same(func(t *testing.T, ed *etree.Element) {
			ed.RemoveChild(ed.SelectElement("KeyInfo"))
		})},
		{name: "too many EncryptedKeys", want: "at most", mutate: func(t *testing.T, ed *etree.Element) (*etree.Element, []*etree.Element) {
			ek := ed.FindElement("./KeyInfo/EncryptedKey")
			var peers []*etree.Element
			for i := 0; i < MaxEncryptedKeys; i++ {
				peers = append(peers, standalone(ek))
			}
			return ed, peers
		}},
		{name: "peer that is not an EncryptedKey", want: "not an xenc:EncryptedKey", mutate: func(t *testing.T, ed *etree.Element) (*etree.Element, []*etree.Element) {
			return ed, []*etree.Element{standalone(ed)}
		}},
		{name: "not an EncryptedData", want: "not an xenc:EncryptedData", mutate: func(t *testing.T, ed *etree.Element) (*etree.Element, []*etree.Element) {
			return ed.FindElement("./KeyInfo/EncryptedKey"), nil
		}},
		{name: "ciphertext larger than the limit", want: "larger than", mutate: same(func(t *testing.T, ed *etree.Element) {
			setBytes(dataCipherValue(ed), make([]byte, 2000))
		})},
		{name: "wrong key", keys: decrypters(b), want: "no EncryptedKey could be decrypted", mutate: same(func(*testing.T, *etree.Element) {})},
		{name: "no keys", keys: []Key{}, want: "no private key", mutate: same(func(*testing.T, *etree.Element) {})},
		{name: "ECDSA key", keys: []Key{{Decrypter: ecdsaDecrypter(t)}}, want: "no EncryptedKey could be decrypted", mutate: same(func(*testing.T, *etree.Element) {})},
		{name: "corrupted EncryptedKey", want: "no EncryptedKey could be decrypted", mutate: same(func(t *testing.T, ed *etree.Element) {
			cv := ed.FindElement("./KeyInfo/EncryptedKey/CipherData/CipherValue")
			k := getBytes(t, cv)
			k[len(k)/2] ^= 1
			setBytes(cv, k)
		})},

		// After a content key was recovered: one message for everything.
		{name: "GCM tag flipped", o: gcm, content: true, mutate: same(func(t *testing.T, ed *etree.Element) {
			c := getBytes(t, dataCipherValue(ed))
			c[len(c)-1] ^= 1
			setBytes(dataCipherValue(ed), c)
		})},
		{name: "GCM ciphertext flipped", o: gcm, content: true, mutate: same(func(t *testing.T, ed *etree.Element) {
			c := getBytes(t, dataCipherValue(ed))
			c[gcmIVSize] ^= 1
			setBytes(dataCipherValue(ed), c)
		})},
		{name: "GCM truncated below IV+tag", o: gcm, content: true, mutate: same(func(t *testing.T, ed *etree.Element) {
			setBytes(dataCipherValue(ed), getBytes(t, dataCipherValue(ed))[:gcmIVSize+gcmTagSize-1])
		})},
		{name: "GCM truncated by one byte", o: gcm, content: true, mutate: same(func(t *testing.T, ed *etree.Element) {
			c := getBytes(t, dataCipherValue(ed))
			setBytes(dataCipherValue(ed), c[:len(c)-1])
		})},
		{name: "CBC not a whole number of blocks", o: cbc, content: true, mutate: same(func(t *testing.T, ed *etree.Element) {
			c := getBytes(t, dataCipherValue(ed))
			setBytes(dataCipherValue(ed), c[:len(c)-1])
		})},
		{name: "CBC IV only", o: cbc, content: true, mutate: same(func(t *testing.T, ed *etree.Element) {
			setBytes(dataCipherValue(ed), getBytes(t, dataCipherValue(ed))[:16])
		})},
		{name: "CBC padding byte 0", o: cbc, content: true, mutate: same(func(t *testing.T, ed *etree.Element) {
			key := make([]byte, 16)
			transport(t, ed, key)
			setBytes(dataCipherValue(ed), cbcWithPadding(t, key, 0))
		})},
		{name: "CBC padding byte 17", o: cbc, content: true, mutate: same(func(t *testing.T, ed *etree.Element) {
			key := make([]byte, 16)
			transport(t, ed, key)
			setBytes(dataCipherValue(ed), cbcWithPadding(t, key, 17))
		})},
		{name: "CBC padding byte 255", o: cbc, content: true, mutate: same(func(t *testing.T, ed *etree.Element) {
			key := make([]byte, 16)
			transport(t, ed, key)
			setBytes(dataCipherValue(ed), cbcWithPadding(t, key, 255))
		})},
		{name: "content key of the wrong length", o: EncryptOptions{Data: AES256GCM}, content: true, mutate: same(func(t *testing.T, ed *etree.Element) {
			transport(t, ed, make([]byte, 16))
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ed := encrypt(t, &a.PublicKey, c.o)
			ed, peers := c.mutate(t, ed)
			ed = reparse(t, ed)
			for i, p := range peers {
				peers[i] = reparse(t, p)
			}
			keys := c.keys
			if keys == nil {
				keys = decrypters(a)
			}
			pt, err := decrypt(ed, peers, keys, 1000)
			if !errors.Is(err, ErrDecrypt) || pt != nil {
				t.Fatalf("got (%q, %v), want ErrDecrypt", pt, err)
			}
			if c.content {
				if err != errContent {
					t.Fatalf("got %q, want the one content error %q", err, errContent)
				}
				return
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %q, want it to mention %q", err, c.want)
			}
			var ae *AlgorithmError
			if errors.As(err, &ae) != c.alg || errors.Is(err, ErrAlgorithm) != c.alg {
				t.Fatalf("got %q (%T), want an *AlgorithmError: %v", err, err, c.alg)
			}
			if c.alg && !strings.Contains(ae.Reason, "configure the IdP") {
				t.Fatalf("reason %q does not say what to change", ae.Reason)
			}
		})
	}
}

// TestCBCPaddingISO10126: the pad bytes other than the last are arbitrary
// (ISO 10126), so PKCS#7 and random padding both decrypt, to the same
// plaintext; a full block of padding too.
func TestCBCPaddingISO10126(t *testing.T) {
	key := make([]byte, 16)
	for _, pt := range []string{"", "x", strings.Repeat("y", 15), strings.Repeat("z", 16), strings.Repeat("w", 33)} {
		for _, fill := range []byte{0, 0xAA} {
			n := 16 - len(pt)%16
			padded := append([]byte(pt), bytes.Repeat([]byte{fill}, n)...)
			padded[len(padded)-1] = byte(n)
			ct, err := encryptCBC(key, padded)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decryptCBC(key, ct[:len(ct)-16])
			if err != nil || string(got) != pt {
				t.Fatalf("len %d fill %x: got (%q, %v)", len(pt), fill, got, err)
			}
		}
	}
}

// TestPeerEncryptedKey: an EncryptedKey next to the EncryptedData (SAML's
// EncryptedElementType) is used without any reference to it.
func TestPeerEncryptedKey(t *testing.T) {
	a, _ := testKeys(t)
	ed := encrypt(t, &a.PublicKey, EncryptOptions{})
	ki := ed.SelectElement("KeyInfo")
	peer := reparse(t, ki.SelectElement("EncryptedKey"))
	ed.RemoveChild(ki)
	pt, err := decrypt(reparse(t, ed), []*etree.Element{peer}, decrypters(a), 1<<20)
	if err != nil || string(pt) != testPlaintext {
		t.Fatalf("got (%q, %v)", pt, err)
	}
}

// ecDecrypter is an ECDSA key posing as a crypto.Decrypter.
type ecDecrypter struct{ *ecdsa.PrivateKey }

func (ecDecrypter) Decrypt(io.Reader, []byte, crypto.DecrypterOpts) ([]byte, error) {
	return nil, errors.New("not reached")
}

func ecdsaDecrypter(t *testing.T) crypto.Decrypter {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ecDecrypter{k}
}

// TestAcceptedVariants: forms real IdPs send besides Encrypt's own.
func TestAcceptedVariants(t *testing.T) {
	a, _ := testKeys(t)
	ds := `xmlns:ds="` + NSDSig + `"`
	xenc := `xmlns:xenc="` + NS + `"`
	add := func(ed *etree.Element, path, xml string) {
		d := etree.NewDocument()
		if err := d.ReadFromString(xml); err != nil {
			t.Fatal(err)
		}
		ed.FindElement(path).AddChild(d.Root())
	}
	cases := []struct {
		name   string
		o      EncryptOptions
		mutate func(ed *etree.Element)
	}{
		{"KeySize that matches", EncryptOptions{Data: AES192CBC}, func(ed *etree.Element) {
			add(ed, "./EncryptionMethod", `<xenc:KeySize `+xenc+`>192</xenc:KeySize>`)
		}},
		{"KeyName next to the EncryptedKey", EncryptOptions{}, func(ed *etree.Element) {
			add(ed, "./KeyInfo", `<ds:KeyName `+ds+`>sp-2026</ds:KeyName>`)
		}},
		{"EncryptedKey with KeyInfo, ReferenceList and CarriedKeyName", EncryptOptions{}, func(ed *etree.Element) {
			ek := ed.FindElement("./KeyInfo/EncryptedKey")
			ek.CreateAttr("Id", "_ek1")
			ek.CreateAttr("Recipient", "https://sp.example.com")
			ki := etree.NewElement("ds:KeyInfo")
			ki.CreateElement("ds:X509Data").CreateElement("ds:X509IssuerSerial")
			ek.InsertChildAt(1, ki)
			add(ed, "./KeyInfo/EncryptedKey", `<xenc:ReferenceList `+xenc+`><xenc:DataReference URI="#_ed1"/></xenc:ReferenceList>`)
			add(ed, "./KeyInfo/EncryptedKey", `<xenc:CarriedKeyName `+xenc+`>k</xenc:CarriedKeyName>`)
		}},
		{"no Type, Id and MimeType", EncryptOptions{}, func(ed *etree.Element) {
			ed.RemoveAttr("Type")
			ed.CreateAttr("Id", "_ed1")
			ed.CreateAttr("MimeType", "text/xml")
		}},
		{"EncryptionProperties", EncryptOptions{}, func(ed *etree.Element) {
			add(ed, ".", `<xenc:EncryptionProperties `+xenc+`><xenc:EncryptionProperty/></xenc:EncryptionProperties>`)
		}},
		{"base64 with line breaks", EncryptOptions{Data: AES128CBC}, func(ed *etree.Element) {
			cv := dataCipherValue(ed)
			s := cv.Text()
			var b strings.Builder
			for len(s) > 64 {
				b.WriteString(s[:64] + "\r\n")
				s = s[64:]
			}
			cv.SetText(" \n" + b.String() + s + "\n ")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ed := encrypt(t, &a.PublicKey, c.o)
			c.mutate(ed)
			pt, err := decrypt(reparse(t, ed), nil, decrypters(a), 1<<20)
			if err != nil || string(pt) != testPlaintext {
				t.Fatalf("got (%q, %v)", pt, err)
			}
		})
	}
}
