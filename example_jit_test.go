package saml2sp_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/saml2sp/saml2sp"
)

// A Provisioner turns each verified login into an account of the app. In a
// real app Login is called from Hooks.OnLogin with l.Assertion, and Store is
// the app's database.
func ExampleProvisioner_Login() {
	store := &saml2sp.MemoryUserStore{}
	// An account made before SSO was set up.
	store.Add(saml2sp.User{ID: "acct-1", Username: "alice", Email: "alice@example.com", Role: "owner"})

	prov := &saml2sp.Provisioner{
		Mapping: saml2sp.OktaMapping(),
		Policy: saml2sp.Policy{
			AllowGroups: []string{"Engineering"},
			// The app has checked that this Okta org owns example.com.
			EmailLinking:    saml2sp.LinkVerifiedDomains,
			VerifiedDomains: []string{"example.com"},
			UpdateProfile:   true,
		},
		Store: store,
	}

	// What ParseResponse returns for three Okta users.
	okta := func(id, email string, groups ...string) *saml2sp.Assertion {
		return &saml2sp.Assertion{
			Issuer:       "http://www.okta.com/exk1fcia6d6EMsf331d8",
			NameID:       email,
			NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
			Attributes: []saml2sp.Attribute{
				{Name: "id", Values: []string{id}},
				{Name: "email", Values: []string{email}},
				{Name: "groups", Values: groups},
			},
		}
	}
	logins := []*saml2sp.Assertion{
		okta("00u1alice", "alice@example.com", "Everyone", "Engineering"), // linked to acct-1
		okta("00u2bob", "bob@example.com", "Engineering"),                 // new account
		okta("00u3carol", "carol@example.com", "Everyone"),                // not in Engineering
		okta("00u1alice", "alice@example.com", "Engineering"),             // linked now
	}
	for _, a := range logins {
		user, id, err := prov.Login(context.Background(), a)
		switch {
		case errors.Is(err, saml2sp.ErrAccessDenied):
			fmt.Printf("%s: access denied\n", id.Email)
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Printf("%s: account %s (%s, %s)\n", id.Email, user.ID, user.Username, user.Role)
		}
	}
	// Output:
	// alice@example.com: account acct-1 (alice, owner)
	// bob@example.com: account u1 (bob, member)
	// carol@example.com: access denied
	// alice@example.com: account acct-1 (alice, owner)
}
