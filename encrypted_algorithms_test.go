package saml2sp_test

// A refused or unknown algorithm is not a secret: its URI is plaintext the
// IdP chose. The error names it and says what to configure at the IdP,
// instead of the one decryption error, and it comes before any RSA
// operation. Padding, tag, key and parse failures stay the one error
// (TestEncryptedAssertionOneError).

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmlenc"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

func TestEncryptedAssertionAlgorithmNamed(t *testing.T) {
	k0, c0 := encKey(0)
	ed := func(t *testing.T, resp *etree.Element) *etree.Element {
		return encChild(t, encChild(t, resp, "EncryptedAssertion"), "EncryptedData")
	}
	ek := func(t *testing.T, resp *etree.Element) *etree.Element {
		return encChild(t, encChild(t, ed(t, resp), "KeyInfo"), "EncryptedKey")
	}
	cases := []struct {
		name string
		enc  saml2sptest.Encryption
		edit func(t *testing.T, resp *etree.Element)
		want string // the whole message
	}{
		{name: "Triple-DES (pysaml2's default)", edit: func(t *testing.T, resp *etree.Element) {
			encChild(t, ed(t, resp), "EncryptionMethod").CreateAttr("Algorithm", xmlenc.TripleDESCBC)
		}, want: "saml2sp: unsupported: EncryptedAssertion: Triple-DES (http://www.w3.org/2001/04/xmlenc#tripledes-cbc) is refused; " +
			"configure the IdP to encrypt assertions with AES-GCM (http://www.w3.org/2009/xmlenc11#aes256-gcm)"},
		{name: "RSA-1_5 key transport", edit: func(t *testing.T, resp *etree.Element) {
			em := encChild(t, ek(t, resp), "EncryptionMethod")
			em.CreateAttr("Algorithm", xmlenc.RSA15)
			em.RemoveChild(encChild(t, em, "DigestMethod"))
			w, err := rsa.EncryptPKCS1v15(rand.Reader, &k0.PublicKey, make([]byte, 32))
			require.NoError(t, err)
			encChild(t, encChild(t, ek(t, resp), "CipherData"), "CipherValue").SetText(base64.StdEncoding.EncodeToString(w))
		}, want: "saml2sp: unsupported: EncryptedAssertion: RSA PKCS#1 v1.5 key transport (http://www.w3.org/2001/04/xmlenc#rsa-1_5) is refused, " +
			"as it is open to Bleichenbacher's attack; configure the IdP to transport the key with RSA-OAEP " +
			"(http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p or http://www.w3.org/2009/xmlenc11#rsa-oaep)"},
		{name: "unknown content algorithm", edit: func(t *testing.T, resp *etree.Element) {
			encChild(t, ed(t, resp), "EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#aes256-ofb")
		}, want: `saml2sp: unsupported: EncryptedAssertion: content-encryption algorithm "http://www.w3.org/2001/04/xmlenc#aes256-ofb" is not supported; ` +
			"configure the IdP to encrypt assertions with AES-GCM (http://www.w3.org/2009/xmlenc11#aes256-gcm)"},
		{name: "AES key wrap", edit: func(t *testing.T, resp *etree.Element) {
			encChild(t, ek(t, resp), "EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#kw-aes256")
		}, want: "saml2sp: unsupported: EncryptedAssertion: AES key wrap needs a secret key shared with the IdP, which this SP does not have; " +
			"configure the IdP to transport the key with RSA-OAEP (http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p or http://www.w3.org/2009/xmlenc11#rsa-oaep) for the SP's certificate"},
		{name: "unknown OAEP digest", edit: func(t *testing.T, resp *etree.Element) {
			encChild(t, encChild(t, ek(t, resp), "EncryptionMethod"), "DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5")
		}, want: `saml2sp: unsupported: EncryptedAssertion: OAEP digest algorithm "http://www.w3.org/2001/04/xmldsig-more#md5" is not supported; ` +
			"configure the IdP to use SHA-1 or SHA-256 as the RSA-OAEP digest"},
		{name: "key agreement", edit: func(t *testing.T, resp *etree.Element) {
			d := etree.NewDocument()
			require.NoError(t, d.ReadFromString(`<xenc:AgreementMethod xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Algorithm="http://www.w3.org/2009/xmlenc11#ECDH-ES"/>`))
			encChild(t, ed(t, resp), "KeyInfo").AddChild(d.Root())
		}, want: "saml2sp: unsupported: EncryptedAssertion: key agreement (AgreementMethod) is not supported; " +
			"configure the IdP to transport the key with RSA-OAEP (http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p or http://www.w3.org/2009/xmlenc11#rsa-oaep)"},
		{name: "Triple-DES in Okta's layout", enc: saml2sptest.Encryption{OktaLayout: true}, edit: func(t *testing.T, resp *etree.Element) {
			encChild(t, ed(t, resp), "EncryptionMethod").CreateAttr("Algorithm", xmlenc.TripleDESCBC)
		}, want: "saml2sp: unsupported: EncryptedAssertion: Triple-DES (http://www.w3.org/2001/04/xmlenc#tripledes-cbc) is refused; " +
			"configure the IdP to encrypt assertions with AES-GCM (http://www.w3.org/2009/xmlenc11#aes256-gcm)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, m := range encSignModes {
				t.Run(m.name, func(t *testing.T) {
					h := &encHSMKey{k: k0}
					e := newTestEnv(t, func(cfg *saml2sp.Config) { cfg.Key, cfg.Certificate = h, c0 })
					_, err := e.parse(e.mint(e.response(encSign(m.sign), encFor(c0, c.enc), encEdit(c.edit)(t))))
					require.ErrorIs(t, err, saml2sp.ErrUnsupported)
					require.NotErrorIs(t, err, saml2sp.ErrDecryption)
					require.NotErrorIs(t, err, saml2sp.ErrMalformed)
					assert.Equal(t, c.want, err.Error())
					assert.Empty(t, h.opts, "no RSA operation before the algorithm is refused")
				})
			}
		})
	}
}
