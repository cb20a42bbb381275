package saml2sp_test

import (
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// innerSignature returns the Assertion's ds:Signature inside a Response.
func innerSignature(resp *etree.Element) *etree.Element {
	return findTag(findTag(resp, "Assertion"), "Signature")
}

// TestInnerSignatureUnderSignedResponse pins the policy for doubly signed
// Responses: the Response signature covers the Assertion and its Signature,
// so the inner signature's cryptography is not repeated, but its shape and
// algorithms are held to the same rules.
func TestInnerSignatureUnderSignedResponse(t *testing.T) {
	t.Run("inner SignatureValue damaged by the IdP itself is covered by the outer signature", func(t *testing.T) {
		e := newTestEnv(t)
		a, err := e.parse(e.mint(e.response(signBoth, func(r *saml2sptest.Response) {
			r.EditResponse = func(resp *etree.Element) {
				sv := findTag(innerSignature(resp), "SignatureValue")
				sv.SetText("AAAA" + sv.Text()[4:])
			}
		})))
		require.NoError(t, err)
		assert.Equal(t, "alice@example.com", a.NameID)
	})
	t.Run("inner signature with a refused algorithm is rejected", func(t *testing.T) {
		e := newTestEnv(t)
		a, err := e.parse(e.mint(e.response(signBoth, func(r *saml2sptest.Response) {
			r.EditResponse = func(resp *etree.Element) {
				findTag(innerSignature(resp), "SignatureMethod").CreateAttr("Algorithm", "http://www.w3.org/2000/09/xmldsig#rsa-sha1")
			}
		})))
		require.ErrorIs(t, err, saml2sp.ErrSignature)
		assert.Nil(t, a)
	})
	t.Run("inner Reference pointing elsewhere is rejected", func(t *testing.T) {
		e := newTestEnv(t)
		_, err := e.parse(e.mint(e.response(signBoth, func(r *saml2sptest.Response) {
			r.EditResponse = func(resp *etree.Element) {
				findTag(innerSignature(resp), "Reference").CreateAttr("URI", "#"+resp.SelectAttrValue("ID", ""))
			}
		})))
		require.ErrorIs(t, err, saml2sp.ErrSignature)
	})
}
