package saml2sp_test

// SP keys for encrypted assertions: rollover (current, next, previous keys),
// keys that are not *rsa.PrivateKey, configuration errors, and the SP
// metadata that announces the keys.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmlenc"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// encHSMKey is an SP key that is not an *rsa.PrivateKey (as from an HSM or a
// cloud KMS): a crypto.Signer and crypto.Decrypter. It records the OAEP
// options it is asked to use.
type encHSMKey struct {
	k    *rsa.PrivateKey
	mu   sync.Mutex
	opts []rsa.OAEPOptions
}

func (h *encHSMKey) Public() crypto.PublicKey { return h.k.Public() }
func (h *encHSMKey) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return h.k.Sign(r, d, o)
}
func (h *encHSMKey) Decrypt(r io.Reader, msg []byte, o crypto.DecrypterOpts) ([]byte, error) {
	h.mu.Lock()
	if oo, ok := o.(*rsa.OAEPOptions); ok {
		h.opts = append(h.opts, *oo)
	}
	h.mu.Unlock()
	return h.k.Decrypt(r, msg, o)
}

// TestSPKeys: decryption tries the current, next and previous SP keys; an
// SP without a key needs none until an IdP encrypts, and then says what to
// do.
func TestSPKeys(t *testing.T) {
	k0, c0 := encKey(0)
	k1, c1 := encKey(1)
	k2, _ := encKey(2)
	enc := func(c *x509.Certificate) func(*saml2sptest.Response) { return encFor(c, saml2sptest.Encryption{}) }
	cases := []struct {
		name string
		cfg  func(*saml2sp.Config)
		to   *x509.Certificate
		ok   bool
	}{
		{"current key", encWithKey, c0, true},
		{"next key", func(c *saml2sp.Config) { encWithKey(c); c.NextKey = &saml2sp.KeyPair{Key: k1, Certificate: c1} }, c1, true},
		{"previous key", func(c *saml2sp.Config) { encWithKey(c); c.PreviousKeys = []crypto.Decrypter{k2, k1} }, c1, true},
		{"a key that was dropped", func(c *saml2sp.Config) { encWithKey(c); c.PreviousKeys = []crypto.Decrypter{k2} }, c1, false},
		{"after the switch, for the old certificate", func(c *saml2sp.Config) {
			c.Key, c.Certificate = k1, c1
			c.PreviousKeys = []crypto.Decrypter{k0}
		}, c0, true},
		{"only a previous key", func(c *saml2sp.Config) { c.PreviousKeys = []crypto.Decrypter{k0} }, c0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t, c.cfg)
			a, err := e.parse(e.mint(e.response(enc(c.to))))
			if c.ok {
				require.NoError(t, err)
				assert.Equal(t, "alice@example.com", a.NameID)
			} else {
				encIsDecryptionError(t, err)
			}
		})
	}

	t.Run("no key: plain assertions only", func(t *testing.T) {
		e := newTestEnv(t)
		_, err := e.parse(e.mint(e.response()))
		require.NoError(t, err, "an SP needs no key while the IdP does not encrypt")
		_, err = e.parse(e.mint(e.response(enc(c0))))
		require.ErrorIs(t, err, saml2sp.ErrUnsupported)
		require.NotErrorIs(t, err, saml2sp.ErrDecryption)
		assert.Contains(t, err.Error(), "switch off assertion encryption at the IdP or configure an SP key")
	})
	t.Run("ECDSA key cannot decrypt", func(t *testing.T) {
		ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		ec, err := saml2sptest.NewCertificate(ek, testNow.Add(-time.Hour), testNow.Add(time.Hour))
		require.NoError(t, err)
		e := newTestEnv(t, func(c *saml2sp.Config) { c.Key, c.Certificate = ek, ec })
		_, err = e.parse(e.mint(e.response(enc(c0))))
		require.ErrorIs(t, err, saml2sp.ErrUnsupported)
		assert.Contains(t, err.Error(), "cannot decrypt; switch off assertion encryption at the IdP or configure an RSA SP key")
	})
	t.Run("a key that is not an *rsa.PrivateKey gets the message's OAEP parameters", func(t *testing.T) {
		h := &encHSMKey{k: k0}
		e := newTestEnv(t, func(c *saml2sp.Config) { c.Key, c.Certificate = h, c0 })
		_, err := e.parse(e.mint(e.response(encFor(c0, saml2sptest.Encryption{KeyTransport: "rsa-oaep", Digest: "sha256", MGF: "mgf1sha512"}))))
		require.NoError(t, err)
		require.Len(t, h.opts, 1)
		assert.Equal(t, crypto.SHA256, h.opts[0].Hash)
		assert.Equal(t, crypto.SHA512, h.opts[0].MGFHash)
	})
}

func TestSPKeysConfig(t *testing.T) {
	k0, c0 := encKey(0)
	k1, c1 := encKey(1)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	idp, err := saml2sptest.NewIdP(testIdPEntityID)
	require.NoError(t, err)
	cases := []struct {
		name string
		mod  func(*saml2sp.Config)
		want string
	}{
		{"NextKey without Key", func(c *saml2sp.Config) { c.NextKey = &saml2sp.KeyPair{Key: k1, Certificate: c1} }, "NextKey is set but Key is not"},
		{"NextKey without Certificate", func(c *saml2sp.Config) { c.Key, c.Certificate = k0, c0; c.NextKey = &saml2sp.KeyPair{Key: k1} }, "NextKey needs both"},
		{"NextKey mismatched", func(c *saml2sp.Config) {
			c.Key, c.Certificate = k0, c0
			c.NextKey = &saml2sp.KeyPair{Key: k1, Certificate: c0}
		}, "does not match"},
		{"nil previous key", func(c *saml2sp.Config) { c.PreviousKeys = []crypto.Decrypter{nil} }, "PreviousKeys[0] is nil"},
		{"ECDSA previous key", func(c *saml2sp.Config) { c.PreviousKeys = []crypto.Decrypter{encECDecrypter{ek}} }, "only RSA keys decrypt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := saml2sp.Config{EntityID: testSPEntityID, ACSURL: testACSURL, IdP: idp.IdentityProvider()}
			c.mod(&cfg)
			_, err := saml2sp.New(cfg)
			require.ErrorIs(t, err, saml2sp.ErrConfig)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

type encECDecrypter struct{ *ecdsa.PrivateKey }

func (encECDecrypter) Decrypt(io.Reader, []byte, crypto.DecrypterOpts) ([]byte, error) {
	return nil, errors.New("not an RSA key")
}

// TestSPMetadataKeys: the metadata announces the current and next
// certificates for signing and, when the key can decrypt, for encryption
// with the supported algorithms; it stays schema-valid.
func TestSPMetadataKeys(t *testing.T) {
	k0, c0 := encKey(0)
	k1, c1 := encKey(1)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ec, err := saml2sptest.NewCertificate(ek, testNow.Add(-time.Hour), testNow.Add(time.Hour))
	require.NoError(t, err)
	type kd struct {
		use  string
		cert *x509.Certificate
	}
	cases := []struct {
		name string
		mod  func(*saml2sp.Config)
		want []kd
	}{
		{"no key", func(*saml2sp.Config) {}, nil},
		{"RSA key", func(c *saml2sp.Config) { c.Key, c.Certificate = k0, c0 }, []kd{{"signing", c0}, {"encryption", c0}}},
		{"RSA key and next key", func(c *saml2sp.Config) {
			c.Key, c.Certificate = k0, c0
			c.NextKey = &saml2sp.KeyPair{Key: k1, Certificate: c1}
		}, []kd{{"signing", c0}, {"encryption", c0}, {"signing", c1}, {"encryption", c1}}},
		{"ECDSA key, RSA next key", func(c *saml2sp.Config) {
			c.Key, c.Certificate = ek, ec
			c.NextKey = &saml2sp.KeyPair{Key: k1, Certificate: c1}
		}, []kd{{"signing", ec}, {"signing", c1}, {"encryption", c1}}},
		{"previous keys are not published", func(c *saml2sp.Config) {
			c.Key, c.Certificate = k0, c0
			c.PreviousKeys = []crypto.Decrypter{k1}
		}, []kd{{"signing", c0}, {"encryption", c0}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t, c.mod)
			out := e.sp.Metadata()
			doc, err := xmlsafe.Parse(out, xmlsafe.DefaultLimits)
			require.NoError(t, err)
			role := doc.Root().ChildElements()[0]
			var got []kd
			for _, el := range role.ChildElements() {
				if el.Tag != "KeyDescriptor" || el.NamespaceURI() != encNSMetadata {
					continue
				}
				x := el.FindElement("./KeyInfo/X509Data/X509Certificate")
				require.NotNil(t, x)
				der, err := base64.StdEncoding.DecodeString(x.Text())
				require.NoError(t, err)
				cert, err := x509.ParseCertificate(der)
				require.NoError(t, err)
				use := el.SelectAttrValue("use", "")
				got = append(got, kd{use, cert})
				var algs []string
				for _, m := range el.SelectElements("EncryptionMethod") {
					algs = append(algs, m.SelectAttrValue("Algorithm", ""))
				}
				if use == "encryption" {
					assert.Equal(t, []string{
						"http://www.w3.org/2009/xmlenc11#aes256-gcm", "http://www.w3.org/2009/xmlenc11#aes192-gcm", "http://www.w3.org/2009/xmlenc11#aes128-gcm",
						"http://www.w3.org/2001/04/xmlenc#aes256-cbc", "http://www.w3.org/2001/04/xmlenc#aes192-cbc", "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
						"http://www.w3.org/2009/xmlenc11#rsa-oaep", "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
					}, algs)
				} else {
					assert.Empty(t, algs)
				}
			}
			require.Len(t, got, len(c.want))
			for i := range got {
				assert.Equal(t, c.want[i].use, got[i].use, "KeyDescriptor %d", i)
				assert.True(t, got[i].cert.Equal(c.want[i].cert), "KeyDescriptor %d certificate", i)
			}
			encSchemaValid(t, out)
		})
	}
}

// encSchemaValid validates SP metadata against the SAML metadata schema
// with xmllint; it skips loudly without xmllint or the schema, and fails
// when CI is set.
func encSchemaValid(t *testing.T, doc []byte) {
	t.Helper()
	const schema = "/usr/share/simplesamlphp/schemas/saml-schema-metadata-2.0.xsd"
	xmllint, err := exec.LookPath("xmllint")
	if err == nil {
		_, err = os.Stat(schema)
	}
	if err != nil {
		msg := "SCHEMA VALIDATION NOT RUN: need xmllint (Debian: libxml2-utils) and " + schema + " (Debian: simplesamlphp): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("!!! " + msg + " !!!")
	}
	file := filepath.Join(t.TempDir(), "metadata.xml")
	require.NoError(t, os.WriteFile(file, doc, 0o600))
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", schema, file).CombinedOutput()
	require.NoError(t, err, "xmllint: %s\n%s", out, doc)
}

// TestEncryptedRSAWorkBounded: with three SP keys, a Response carrying
// MaxEncryptedKeys EncryptedKeys costs at most three RSA operations, one
// per key, and the EncryptedKey whose KeyInfo names a key is the one that
// key tries, wherever it sits.
func TestEncryptedRSAWorkBounded(t *testing.T) {
	k0, c0 := encKey(0)
	k1, c1 := encKey(1)
	k2, c2 := encKey(2)
	h0, h1, h2 := &encHSMKey{k: k0}, &encHSMKey{k: k1}, &encHSMKey{k: k2}
	threeKeys := func(c *saml2sp.Config) {
		c.Key, c.Certificate = h0, c0
		c.NextKey = &saml2sp.KeyPair{Key: h1, Certificate: c1}
		c.PreviousKeys = []crypto.Decrypter{h2}
	}
	// spread makes the inline EncryptedKey the last of MaxEncryptedKeys:
	// garbled copies without KeyInfo go first, one inside the
	// EncryptedData's KeyInfo, the others next to it.
	spread := func(t *testing.T, resp *etree.Element) {
		ea := encChild(t, resp, "EncryptedAssertion")
		ki := encChild(t, encChild(t, ea, "EncryptedData"), "KeyInfo")
		real := encChild(t, ki, "EncryptedKey")
		ki.RemoveChild(real)
		real.CreateAttr("xmlns:xenc", xmlenc.NS)
		real.CreateAttr("xmlns:ds", xmlenc.NSDSig)
		for i := 1; i < xmlenc.MaxEncryptedKeys; i++ {
			g := real.Copy()
			g.RemoveChild(encChild(t, g, "KeyInfo"))
			cv := encChild(t, encChild(t, g, "CipherData"), "CipherValue")
			b, err := base64.StdEncoding.DecodeString(cv.Text())
			require.NoError(t, err)
			b[len(b)/2] ^= 1
			cv.SetText(base64.StdEncoding.EncodeToString(b))
			if i == 1 {
				ki.AddChild(g)
			} else {
				ea.AddChild(g)
			}
		}
		ea.AddChild(real)
	}
	// issuerSerial spreads, then names cert on the real EncryptedKey by
	// X509IssuerSerial only, which needs the certificate of the SP key.
	issuerSerial := func(cert *x509.Certificate) func(t *testing.T, resp *etree.Element) {
		return func(t *testing.T, resp *etree.Element) {
			spread(t, resp)
			ea := encChild(t, resp, "EncryptedAssertion")
			real := ea.ChildElements()[len(ea.ChildElements())-1]
			ki := encChild(t, real, "KeyInfo")
			x := encChild(t, ki, "X509Data")
			x.RemoveChild(encChild(t, x, "X509Certificate"))
			is := x.CreateElement("ds:X509IssuerSerial")
			is.CreateElement("ds:X509IssuerName").SetText(cert.Issuer.String())
			is.CreateElement("ds:X509SerialNumber").SetText(cert.SerialNumber.String())
		}
	}
	cases := []struct {
		name  string
		to    *x509.Certificate
		edit  func(t *testing.T, resp *etree.Element)
		ok    bool
		calls int
	}{
		{"current key named by X509IssuerSerial", c0, issuerSerial(c0), true, 1},
		{"next key named by X509IssuerSerial", c1, issuerSerial(c1), true, 2},
		{"worst case: no EncryptedKey names a key", c0, func(t *testing.T, resp *etree.Element) { encWorstCase(t, resp) }, false, 3},
		{"current key named on the last EncryptedKey", c0, spread, true, 1},
		{"next key named on the last EncryptedKey", c1, spread, true, 2},
		{"previous key named by public key on the last EncryptedKey", c2, spread, true, 3},
		{"one EncryptedKey for the previous key", c2, nil, true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, h := range []*encHSMKey{h0, h1, h2} {
				h.opts = nil
			}
			e := newTestEnv(t, threeKeys)
			mods := []func(*saml2sptest.Response){encFor(c.to, saml2sptest.Encryption{})}
			if c.edit != nil {
				mods = append(mods, encEdit(c.edit)(t))
			}
			_, err := e.parse(e.mint(e.response(mods...)))
			if c.ok {
				require.NoError(t, err)
			} else {
				encIsDecryptionError(t, err)
			}
			calls := len(h0.opts) + len(h1.opts) + len(h2.opts)
			assert.Equal(t, c.calls, calls, "RSA operations (at most one per SP key)")
		})
	}
}
