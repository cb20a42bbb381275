package saml2sp_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// A complete login check: an IdP (here a throwaway test IdP) posts a signed
// Response to the ACS, and the SP verifies it.
func ExampleSP_ParseResponse() {
	idp, err := saml2sptest.NewIdP("https://idp.example.org/metadata")
	if err != nil {
		log.Fatal(err)
	}
	sp, err := saml2sp.New(saml2sp.Config{
		EntityID: "https://app.example.com/saml/metadata",
		ACSURL:   "https://app.example.com/saml/acs",
		IdP:      idp.IdentityProvider(), // or ParseMetadata / FetchMetadata
	})
	if err != nil {
		log.Fatal(err)
	}

	// What the browser posts as the SAMLResponse form field.
	samlResponse, err := idp.Response(saml2sptest.Response{
		Destination:  "https://app.example.com/saml/acs",
		Audience:     "https://app.example.com/saml/metadata",
		InResponseTo: "_request-1",
		NameID:       "alice@example.com",
		Attributes:   []saml2sp.Attribute{{Name: "groups", Values: []string{"admins", "Dogs & cats"}}},
	})
	if err != nil {
		log.Fatal(err)
	}

	assertion, err := sp.ParseResponse(context.Background(), samlResponse, []string{"_request-1"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(assertion.NameID, assertion.Attribute("groups"))

	// The same Response again is a replay.
	_, err = sp.ParseResponse(context.Background(), samlResponse, []string{"_request-1"})
	fmt.Println(errors.Is(err, saml2sp.ErrReplay))
	// Output:
	// alice@example.com [admins Dogs & cats]
	// true
}
