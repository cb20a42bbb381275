package saml2sp_test

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestCommentsInSignedElements: comments anywhere in a signed element are
// removed before goxmldsig runs (exclusive c14n ignores them), without
// splitting any value and without disturbing the Signature that follows
// them; comments inside a Signature, inner ones included, stay refused.
func TestCommentsInSignedElements(t *testing.T) {
	const nameID = "alice@example.com.evil.com"
	find := func(doc *etree.Document, tag string) *etree.Element {
		for _, el := range doc.FindElements("//" + tag) {
			return el
		}
		t.Fatalf("no %s", tag)
		return nil
	}
	before := func(doc *etree.Document, tag, text string) {
		el := find(doc, tag)
		el.Parent().InsertChildAt(el.Index(), etree.NewComment(text))
	}
	for _, sign := range []saml2sptest.Sign{saml2sptest.SignAssertion, saml2sptest.SignResponse, saml2sptest.SignBoth} {
		for _, tc := range []struct {
			name    string
			only    bool // only when both are signed
			edit    func(doc *etree.Document)
			wantErr error
		}{
			{name: "comments before each Signature and inside values", edit: func(doc *etree.Document) {
				for _, sig := range doc.FindElements("//Signature") {
					sig.Parent().InsertChildAt(sig.Index(), etree.NewComment("before the Signature"))
				}
				n := find(doc, "NameID")
				n.SetText("alice@example.com")
				n.AddChild(etree.NewComment(""))
				n.CreateText(".evil.com")
				v := find(doc, "AttributeValue")
				v.InsertChildAt(0, etree.NewComment("x"))
				v.AddChild(etree.NewComment("y"))
			}},
			{name: "thousands of comments between the Assertion's children", edit: func(doc *etree.Document) {
				a := find(doc, "Assertion")
				for range 3000 {
					a.InsertChildAt(a.SelectElement("Subject").Index(), etree.NewComment("pad"))
				}
			}},
			{name: "comment inside every Signature", wantErr: saml2sp.ErrSignature, edit: func(doc *etree.Document) {
				for _, si := range doc.FindElements("//Signature/SignedInfo") {
					si.InsertChildAt(0, etree.NewComment("refused"))
				}
			}},
			// Stripping the Response's comments must not hide this one from
			// the Assertion signature's own check.
			{name: "comment inside the Assertion's Signature under a signed Response", only: true, wantErr: saml2sp.ErrSignature,
				edit: func(doc *etree.Document) {
					find(doc, "Assertion").SelectElement("Signature").SelectElement("SignatureValue").InsertChildAt(0, etree.NewComment("refused"))
				}},
		} {
			if tc.only && sign != saml2sptest.SignBoth {
				continue
			}
			t.Run(tc.name+"/"+[]string{"assertion", "response", "both"}[sign], func(t *testing.T) {
				e := newTestEnv(t)
				doc := e.mintXML(e.response(func(r *saml2sptest.Response) {
					r.Sign, r.NameID = sign, nameID
				}))
				tc.edit(doc)
				before(doc, "Issuer", "before the Response Issuer")
				a, err := e.parse(encodeDoc(t, doc))
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
					assert.Contains(t, err.Error(), "comment inside Signature")
					return
				}
				require.NoError(t, err)
				assert.Equal(t, nameID, a.NameID)
				assert.Equal(t, []string{"alice@example.com"}, a.Attribute("mail"))
				assert.False(t, strings.Contains(strings.Join(a.Attribute("groups"), ","), "pad"))
			})
		}
	}
}
