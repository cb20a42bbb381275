package xmlenc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// FuzzDecrypt feeds mutated EncryptedData documents (and raw ciphertexts)
// to the decryption path. Nothing may panic, every failure must wrap
// ErrDecrypt, and the content decrypters must refuse or return a plaintext
// no longer than their input.
//
// The document is either an EncryptedData or an element whose children are
// an EncryptedData and EncryptedKey peers, as in a SAML EncryptedAssertion.
func FuzzDecrypt(f *testing.F) {
	a, _ := testKeys(f)
	for _, o := range []EncryptOptions{
		{Data: AES128CBC}, {Data: AES256GCM}, {KeyTransport: RSAOAEP, Digest: SHA256, MGF: MGF1SHA256},
		{OAEPParams: []byte("label")},
	} {
		ed, err := Encrypt([]byte(testPlaintext), &a.PublicKey, o)
		if err != nil {
			f.Fatal(err)
		}
		doc := etree.NewDocument()
		doc.SetRoot(ed)
		b, err := doc.WriteToBytes()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte{})
		// The peer form: the EncryptedKey next to the EncryptedData.
		w := etree.NewElement("w")
		w.CreateAttr("xmlns:xenc", NS)
		w.CreateAttr("xmlns:ds", NSDSig)
		ek := ed.FindElement("./KeyInfo/EncryptedKey")
		ed.RemoveChild(ed.SelectElement("KeyInfo"))
		w.AddChild(ed)
		w.AddChild(ek)
		doc.SetRoot(w)
		if b, err = doc.WriteToBytes(); err != nil {
			f.Fatal(err)
		}
		f.Add(b, bytes.Repeat([]byte{0x10}, 32))
		// Okta's form: a RetrievalMethod names the peer.
		ek.CreateAttr("Id", "_ek1")
		ed.InsertChildAt(1, etree.NewElement("ds:KeyInfo"))
		rm := ed.SelectElement("KeyInfo").CreateElement("ds:RetrievalMethod")
		rm.CreateAttr("Type", TypeEncryptedKey)
		rm.CreateAttr("URI", "#_ek1")
		if b, err = doc.WriteToBytes(); err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte{})
	}
	f.Add([]byte(`<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`), make([]byte, 28))
	keys := decrypters(a)
	cek := bytes.Repeat([]byte{7}, 16)
	f.Fuzz(func(t *testing.T, doc, content []byte) {
		for _, dec := range []func([]byte, []byte) ([]byte, error){decryptCBC, decryptGCM} {
			if pt, err := dec(cek, content); err == nil && len(pt) > len(content) {
				t.Fatalf("plaintext of %d bytes from %d", len(pt), len(content))
			} else if err != nil && err != errContent {
				t.Fatalf("content error %v is not the one error", err)
			}
		}
		d, err := xmlsafe.Parse(doc, xmlsafe.DefaultLimits)
		if err != nil {
			return
		}
		ed, peers := d.Root(), []*etree.Element(nil)
		if ed.Tag != "EncryptedData" {
			kids := ed.ChildElements()
			if len(kids) == 0 {
				return
			}
			ed, peers = kids[0], kids[1:]
		}
		pt, err := Decrypt(Message{EncryptedData: ed, Peers: peers, Document: d.Root(), MaxSize: 1 << 16}, keys)
		if err != nil && (!errors.Is(err, ErrDecrypt) || pt != nil) {
			t.Fatalf("got (%q, %v)", pt, err)
		}
	})
}
