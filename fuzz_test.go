package saml2sp_test

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// FuzzParseResponse feeds mutated Response documents to ParseResponse. No
// input may panic, and nothing but a complete, verified Assertion may come
// back without an error.
func FuzzParseResponse(f *testing.F) {
	e := newTestEnv(f, func(c *saml2sp.Config) { c.AllowIdPInitiated = true })
	for _, sign := range []saml2sptest.Sign{saml2sptest.SignAssertion, saml2sptest.SignResponse, saml2sptest.SignBoth, saml2sptest.SignNone} {
		b, err := e.idp.ResponseXML(e.response(func(r *saml2sptest.Response) { r.Sign = sign }))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Version="2.0"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/></samlp:Status></samlp:Response>`))
	f.Add([]byte(`<!DOCTYPE x><x/>`))
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
