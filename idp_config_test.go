package saml2sp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mdPEM(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func mdColonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func TestParseCertificate(t *testing.T) {
	cert, ecKey := mdTestCert(t, "idp.example.com")
	other, _ := mdTestCert(t, "intermediate")
	certPEM := mdPEM("CERTIFICATE", cert.Raw)
	b64 := mdB64(cert)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	require.NoError(t, err)
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	require.NoError(t, err)
	pubDER, err := x509.MarshalPKIXPublicKey(ecKey.Public())
	require.NoError(t, err)
	csrKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, csrKey)
	require.NoError(t, err)
	sha1Sum := sha1.Sum(cert.Raw)
	sha256Sum := sha256.Sum256(cert.Raw)

	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "PEM", in: certPEM},
		{name: "PEM with CRLF line ends", in: strings.ReplaceAll(certPEM, "\n", "\r\n")},
		{name: "PEM pasted into a one-line field", in: strings.ReplaceAll(certPEM, "\n", " ")},
		{name: "PEM with text around it", in: "Bag Attributes\n    friendlyName: idp\nsubject=CN = idp.example.com\n" + certPEM + "\n"},
		{name: "PEM indented", in: "\t" + strings.ReplaceAll(certPEM, "\n", "\n\t")},
		{name: "bare base64 on one line", in: b64},
		{name: "bare base64 wrapped at 64 with spaces", in: "  " + mdWrap(b64, 64, "\n  ") + "\n"},
		{name: "bare base64 wrapped at 76 with CRLF", in: mdWrap(b64, 76, "\r\n")},

		{name: "empty", in: "  \n", wantErr: "certificate is empty"},
		{name: "garbage", in: "hello world!", wantErr: "neither PEM nor base64 DER"},
		{name: "PKCS#8 private key PEM", in: mdPEM("PRIVATE KEY", pkcs8), wantErr: "this is a private key, paste the certificate"},
		{name: "RSA private key PEM", in: mdPEM("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), wantErr: "this is a private key, paste the certificate"},
		{name: "EC private key PEM", in: mdPEM("EC PRIVATE KEY", ecDER), wantErr: "this is a private key, paste the certificate"},
		{name: "encrypted private key PEM", in: mdPEM("ENCRYPTED PRIVATE KEY", []byte("x")), wantErr: "this is a private key"},
		{name: "key and certificate in one file", in: mdPEM("PRIVATE KEY", pkcs8) + certPEM, wantErr: "this is a private key"},
		{name: "certificate then key", in: certPEM + mdPEM("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), wantErr: "this is a private key"},
		{name: "PKCS#8 private key as bare base64", in: base64.StdEncoding.EncodeToString(pkcs8), wantErr: "this is a private key"},
		{name: "PKCS#1 private key as bare base64", in: base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(rsaKey)), wantErr: "this is a private key"},
		{name: "EC private key as bare base64", in: base64.StdEncoding.EncodeToString(ecDER), wantErr: "this is a private key"},
		{name: "public key PEM", in: mdPEM("PUBLIC KEY", pubDER), wantErr: "this is a public key"},
		{name: "public key as bare base64", in: base64.StdEncoding.EncodeToString(pubDER), wantErr: "this is a public key"},
		{name: "certificate request", in: mdPEM("CERTIFICATE REQUEST", csr), wantErr: `PEM block is a "CERTIFICATE REQUEST"`},
		{name: "certificate chain", in: certPEM + mdPEM("CERTIFICATE", other.Raw), wantErr: "found 2 certificates"},
		{name: "PEM without END line", in: strings.Split(certPEM, "-----END")[0], wantErr: "no -----END CERTIFICATE----- line"},
		{name: "damaged PEM base64", in: strings.Replace(certPEM, "M", "*", 3), wantErr: "base64 is damaged"},
		{name: "SHA-1 fingerprint", in: mdColonHex(sha1Sum[:]), wantErr: "fingerprint"},
		{name: "SHA-256 fingerprint without colons", in: hex.EncodeToString(sha256Sum[:]), wantErr: "fingerprint"},
		{name: "URL-safe base64", in: strings.NewReplacer("+", "-", "/", "_").Replace(b64) + "-_-_", wantErr: "neither PEM nor base64 DER"},
		{name: "truncated base64 DER", in: base64.StdEncoding.EncodeToString(cert.Raw[:200]), wantErr: "not an X.509 certificate"},
		{name: "DER with trailing data", in: base64.StdEncoding.EncodeToString(append(append([]byte(nil), cert.Raw...), 0, 0)), wantErr: "not an X.509 certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCertificate(tt.in)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrMetadata)
				assert.Nil(t, got)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.True(t, strings.HasPrefix(err.Error(), "saml2sp: "), err.Error())
				return
			}
			require.NoError(t, err)
			assert.True(t, got.Equal(cert))
		})
	}
}

// mdWrap breaks s every n characters with sep.
func mdWrap(s string, n int, sep string) string {
	var parts []string
	for len(s) > n {
		parts = append(parts, s[:n])
		s = s[n:]
	}
	return strings.Join(append(parts, s), sep)
}

func TestIdentityProviderConfig(t *testing.T) {
	cert, key := mdTestCert(t, "idp")
	next, _ := mdTestCert(t, "idp-next")
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	good := IdentityProviderConfig{
		EntityID:     "https://idp.example.com/metadata",
		Certificates: []string{mdPEM("CERTIFICATE", cert.Raw)},
		SSOURL:       "https://idp.example.com/sso",
	}
	with := func(f func(c *IdentityProviderConfig)) IdentityProviderConfig {
		c := good
		c.Certificates = append([]string(nil), good.Certificates...)
		f(&c)
		return c
	}

	t.Run("defaults", func(t *testing.T) {
		idp, err := good.IdentityProvider()
		require.NoError(t, err)
		assert.Equal(t, &IdentityProvider{
			EntityID:             "https://idp.example.com/metadata",
			SingleSignOnServices: []Endpoint{{Binding: BindingHTTPRedirect, Location: "https://idp.example.com/sso"}},
			Certificates:         []*x509.Certificate{cert},
		}, idp)
	})

	accepts := []struct {
		name  string
		cfg   IdentityProviderConfig
		check func(t *testing.T, idp *IdentityProvider)
	}{
		{name: "POST binding and SLO", cfg: with(func(c *IdentityProviderConfig) {
			c.SSOBinding = BindingHTTPPost
			c.SLOURL = "https://idp.example.com/slo"
			c.SLOBinding = BindingHTTPPost
		}), check: func(t *testing.T, idp *IdentityProvider) {
			assert.Equal(t, "https://idp.example.com/sso", idp.SingleSignOnService(BindingHTTPPost).Location)
			assert.Equal(t, "https://idp.example.com/slo", idp.SingleLogoutService(BindingHTTPPost).Location)
		}},
		{name: "SLO defaults to Redirect", cfg: with(func(c *IdentityProviderConfig) { c.SLOURL = "https://idp.example.com/slo" }),
			check: func(t *testing.T, idp *IdentityProvider) {
				assert.NotNil(t, idp.SingleLogoutService(BindingHTTPRedirect))
			}},
		{name: "two certificates, PEM and bare base64", cfg: with(func(c *IdentityProviderConfig) {
			c.Certificates = append(c.Certificates, mdB64(next))
		}), check: func(t *testing.T, idp *IdentityProvider) {
			assert.Equal(t, []string{"idp", "idp-next"}, mdCNs(idp.Certificates))
		}},
		{name: "values pasted with surrounding spaces", cfg: with(func(c *IdentityProviderConfig) {
			c.EntityID = " https://idp.example.com/metadata\n"
			c.SSOURL = " https://idp.example.com/sso "
		}), check: func(t *testing.T, idp *IdentityProvider) {
			assert.Equal(t, "https://idp.example.com/metadata", idp.EntityID)
			assert.Equal(t, "https://idp.example.com/sso", idp.SingleSignOnServices[0].Location)
		}},
	}
	for _, tt := range accepts {
		t.Run(tt.name, func(t *testing.T) {
			idp, err := tt.cfg.IdentityProvider()
			require.NoError(t, err)
			tt.check(t, idp)
		})
	}

	rejects := []struct {
		name string
		cfg  IdentityProviderConfig
		want string
	}{
		{name: "empty EntityID", cfg: with(func(c *IdentityProviderConfig) { c.EntityID = " " }), want: "EntityID is required"},
		{name: "EntityID too long", cfg: with(func(c *IdentityProviderConfig) { c.EntityID = strings.Repeat("x", 1025) }), want: "longer than 1024"},
		{name: "no certificate", cfg: with(func(c *IdentityProviderConfig) { c.Certificates = nil }), want: "at least one IdP signing certificate"},
		{name: "bad second certificate", cfg: with(func(c *IdentityProviderConfig) { c.Certificates = append(c.Certificates, "nope!") }),
			want: "Certificates[1]: certificate is neither PEM nor base64 DER"},
		{name: "private key pasted", cfg: with(func(c *IdentityProviderConfig) { c.Certificates = []string{mdPEM("PRIVATE KEY", pkcs8)} }),
			want: "Certificates[0]: this is a private key, paste the certificate"},
		{name: "missing SSOURL", cfg: with(func(c *IdentityProviderConfig) { c.SSOURL = "" }), want: "SSOURL is required"},
		{name: "javascript SSOURL", cfg: with(func(c *IdentityProviderConfig) { c.SSOURL = "javascript:alert(1)" }),
			want: `SSOURL: "javascript:alert(1)" is not an absolute http or https URL`},
		{name: "relative SSOURL", cfg: with(func(c *IdentityProviderConfig) { c.SSOURL = "/sso" }), want: "SSOURL"},
		{name: "data SLOURL", cfg: with(func(c *IdentityProviderConfig) { c.SLOURL = "data:text/html,hi" }),
			want: `SLOURL: "data:text/html,hi" is not an absolute`},
		{name: "file SLOURL", cfg: with(func(c *IdentityProviderConfig) { c.SLOURL = "file:///etc/passwd" }), want: "SLOURL"},
		{name: "SOAP SSO binding", cfg: with(func(c *IdentityProviderConfig) { c.SSOBinding = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP" }),
			want: "SSOBinding \"urn:oasis:names:tc:SAML:2.0:bindings:SOAP\" is not supported"},
		{name: "misspelled SLO binding", cfg: with(func(c *IdentityProviderConfig) {
			c.SLOURL = "https://idp.example.com/slo"
			c.SLOBinding = "HTTP-Redirect"
		}), want: "SLOBinding \"HTTP-Redirect\" is not supported"},
		{name: "SLOBinding without SLOURL", cfg: with(func(c *IdentityProviderConfig) { c.SLOBinding = BindingHTTPPost }),
			want: "SLOBinding is set but SLOURL is empty"},
	}
	for _, tt := range rejects {
		t.Run(tt.name, func(t *testing.T) {
			idp, err := tt.cfg.IdentityProvider()
			require.ErrorIs(t, err, ErrMetadata)
			assert.Nil(t, idp)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "saml2sp: invalid metadata: IdentityProviderConfig: "), err.Error())
		})
	}

	t.Run("result is accepted by New", func(t *testing.T) {
		idp, err := good.IdentityProvider()
		require.NoError(t, err)
		_, err = New(Config{EntityID: "https://sp.example.com/metadata", ACSURL: "https://sp.example.com/acs", IdP: idp})
		require.NoError(t, err, fmt.Sprint(idp))
	})
}
