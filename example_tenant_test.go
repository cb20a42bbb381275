package saml2sp_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// A multi-tenant app: each organization brings its own IdP, and one
// TenantHandler serves every tenant's endpoints under one base URL
// (base+"acs/{tenant}/" and so on). The resolver builds the tenant's SP on
// every request from what the app stores about the tenant, so a changed
// IdP setting applies at once. The handler supplies what every tenant
// shares: the state key, the replay cache and the limiter.
func ExampleTenantHandler() {
	const base = "https://app.example.com/sso/"

	// What the app stores per tenant, normally in its database (the IdP
	// metadata an admin pasted or its URL). Test IdPs stand in here.
	acme, err := saml2sptest.NewIdP("https://idp.acme.example/metadata")
	if err != nil {
		log.Fatal(err)
	}
	globex, err := saml2sptest.NewIdP("https://idp.globex.example/metadata")
	if err != nil {
		log.Fatal(err)
	}
	tenantIdPs := map[string]*saml2sp.IdentityProvider{
		"acme":   acme.IdentityProvider(),
		"globex": globex.IdentityProvider(),
	}

	resolver := saml2sp.TenantResolverFunc(func(ctx context.Context, tenant string) (*saml2sp.SP, error) {
		idp, ok := tenantIdPs[tenant]
		if !ok {
			return nil, saml2sp.ErrUnknownTenant // a 404, like any unknown path
		}
		ep, err := saml2sp.TenantEndpoints(base, tenant)
		if err != nil {
			return nil, err
		}
		// StateKey, ReplayCache and Limiter stay unset: the handler's serve.
		cfg := saml2sp.Config{IdP: idp, AllowIdPInitiated: true}
		ep.Apply(&cfg)
		return saml2sp.New(cfg)
	})

	stateKey := make([]byte, 32) // in an app: the same secret on every replica
	rand.Read(stateKey)
	th := &saml2sp.TenantHandler{
		BaseURL:     base,
		Tenants:     resolver,
		StateKey:    stateKey,
		ReplayCache: saml2sp.NewMemoryReplayCache(0, nil), // in an app with replicas: redisstore or pgstore
		Hooks: saml2sp.Hooks{
			OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
				// Find the user among the tenant's accounts, start a session.
				fmt.Printf("OnLogin: %s of tenant %s\n", l.Assertion.NameID, l.Tenant)
				http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
				return nil
			},
			OnLogout: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Logout) error { return nil },
			CurrentSubject: func(r *http.Request) (saml2sp.LogoutSubject, bool) {
				return saml2sp.LogoutSubject{}, false
			},
			OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
				http.Error(w, "Sign-in failed. Reference: "+f.Reference, f.Status)
			},
		},
	}
	if err := th.Validate(); err != nil { // at start-up
		log.Fatal(err)
	}

	// post sends a Response from idp, addressed to tenant's ACS, to the ACS
	// of target.
	post := func(idp *saml2sptest.IdP, tenant, target, nameID string) int {
		ep, err := saml2sp.TenantEndpoints(base, tenant)
		if err != nil {
			log.Fatal(err)
		}
		samlResponse, err := idp.Response(saml2sptest.Response{Destination: ep.ACSURL, Audience: ep.EntityID, NameID: nameID})
		if err != nil {
			log.Fatal(err)
		}
		to, err := saml2sp.TenantEndpoints(base, target)
		if err != nil {
			log.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, to.ACSURL, strings.NewReader(url.Values{"SAMLResponse": {samlResponse}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		th.ServeHTTP(w, r)
		return w.Code
	}

	fmt.Println("acme user at acme:", post(acme, "acme", "acme", "alice@acme.example"))
	fmt.Println("globex user at globex:", post(globex, "globex", "globex", "bob@globex.example"))
	// Acme's IdP, trusted by acme only, tries to log in to globex.
	fmt.Println("acme's IdP at globex:", post(acme, "globex", "globex", "bob@globex.example"))
	// A Response for acme, replayed at globex's ACS.
	fmt.Println("acme's Response at globex:", post(acme, "acme", "globex", "alice@acme.example"))
	fmt.Println("unknown tenant:", post(acme, "initech", "initech", "alice@acme.example"))
	// Output:
	// OnLogin: alice@acme.example of tenant acme
	// acme user at acme: 303
	// OnLogin: bob@globex.example of tenant globex
	// globex user at globex: 303
	// acme's IdP at globex: 403
	// acme's Response at globex: 403
	// unknown tenant: 404
}
