package saml2sp

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
)

// mdFingerprint is a certificate's SHA-256 fingerprint in lowercase hex,
// the form admin consoles and openssl x509 -fingerprint -sha256 show
// (without colons).
func mdFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// mdFingerprints lists the fingerprints of certs for a message.
func mdFingerprints(certs []*x509.Certificate) string {
	fps := make([]string, len(certs))
	for i, c := range certs {
		fps[i] = "SHA-256 " + mdFingerprint(c)
	}
	return strings.Join(fps, ", ")
}
