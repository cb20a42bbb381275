package saml2sp_test

// Encrypted assertions made by independent implementations: the xmlsec1 and
// OpenSSL fixtures in testdata/xmlenc, xmlsec1 live at test time, and a fuzz
// target over encrypted Responses.

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// encFixture is one Response in testdata/xmlenc (see its README.md).
type encFixture struct {
	file        string
	assertionID string
	nameID      string
	previous    string // key the SP holds in PreviousKeys (Config.Key is always "sp")
}

var encFixtures = []encFixture{
	{file: "encrypted-aes128-cbc.xml"}, {file: "encrypted-aes192-cbc.xml"},
	{file: "encrypted-aes128-gcm-shibboleth.xml", assertionID: "_enc-shib-assert-7c9e1a3b5d7f9b1d3f5a", nameID: "AAdzZWNyZXQxVr6yM2QzHn0q8kq7w1JH5eLTf0xXcA=="},
	{file: "encrypted-aes192-gcm.xml"}, {file: "encrypted-aes256-gcm.xml"},
	{file: "encrypted-aes256-cbc-adfs.xml", assertionID: "_f4a8c2e6-0b3d-4f71-8e5a-2c6b0d4f8a1e", nameID: "j.smith@corp.example.com"},
	{file: "encrypted-oaepparams.xml"},
	{file: "encrypted-previous-key.xml", previous: "sp2"},
	{file: "encrypted-xenc11-sha256-mgf1sha256.xml"}, {file: "encrypted-xenc11-sha512-mgf1sha1.xml"},
	{file: "encrypted-xenc11-sha256-default-mgf.xml"},
	{file: "encrypted-xenc11-sha1-mgf1sha384.xml", assertionID: "_f4a8c2e6-0b3d-4f71-8e5a-2c6b0d4f8a1e", nameID: "j.smith@corp.example.com"},
	{file: "encrypted-mgf1p-sha256.xml"},
	{file: "encrypted-aes256-cbc-okta.xml", assertionID: "id20260115100000987654321098", nameID: "jane.doe@example.com"},
}

func encReadKey(t *testing.T, name string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	kb, err := os.ReadFile(filepath.Join(encDir, name+"-key.pem"))
	require.NoError(t, err)
	block, _ := pem.Decode(kb)
	require.NotNil(t, block)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	cb, err := os.ReadFile(filepath.Join(encDir, name+"-cert.pem"))
	require.NoError(t, err)
	block, _ = pem.Decode(cb)
	require.NotNil(t, block)
	c, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return k.(*rsa.PrivateKey), c
}

// encFixtureSP is an SP for the testdata fixtures: the xmlsec1 IdP keys,
// SP key "sp" unless key is set, previous keys as named.
func encFixtureSP(t *testing.T, key string, previous ...string) *saml2sp.SP {
	t.Helper()
	env := loadInterop(t)
	cfg := saml2sp.Config{
		EntityID: env.exp.SP.EntityID,
		ACSURL:   env.exp.SP.ACSURL,
		IdP:      &saml2sp.IdentityProvider{EntityID: env.exp.IdP.EntityID, Certificates: env.certs},
		Clock:    func() time.Time { return env.exp.SP.Now },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if key != "" {
		k, c := encReadKey(t, key)
		cfg.Key, cfg.Certificate = k, c
	}
	for _, p := range previous {
		k, _ := encReadKey(t, p)
		cfg.PreviousKeys = append(cfg.PreviousKeys, k)
	}
	sp, err := saml2sp.New(cfg)
	require.NoError(t, err)
	return sp
}

func encParseFixture(sp *saml2sp.SP, data []byte) (*saml2sp.Assertion, error) {
	return sp.ParseResponse(context.Background(), base64.StdEncoding.EncodeToString(data), []string{"_req-fixture-1"})
}

// TestEncryptedFixtures parses the Responses that xmlsec1 and OpenSSL
// encrypted (testdata/xmlenc/generate.sh), so interoperability is checked
// without either installed. The simplesamlphp layout declares saml: only on
// the Response, so its plaintext relies on the inherited declaration.
func TestEncryptedFixtures(t *testing.T) {
	for _, fx := range encFixtures {
		t.Run(fx.file, func(t *testing.T) {
			if fx.assertionID == "" {
				fx.assertionID, fx.nameID = "_enc-assert-9b2e6f1a4c8d3e7b0a5f9c2d6e1b4a8f", "alice@example.com"
			}
			data, err := os.ReadFile(filepath.Join(encDir, fx.file))
			require.NoError(t, err)
			require.Contains(t, string(data), "<xenc:EncryptedData")
			require.NotContains(t, string(data), fx.nameID)
			var previous []string
			if fx.previous != "" {
				previous = append(previous, fx.previous)
			}
			a, err := encParseFixture(encFixtureSP(t, "sp", previous...), data)
			require.NoError(t, err)
			assert.Equal(t, fx.assertionID, a.ID)
			assert.Equal(t, fx.nameID, a.NameID)

			t.Run("wrong SP key", func(t *testing.T) {
				_, err := encParseFixture(encFixtureSP(t, "sp2"), data)
				if fx.previous != "" {
					require.NoError(t, err)
					return
				}
				encIsDecryptionError(t, err)
			})
			t.Run("ciphertext changed", func(t *testing.T) {
				i := bytes.LastIndex(data, []byte("</xenc:CipherValue>")) - 10
				changed := bytes.Clone(data)
				if changed[i] == 'A' {
					changed[i] = 'B'
				} else {
					changed[i] = 'A'
				}
				_, err := encParseFixture(encFixtureSP(t, "sp", previous...), changed)
				require.Error(t, err)
				if bytes.Contains(data, []byte(`<ds:Reference URI="#`+encResponseID(data)+`"`)) {
					require.ErrorIs(t, err, saml2sp.ErrSignature, "the Response signature covers the ciphertext")
				} else {
					encIsDecryptionError(t, err)
				}
			})
		})
	}
	// Refused algorithms are named, with what to configure instead.
	for _, c := range []struct{ file, want string }{
		{"refused-rsa-1_5.xml", "saml2sp: unsupported: EncryptedAssertion: RSA PKCS#1 v1.5 key transport (http://www.w3.org/2001/04/xmlenc#rsa-1_5) is refused, as it is open to Bleichenbacher's attack; configure the IdP to transport the key with RSA-OAEP"},
		{"refused-tripledes.xml", "saml2sp: unsupported: EncryptedAssertion: Triple-DES (http://www.w3.org/2001/04/xmlenc#tripledes-cbc) is refused; configure the IdP to encrypt assertions with AES-GCM"},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(encDir, c.file))
			require.NoError(t, err)
			_, err = encParseFixture(encFixtureSP(t, "sp"), data)
			require.ErrorIs(t, err, saml2sp.ErrUnsupported)
			require.NotErrorIs(t, err, saml2sp.ErrDecryption)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestEncryptedFixturesXMLSec1Decrypt has xmlsec1 decrypt, at test time,
// every fixture it can (xmlsec1 1.2 implements neither XML Encryption 1.1
// rsa-oaep nor an OAEP digest other than SHA-1), Okta's RetrievalMethod
// layout included: the fixtures ParseResponse accepts are what another
// implementation reads too.
func TestEncryptedFixturesXMLSec1Decrypt(t *testing.T) {
	xmlsec1, err := exec.LookPath("xmlsec1")
	if err != nil {
		msg := "xmlsec1 is not installed, so the fixtures were NOT decrypted by xmlsec1; install it with: apt-get install xmlsec1"
		if os.Getenv("CI") == "" {
			t.Skip("!!!!! SKIPPED: " + msg + " !!!!!")
		}
		t.Fatal("CI is set but " + msg)
	}
	for _, fx := range encFixtures {
		if strings.Contains(fx.file, "xenc11") || strings.Contains(fx.file, "mgf1p-sha256") {
			continue
		}
		t.Run(fx.file, func(t *testing.T) {
			key := "sp"
			if fx.previous != "" {
				key = fx.previous
			}
			if fx.nameID == "" {
				fx.nameID = "alice@example.com"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// --id-attr lets xmlsec1 resolve Okta's RetrievalMethod.
			out, err := exec.CommandContext(ctx, xmlsec1, "--decrypt", "--privkey-pem", filepath.Join(encDir, key+"-key.pem"),
				"--id-attr:Id", "http://www.w3.org/2001/04/xmlenc#:EncryptedKey", filepath.Join(encDir, fx.file)).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), ">"+fx.nameID+"</")
		})
	}
}

// encResponseID returns the ID of the Response in a fixture.
func encResponseID(data []byte) string {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return ""
	}
	return doc.Root().SelectAttrValue("ID", "")
}

// TestEncryptedXMLSec1Live has xmlsec1 encrypt, for every content
// algorithm it implements, Assertions that saml2sptest signed (sign, then
// encrypt), and Responses whose signature xmlsec1 adds after encrypting
// (encrypt, then sign the Response).
func TestEncryptedXMLSec1Live(t *testing.T) {
	xmlsec1, err := exec.LookPath("xmlsec1")
	if err != nil {
		msg := "xmlsec1 is not installed, so the live encryption interop test did NOT run; install it with: apt-get install xmlsec1"
		if os.Getenv("CI") == "" {
			t.Skip("!!!!! SKIPPED: " + msg + " !!!!!")
		}
		t.Fatal("CI is set but " + msg)
	}
	_, spCert := encKey(0)
	writePEM := func(t *testing.T, dir, name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	run := func(t *testing.T, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, xmlsec1, args...).CombinedOutput()
		require.NoError(t, err, "xmlsec1 %s\n%s", strings.Join(args, " "), out)
	}
	for _, data := range []string{"aes128-cbc", "aes192-cbc", "aes256-cbc", "aes128-gcm", "aes192-gcm", "aes256-gcm", "aes256-gcm+oaepparams"} {
		for _, flow := range []string{"sign then encrypt", "encrypt then sign the Response"} {
			t.Run(data+"/"+flow, func(t *testing.T) {
				e := newTestEnv(t, encWithKey)
				dir := t.TempDir()
				keyDER, err := x509.MarshalPKCS8PrivateKey(e.idp.Key)
				require.NoError(t, err)
				idpKeyFile := writePEM(t, dir, "idp-key.pem", "PRIVATE KEY", keyDER)
				idpCertFile := writePEM(t, dir, "idp-cert.pem", "CERTIFICATE", e.idp.Certificate.Raw)
				spCertFile := writePEM(t, dir, "sp-cert.pem", "CERTIFICATE", spCert.Raw)

				sign := saml2sptest.SignAssertion
				if flow != "sign then encrypt" {
					sign = saml2sptest.SignNone
				}
				doc := e.mintXML(e.response(encSign(sign)))
				resp := doc.Root()
				a := encChild(t, resp, "Assertion")
				ea := etree.NewElement("saml:EncryptedAssertion")
				resp.InsertChildAt(a.Index(), ea)
				resp.RemoveChild(a)
				ea.AddChild(a)
				if sign == saml2sptest.SignNone {
					resp.InsertChildAt(encChild(t, resp, "Issuer").Index()+1, encSignatureTemplate(t, resp.SelectAttrValue("ID", "")))
				}
				in := filepath.Join(dir, "in.xml")
				b, err := doc.WriteToBytes()
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(in, b, 0o600))

				alg, params := data, ""
				if strings.HasSuffix(data, "+oaepparams") {
					alg = strings.TrimSuffix(data, "+oaepparams")
					params = "<xenc:OAEPparams>" + base64.StdEncoding.EncodeToString([]byte("saml2sp label")) + "</xenc:OAEPparams>"
				}
				uri := "http://www.w3.org/2001/04/xmlenc#" + alg
				if strings.HasSuffix(alg, "-gcm") {
					uri = "http://www.w3.org/2009/xmlenc11#" + alg
				}
				tmpl := filepath.Join(dir, "template.xml")
				require.NoError(t, os.WriteFile(tmpl, []byte(`<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">`+
					`<xenc:EncryptionMethod Algorithm="`+uri+`"/>`+
					`<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey>`+
					`<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p">`+params+`<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>`+
					`<ds:KeyInfo><ds:X509Data/></ds:KeyInfo>`+
					`<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>`+
					`<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>`), 0o600))
				encrypted := filepath.Join(dir, "encrypted.xml")
				run(t, "--encrypt", "--pubkey-cert-pem", spCertFile, "--session-key", "aes-"+alg[3:6],
					"--xml-data", in, "--node-xpath", "//*[local-name()='Assertion']", "--output", encrypted, tmpl)
				final := encrypted
				if sign == saml2sptest.SignNone {
					final = filepath.Join(dir, "signed.xml")
					run(t, "--sign", "--privkey-pem", idpKeyFile+","+idpCertFile,
						"--id-attr:ID", encNSProtocol+":Response",
						"--node-xpath", "/*[local-name()='Response']/*[local-name()='Signature']", "--output", final, encrypted)
				}
				out, err := os.ReadFile(final)
				require.NoError(t, err)
				require.Contains(t, string(out), uri)
				require.NotContains(t, string(out), "alice@example.com")
				got, err := e.parse(base64.StdEncoding.EncodeToString(out))
				require.NoError(t, err, "%s", out)
				assert.Equal(t, "alice@example.com", got.NameID)
				assert.Equal(t, []string{"users", "Dogs & cats"}, got.Attribute("groups"))
			})
		}
	}
}

// encSignatureTemplate is an empty enveloped-signature template for id, for
// xmlsec1 --sign to fill in.
func encSignatureTemplate(t *testing.T, id string) *etree.Element {
	t.Helper()
	d := etree.NewDocument()
	require.NoError(t, d.ReadFromString(`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>`+
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>`+
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>`+
		`<ds:Reference URI="#`+id+`"><ds:Transforms>`+
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>`+
		`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>`+
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>`+
		`</ds:SignedInfo><ds:SignatureValue/></ds:Signature>`))
	return d.Root()
}

// FuzzParseEncryptedResponse feeds mutated encrypted Responses to an SP
// with a key. No input may panic, and nothing but a complete, verified
// Assertion may come back without an error.
func FuzzParseEncryptedResponse(f *testing.F) {
	e := newTestEnv(f, encWithKey, func(c *saml2sp.Config) { c.AllowIdPInitiated = true })
	_, cert := encKey(0)
	for _, sign := range []saml2sptest.Sign{saml2sptest.SignAssertion, saml2sptest.SignResponse, saml2sptest.SignNone} {
		for _, data := range []string{"aes128-cbc", "aes256-gcm"} {
			for _, okta := range []bool{false, true} {
				b, err := e.idp.ResponseXML(e.response(encSign(sign), encFor(cert, saml2sptest.Encryption{Data: data, OktaLayout: okta})))
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		a, err := e.sp.ParseResponse(context.Background(), base64.StdEncoding.EncodeToString(doc), []string{testRequestID})
		if err == nil && (a == nil || a.NameID == "" || a.Issuer != testIdPEntityID) {
			t.Fatalf("accepted without a complete assertion: %+v", a)
		}
		if err != nil && a != nil {
			t.Fatalf("assertion returned with error %v", err)
		}
	})
}
