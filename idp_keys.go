package saml2sp

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"log/slog"
)

// Smallest IdP signing keys that are not weak: NIST SP 800-57 and the
// CA/Browser Forum retired RSA-1024 in 2013, and P-224 gives 112 bits.
const (
	minIdPRSABits   = 2048
	minIdPECDSABits = 256
)

// weakKey names cert's public key ("RSA-1024", "ECDSA P-224") when it is
// weaker than RSA-2048 or P-256, or returns "". Other key types are not
// judged here (the signature check refuses what it cannot use).
func weakKey(cert *x509.Certificate) string {
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minIdPRSABits {
			return fmt.Sprintf("RSA-%d", n)
		}
	case *ecdsa.PublicKey:
		if p := k.Curve.Params(); p.BitSize < minIdPECDSABits {
			return "ECDSA " + p.Name
		}
	}
	return ""
}

// checkIdPKeys logs a warning for each weak signing key of idp that old
// (the IdP in force, nil at New) did not have yet, so that a refresh does
// not repeat it, and once per metadata document when idp came from a
// MetadataCache or a MetadataRefresher, so that SPs built for each request
// do not repeat it either; with reject it refuses the first weak key
// instead, as an error of class.
func checkIdPKeys(idp, old *IdentityProvider, reject bool, logger *slog.Logger, class error) error {
	for i, c := range idp.Certificates {
		weak := weakKey(c)
		if weak == "" {
			continue
		}
		if reject {
			return fmt.Errorf("%w: IdP %q signing certificate %d (%s) has a weak %s key, and Config.RejectWeakIdPKeys is set; "+
				"the IdP must sign with RSA-2048 or longer, or ECDSA P-256 or larger", class, idp.EntityID, i, c.Subject, weak)
		}
		if old != nil && trusts(old, c) {
			continue
		}
		if idp.source != nil && !idp.source.firstWeakWarning(c) {
			continue
		}
		logger.LogAttrs(context.Background(), slog.LevelWarn,
			"saml2sp: IdP signs with a weak key; ask the IdP admin to roll it over to RSA-2048 or longer (Config.RejectWeakIdPKeys refuses such keys)",
			slog.String("idp", idp.EntityID), slog.String("key", weak),
			slog.Int("certificate", i), slog.String("subject", c.Subject.String()))
	}
	return nil
}

// trusts reports whether idp lists cert.
func trusts(idp *IdentityProvider, cert *x509.Certificate) bool {
	for _, c := range idp.Certificates {
		if c.Equal(cert) {
			return true
		}
	}
	return false
}
