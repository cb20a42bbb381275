package saml2sp_test

// The cost of an encrypted Response: a genuine one against the worst an
// unauthenticated client can post (MaxEncryptedKeys EncryptedKeys, each a
// modulus-sized ciphertext, to an SP with three keys).

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmlenc"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// encNoReplay lets a benchmark parse the same assertion again.
type encNoReplay struct{}

func (encNoReplay) CheckAndStore(context.Context, string, time.Time) error { return nil }

// encThreeKeys gives the SP a current, a next and a previous key.
func encThreeKeys(c *saml2sp.Config) {
	k1, c1 := encKey(1)
	k2, _ := encKey(2)
	encWithKey(c)
	c.NextKey = &saml2sp.KeyPair{Key: k1, Certificate: c1}
	c.PreviousKeys = append(c.PreviousKeys, k2)
}

// encWorstCase edits an encrypted Response into the most RSA work a client
// can ask for: MaxEncryptedKeys EncryptedKeys (one inside KeyInfo, the
// others next to the EncryptedData), every CipherValue random and as long
// as the modulus, so that no key recovers a content key early.
func encWorstCase(t testing.TB, resp *etree.Element) {
	var ea *etree.Element
	for _, c := range resp.ChildElements() {
		if c.Tag == "EncryptedAssertion" {
			ea = c
		}
	}
	ek := ea.FindElement("./EncryptedData/KeyInfo/EncryptedKey")
	for i := 1; i < xmlenc.MaxEncryptedKeys; i++ {
		peer := ek.Copy()
		peer.CreateAttr("xmlns:xenc", xmlenc.NS)
		peer.CreateAttr("xmlns:ds", xmlenc.NSDSig)
		ea.AddChild(peer)
	}
	for _, cv := range ea.FindElements(".//EncryptedKey/CipherData/CipherValue") {
		b := make([]byte, 256)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		b[0] &= 0x7f // below every 2048-bit modulus (top bit set): a full private-key operation
		cv.SetText(base64.StdEncoding.EncodeToString(b))
	}
	// No hint names an SP key: each one gets the EncryptedKey left over.
	for _, ki := range ea.FindElements(".//EncryptedKey/KeyInfo") {
		ki.Parent().RemoveChild(ki)
	}
}

func BenchmarkEncryptedResponse(b *testing.B) {
	_, c0 := encKey(0)
	cases := []struct {
		name    string
		mods    []func(*saml2sptest.Response)
		wantErr bool
	}{
		{name: "genuine", mods: []func(*saml2sptest.Response){encFor(c0, saml2sptest.Encryption{})}},
		{name: "worst case 4 EncryptedKeys x 3 SP keys", wantErr: true, mods: []func(*saml2sptest.Response){
			encFor(c0, saml2sptest.Encryption{}),
			func(r *saml2sptest.Response) {
				r.EditResponse = func(resp *etree.Element) { encWorstCase(b, resp) }
			},
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := newTestEnv(b, encThreeKeys, func(cfg *saml2sp.Config) { cfg.ReplayCache = encNoReplay{} })
			form := e.mint(e.response(c.mods...))
			b.SetBytes(int64(len(form)))
			b.ReportAllocs()
			for b.Loop() {
				_, err := e.parse(form)
				if (err != nil) != c.wantErr {
					b.Fatalf("err = %v, want error %v", err, c.wantErr)
				}
			}
		})
	}
}
