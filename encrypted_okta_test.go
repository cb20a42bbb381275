package saml2sp_test

// Okta's encrypted assertions: the EncryptedKey next to the EncryptedData,
// named from its KeyInfo by a ds:RetrievalMethod. Exactly that form is
// followed; every other RetrievalMethod is refused with the one decryption
// error. The xmlsec1-made fixture in this layout is in
// encrypted_interop_test.go, the RetrievalMethod rules one by one in
// internal/xmlenc.

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmlenc"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

func encOkta(data string) saml2sptest.Encryption {
	return saml2sptest.Encryption{Data: data, OktaLayout: true}
}

// encOktaParts returns the EncryptedAssertion of resp, its EncryptedData's
// RetrievalMethod and the EncryptedKey next to it.
func encOktaParts(t *testing.T, resp *etree.Element) (ea, rm, ek *etree.Element) {
	t.Helper()
	ea = encChild(t, resp, "EncryptedAssertion")
	rm = encChild(t, encChild(t, encChild(t, ea, "EncryptedData"), "KeyInfo"), "RetrievalMethod")
	return ea, rm, encChild(t, ea, "EncryptedKey")
}

// TestEncryptedOktaLayout: saml2sptest's Okta layout, signed as Okta signs
// (the Assertion, the Response, or both), is accepted.
func TestEncryptedOktaLayout(t *testing.T) {
	_, cert := encKey(0)
	for _, data := range []string{"aes256-cbc", "aes128-cbc", "aes256-gcm"} {
		for _, sign := range []struct {
			name string
			sign saml2sptest.Sign
		}{{"Assertion signed", saml2sptest.SignAssertion}, {"Response signed", saml2sptest.SignResponse}, {"both signed", saml2sptest.SignBoth}} {
			t.Run(data+"/"+sign.name, func(t *testing.T) {
				e := newTestEnv(t, encWithKey)
				doc := e.mintXML(e.response(encFor(cert, encOkta(data)), encSign(sign.sign)))
				_, rm, ek := encOktaParts(t, doc.Root())
				require.Equal(t, "#"+ek.SelectAttrValue("Id", ""), rm.SelectAttrValue("URI", ""))
				a, err := e.parse(encodeDoc(t, doc))
				require.NoError(t, err)
				assert.Equal(t, "alice@example.com", a.NameID)
				assert.Equal(t, []string{"users", "Dogs & cats"}, a.Attribute("groups"))
			})
		}
	}
}

// TestEncryptedOktaRetrievalMethodRefused: every RetrievalMethod but
// Okta's exact form is refused with the one decryption error, signed
// Response or not; the debug log says which rule refused it.
func TestEncryptedOktaRetrievalMethodRefused(t *testing.T) {
	_, cert := encKey(0)
	add := func(t *testing.T, parent *etree.Element, at int, xml string) {
		d := etree.NewDocument()
		require.NoError(t, d.ReadFromString(xml))
		parent.InsertChildAt(at, d.Root())
	}
	cases := []struct {
		name string
		edit func(t *testing.T, resp, ea, rm, ek *etree.Element)
		log  string
	}{
		{"external URI", func(t *testing.T, resp, ea, rm, ek *etree.Element) {
			rm.CreateAttr("URI", "https://attacker.example/ek.xml")
		}, "same-document reference"},
		{"wrong Type", func(t *testing.T, resp, ea, rm, ek *etree.Element) {
			rm.CreateAttr("Type", "http://www.w3.org/2000/09/xmldsig#X509Data")
		}, "Type must be"},
		{"transforms", func(t *testing.T, resp, ea, rm, ek *etree.Element) {
			add(t, rm, 0, `<ds:Transforms xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/></ds:Transforms>`)
		}, "Transforms is not followed"},
		{"pointing outside the EncryptedAssertion", func(t *testing.T, resp, ea, rm, ek *etree.Element) {
			// The EncryptedKey moves into the Response's Extensions.
			ea.RemoveChild(ek)
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(ek)
			resp.InsertChildAt(encChild(t, resp, "Status").Index(), ext)
		}, "does not name an EncryptedKey next to"},
		{"pointing at a non-EncryptedKey", func(t *testing.T, resp, ea, rm, ek *etree.Element) {
			rm.CreateAttr("URI", "#"+resp.SelectAttrValue("ID", ""))
		}, "does not name an EncryptedKey next to"},
		{"two RetrievalMethods", func(t *testing.T, resp, ea, rm, ek *etree.Element) {
			rm.Parent().AddChild(rm.Copy())
		}, "more than one RetrievalMethod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, m := range encSignModes {
				t.Run(m.name, func(t *testing.T) {
					logger, logs := encDebugLog()
					e := newTestEnv(t, encWithKey, func(cfg *saml2sp.Config) { cfg.Logger = logger })
					edit := encEdit(func(t *testing.T, resp *etree.Element) {
						ea, rm, ek := encOktaParts(t, resp)
						c.edit(t, resp, ea, rm, ek)
					})
					_, err := e.parse(e.mint(e.response(encSign(m.sign), encFor(cert, encOkta("")), edit(t))))
					encIsDecryptionError(t, err)
					assert.Contains(t, logs.String(), c.log)
				})
			}
		})
	}

	t.Run("duplicate Id: the parser refuses it first", func(t *testing.T) {
		// xmlenc refuses it on its own too (internal/xmlenc's
		// TestRetrievalMethodRefused); here the parse stops it.
		for _, m := range encSignModes {
			e := newTestEnv(t, encWithKey)
			edit := encEdit(func(t *testing.T, resp *etree.Element) {
				_, _, ek := encOktaParts(t, resp)
				add(t, resp, encChild(t, resp, "Status").Index(), `<samlp:Extensions xmlns:samlp="`+encNSProtocol+`"><x:Key xmlns:x="urn:x" Id="`+ek.SelectAttrValue("Id", "")+`"/></samlp:Extensions>`)
			})
			_, err := e.parse(e.mint(e.response(encSign(m.sign), encFor(cert, encOkta("")), edit(t))))
			require.ErrorIs(t, err, saml2sp.ErrMalformed, m.name)
			assert.Contains(t, err.Error(), "appears on more than one element", m.name)
		}
	})
	t.Run("control: the unedited Response is accepted", func(t *testing.T) {
		for _, m := range encSignModes {
			e := newTestEnv(t, encWithKey)
			_, err := e.parse(e.mint(e.response(encSign(m.sign), encFor(cert, encOkta("")))))
			require.NoError(t, err, m.name)
		}
	})
}

// TestEncryptedOktaOnlyNamedKeyTried: with a RetrievalMethod, the
// EncryptedKeys next to the one it names are ignored, however many.
func TestEncryptedOktaOnlyNamedKeyTried(t *testing.T) {
	k0, c0 := encKey(0)
	h := &encHSMKey{k: k0}
	e := newTestEnv(t, func(c *saml2sp.Config) { c.Key, c.Certificate = h, c0 })
	edit := encEdit(func(t *testing.T, resp *etree.Element) {
		ea, _, ek := encOktaParts(t, resp)
		for i := 1; i < xmlenc.MaxEncryptedKeys; i++ {
			other := ek.Copy()
			other.CreateAttr("Id", ek.SelectAttrValue("Id", "")+strings.Repeat("x", i))
			// Ciphertext that fails only after an RSA operation.
			cv := other.FindElement("./CipherData/CipherValue")
			cv.SetText(strings.Repeat("A", len(cv.Text())))
			ea.InsertChildAt(ek.Index(), other)
		}
	})
	a, err := e.parse(e.mint(e.response(encFor(c0, encOkta("")), edit(t))))
	require.NoError(t, err)
	assert.Equal(t, "alice@example.com", a.NameID)
	assert.Len(t, h.opts, 1, "one RSA operation: the EncryptedKey named, not the three before it")
}
