package saml2sptest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// A complete test of an app's SSO login: a throwaway IdP mints a signed
// Response, the app's ACS (the real saml2sp handler with the app's hooks)
// receives it, and the test checks what the app did. Broken Responses
// (expired, wrong audience, unsigned) are minted the same way.
func ExampleIdP_Response() {
	idp, err := saml2sptest.NewIdP("https://idp.example.org/metadata")
	if err != nil {
		panic(err)
	}
	ep, _ := saml2sp.EndpointsAt("https://app.example.com/saml/")
	cfg := saml2sp.Config{IdP: idp.IdentityProvider(), AllowIdPInitiated: true}
	ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	if err != nil {
		panic(err)
	}
	// The app under test (its ACS): its OnLogin would start a session.
	app := sp.ACSHandler(saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			fmt.Println("logged in:", l.Assertion.NameID, l.Assertion.Attribute("groups"))
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
		OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
			fmt.Println("refused:", f.Status)
			w.WriteHeader(f.Status)
		},
	})
	post := func(r saml2sptest.Response) int {
		form, err := idp.Response(r)
		if err != nil {
			panic(err)
		}
		req := httptest.NewRequest(http.MethodPost, ep.ACSURL, strings.NewReader(url.Values{"SAMLResponse": {form}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		app.ServeHTTP(w, req)
		return w.Code
	}

	fmt.Println(post(saml2sptest.Response{
		Destination: ep.ACSURL, Audience: ep.EntityID, NameID: "alice@example.com",
		Attributes: []saml2sp.Attribute{{Name: "groups", Values: []string{"admins"}}},
	}))
	fmt.Println(post(saml2sptest.Response{Destination: ep.ACSURL, Audience: "https://someone-else.example/"}))
	fmt.Println(post(saml2sptest.Response{Destination: ep.ACSURL, Audience: ep.EntityID, Sign: saml2sptest.SignNone}))
	// Output:
	// logged in: alice@example.com [admins]
	// 303
	// refused: 403
	// 403
	// refused: 403
	// 403
}
