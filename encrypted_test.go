package saml2sp_test

// Encrypted assertions (issue 5; catalogue lines 39 CNT and 41 ENCX): every
// algorithm saml2sptest can encrypt with, the signature and encryption order
// rules, one error for every decryption failure, exactly one assertion, and
// where the EncryptedKey may sit. SP keys and metadata are in
// encrypted_keys_test.go; Responses encrypted by xmlsec1 and OpenSSL in
// encrypted_interop_test.go.

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmlenc"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

const (
	encNSAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	encNSProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	encNSMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	encDir         = "testdata/xmlenc"
)

// encKeys are three RSA SP keys with certificates, made once.
var encKeys = sync.OnceValue(func() (out [3]struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}) {
	for i := range out {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		c, err := saml2sptest.NewCertificate(k, testNow.Add(-time.Hour), testNow.AddDate(1, 0, 0))
		if err != nil {
			panic(err)
		}
		out[i].key, out[i].cert = k, c
	}
	return out
})

func encKey(i int) (*rsa.PrivateKey, *x509.Certificate) {
	k := encKeys()[i]
	return k.key, k.cert
}

// encWithKey gives the SP key 0.
func encWithKey(c *saml2sp.Config) { c.Key, c.Certificate = encKey(0) }

// encFor makes the Response's Assertion encrypted for cert with e.
func encFor(cert *x509.Certificate, e saml2sptest.Encryption) func(*saml2sptest.Response) {
	return func(r *saml2sptest.Response) { r.Encrypt, r.Encryption = cert, e }
}

func encSign(s saml2sptest.Sign) func(*saml2sptest.Response) {
	return func(r *saml2sptest.Response) { r.Sign = s }
}

// encSignModes are the two ways an encrypted assertion is authenticated:
// by its own signature in an unsigned Response, or by the Response
// signature over the ciphertext (the assertion signed too).
var encSignModes = []struct {
	name     string
	sign     saml2sptest.Sign
	unsigned bool // the Response is unsigned: failures are the one error
}{
	{"unsigned Response", saml2sptest.SignAssertion, true},
	{"signed Response", saml2sptest.SignBoth, false},
}

// encIsDecryptionError checks that err is the one decryption error.
func encIsDecryptionError(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, saml2sp.ErrDecryption)
	require.ErrorIs(t, err, saml2sp.ErrMalformed)
	require.Equal(t, encDecryptionMessage, err.Error())
}

const encDecryptionMessage = "saml2sp: malformed message: EncryptedAssertion could not be decrypted and verified with any SP key; the reason is logged at debug level"

func TestEncryptedAssertionAccepted(t *testing.T) {
	_, cert := encKey(0)
	cases := []struct {
		name string
		enc  saml2sptest.Encryption
		sign saml2sptest.Sign
	}{
		{name: "default (aes256-gcm, rsa-oaep-mgf1p)"},
		{name: "signed Response only", sign: saml2sptest.SignResponse},
		{name: "Assertion and Response signed", sign: saml2sptest.SignBoth},
		{name: "rsa-oaep-mgf1p with SHA-256 digest", enc: saml2sptest.Encryption{Digest: "sha256"}},
		{name: "rsa-oaep sha256 mgf1sha256", enc: saml2sptest.Encryption{KeyTransport: "rsa-oaep", Digest: "sha256", MGF: "mgf1sha256"}},
		{name: "rsa-oaep sha512 mgf1sha1", enc: saml2sptest.Encryption{KeyTransport: "rsa-oaep", Digest: "sha512", MGF: "mgf1sha1"}},
		{name: "rsa-oaep sha1 mgf1sha384", enc: saml2sptest.Encryption{KeyTransport: "rsa-oaep", Digest: "sha1", MGF: "mgf1sha384"}},
		{name: "rsa-oaep sha224 mgf1sha224", enc: saml2sptest.Encryption{KeyTransport: "rsa-oaep", Digest: "sha224", MGF: "mgf1sha224"}},
		{name: "OAEPparams", enc: saml2sptest.Encryption{OAEPParams: []byte("label")}},
	}
	for _, data := range []string{"aes128-cbc", "aes192-cbc", "aes256-cbc", "aes128-gcm", "aes192-gcm", "aes256-gcm"} {
		cases = append(cases, struct {
			name string
			enc  saml2sptest.Encryption
			sign saml2sptest.Sign
		}{name: data, enc: saml2sptest.Encryption{Data: data}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t, encWithKey)
			form := e.mint(e.response(encFor(cert, c.enc), encSign(c.sign)))
			raw, _ := base64.StdEncoding.DecodeString(form)
			require.Contains(t, string(raw), "EncryptedAssertion")
			require.NotContains(t, string(raw), "alice@example.com", "the assertion travels encrypted")
			a, err := e.parse(form)
			require.NoError(t, err)
			assert.Equal(t, "alice@example.com", a.NameID)
			assert.Equal(t, testRequestID, a.InResponseTo)
			assert.Equal(t, []string{"users", "Dogs & cats"}, a.Attribute("groups"))
			_, err = e.parse(form)
			require.ErrorIs(t, err, saml2sp.ErrReplay, "the decrypted assertion goes through the replay cache")
		})
	}
}

// encDebugLog returns a logger that keeps debug records, and their text.
func encDebugLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// TestEncryptionIsNotAuthentication: anyone can encrypt for the SP's
// public certificate, so an encrypted assertion needs a signature like any
// other.
func TestEncryptionIsNotAuthentication(t *testing.T) {
	_, cert := encKey(0)
	logger, logs := encDebugLog()
	e := newTestEnv(t, encWithKey, func(c *saml2sp.Config) { c.Logger = logger })
	_, err := e.parse(e.mint(e.response(encFor(cert, saml2sptest.Encryption{}), encSign(saml2sptest.SignNone))))
	encIsDecryptionError(t, err)
	assert.Contains(t, logs.String(), "encryption is not authentication", "the reason reaches the debug log")
	assert.NotContains(t, logs.String(), "alice@example.com", "the assertion is not logged")
}

// encEdit changes the Response (before it is signed) after the assertion
// was signed and encrypted.
func encEdit(edit func(t *testing.T, resp *etree.Element)) func(*testing.T) func(*saml2sptest.Response) {
	return func(t *testing.T) func(*saml2sptest.Response) {
		return func(r *saml2sptest.Response) { r.EditResponse = func(resp *etree.Element) { edit(t, resp) } }
	}
}

// encChild returns the first child of el with local name tag.
func encChild(t *testing.T, el *etree.Element, tag string) *etree.Element {
	t.Helper()
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	t.Fatalf("no %s in %s", tag, el.Tag)
	return nil
}

// encSerialize writes el, which declares its namespaces, as a document.
func encSerialize(t *testing.T, el *etree.Element) []byte {
	t.Helper()
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalAttrVal = true
	doc.SetRoot(el.Copy())
	b, err := doc.WriteToBytes()
	require.NoError(t, err)
	return b
}

// encSeal returns a saml:EncryptedAssertion holding payload, whatever it
// is, encrypted for key 0 with o.
func encSeal(t *testing.T, payload []byte, o xmlenc.EncryptOptions) *etree.Element {
	t.Helper()
	_, cert := encKey(0)
	ed, err := xmlenc.Encrypt(payload, cert.PublicKey.(*rsa.PublicKey), o)
	require.NoError(t, err)
	ea := etree.NewElement("saml:EncryptedAssertion")
	ea.CreateAttr("xmlns:saml", encNSAssertion)
	ea.AddChild(ed)
	return ea
}

// encReplacePayload replaces the (signed) plain Assertion with an
// EncryptedAssertion of payload(assertion bytes).
func encReplacePayload(payload func(t *testing.T, assertion []byte) []byte) func(*testing.T) func(*saml2sptest.Response) {
	return encEdit(func(t *testing.T, resp *etree.Element) {
		a := encChild(t, resp, "Assertion")
		resp.InsertChildAt(a.Index(), encSeal(t, payload(t, encSerialize(t, a)), xmlenc.EncryptOptions{Data: xmlenc.AES128CBC}))
		resp.RemoveChild(a)
	})
}

// encCipherValue returns the EncryptedData's CipherValue in resp.
func encCipherValue(t *testing.T, resp *etree.Element) *etree.Element {
	t.Helper()
	ed := encChild(t, encChild(t, resp, "EncryptedAssertion"), "EncryptedData")
	return encChild(t, encChild(t, ed, "CipherData"), "CipherValue")
}

// TestEncryptedAssertionSignatureOrder: the Response signature covers the
// ciphertext and is checked before anything is decrypted; the decrypted
// Assertion's own signature must verify too.
func TestEncryptedAssertionSignatureOrder(t *testing.T) {
	_, cert := encKey(0)
	t.Run("ciphertext changed after the Response was signed", func(t *testing.T) {
		e := newTestEnv(t, encWithKey)
		doc := e.mintXML(e.response(encFor(cert, saml2sptest.Encryption{}), encSign(saml2sptest.SignResponse)))
		cv := encCipherValue(t, doc.Root())
		b, err := base64.StdEncoding.DecodeString(cv.Text())
		require.NoError(t, err)
		b[len(b)-1] ^= 1
		cv.SetText(base64.StdEncoding.EncodeToString(b))
		_, err = e.parse(encodeDoc(t, doc))
		require.ErrorIs(t, err, saml2sp.ErrSignature, "the Response signature fails before decryption")
		require.NotErrorIs(t, err, saml2sp.ErrDecryption)
	})
	// The Assertion is changed after it was signed, then encrypted.
	tamper := encReplacePayload(func(t *testing.T, a []byte) []byte {
		return bytes.Replace(a, []byte("alice@example.com</saml:NameID>"), []byte("admin@example.com</saml:NameID>"), 1)
	})
	t.Run("bad Assertion signature inside a signed Response", func(t *testing.T) {
		e := newTestEnv(t, encWithKey)
		_, err := e.parse(e.mint(e.response(encSign(saml2sptest.SignBoth), tamper(t))))
		require.ErrorIs(t, err, saml2sp.ErrSignature)
		require.Contains(t, err.Error(), "Assertion signature")
	})
	t.Run("bad Assertion signature inside an unsigned Response", func(t *testing.T) {
		e := newTestEnv(t, encWithKey)
		_, err := e.parse(e.mint(e.response(encSign(saml2sptest.SignAssertion), tamper(t))))
		encIsDecryptionError(t, err)
	})
	t.Run("unchanged control", func(t *testing.T) {
		same := encReplacePayload(func(t *testing.T, a []byte) []byte { return a })
		for _, s := range []saml2sptest.Sign{saml2sptest.SignAssertion, saml2sptest.SignBoth} {
			// A fresh SP each time: a request is answered once.
			e := newTestEnv(t, encWithKey)
			_, err := e.parse(e.mint(e.response(encSign(s), same(t))))
			require.NoError(t, err)
		}
	})
	t.Run("namespaces come from the verified Response", func(t *testing.T) {
		// The plaintext uses a prefix that only the received Response
		// declares, outside anything its signature covers. The signature
		// verifies (exclusive c14n drops the unused declaration), but the
		// ciphertext is decrypted inside the verified Response, where the
		// prefix is not declared: refused.
		e := newTestEnv(t, encWithKey)
		edit := encEdit(func(t *testing.T, resp *etree.Element) {
			a := encChild(t, resp, "Assertion")
			plain := bytes.ReplaceAll(encSerialize(t, a), []byte("saml:"), []byte("a2:"))
			plain = bytes.Replace(plain, []byte(` xmlns:a2="`+encNSAssertion+`"`), nil, 1)
			require.NotContains(t, string(plain), "xmlns:a2")
			resp.InsertChildAt(a.Index(), encSeal(t, plain, xmlenc.EncryptOptions{}))
			resp.RemoveChild(a)
		})
		doc := e.mintXML(e.response(encSign(saml2sptest.SignResponse), edit(t)))
		doc.Root().CreateAttr("xmlns:a2", encNSAssertion)
		_, err := e.parse(encodeDoc(t, doc))
		require.ErrorIs(t, err, saml2sp.ErrMalformed)
		require.Contains(t, err.Error(), "undeclared namespace prefix")
	})
}

// TestEncryptedAssertionCount is catalogue line 39 (CNT) for encryption:
// one assertion overall, and a decrypted payload that is exactly one
// Assertion (CVE-2022-41912).
func TestEncryptedAssertionCount(t *testing.T) {
	_, cert := encKey(0)
	enc := encFor(cert, saml2sptest.Encryption{})
	t.Run("EncryptedAssertion next to an Assertion", func(t *testing.T) {
		e := newTestEnv(t, encWithKey)
		doc := e.mintXML(e.response())
		plain := encChild(t, doc.Root(), "Assertion")
		other := e.mintXML(e.response(enc))
		doc.Root().AddChild(encChild(t, other.Root(), "EncryptedAssertion"))
		_, err := e.parse(encodeDoc(t, doc))
		require.ErrorIs(t, err, saml2sp.ErrMalformed)
		require.Contains(t, err.Error(), "1 of them encrypted")
		doc.Root().RemoveChild(plain)
		doc.Root().AddChild(plain) // order does not matter
		_, err = e.parse(encodeDoc(t, doc))
		require.ErrorIs(t, err, saml2sp.ErrMalformed)
	})
	t.Run("two EncryptedAssertions", func(t *testing.T) {
		e := newTestEnv(t, encWithKey)
		doc := e.mintXML(e.response(enc))
		other := e.mintXML(e.response(enc))
		doc.Root().AddChild(encChild(t, other.Root(), "EncryptedAssertion"))
		_, err := e.parse(encodeDoc(t, doc))
		require.ErrorIs(t, err, saml2sp.ErrMalformed)
		require.Contains(t, err.Error(), "2 assertions")
	})
	t.Run("EncryptedAssertion in the Advice of a decrypted Assertion", func(t *testing.T) {
		e := newTestEnv(t, encWithKey)
		inner := encSerialize(t, encChild(t, e.mintXML(e.response(enc)).Root(), "EncryptedAssertion"))
		for _, m := range encSignModes {
			t.Run(m.name, func(t *testing.T) {
				_, err := e.parse(e.mint(e.response(encSign(m.sign), enc, func(r *saml2sptest.Response) {
					r.EditAssertion = func(a *etree.Element) {
						d := etree.NewDocument()
						require.NoError(t, d.ReadFromBytes(inner))
						adv := etree.NewElement("saml:Advice")
						adv.AddChild(d.Root())
						a.InsertChildAt(encChild(t, a, "Conditions").Index()+1, adv)
					}
				})))
				if m.unsigned {
					encIsDecryptionError(t, err)
				} else {
					require.ErrorIs(t, err, saml2sp.ErrMalformed)
					require.Contains(t, err.Error(), "extra EncryptedAssertion")
				}
			})
		}
	})
	t.Run("Assertion ID equal to the Response ID", func(t *testing.T) {
		for _, m := range encSignModes {
			t.Run(m.name, func(t *testing.T) {
				e := newTestEnv(t, encWithKey)
				_, err := e.parse(e.mint(e.response(encSign(m.sign), enc, func(r *saml2sptest.Response) {
					r.ResponseID, r.AssertionID = "_same", "_same"
				})))
				if m.unsigned {
					encIsDecryptionError(t, err)
				} else {
					require.ErrorIs(t, err, saml2sp.ErrMalformed)
					require.Contains(t, err.Error(), "also appears in the Response")
				}
			})
		}
	})

	t.Run("Assertion ID equal to an Id in the Response", func(t *testing.T) {
		for _, m := range encSignModes {
			t.Run(m.name, func(t *testing.T) {
				e := newTestEnv(t, encWithKey)
				_, err := e.parse(e.mint(e.response(encSign(m.sign), enc, func(r *saml2sptest.Response) {
					r.AssertionID = "_same"
					r.EditResponse = func(resp *etree.Element) {
						ext := etree.NewElement("samlp:Extensions")
						ext.CreateElement("x:E").CreateAttr("xmlns:x", "urn:x")
						ext.SelectElement("E").CreateAttr("Id", "_same")
						resp.InsertChildAt(encChild(t, resp, "Status").Index(), ext)
					}
				})))
				if m.unsigned {
					encIsDecryptionError(t, err)
				} else {
					require.ErrorIs(t, err, saml2sp.ErrMalformed)
					require.Contains(t, err.Error(), "also appears in the Response")
				}
			})
		}
	})

	evil := func(a []byte) []byte {
		// An unsigned copy with another ID and NameID.
		a = bytes.Replace(a, []byte("alice@example.com</saml:NameID>"), []byte("admin@example.com</saml:NameID>"), 1)
		a = bytes.Replace(a, []byte(` ID="_`), []byte(` ID="_evil`), 1)
		i := bytes.Index(a, []byte("<ds:Signature"))
		j := bytes.Index(a, []byte("</ds:Signature>"))
		return append(a[:i:i], a[j+len("</ds:Signature>"):]...)
	}
	payloads := []struct {
		name, want string
		payload    func(a []byte) []byte
	}{
		{"signed Assertion then an unsigned one (CVE-2022-41912)", "holds 2 elements", func(a []byte) []byte { return append(append([]byte{}, a...), evil(a)...) }},
		{"unsigned Assertion then the signed one", "holds 2 elements", func(a []byte) []byte { return append(evil(a), a...) }},
		{"text after the Assertion", "text besides", func(a []byte) []byte { return append(append([]byte{}, a...), "trailing"...) }},
		{"comment after the Assertion", "comment", func(a []byte) []byte { return append(append([]byte{}, a...), "<!-- x -->"...) }},
		{"nothing", "holds 0 elements", func(a []byte) []byte { return nil }},
		{"a Response", "not a SAML 2.0 Assertion", func(a []byte) []byte {
			return []byte(`<samlp:Response xmlns:samlp="` + encNSProtocol + `" ID="_r" Version="2.0"/>`)
		}},
		{"an Assertion in another namespace", "not a SAML 2.0 Assertion", func(a []byte) []byte {
			return bytes.Replace(a, []byte(`xmlns:saml="`+encNSAssertion+`"`), []byte(`xmlns:saml="urn:evil"`), 1)
		}},
		{"DOCTYPE", "invalid XML", func(a []byte) []byte { return append([]byte("<!DOCTYPE x [<!ENTITY e 'x'>]>"), a...) }},
		{"XML declaration", "invalid XML", func(a []byte) []byte { return append([]byte(`<?xml version="1.0"?>`), a...) }},
		{"processing instruction", "invalid XML", func(a []byte) []byte { return append(append([]byte{}, a...), "<?php x?>"...) }},
		{"closes the wrapper", "invalid XML", func(a []byte) []byte { return append([]byte("</saml2sp-decrypted><saml2sp-decrypted>"), a...) }},
		{"not UTF-8", "invalid XML", func(a []byte) []byte { return bytes.Replace(a, []byte("Dogs"), []byte("D\xffgs"), 1) }},
		{"too deep", "invalid XML", func(a []byte) []byte {
			deep := strings.Repeat("<x>", 100) + strings.Repeat("</x>", 100)
			return bytes.Replace(a, []byte("Dogs &amp; cats"), []byte(deep), 1)
		}},
	}
	for _, p := range payloads {
		t.Run(p.name, func(t *testing.T) {
			for _, m := range encSignModes {
				t.Run(m.name, func(t *testing.T) {
					e := newTestEnv(t, encWithKey)
					edit := encReplacePayload(func(t *testing.T, a []byte) []byte { return p.payload(a) })
					_, err := e.parse(e.mint(e.response(encSign(m.sign), edit(t))))
					if m.unsigned {
						encIsDecryptionError(t, err)
						return
					}
					require.ErrorIs(t, err, saml2sp.ErrMalformed)
					require.NotErrorIs(t, err, saml2sp.ErrDecryption)
					require.Contains(t, err.Error(), p.want)
				})
			}
		})
	}
}

// TestEncryptedAssertionOneError is catalogue line 41 (ENCX): whatever
// goes wrong while decrypting, the caller gets the same error, never a
// panic; and while the Response is unsigned, whatever goes wrong up to the
// Assertion's signature too, so that altered CBC ciphertext teaches a
// client nothing (no padding or parsing oracle).
// Refused algorithms are the exception, named in their own error
// (encrypted_algorithms_test.go); Okta's RetrievalMethod is followed
// (encrypted_okta_test.go).
func TestEncryptedAssertionOneError(t *testing.T) {
	_, cert := encKey(0)
	_, otherCert := encKey(1)
	spKey, _ := encKey(0)
	ds := `xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`
	xenc := `xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"`
	parseInto := func(t *testing.T, parent *etree.Element, xml string) {
		d := etree.NewDocument()
		require.NoError(t, d.ReadFromString(xml))
		parent.AddChild(d.Root())
	}
	ed := func(t *testing.T, resp *etree.Element) *etree.Element {
		return encChild(t, encChild(t, resp, "EncryptedAssertion"), "EncryptedData")
	}
	keyInfo := func(t *testing.T, resp *etree.Element) *etree.Element { return encChild(t, ed(t, resp), "KeyInfo") }
	flip := func(at func(n int) int) func(t *testing.T, resp *etree.Element) {
		return func(t *testing.T, resp *etree.Element) {
			cv := encCipherValue(t, resp)
			b, err := base64.StdEncoding.DecodeString(cv.Text())
			require.NoError(t, err)
			b[at(len(b))] ^= 0x5a
			cv.SetText(base64.StdEncoding.EncodeToString(b))
		}
	}
	// transportKey puts key, OAEP-encrypted for the SP, into the EncryptedKey.
	transportKey := func(t *testing.T, resp *etree.Element, key []byte) {
		w, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, &spKey.PublicKey, key, nil)
		require.NoError(t, err)
		ek := encChild(t, keyInfo(t, resp), "EncryptedKey")
		encChild(t, encChild(t, ek, "CipherData"), "CipherValue").SetText(base64.StdEncoding.EncodeToString(w))
	}
	cases := []struct {
		name string
		enc  saml2sptest.Encryption
		edit func(t *testing.T, resp *etree.Element)
		to   *x509.Certificate
		// decrypts: the content decrypts, but is not an Assertion. In a
		// signed Response (ciphertext authenticated) that error is precise.
		decrypts bool
	}{
		{name: "RetrievalMethod with an XSLT transform", edit: func(t *testing.T, resp *etree.Element) {
			parseInto(t, keyInfo(t, resp), `<ds:RetrievalMethod `+ds+` URI="http://attacker.example/key"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/></ds:Transforms></ds:RetrievalMethod>`)
		}},
		{name: "CipherReference", edit: func(t *testing.T, resp *etree.Element) {
			cd := encChild(t, ed(t, resp), "CipherData")
			cd.RemoveChild(encChild(t, cd, "CipherValue"))
			parseInto(t, cd, `<xenc:CipherReference `+xenc+` URI="http://attacker.example/ct"/>`)
		}},
		{name: "no EncryptedKey", edit: func(t *testing.T, resp *etree.Element) { ed(t, resp).RemoveChild(keyInfo(t, resp)) }},
		{name: "wrong key", to: otherCert},
		{name: "EncryptedKey corrupted", edit: func(t *testing.T, resp *etree.Element) {
			ek := encChild(t, keyInfo(t, resp), "EncryptedKey")
			cv := encChild(t, encChild(t, ek, "CipherData"), "CipherValue")
			b, _ := base64.StdEncoding.DecodeString(cv.Text())
			b[10] ^= 1
			cv.SetText(base64.StdEncoding.EncodeToString(b))
		}},
		{name: "GCM tag failure", enc: saml2sptest.Encryption{Data: "aes128-gcm"}, edit: flip(func(n int) int { return n - 1 })},
		{name: "GCM truncated", enc: saml2sptest.Encryption{Data: "aes128-gcm"}, edit: func(t *testing.T, resp *etree.Element) {
			encCipherValue(t, resp).SetText(base64.StdEncoding.EncodeToString(make([]byte, 20)))
		}},
		{name: "CBC truncated", enc: saml2sptest.Encryption{Data: "aes128-cbc"}, edit: func(t *testing.T, resp *etree.Element) {
			cv := encCipherValue(t, resp)
			b, _ := base64.StdEncoding.DecodeString(cv.Text())
			cv.SetText(base64.StdEncoding.EncodeToString(b[:len(b)-3]))
		}},
		{name: "CBC bad padding", enc: saml2sptest.Encryption{Data: "aes128-cbc"}, edit: func(t *testing.T, resp *etree.Element) {
			// All-zero content key; the last block decrypts to a pad byte
			// of 0x20, which is more than a block.
			key := make([]byte, 16)
			transportKey(t, resp, key)
			encCipherValue(t, resp).SetText(base64.StdEncoding.EncodeToString(encCBC(t, key, bytes.Repeat([]byte{0x20}, 32))))
		}},
		// Valid padding, broken plaintext: these only differ from a padding
		// failure after decryption, which is what an oracle would tell.
		{name: "CBC first block altered (valid padding, broken XML)", enc: saml2sptest.Encryption{Data: "aes128-cbc"}, decrypts: true, edit: flip(func(int) int { return 0 })},
		{name: "CBC valid padding, plaintext that is not an Assertion", enc: saml2sptest.Encryption{Data: "aes128-cbc"}, decrypts: true, edit: func(t *testing.T, resp *etree.Element) {
			key := make([]byte, 16)
			transportKey(t, resp, key)
			encCipherValue(t, resp).SetText(base64.StdEncoding.EncodeToString(encCBC(t, key, append(bytes.Repeat([]byte{'A'}, 31), 1))))
		}},
		{name: "content key of the wrong size", enc: saml2sptest.Encryption{Data: "aes256-gcm"}, edit: func(t *testing.T, resp *etree.Element) {
			transportKey(t, resp, make([]byte, 16))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, m := range encSignModes {
				t.Run(m.name, func(t *testing.T) {
					logger, logs := encDebugLog()
					e := newTestEnv(t, encWithKey, func(cfg *saml2sp.Config) { cfg.Logger = logger })
					to := cert
					if c.to != nil {
						to = c.to
					}
					mods := []func(*saml2sptest.Response){encSign(m.sign), encFor(to, c.enc)}
					if c.edit != nil {
						mods = append(mods, encEdit(c.edit)(t))
					}
					a, err := e.parse(e.mint(e.response(mods...)))
					require.Nil(t, a)
					if c.decrypts && !m.unsigned {
						require.ErrorIs(t, err, saml2sp.ErrMalformed)
						require.NotErrorIs(t, err, saml2sp.ErrDecryption)
						return
					}
					encIsDecryptionError(t, err)
					assert.Contains(t, logs.String(), "EncryptedAssertion refused", "the reason is logged at debug level")
				})
			}
		})
	}
}

// encCBC returns IV || AES-CBC(key, blocks) with a zero IV and no padding
// added: blocks must be whole and carry their own.
func encCBC(t *testing.T, key, blocks []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	out := make([]byte, aes.BlockSize+len(blocks))
	cipher.NewCBCEncrypter(block, out[:aes.BlockSize]).CryptBlocks(out[aes.BlockSize:], blocks)
	return out
}

// TestEncryptedKeyNextToEncryptedData: the EncryptedKey may sit next to the
// EncryptedData in the EncryptedAssertion (SAML's EncryptedElementType)
// without any reference to it.
func TestEncryptedKeyNextToEncryptedData(t *testing.T) {
	_, cert := encKey(0)
	for _, m := range encSignModes {
		t.Run(m.name, func(t *testing.T) {
			e := newTestEnv(t, encWithKey)
			move := encEdit(func(t *testing.T, resp *etree.Element) {
				ea := encChild(t, resp, "EncryptedAssertion")
				ed := encChild(t, ea, "EncryptedData")
				ki := encChild(t, ed, "KeyInfo")
				ek := encChild(t, ki, "EncryptedKey")
				ed.RemoveChild(ki)
				ek.CreateAttr("xmlns:xenc", xmlenc.NS)
				ek.CreateAttr("xmlns:ds", xmlenc.NSDSig)
				ek.CreateAttr("Recipient", testSPEntityID)
				ea.AddChild(ek)
			})
			a, err := e.parse(e.mint(e.response(encSign(m.sign), encFor(cert, saml2sptest.Encryption{}), move(t))))
			require.NoError(t, err)
			assert.Equal(t, "alice@example.com", a.NameID)
		})
	}
}
