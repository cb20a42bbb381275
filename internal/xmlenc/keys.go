package xmlenc

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"math/big"
	"strings"

	"github.com/beevik/etree"
)

// Key is a private key that decrypts EncryptedKeys, with what lets an
// EncryptedKey's ds:KeyInfo name it.
type Key struct {
	// Decrypter is the private key; only RSA keys decrypt.
	Decrypter crypto.Decrypter
	// Certificate holds its public key, when the SP has one (previous keys
	// may not): it lets X509IssuerSerial and X509SKI hints name the key.
	Certificate *x509.Certificate
}

// Bounds on the hints read from one EncryptedKey's KeyInfo: they only steer
// which SP key tries it, so the rest are ignored, not refused.
const (
	maxHints    = 4
	maxHintSize = 16 << 10
)

// keyHints are the identifiers of the key an EncryptedKey was encrypted
// for, as its ds:KeyInfo gives them. Unreadable ones are left out.
type keyHints struct {
	pubs    []*rsa.PublicKey // X509Certificate, KeyValue/RSAKeyValue
	skis    [][]byte         // X509SKI
	serials []issuerSerial   // X509IssuerSerial
}

type issuerSerial struct {
	issuer string // normalized with normalizeDN
	serial *big.Int
}

// readHints reads up to maxHints identifiers from an EncryptedKey's
// ds:KeyInfo.
func readHints(ki *etree.Element) keyHints {
	var h keyHints
	n := 0
	take := func() bool { n++; return n <= maxHints }
	for _, c := range ki.ChildElements() {
		switch {
		case is(c, NSDSig, "X509Data"):
			for _, x := range c.ChildElements() {
				switch {
				case is(x, NSDSig, "X509Certificate"):
					if !take() {
						return h
					}
					if der, err := base64Text(x, maxHintSize); err == nil {
						if cert, err := x509.ParseCertificate(der); err == nil {
							if pub, ok := cert.PublicKey.(*rsa.PublicKey); ok {
								h.pubs = append(h.pubs, pub)
							}
						}
					}
				case is(x, NSDSig, "X509SKI"):
					if !take() {
						return h
					}
					if ski, err := base64Text(x, maxHintSize); err == nil && len(ski) > 0 {
						h.skis = append(h.skis, ski)
					}
				case is(x, NSDSig, "X509IssuerSerial"):
					if !take() {
						return h
					}
					if s, ok := readIssuerSerial(x); ok {
						h.serials = append(h.serials, s)
					}
				}
			}
		case is(c, NSDSig, "KeyValue"):
			for _, v := range c.ChildElements() {
				if !is(v, NSDSig, "RSAKeyValue") {
					continue
				}
				if !take() {
					return h
				}
				if pub, ok := readRSAKeyValue(v); ok {
					h.pubs = append(h.pubs, pub)
				}
			}
		}
	}
	return h
}

func readIssuerSerial(el *etree.Element) (issuerSerial, bool) {
	var out issuerSerial
	var name, serial string
	for _, c := range el.ChildElements() {
		s, err := text(c)
		if err != nil || len(s) > maxHintSize {
			return out, false
		}
		switch {
		case is(c, NSDSig, "X509IssuerName"):
			name = s
		case is(c, NSDSig, "X509SerialNumber"):
			serial = strings.TrimSpace(s)
		}
	}
	n, ok := new(big.Int).SetString(serial, 10)
	if !ok || name == "" {
		return out, false
	}
	return issuerSerial{normalizeDN(name), n}, true
}

func readRSAKeyValue(el *etree.Element) (*rsa.PublicKey, bool) {
	var n, e []byte
	for _, c := range el.ChildElements() {
		b, err := base64Text(c, maxHintSize)
		if err != nil {
			return nil, false
		}
		switch {
		case is(c, NSDSig, "Modulus"):
			n = b
		case is(c, NSDSig, "Exponent"):
			e = b
		}
	}
	if len(n) == 0 || len(e) == 0 || len(e) > 8 {
		return nil, false
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() > 1<<31-1 {
		return nil, false
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, true
}

// normalizeDN makes the string forms of one distinguished name that IdPs
// write ("CN=a, O=b", "cn=a,o=b") compare equal: case and white space are
// dropped. A name written otherwise (another RDN order, escaping) just does
// not match, which only means the hint is not used.
func normalizeDN(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

// spKey is a Key with what its hints are compared with.
type spKey struct {
	pub    *rsa.PublicKey // nil for a key that is not RSA
	skis   [][]byte
	issuer string // normalized issuer of the certificate, "" without one
	serial *big.Int
}

func newSPKey(k Key) spKey {
	var s spKey
	if k.Decrypter != nil {
		s.pub, _ = k.Decrypter.Public().(*rsa.PublicKey)
	}
	if s.pub != nil {
		// RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits,
		// which for RSA are the PKCS #1 RSAPublicKey.
		sum := sha1.Sum(x509.MarshalPKCS1PublicKey(s.pub))
		s.skis = append(s.skis, sum[:])
	}
	if c := k.Certificate; c != nil {
		if len(c.SubjectKeyId) > 0 {
			s.skis = append(s.skis, c.SubjectKeyId)
		}
		s.issuer, s.serial = normalizeDN(c.Issuer.String()), c.SerialNumber
	}
	return s
}

// names reports whether the hints identify k.
func (h *keyHints) names(k *spKey) bool {
	if k.pub == nil {
		return false
	}
	for _, p := range h.pubs {
		if k.pub.Equal(p) {
			return true
		}
	}
	for _, ski := range h.skis {
		for _, mine := range k.skis {
			if bytes.Equal(ski, mine) {
				return true
			}
		}
	}
	for _, s := range h.serials {
		if k.serial != nil && s.serial.Cmp(k.serial) == 0 && s.issuer == k.issuer {
			return true
		}
	}
	return false
}

// assign returns, for each key, the one EncryptedKey it tries, or nil: the
// first one that names it, else the first one that names no key at all
// (see Decrypt).
func assign(eks []*encryptedKey, keys []Key) []*encryptedKey {
	sp := make([]spKey, len(keys))
	for i, k := range keys {
		sp[i] = newSPKey(k)
	}
	named := make([]int, len(keys)) // index of the first EncryptedKey naming key i, or -1
	claimed := make([]bool, len(eks))
	for i := range sp {
		named[i] = -1
		for j, ek := range eks {
			if ek.hints.names(&sp[i]) {
				claimed[j] = true
				if named[i] < 0 {
					named[i] = j
				}
			}
		}
	}
	unclaimed := -1
	for j := range eks {
		if !claimed[j] {
			unclaimed = j
			break
		}
	}
	out := make([]*encryptedKey, len(keys))
	for i := range keys {
		switch {
		case named[i] >= 0:
			out[i] = eks[named[i]]
		case unclaimed >= 0:
			out[i] = eks[unclaimed]
		}
	}
	return out
}
