package saml2sp

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// IdentityProviderConfig describes an IdP by hand, for IdPs whose admin
// console shows an entity ID, a certificate and a login URL rather than a
// metadata document. It is the manual counterpart of ParseMetadata, as
// oidc.ProviderConfig is of oidc.NewProvider.
type IdentityProviderConfig struct {
	// EntityID is the IdP's entity ID ("Issuer" or "Identifier" in most
	// admin consoles). Required.
	EntityID string
	// Certificates are the IdP's signing certificates, each in PEM or as
	// the bare base64 DER most admin pages show (see ParseCertificate). At
	// least one is required; list two during a certificate rollover.
	Certificates []string
	// SSOURL is the IdP's single sign-on URL. Required; absolute http(s).
	SSOURL string
	// SSOBinding is BindingHTTPRedirect (the default when empty) or
	// BindingHTTPPost.
	SSOBinding string
	// SLOURL is the IdP's single logout URL (optional; absolute http(s)).
	SLOURL string
	// SLOBinding is BindingHTTPRedirect (the default when empty) or
	// BindingHTTPPost.
	SLOBinding string
}

// IdentityProvider checks c and returns the IdP it describes. Errors wrap
// ErrMetadata and name the offending field.
func (c IdentityProviderConfig) IdentityProvider() (*IdentityProvider, error) {
	idp, err := c.identityProvider()
	if err != nil {
		return nil, fmt.Errorf("%w: IdentityProviderConfig: %w", ErrMetadata, err)
	}
	return idp, nil
}

func (c IdentityProviderConfig) identityProvider() (*IdentityProvider, error) {
	id := strings.TrimSpace(c.EntityID)
	switch {
	case id == "":
		return nil, errors.New("EntityID is required")
	case len(id) > mdMaxEntityIDLength:
		return nil, fmt.Errorf("EntityID is longer than %d characters", mdMaxEntityIDLength)
	}
	idp := &IdentityProvider{EntityID: id}
	if len(c.Certificates) == 0 {
		//lint:ignore ST1005 the message begins with the field's name
		return nil, errors.New("Certificates is empty: at least one IdP signing certificate is required")
	}
	for i, s := range c.Certificates {
		cert, err := mdParseCertificate(s)
		if err != nil {
			//lint:ignore ST1005 the message begins with the field's name
			return nil, fmt.Errorf("Certificates[%d]: %w", i, err)
		}
		idp.Certificates = append(idp.Certificates, cert)
	}
	sso, err := mdConfigEndpoint("SSO", c.SSOURL, c.SSOBinding)
	if err != nil {
		return nil, err
	}
	idp.SingleSignOnServices = []Endpoint{sso}
	if c.SLOURL != "" {
		slo, err := mdConfigEndpoint("SLO", c.SLOURL, c.SLOBinding)
		if err != nil {
			return nil, err
		}
		idp.SingleLogoutServices = []Endpoint{slo}
	} else if c.SLOBinding != "" {
		return nil, errors.New("SLOBinding is set but SLOURL is empty")
	}
	return idp, nil
}

func mdConfigEndpoint(field, location, binding string) (Endpoint, error) {
	location = strings.TrimSpace(location)
	if location == "" {
		return Endpoint{}, fmt.Errorf("%sURL is required", field)
	}
	if err := mdCheckURL(location); err != nil {
		return Endpoint{}, fmt.Errorf("%sURL: %w", field, err)
	}
	switch binding {
	case "":
		binding = BindingHTTPRedirect
	case BindingHTTPRedirect, BindingHTTPPost:
	default:
		return Endpoint{}, fmt.Errorf("%sBinding %s is not supported, want %s or %s",
			field, mdQuote(binding), BindingHTTPRedirect, BindingHTTPPost)
	}
	return Endpoint{Binding: binding, Location: location}, nil
}

// ParseCertificate reads an X.509 certificate as an IdP admin page or file
// shows it: PEM ("-----BEGIN CERTIFICATE-----", line breaks optional, text
// around the block ignored), or the bare base64 of the DER bytes, with or
// without whitespace and line breaks. Anything else is refused with a
// message meant for the person who pasted it, in particular a private key
// (which must then be considered leaked), a public key, a certificate
// request, several certificates, or a fingerprint. Errors wrap ErrMetadata.
func ParseCertificate(s string) (*x509.Certificate, error) {
	cert, err := mdParseCertificate(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
	}
	return cert, nil
}

const (
	mdPEMCertBegin = "-----BEGIN CERTIFICATE-----"
	mdPEMCertEnd   = "-----END CERTIFICATE-----"
)

var errMDPrivateKey = errors.New("this is a private key, paste the certificate (-----BEGIN CERTIFICATE-----) instead; " +
	"a private key that was pasted or shared should be replaced")

func mdParseCertificate(s string) (*x509.Certificate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("certificate is empty")
	}
	if strings.Contains(s, "PRIVATE KEY-----") {
		return nil, errMDPrivateKey
	}
	if mdLooksLikeFingerprint(s) {
		return nil, errors.New("this is a certificate fingerprint, paste the certificate itself")
	}
	var der []byte
	var err error
	if strings.Contains(s, "-----BEGIN ") {
		der, err = mdPEMCertificateDER(s)
		if err != nil {
			return nil, err
		}
	} else {
		der, err = mdDecodeBase64(s)
		if err != nil {
			return nil, fmt.Errorf("certificate is neither PEM nor base64 DER: %w", err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		if mdIsPrivateKeyDER(der) {
			return nil, errMDPrivateKey
		}
		if _, perr := x509.ParsePKIXPublicKey(der); perr == nil {
			return nil, errors.New("this is a public key, paste the certificate instead")
		}
		return nil, fmt.Errorf("not an X.509 certificate: %w", err)
	}
	return cert, nil
}

// mdPEMCertificateDER extracts the one CERTIFICATE block of s. It does not use
// encoding/pem so that a PEM block pasted into a one-line field (line breaks
// turned into spaces) still reads.
func mdPEMCertificateDER(s string) ([]byte, error) {
	switch n := strings.Count(s, mdPEMCertBegin); {
	case n == 0:
		typ := s[strings.Index(s, "-----BEGIN ")+len("-----BEGIN "):]
		if i := strings.Index(typ, "-----"); i >= 0 {
			typ = typ[:i]
		}
		if strings.Contains(typ, "PUBLIC KEY") {
			return nil, errors.New("this is a public key, paste the certificate instead")
		}
		return nil, fmt.Errorf("the PEM block is a %s, not a CERTIFICATE", mdQuote(typ))
	case n > 1:
		return nil, fmt.Errorf("found %d certificates, paste only the IdP's signing certificate (not its chain)", n)
	}
	body := s[strings.Index(s, mdPEMCertBegin)+len(mdPEMCertBegin):]
	end := strings.Index(body, mdPEMCertEnd)
	if end < 0 {
		return nil, errors.New("the PEM certificate has no -----END CERTIFICATE----- line; paste all of it")
	}
	der, err := mdDecodeBase64(body[:end])
	if err != nil {
		return nil, fmt.Errorf("the PEM certificate's base64 is damaged: %w", err)
	}
	return der, nil
}

func mdIsPrivateKeyDER(der []byte) bool {
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(der)
	return err == nil
}

// mdLooksLikeFingerprint matches SHA-1/SHA-256 fingerprints as consoles show
// them: hex, optionally separated by colons or spaces.
func mdLooksLikeFingerprint(s string) bool {
	h := strings.NewReplacer(":", "", " ", "", "-", "").Replace(s)
	b, err := hex.DecodeString(h)
	return err == nil && (len(b) == 20 || len(b) == 32)
}

// mdCheckURL accepts only absolute http and https URLs with a host and no
// user information. Endpoint URLs end up in redirects and form actions, so
// javascript:, data: and file: URLs must never get through.
func mdCheckURL(raw string) error {
	if raw == "" {
		return errors.New("missing URL")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%s is not a valid URL", mdQuote(raw))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s is not an absolute http or https URL", mdQuote(raw))
	case u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%s has no host", mdQuote(raw))
	case u.User != nil:
		return fmt.Errorf("%s contains user information", mdQuote(raw))
	}
	return nil
}

// mdDecodeBase64 decodes standard base64, ignoring XML whitespace.
func mdDecodeBase64(s string) ([]byte, error) {
	// The decoder skips CR and LF itself; spaces and tabs, which some
	// consoles indent certificates with, are removed first.
	if strings.ContainsAny(s, " \t") {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, s)
	}
	if strings.Trim(s, "\r\n") == "" {
		return nil, errors.New("empty")
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}
