package xmlenc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// countingKey is an SP key that counts its private-key operations.
type countingKey struct {
	*rsa.PrivateKey
	n *atomic.Int32
}

func (c countingKey) Decrypt(r io.Reader, msg []byte, o crypto.DecrypterOpts) ([]byte, error) {
	c.n.Add(1)
	return c.PrivateKey.Decrypt(r, msg, o)
}

var (
	keyCOnce sync.Once
	keyC     *rsa.PrivateKey
)

// testKeyC is a third RSA-2048 key, made once per test binary.
func testKeyC(t testing.TB) *rsa.PrivateKey {
	keyCOnce.Do(func() {
		var err error
		if keyC, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return keyC
}

// selfSigned returns a certificate for k with the given serial number and
// SubjectKeyId.
func selfSigned(t testing.TB, k *rsa.PrivateKey, serial int64, ski []byte) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "sp.example.com", Organization: []string{"Example SP"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		SubjectKeyId: ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// parseInto parses xml and appends it to parent (at index at, or at the
// end when at < 0).
func parseInto(t testing.TB, parent *etree.Element, at int, xml string) {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(xml); err != nil {
		t.Fatal(err)
	}
	if at < 0 {
		parent.AddChild(d.Root())
	} else {
		parent.InsertChildAt(at, d.Root())
	}
}

// garble replaces an EncryptedKey's ciphertext with random bytes below
// every 2048-bit modulus, which cost a full private-key operation to refuse.
func garble(t testing.TB, ek *etree.Element) {
	b := make([]byte, 256)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] &= 0x7f
	setBytes(ek.FindElement("./CipherData/CipherValue"), b)
}

// setHint replaces the KeyInfo of an EncryptedKey with xml (none when "").
func setHint(t testing.TB, ek *etree.Element, xml string) {
	if ki := ek.SelectElement("KeyInfo"); ki != nil {
		ek.RemoveChild(ki)
	}
	if xml != "" {
		parseInto(t, ek, 1, `<ds:KeyInfo xmlns:ds="`+NSDSig+`">`+xml+`</ds:KeyInfo>`)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestRSAWorkBounded: whatever a message carries, each SP key performs at
// most one RSA operation, on the EncryptedKey chosen for it by the hints in
// the EncryptedKeys' KeyInfo, their Recipient, and document order.
func TestRSAWorkBounded(t *testing.T) {
	a, b := testKeys(t)
	c := testKeyC(t)
	skiA := []byte("subject key id of A!")
	certA := selfSigned(t, a, 7001, skiA)
	certB := selfSigned(t, b, 7002, nil)
	foreign, err := rsa.GenerateKey(rand.Reader, 1024) // only certified, never decrypts
	if err != nil {
		t.Fatal(err)
	}
	method1 := sha1.Sum(x509.MarshalPKCS1PublicKey(&a.PublicKey))
	x509Cert := func(cert *x509.Certificate) string {
		return `<ds:X509Data><ds:X509Certificate>` + b64(cert.Raw) + `</ds:X509Certificate></ds:X509Data>`
	}
	rsaKeyValue := `<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>` + b64(a.N.Bytes()) + `</ds:Modulus><ds:Exponent>` +
		b64(big.NewInt(int64(a.E)).Bytes()) + `</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>`
	issuerSerial := func(name, serial string) string {
		return `<ds:X509Data><ds:X509IssuerSerial><ds:X509IssuerName>` + name + `</ds:X509IssuerName>` +
			`<ds:X509SerialNumber>` + serial + `</ds:X509SerialNumber></ds:X509IssuerSerial></ds:X509Data>`
	}

	type hinted struct {
		real      bool   // the EncryptedKey that really holds the content key (for A)
		hint      string // its KeyInfo
		recipient string
	}
	cases := []struct {
		name      string
		eks       []hinted // the first sits in the EncryptedData's KeyInfo
		noCertA   bool     // A is a previous key: no certificate
		recipient string   // the SP's entity ID
		ok        bool
		calls     int32 // exact number of RSA operations
	}{
		// The SP keys are B, C, A in that order; the content key is for A.
		{name: "no hints: every key tries the first", eks: []hinted{{}, {}, {}, {real: true}}, calls: 3},
		{name: "no hints, the real one first", eks: []hinted{{real: true}, {}, {}, {}}, ok: true, calls: 3},
		{name: "X509Certificate names A on the last", eks: []hinted{{}, {}, {}, {real: true, hint: x509Cert(certA)}}, ok: true, calls: 3},
		{name: "X509Certificate names a previous key by public key", noCertA: true,
			eks: []hinted{{}, {}, {}, {real: true, hint: x509Cert(certA)}}, ok: true, calls: 3},
		{name: "RSAKeyValue names A", noCertA: true, eks: []hinted{{}, {}, {}, {real: true, hint: rsaKeyValue}}, ok: true, calls: 3},
		{name: "X509SKI from the certificate", eks: []hinted{{}, {}, {real: true, hint: `<ds:X509Data><ds:X509SKI>` + b64(skiA) + `</ds:X509SKI></ds:X509Data>`}, {}}, ok: true, calls: 3},
		{name: "X509SKI computed from the public key", noCertA: true,
			eks: []hinted{{}, {}, {real: true, hint: `<ds:X509Data><ds:X509SKI>` + b64(method1[:]) + `</ds:X509SKI></ds:X509Data>`}, {}}, ok: true, calls: 3},
		{name: "X509IssuerSerial", eks: []hinted{{}, {real: true, hint: issuerSerial("cn=sp.example.com, O=Example  SP", "7001")}, {}, {}}, ok: true, calls: 3},
		{name: "X509IssuerSerial needs the certificate", noCertA: true, eks: []hinted{{}, {real: true, hint: issuerSerial("CN=sp.example.com,O=Example SP", "7001")}, {}, {}}, calls: 3},
		{name: "X509IssuerSerial of B's certificate", eks: []hinted{{}, {real: true, hint: issuerSerial("CN=sp.example.com,O=Example SP", "7002")}, {}, {}}, calls: 3},
		{name: "X509IssuerSerial of another issuer", eks: []hinted{{}, {real: true, hint: issuerSerial("CN=other", "7001")}, {}, {}}, calls: 3},
		{name: "an EncryptedKey named by another key is left to it", eks: []hinted{{hint: x509Cert(certB)}, {real: true}, {}, {}}, ok: true, calls: 3},
		{name: "a hint for a foreign certificate does not claim", eks: []hinted{{real: true, hint: x509Cert(selfSigned(t, foreign, 9, nil))}, {}, {}, {}}, ok: true, calls: 3},
		{name: "a certificate of C's public key claims for C", eks: []hinted{{real: true, hint: x509Cert(selfSigned(t, c, 9, nil))}, {}, {}, {}}, calls: 3},
		{name: "a key with no EncryptedKey left does nothing", eks: []hinted{{hint: x509Cert(certB)}, {hint: rsaKeyValue, real: true}}, ok: true, calls: 2},
		{name: "Recipient of another SP comes last", recipient: "https://sp.example.com",
			eks: []hinted{{recipient: "https://other.example.com"}, {real: true, recipient: "https://sp.example.com"}, {}, {}}, ok: true, calls: 3},
		{name: "Recipient of another SP is still tried", recipient: "https://sp.example.com",
			eks: []hinted{{real: true, recipient: "https://sp.example.com/acs"}}, ok: true, calls: 3},
		{name: "Recipient ignored when the SP gives none", eks: []hinted{{recipient: "https://other.example.com"}, {real: true}}, calls: 3},
		{name: "unreadable hints name nothing", eks: []hinted{{hint: `<ds:X509Data><ds:X509Certificate>!!</ds:X509Certificate><ds:X509IssuerSerial/></ds:X509Data><ds:KeyValue><ds:RSAKeyValue/></ds:KeyValue>`}, {real: true}}, calls: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ed := encrypt(t, &a.PublicKey, EncryptOptions{})
			real := ed.FindElement("./KeyInfo/EncryptedKey")
			orig := standalone(real)
			var peers []*etree.Element
			for i, h := range tc.eks {
				ek := real // the first stays inside the EncryptedData's KeyInfo
				if i > 0 {
					ek = orig.Copy()
				}
				if !h.real {
					garble(t, ek)
				}
				setHint(t, ek, h.hint)
				if h.recipient != "" {
					ek.CreateAttr("Recipient", h.recipient)
				}
				if i > 0 {
					peers = append(peers, ek)
				}
			}
			var n atomic.Int32
			keyA := Key{Decrypter: countingKey{a, &n}, Certificate: certA}
			if tc.noCertA {
				keyA.Certificate = nil
			}
			keys := []Key{{Decrypter: countingKey{b, &n}, Certificate: certB}, {Decrypter: countingKey{c, &n}}, keyA}
			ed = reparse(t, ed)
			for i := range peers {
				peers[i] = reparse(t, peers[i])
			}
			pt, err := Decrypt(Message{EncryptedData: ed, Peers: peers, Recipient: tc.recipient, MaxSize: 1 << 20}, keys)
			if tc.ok != (err == nil) {
				t.Fatalf("got (%q, %v), want success %v", pt, err, tc.ok)
			}
			if tc.ok && string(pt) != testPlaintext {
				t.Fatalf("plaintext %q", pt)
			}
			if !tc.ok && (!errors.Is(err, ErrDecrypt) || errors.Is(err, ErrAlgorithm)) {
				t.Fatalf("got %v, want a plain decryption failure", err)
			}
			if got := n.Load(); got != tc.calls {
				t.Fatalf("%d RSA operations, want %d (at most one per SP key)", got, tc.calls)
			}
		})
	}
}
