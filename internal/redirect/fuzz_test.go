package redirect

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
)

// FuzzDecode: Decode never panics, fails only with ErrInvalid, and what it
// accepts respects its limits; Verify never panics on what Decode accepts.
func FuzzDecode(f *testing.F) {
	const limit = 4096
	rsaKey, _, p256, _ := testKeys(f)
	trusted := []*x509.Certificate{rsaKey.cert, p256.cert}
	for _, seed := range []struct {
		param, relayState string
		key               *testKey
		sigAlg            string
	}{
		{"SAMLRequest", "", nil, ""},
		{"SAMLResponse", "/relay?x=1", nil, ""},
		{"SAMLRequest", "rs", &rsaKey, ""},
		{"SAMLResponse", "", &rsaKey, algRSASHA512},
		{"SAMLRequest", "rs", &p256, ""},
	} {
		var q string
		var err error
		if seed.key == nil {
			q, err = Encode(seed.param, []byte(testXML), seed.relayState, nil, "")
		} else {
			q, err = Encode(seed.param, []byte(testXML), seed.relayState, seed.key.signer, seed.sigAlg)
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Add(q)
	}
	f.Add(pythonQuery)
	f.Add("SAMLRequest=" + enc(zeroBomb(100)))
	f.Add("SAMLRequest=&SAMLRequest=&RelayState&SigAlg=%zz;Signature=")

	f.Fuzz(func(t *testing.T, q string) {
		m, err := Decode(q, limit)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "redirect: ") {
				t.Fatalf("error %q does not wrap ErrInvalid", err)
			}
			return
		}
		if m.Param != "SAMLRequest" && m.Param != "SAMLResponse" {
			t.Fatalf("Param %q", m.Param)
		}
		if len(m.XML) == 0 || len(m.XML) > limit {
			t.Fatalf("XML of %d bytes accepted with a %d-byte limit", len(m.XML), limit)
		}
		if len(m.RelayState) > 80 {
			t.Fatalf("RelayState of %d bytes accepted", len(m.RelayState))
		}
		if m.Signed() != (m.signedOctets != nil) {
			t.Fatalf("Signed() = %v with signed octets %q", m.Signed(), m.signedOctets)
		}
		err = m.Verify(trusted, true)
		if !m.Signed() && err == nil {
			t.Fatal("unsigned message verified")
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify error %q does not wrap ErrInvalid", err)
		}
	})
}
