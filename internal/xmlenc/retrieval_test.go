package xmlenc

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

const (
	testNSProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	testNSAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
)

// oktaLayout is a Response whose EncryptedAssertion holds the
// EncryptedData, its KeyInfo a RetrievalMethod to the EncryptedKey next to
// it, as Okta sends it (Ids "_ed1" and "_ek1"). edit changes it before it
// is serialized and parsed again with xmlsafe; the Message returned is
// what ParseResponse hands Decrypt.
func oktaLayout(t *testing.T, edit func(resp, ea, ed, ek *etree.Element)) Message {
	t.Helper()
	a, _ := testKeys(t)
	ed, err := Encrypt([]byte(testPlaintext), &a.PublicKey, EncryptOptions{Certificate: selfSigned(t, a, 1, nil)})
	if err != nil {
		t.Fatal(err)
	}
	ki := ed.SelectElement("KeyInfo")
	ek := ki.SelectElement("EncryptedKey")
	ki.RemoveChild(ek)
	ed.CreateAttr("Id", "_ed1")
	ek.CreateAttr("Id", "_ek1")
	parseInto(t, ki, -1, `<ds:RetrievalMethod xmlns:ds="`+NSDSig+`" Type="`+TypeEncryptedKey+`" URI="#_ek1"/>`)
	parseInto(t, ek, -1, `<xenc:ReferenceList xmlns:xenc="`+NS+`"><xenc:DataReference URI="#_ed1"/></xenc:ReferenceList>`)

	doc := etree.NewDocument()
	resp := doc.CreateElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", testNSProtocol)
	resp.CreateAttr("xmlns:saml", testNSAssertion)
	resp.CreateAttr("xmlns:xenc", NS)
	resp.CreateAttr("xmlns:ds", NSDSig)
	resp.CreateAttr("ID", "_resp1")
	ea := resp.CreateElement("saml:EncryptedAssertion")
	ea.AddChild(ed)
	ea.AddChild(ek)
	if edit != nil {
		edit(resp, ea, ed, ek)
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	d, err := xmlsafe.Parse(b, xmlsafe.DefaultLimits)
	if err == nil {
		return messageIn(d.Root())
	}
	// The parser refuses an Id used twice before xmlenc sees it. The
	// resolver must refuse it on its own too (it may be handed another
	// tree), so such a document is read without the parser's checks.
	if !strings.Contains(err.Error(), "more than one element") && !strings.Contains(err.Error(), "is an I") {
		t.Fatalf("%v\n%s", err, b)
	}
	raw := etree.NewDocument()
	if err := raw.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	return messageIn(raw.Root())
}

// messageIn finds the EncryptedAssertion under resp and returns its
// Message, as ParseResponse builds it.
func messageIn(resp *etree.Element) Message {
	m := Message{Document: resp, MaxSize: 1 << 20}
	for _, ea := range resp.ChildElements() {
		if ea.Tag != "EncryptedAssertion" {
			continue
		}
		for _, c := range ea.ChildElements() {
			if c.Tag == "EncryptedData" {
				m.EncryptedData = c
			} else {
				m.Peers = append(m.Peers, c)
			}
		}
	}
	return m
}

func findRM(ed *etree.Element) *etree.Element { return ed.FindElement("./KeyInfo/RetrievalMethod") }

// TestRetrievalMethodAccepted: the one RetrievalMethod that is followed,
// Okta's, in the forms it arrives in.
func TestRetrievalMethodAccepted(t *testing.T) {
	a, _ := testKeys(t)
	cases := []struct {
		name  string
		edit  func(t *testing.T, resp, ea, ed, ek *etree.Element)
		calls int32
	}{
		{name: "Okta layout", calls: 1},
		{name: "EncryptedKey before the EncryptedData", calls: 1, edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			ea.RemoveChild(ek)
			ea.InsertChildAt(0, ek)
		}},
		{name: "KeyName next to the RetrievalMethod", calls: 1, edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			parseInto(t, ed.SelectElement("KeyInfo"), 0, `<ds:KeyName xmlns:ds="`+NSDSig+`">sp</ds:KeyName>`)
		}},
		{name: "only the EncryptedKey named is tried", calls: 1, edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			// Without the RetrievalMethod the key would try the first
			// EncryptedKey, this garbled copy, and fail.
			other := ek.Copy()
			other.CreateAttr("Id", "_ek0")
			garble(t, other)
			ea.InsertChildAt(ed.Index()+1, other)
		}},
		{name: "Recipient of this SP", calls: 1, edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			ek.CreateAttr("Recipient", "https://sp.example.com")
		}},
		{name: "Recipient is a hint: another value still decrypts", calls: 1, edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			ek.CreateAttr("Recipient", "https://sp.example.com/saml/acs")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := oktaLayout(t, func(resp, ea, ed, ek *etree.Element) {
				if c.edit != nil {
					c.edit(t, resp, ea, ed, ek)
				}
			})
			m.Recipient = "https://sp.example.com"
			var n atomic.Int32
			pt, err := Decrypt(m, []Key{{Decrypter: countingKey{a, &n}}})
			if err != nil || string(pt) != testPlaintext {
				t.Fatalf("got (%q, %v)", pt, err)
			}
			if n.Load() != c.calls {
				t.Fatalf("%d RSA operations, want %d", n.Load(), c.calls)
			}
		})
	}
}

// TestRetrievalMethodRefused: every other RetrievalMethod is refused, with
// no RSA operation, and with the uniform error, not an algorithm error.
func TestRetrievalMethodRefused(t *testing.T) {
	a, _ := testKeys(t)
	ds := `xmlns:ds="` + NSDSig + `"`
	xenc := `xmlns:xenc="` + NS + `"`
	setRM := func(key, value string) func(t *testing.T, resp, ea, ed, ek *etree.Element) {
		return func(t *testing.T, resp, ea, ed, ek *etree.Element) { findRM(ed).CreateAttr(key, value) }
	}
	cases := []struct {
		name string
		edit func(t *testing.T, resp, ea, ed, ek *etree.Element)
		// document replaces the Message's Document (a signed Response's
		// received document, when the EncryptedData comes from the verified
		// copy).
		document func(t *testing.T) *etree.Element
		want     string
	}{
		{name: "external URI", edit: setRM("URI", "https://attacker.example/ek.xml"), want: "same-document reference"},
		{name: "empty URI", edit: setRM("URI", ""), want: "same-document reference"},
		{name: "bare fragment", edit: setRM("URI", "#"), want: "same-document reference"},
		{name: "URI without #", edit: setRM("URI", "_ek1"), want: "same-document reference"},
		{name: "XPointer", edit: setRM("URI", "#xpointer(id('_ek1'))"), want: "same-document reference"},
		{name: "document and fragment", edit: setRM("URI", "doc.xml#_ek1"), want: "same-document reference"},
		{name: "no URI", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) { findRM(ed).RemoveAttr("URI") }, want: "same-document reference"},
		{name: "wrong Type", edit: setRM("Type", "http://www.w3.org/2000/09/xmldsig#X509Data"), want: "Type must be"},
		{name: "Type of XML Encryption 1.1 DerivedKey", edit: setRM("Type", NS11+"DerivedKey"), want: "Type must be"},
		{name: "Type with trailing space", edit: setRM("Type", TypeEncryptedKey+" "), want: "Type must be"},
		{name: "no Type", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) { findRM(ed).RemoveAttr("Type") }, want: "Type must be"},
		{name: "another attribute", edit: setRM("Extra", "x"), want: "only URI and Type"},
		{name: "transforms", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			parseInto(t, findRM(ed), -1, `<ds:Transforms `+ds+`><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/></ds:Transforms>`)
		}, want: "Transforms is not followed"},
		{name: "another child element", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			parseInto(t, findRM(ed), -1, `<ds:KeyName `+ds+`>x</ds:KeyName>`)
		}, want: "child elements"},
		{name: "text content", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) { findRM(ed).SetText("#_ek1") }, want: "unexpected text"},
		{name: "pointing outside the EncryptedAssertion", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			ea.RemoveChild(ek)
			resp.InsertChildAt(0, ek)
		}, want: "does not name an EncryptedKey next to"},
		{name: "pointing at an EncryptedKey nested in a peer", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			ek.RemoveAttr("Id")
			parseInto(t, ek, 1, `<ds:KeyInfo `+ds+`><xenc:EncryptedKey `+xenc+` Id="_ek1"/></ds:KeyInfo>`)
		}, want: "does not name an EncryptedKey next to"},
		{name: "pointing at the EncryptedData", edit: setRM("URI", "#_ed1"), want: "does not name an EncryptedKey next to"},
		{name: "pointing at the Response", edit: setRM("URI", "#_resp1"), want: "does not name an EncryptedKey next to"},
		{name: "pointing at nothing", edit: setRM("URI", "#_nowhere"), want: "0 elements"},
		{name: "duplicate Id in the Response", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			parseInto(t, resp, 0, `<saml:Extra xmlns:saml="`+testNSAssertion+`" Id="_ek1"/>`)
		}, want: "2 elements"},
		{name: "duplicate as ID", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			parseInto(t, resp, 0, `<saml:Extra xmlns:saml="`+testNSAssertion+`" ID="_ek1"/>`)
		}, want: "2 elements"},
		{name: "duplicate as xml:id", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			parseInto(t, resp, 0, `<saml:Extra xmlns:saml="`+testNSAssertion+`" xml:id="_ek1"/>`)
		}, want: "2 elements"},
		{name: "two EncryptedKeys with the Id", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			ea.AddChild(ek.Copy())
		}, want: "2 elements"},
		{name: "duplicate only in the received document", document: func(t *testing.T) *etree.Element {
			return oktaLayout(t, func(resp, ea, ed, ek *etree.Element) {
				parseInto(t, resp, 0, `<saml:Extra xmlns:saml="`+testNSAssertion+`" Id="_ek1"/>`)
			}).Document
		}, want: "2 elements"},
		{name: "two RetrievalMethods", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			ki := ed.SelectElement("KeyInfo")
			ki.AddChild(findRM(ed).Copy())
		}, want: "more than one RetrievalMethod"},
		{name: "RetrievalMethod and an EncryptedKey in KeyInfo", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			ed.SelectElement("KeyInfo").AddChild(ek.Copy())
		}, want: "both an EncryptedKey and a RetrievalMethod"},
		{name: "RetrievalMethod in the EncryptedKey's KeyInfo", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			ek.SelectElement("KeyInfo").AddChild(findRM(ed).Copy())
		}, want: "not followed here"},
		{name: "RetrievalMethod in the EncryptedData, outside KeyInfo", edit: func(t *testing.T, resp, ea, ed, ek *etree.Element) {
			parseInto(t, ed, -1, `<xenc:EncryptionProperties `+xenc+`><xenc:EncryptionProperty><ds:RetrievalMethod `+ds+` Type="`+TypeEncryptedKey+`" URI="#_ek1"/></xenc:EncryptionProperty></xenc:EncryptionProperties>`)
		}, want: "not followed here"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := oktaLayout(t, func(resp, ea, ed, ek *etree.Element) {
				if c.edit != nil {
					c.edit(t, resp, ea, ed, ek)
				}
			})
			if c.document != nil {
				m.Document = c.document(t)
			}
			m.Recipient = "https://sp.example.com"
			var n atomic.Int32
			pt, err := Decrypt(m, []Key{{Decrypter: countingKey{a, &n}}})
			if !errors.Is(err, ErrDecrypt) || errors.Is(err, ErrAlgorithm) || pt != nil {
				t.Fatalf("got (%q, %v), want the uniform ErrDecrypt", pt, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %q, want it to mention %q", err, c.want)
			}
			if n.Load() != 0 {
				t.Fatalf("%d RSA operations before the refusal", n.Load())
			}
		})
	}
}

// TestAlgorithmRefusedBeforeRSA: a refused or unknown algorithm anywhere
// among the EncryptedKeys tried is reported, naming it, before any
// private-key operation.
func TestAlgorithmRefusedBeforeRSA(t *testing.T) {
	a, b := testKeys(t)
	cases := []struct {
		name string
		edit func(ed *etree.Element, peers []*etree.Element)
		want string
	}{
		{"Triple-DES content", func(ed *etree.Element, _ []*etree.Element) {
			ed.SelectElement("EncryptionMethod").CreateAttr("Algorithm", TripleDESCBC)
		}, "Triple-DES (" + TripleDESCBC + ") is refused; configure the IdP to encrypt assertions with AES-GCM"},
		{"RSA-1_5 on the last EncryptedKey", func(_ *etree.Element, peers []*etree.Element) {
			em := peers[len(peers)-1].SelectElement("EncryptionMethod")
			em.CreateAttr("Algorithm", RSA15)
			em.RemoveChild(em.SelectElement("DigestMethod"))
		}, "RSA PKCS#1 v1.5 key transport (" + RSA15 + ") is refused, as it is open to Bleichenbacher's attack; configure the IdP to transport the key with RSA-OAEP"},
		{"unknown OAEP digest on the second EncryptedKey", func(_ *etree.Element, peers []*etree.Element) {
			peers[0].FindElement("./EncryptionMethod/DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5")
		}, `OAEP digest algorithm "http://www.w3.org/2001/04/xmldsig-more#md5" is not supported`},
		{"long unknown URI is cut", func(ed *etree.Element, _ []*etree.Element) {
			ed.SelectElement("EncryptionMethod").CreateAttr("Algorithm", "urn:"+strings.Repeat("x", 5000))
		}, `xxx..." is not supported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ed := encrypt(t, &a.PublicKey, EncryptOptions{})
			ek := standalone(ed.FindElement("./KeyInfo/EncryptedKey"))
			peers := []*etree.Element{ek.Copy(), ek.Copy(), ek.Copy()}
			c.edit(ed, peers)
			ed = reparse(t, ed)
			for i := range peers {
				peers[i] = reparse(t, peers[i])
			}
			var n atomic.Int32
			keys := []Key{{Decrypter: countingKey{b, &n}}, {Decrypter: countingKey{a, &n}}}
			_, err := Decrypt(Message{EncryptedData: ed, Peers: peers, MaxSize: 1 << 20}, keys)
			var ae *AlgorithmError
			if !errors.As(err, &ae) || !errors.Is(err, ErrAlgorithm) || !errors.Is(err, ErrDecrypt) {
				t.Fatalf("got %v, want an *AlgorithmError", err)
			}
			if !strings.Contains(ae.Reason, c.want) || len(ae.Reason) > 400 {
				t.Fatalf("reason %q, want it to contain %q", ae.Reason, c.want)
			}
			if n.Load() != 0 {
				t.Fatalf("%d RSA operations before the algorithm was refused", n.Load())
			}
		})
	}
}
