// Command quickstart shows the whole verification path on embedded
// defaults: a throwaway development IdP (saml2sptest, never for production)
// signs a Response, and an SP configured from that IdP's metadata verifies
// it, then refuses a tampered copy and a replay.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

func main() {
	const (
		spEntityID = "http://localhost:8080/saml/metadata"
		acsURL     = "http://localhost:8080/saml/acs"
	)
	idp, err := saml2sptest.NewIdP("http://localhost:8180/dev-idp (development only)")
	if err != nil {
		log.Fatal(err)
	}
	// Register the IdP the way an admin would: from its metadata XML.
	trusted, err := saml2sp.ParseMetadata(idp.Metadata())
	if err != nil {
		log.Fatal(err)
	}
	sp, err := saml2sp.New(saml2sp.Config{EntityID: spEntityID, ACSURL: acsURL, IdP: trusted})
	if err != nil {
		log.Fatal(err)
	}

	form, err := idp.Response(saml2sptest.Response{
		Destination:  acsURL,
		Audience:     spEntityID,
		InResponseTo: "_req-1",
		NameID:       "alice@example.com",
		Attributes:   []saml2sp.Attribute{{Name: "groups", Values: []string{"engineering", "Dogs & cats"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	a, err := sp.ParseResponse(ctx, form, []string{"_req-1"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("verified login: %s groups=%q session=%s\n", a.NameID, a.Attribute("groups"), a.SessionIndex)

	raw, _ := base64.StdEncoding.DecodeString(form)
	tampered := strings.Replace(string(raw), "alice@example.com<", "mallory@example.com<", 1)
	_, err = sp.ParseResponse(ctx, base64.StdEncoding.EncodeToString([]byte(tampered)), []string{"_req-1"})
	fmt.Printf("tampered copy refused: %v (ErrSignature: %v)\n", err != nil, errors.Is(err, saml2sp.ErrSignature))

	_, err = sp.ParseResponse(ctx, form, []string{"_req-1"})
	fmt.Printf("replay refused: %v (ErrReplay: %v)\n", err != nil, errors.Is(err, saml2sp.ErrReplay))
}
