package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// describeCert shows a certificate in a few lines (subject; key; validity;
// fingerprint) and returns warnings about it.
func describeCert(c *x509.Certificate, now time.Time) (lines, warn []string) {
	key := "unknown key type"
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		key = fmt.Sprintf("RSA %d bits", bits)
		if bits < 2048 {
			warn = append(warn, fmt.Sprintf("its RSA key has %d bits, under 2048: it can be broken; ask the IdP for a new key (Config.RejectWeakIdPKeys refuses it)", bits))
		}
	case *ecdsa.PublicKey:
		key = fmt.Sprintf("ECDSA %s", k.Curve.Params().Name)
		if k.Curve.Params().BitSize < 256 {
			warn = append(warn, fmt.Sprintf("its ECDSA curve %s is smaller than P-256", k.Curve.Params().Name))
		}
	case ed25519.PublicKey:
		key = "Ed25519 (not usable for SAML signatures)"
	}
	validity := fmt.Sprintf("valid %s to %s", stamp(c.NotBefore), stamp(c.NotAfter))
	switch {
	case now.After(c.NotAfter):
		validity += fmt.Sprintf(" (EXPIRED %s ago)", span(now.Sub(c.NotAfter)))
		warn = append(warn, fmt.Sprintf("expired on %s: signatures made with it still pass unless the app sets RejectExpiredCertificates; ask the IdP to roll it over",
			stamp(c.NotAfter)))
	case now.Before(c.NotBefore):
		validity += fmt.Sprintf(" (NOT YET VALID: starts in %s)", span(c.NotBefore.Sub(now)))
		warn = append(warn, "not valid before "+stamp(c.NotBefore))
	default:
		validity += fmt.Sprintf(" (expires in %s)", span(c.NotAfter.Sub(now)))
		if c.NotAfter.Sub(now) < certExpirySoon {
			warn = append(warn, fmt.Sprintf("expires in %s (%s): make sure the IdP publishes its next key", span(c.NotAfter.Sub(now)), stamp(c.NotAfter)))
		}
	}
	return []string{safe(c.Subject.String()), key, validity, "SHA-256 " + fingerprint(c)}, warn
}

// fingerprint is the SHA-256 of the certificate, as openssl prints it.
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hex, ":")
}
