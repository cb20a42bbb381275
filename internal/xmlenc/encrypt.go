package xmlenc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"

	"github.com/beevik/etree"
)

// EncryptOptions chooses what Encrypt writes. Zero fields mean AES256GCM,
// RSAOAEPMGF1P, SHA1 and (for RSAOAEP) MGF1SHA1; every algorithm is written
// out explicitly.
type EncryptOptions struct {
	Data         string // content-encryption algorithm URI
	KeyTransport string // RSAOAEPMGF1P or RSAOAEP
	Digest       string // OAEP DigestMethod URI
	MGF          string // OAEP MGF URI (RSAOAEP only)
	OAEPParams   []byte // OAEP label, written as OAEPparams when set
	// Certificate, when set, is named in the EncryptedKey's KeyInfo, as IdPs
	// do to say which SP key they used.
	Certificate *x509.Certificate
}

// Encrypt encrypts plaintext (an XML element) for pub and returns the
// EncryptedData, with the EncryptedKey inside its KeyInfo. It is what test
// identity providers use; Decrypt never depends on it.
func Encrypt(plaintext []byte, pub *rsa.PublicKey, o EncryptOptions) (*etree.Element, error) {
	if pub == nil {
		return nil, errors.New("xmlenc: no RSA public key to encrypt for")
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Data, AES256GCM)
	def(&o.KeyTransport, RSAOAEPMGF1P)
	def(&o.Digest, SHA1)
	alg, ok := dataAlgorithms[o.Data]
	if !ok {
		return nil, fmt.Errorf("xmlenc: cannot encrypt with %q", o.Data)
	}
	digest, ok := digestMethods[o.Digest]
	if !ok {
		return nil, fmt.Errorf("xmlenc: unknown digest %q", o.Digest)
	}
	mgf := crypto.SHA1
	switch o.KeyTransport {
	case RSAOAEPMGF1P:
		if o.MGF != "" {
			return nil, errors.New("xmlenc: rsa-oaep-mgf1p has no MGF parameter")
		}
	case RSAOAEP:
		def(&o.MGF, MGF1SHA1)
		if mgf, ok = mgfMethods[o.MGF]; !ok {
			return nil, fmt.Errorf("xmlenc: unknown MGF %q", o.MGF)
		}
	default:
		return nil, fmt.Errorf("xmlenc: cannot transport a key with %q", o.KeyTransport)
	}

	key := make([]byte, alg.keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	var ct []byte
	var err error
	if alg.gcm {
		ct, err = encryptGCM(key, plaintext)
	} else {
		ct, err = encryptCBC(key, plaintext)
	}
	if err != nil {
		return nil, err
	}
	wrapped, err := encryptOAEP(pub, key, digest, mgf, o.OAEPParams)
	if err != nil {
		return nil, fmt.Errorf("xmlenc: %w", err)
	}

	ed := etree.NewElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", NS)
	ed.CreateAttr("Type", TypeElement)
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", o.Data)
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", NSDSig)
	ek := ki.CreateElement("xenc:EncryptedKey")
	em := ek.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", o.KeyTransport)
	if len(o.OAEPParams) > 0 {
		em.CreateElement("xenc:OAEPparams").SetText(base64.StdEncoding.EncodeToString(o.OAEPParams))
	}
	em.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", o.Digest)
	if o.KeyTransport == RSAOAEP {
		m := em.CreateElement("xenc11:MGF")
		m.CreateAttr("xmlns:xenc11", NS11)
		m.CreateAttr("Algorithm", o.MGF)
	}
	if o.Certificate != nil {
		ek.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
			SetText(base64.StdEncoding.EncodeToString(o.Certificate.Raw))
	}
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ct))
	return ed, nil
}

// encryptOAEP is RSAES-OAEP encryption (RFC 8017 7.1.1) with separate
// digest and MGF1 hashes, which crypto/rsa only offers from Go 1.26 on.
func encryptOAEP(pub *rsa.PublicKey, msg []byte, digest, mgf crypto.Hash, label []byte) ([]byte, error) {
	if digest == mgf {
		return rsa.EncryptOAEP(digest.New(), rand.Reader, pub, msg, label)
	}
	k := pub.Size()
	hLen := digest.Size()
	if len(msg) > k-2*hLen-2 {
		return nil, rsa.ErrMessageTooLong
	}
	em := make([]byte, k)
	seed, db := em[1:1+hLen], em[1+hLen:]
	h := digest.New()
	h.Write(label)
	h.Sum(db[:0])
	db[len(db)-len(msg)-1] = 1
	copy(db[len(db)-len(msg):], msg)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	mgf1XOR(db, mgf, seed)
	mgf1XOR(seed, mgf, db)
	m := new(big.Int).SetBytes(em)
	c := m.Exp(m, big.NewInt(int64(pub.E)), pub.N)
	return c.FillBytes(make([]byte, k)), nil
}

// mgf1XOR XORs out with MGF1(seed) computed with hash h.
func mgf1XOR(out []byte, h crypto.Hash, seed []byte) {
	var counter [4]byte
	done := 0
	for done < len(out) {
		d := h.New()
		d.Write(seed)
		d.Write(counter[:])
		for _, b := range d.Sum(nil) {
			if done == len(out) {
				break
			}
			out[done] ^= b
			done++
		}
		for i := 3; i >= 0; i-- {
			if counter[i]++; counter[i] != 0 {
				break
			}
		}
	}
}
