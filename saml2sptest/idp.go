// Package saml2sptest is a throwaway SAML 2.0 identity provider for tests,
// in the spirit of net/http/httptest. It mints real signed Responses, so a
// test exercises the same signature, time and audience checks as production.
//
// A complete test of an app that uses saml2sp:
//
//	func TestLogin(t *testing.T) {
//		idp, err := saml2sptest.NewIdP("https://idp.example.com")
//		if err != nil {
//			t.Fatal(err)
//		}
//		sp, err := saml2sp.New(saml2sp.Config{
//			EntityID:          "https://app.example.com/saml",
//			ACSURL:            "https://app.example.com/saml/acs",
//			IdP:               idp.IdentityProvider(),
//			AllowIdPInitiated: true,
//		})
//		if err != nil {
//			t.Fatal(err)
//		}
//		form, err := idp.Response(saml2sptest.Response{
//			Destination: "https://app.example.com/saml/acs",
//			Audience:    "https://app.example.com/saml",
//			NameID:      "bob@example.com",
//		})
//		if err != nil {
//			t.Fatal(err)
//		}
//		a, err := sp.ParseResponse(context.Background(), form, nil)
//		if err != nil {
//			t.Fatal(err)
//		}
//		if a.NameID != "bob@example.com" {
//			t.Errorf("NameID = %q", a.NameID)
//		}
//	}
//
// To drive an HTTP handler instead, post form as the SAMLResponse value of
// an application/x-www-form-urlencoded request to the ACS URL.
//
// Nothing here is meant for production: keys live in memory and every
// Response is signed on demand for whatever the test asks.
package saml2sptest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"
)

// IdP is a test identity provider. Build it with NewIdP or NewIdPWithKey.
// Its fields may be changed between calls; its methods may be called
// concurrently while they are not.
type IdP struct {
	// EntityID is the IdP's entity ID, sent as Issuer.
	EntityID string
	// Key signs Responses. NewIdP makes an RSA-2048 key; *ecdsa.PrivateKey
	// works too.
	Key crypto.Signer
	// Certificate holds Key's public key. It is published in the metadata
	// and in the KeyInfo of signatures.
	Certificate *x509.Certificate
	// SSOURL and SLOURL are the published endpoints (both bindings).
	// NewIdP sets them to EntityID+"/sso" and EntityID+"/slo".
	SSOURL, SLOURL string
	// Clock returns the current time for every default time. Nil means
	// time.Now.
	Clock func() time.Time
}

// NewIdP returns an IdP with a fresh RSA-2048 key and a self-signed
// certificate valid from an hour ago for ten years.
func NewIdP(entityID string) (*IdP, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("saml2sptest: generating key: %w", err)
	}
	now := time.Now()
	cert, err := NewCertificate(key, now.Add(-time.Hour), now.AddDate(10, 0, 0))
	if err != nil {
		return nil, err
	}
	return NewIdPWithKey(entityID, key, cert), nil
}

// NewIdPWithKey returns an IdP that signs with key and publishes cert, for
// tests that need an ECDSA key, an expired certificate, or a second key for
// certificate rollover. cert should hold key's public key; NewCertificate
// makes one.
func NewIdPWithKey(entityID string, key crypto.Signer, cert *x509.Certificate) *IdP {
	return &IdP{
		EntityID:    entityID,
		Key:         key,
		Certificate: cert,
		SSOURL:      entityID + "/sso",
		SLOURL:      entityID + "/slo",
	}
}

// NewCertificate returns a self-signed certificate for key, valid from
// notBefore to notAfter. Dates in the past give an expired certificate.
func NewCertificate(key crypto.Signer, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("saml2sptest: generating serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "saml2sptest IdP"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("saml2sptest: creating certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// now returns the IdP's current time.
func (idp *IdP) now() time.Time {
	if idp.Clock != nil {
		return idp.Clock()
	}
	return time.Now()
}

// newID returns a random XML ID: prefix followed by 32 hex digits.
func newID(prefix string) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read never fails on supported platforms
	}
	return prefix + hex.EncodeToString(b)
}
