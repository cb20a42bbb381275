package redirect

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha1" // registers crypto.SHA1 for rsa-sha1 (only with allowSHA1)
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"math/big"
)

// Signature algorithm URIs (XML-DSig and RFC 6931). These are the only
// values of SigAlg that Verify accepts; rsa-sha1 only when asked to. HMAC and
// DSA are never accepted.
const (
	algRSASHA1       = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	algRSASHA256     = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algRSASHA384     = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	algRSASHA512     = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	algECDSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	algECDSASHA384   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	algECDSASHA512   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
	keyKindRSA       = "RSA"
	keyKindECDSA     = "ECDSA"
	maxSignatureSize = 2048 // bytes; an RSA-16384 signature
)

type algorithm struct {
	hash crypto.Hash
	kind string // keyKindRSA (PKCS #1 v1.5) or keyKindECDSA
	sha1 bool
}

func lookupAlgorithm(uri string) (algorithm, bool) {
	switch uri {
	case algRSASHA1:
		return algorithm{crypto.SHA1, keyKindRSA, true}, true
	case algRSASHA256:
		return algorithm{crypto.SHA256, keyKindRSA, false}, true
	case algRSASHA384:
		return algorithm{crypto.SHA384, keyKindRSA, false}, true
	case algRSASHA512:
		return algorithm{crypto.SHA512, keyKindRSA, false}, true
	case algECDSASHA256:
		return algorithm{crypto.SHA256, keyKindECDSA, false}, true
	case algECDSASHA384:
		return algorithm{crypto.SHA384, keyKindECDSA, false}, true
	case algECDSASHA512:
		return algorithm{crypto.SHA512, keyKindECDSA, false}, true
	}
	return algorithm{}, false
}

func (a algorithm) keyMatches(pub crypto.PublicKey) bool {
	switch pub.(type) {
	case *rsa.PublicKey:
		return a.kind == keyKindRSA
	case *ecdsa.PublicKey:
		return a.kind == keyKindECDSA
	}
	return false
}

// Verify checks the query-string signature against the trusted
// certificates; any one of them may have signed. Only the certificates' keys
// are used: expiry and chains are the caller's policy.
//
// It fails when the message is unsigned (no SigAlg and Signature: that is
// never taken as "SHA-1" or as valid), when SigAlg is not one of rsa-sha256,
// rsa-sha384, rsa-sha512, ecdsa-sha256, ecdsa-sha384 or ecdsa-sha512
// (rsa-sha1 too when allowSHA1 is set), when no trusted certificate holds a
// key of the algorithm's type, and when no such key verifies the signature.
// ECDSA signatures may be ASN.1 DER or raw r||s. The message must come from
// Decode, which records the exact octets that were signed.
func (m *Message) Verify(trusted []*x509.Certificate, allowSHA1 bool) error {
	if !m.Signed() {
		return invalid("message is not signed (no SigAlg and Signature)")
	}
	if m.signedOctets == nil {
		return invalid("message was not produced by Decode, so its signed octets are unknown")
	}
	alg, ok := lookupAlgorithm(m.SigAlg)
	if !ok {
		return invalid("signature algorithm %q is not supported", m.SigAlg)
	}
	if alg.sha1 && !allowSHA1 {
		return invalid("signature algorithm %q uses SHA-1, which is not allowed; configure the IdP to sign with SHA-256, or set Config.InsecureAllowSHA1", m.SigAlg)
	}
	if len(trusted) == 0 {
		return invalid("no trusted certificates to verify the signature with")
	}
	h := alg.hash.New()
	h.Write(m.signedOctets)
	digest := h.Sum(nil)

	candidates := 0
	for _, cert := range trusted {
		if cert == nil || !alg.keyMatches(cert.PublicKey) {
			continue
		}
		candidates++
		switch pub := cert.PublicKey.(type) {
		case *rsa.PublicKey:
			if rsa.VerifyPKCS1v15(pub, alg.hash, digest, m.Signature) == nil {
				return nil
			}
		case *ecdsa.PublicKey:
			if verifyECDSA(pub, digest, m.Signature) {
				return nil
			}
		}
	}
	if candidates == 0 {
		return invalid("no trusted certificate holds an %s key for %s", alg.kind, m.SigAlg)
	}
	return invalid("signature does not verify with any trusted certificate")
}

// verifyECDSA accepts the ASN.1 DER encoding (what OpenSSL and Go produce)
// and the raw fixed-size r||s concatenation (what XML-DSig uses).
func verifyECDSA(pub *ecdsa.PublicKey, digest, sig []byte) bool {
	if ecdsa.VerifyASN1(pub, digest, sig) {
		return true
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return false
	}
	r := new(big.Int).SetBytes(sig[:size])
	s := new(big.Int).SetBytes(sig[size:])
	return ecdsa.Verify(pub, digest, r, s)
}

// UsesSHA1 reports whether the message's SigAlg is a SHA-1 algorithm.
func (m *Message) UsesSHA1() bool {
	alg, ok := lookupAlgorithm(m.SigAlg)
	return ok && alg.sha1
}
