package saml2sp_test

import (
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

// An app's SAML endpoints: Handler serves every endpoint of the SP's
// Config, and Hooks connect them to the app's sessions. Here a throwaway
// IdP stands in for the real one, and httptest plays the browser: the IdP
// starts a login from its portal, a Response meant for another app is
// refused, and the IdP's single logout ends the session.
func ExampleSP_Handler() {
	idp, err := saml2sptest.NewIdP("https://idp.example.org/metadata")
	if err != nil {
		log.Fatal(err)
	}
	ep, err := saml2sp.EndpointsAt("https://app.example.com/saml/")
	if err != nil {
		log.Fatal(err)
	}
	// 32 random bytes here; in an app, the same secret on every replica.
	stateKey := make([]byte, 32)
	rand.Read(stateKey)
	cfg := saml2sp.Config{
		IdP:               idp.IdentityProvider(), // from FetchMetadata or ParseMetadata in an app
		StateKey:          stateKey,
		AllowIdPInitiated: true, // logins started from the IdP's portal
	}
	ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	if err != nil {
		log.Fatal(err)
	}

	// The app's sessions: cookie value -> the SAML subject, kept for logout.
	sessions := map[string]saml2sp.LogoutSubject{}
	const cookie = "__Host-session"
	hooks := saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			id := rand.Text()
			sessions[id] = l.Assertion.LogoutSubject()
			http.SetCookie(w, &http.Cookie{Name: cookie, Value: id, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
			fmt.Println("OnLogin:", l.Assertion.NameID, l.Assertion.Attribute("groups"), "going to", l.ReturnTo)
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
		OnLogout: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Logout) error {
			for id, subject := range sessions {
				if l.Matches(subject) {
					delete(sessions, id)
					fmt.Println("OnLogout:", subject.NameID, "logged out by the", l.Initiator)
				}
			}
			return nil
		},
		CurrentSubject: func(r *http.Request) (saml2sp.LogoutSubject, bool) {
			c, err := r.Cookie(cookie)
			if err != nil {
				return saml2sp.LogoutSubject{}, false
			}
			s, ok := sessions[c.Value]
			return s, ok
		},
		OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
			// f.Err is for the log; the user sees only the reference.
			fmt.Println("OnFailure:", f.Flow, f.Status)
			http.Error(w, "Sign-in failed. Reference: "+f.Reference, f.Status)
		},
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp.Handler(hooks))

	serve := func(r *http.Request) *http.Response {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w.Result()
	}
	postACS := func(resp saml2sptest.Response, relayState string) *http.Response {
		samlResponse, err := idp.Response(resp)
		if err != nil {
			log.Fatal(err)
		}
		form := url.Values{"SAMLResponse": {samlResponse}, "RelayState": {relayState}}
		r := httptest.NewRequest(http.MethodPost, ep.ACSURL, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return serve(r)
	}

	// The metadata to give the IdP's administrator.
	res := serve(httptest.NewRequest(http.MethodGet, ep.MetadataURL, nil))
	fmt.Println("metadata:", res.StatusCode, res.Header.Get("Content-Type"))

	// Alice opens the app from the IdP's portal.
	res = postACS(saml2sptest.Response{
		Destination: ep.ACSURL, Audience: ep.EntityID, NameID: "alice@example.com",
		Attributes: []saml2sp.Attribute{{Name: "groups", Values: []string{"engineering"}}},
	}, "/reports")
	fmt.Println("login:", res.StatusCode, res.Header.Get("Location"))

	// A genuine Response, but for another app: refused.
	res = postACS(saml2sptest.Response{Destination: ep.ACSURL, Audience: "https://other-app.example.com/"}, "")
	fmt.Println("other app's Response:", res.StatusCode)

	// The IdP ends Alice's sessions everywhere (single logout). It names
	// her as its Response did: the NameID and its SPNameQualifier.
	logout, err := idp.LogoutRequestURL(saml2sptest.LogoutRequest{
		Destination: ep.SLOURL, NameID: "alice@example.com", SPNameQualifier: ep.EntityID,
	})
	if err != nil {
		log.Fatal(err)
	}
	res = serve(httptest.NewRequest(http.MethodGet, logout, nil))
	back, _ := url.Parse(res.Header.Get("Location"))
	fmt.Println("single logout:", res.StatusCode, "LogoutResponse to", back.Host+back.Path, "sessions left:", len(sessions))
	// Output:
	// metadata: 200 application/samlmetadata+xml
	// OnLogin: alice@example.com [engineering] going to /reports
	// login: 303 /reports
	// OnFailure: login 403
	// other app's Response: 403
	// OnLogout: alice@example.com logged out by the idp
	// single logout: 302 LogoutResponse to idp.example.org/metadata/slo sessions left: 0
}
