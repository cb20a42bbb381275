// Command minimal is the smallest complete saml2sp web app: SP-initiated
// login, IdP- and SP-initiated logout, just-in-time accounts through the
// Provisioner, and a protected page, on the default cookie sessions.
//
//	SP_CERT=sp.crt SP_KEY=sp.key \
//	STATE_KEY=$(openssl rand -hex 32) SESSION_KEY=$(openssl rand -hex 32) \
//	IDP_METADATA_URL=https://idp.example.org/metadata \
//	BASE_URL=https://app.example.com/ go run ./examples/minimal
//
// The lines between "glue:begin" and "glue:end" are all the SAML glue it
// needs (scripts/glue-count counts them).
package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"html"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/saml2sp/saml2sp"
)

func main() {
	ctx := context.Background()
	kp, err := saml2sp.LoadKeyPair(os.Getenv("SP_CERT"), os.Getenv("SP_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	stateKey, err1 := hex.DecodeString(os.Getenv("STATE_KEY"))
	sessionKey, err2 := hex.DecodeString(os.Getenv("SESSION_KEY"))
	if err1 != nil || err2 != nil {
		log.Fatal("STATE_KEY and SESSION_KEY must be hex (32 random bytes each)")
	}
	app, err := newApp(ctx, os.Getenv("BASE_URL"), os.Getenv("IDP_METADATA_URL"), kp, stateKey, sessionKey, &saml2sp.MemoryUserStore{})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: ":8080", Handler: app, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// glue:begin
func newApp(ctx context.Context, base, idpMetadataURL string, kp *saml2sp.KeyPair, stateKey, sessionKey []byte, users saml2sp.UserStore) (http.Handler, error) {
	idp, err := saml2sp.FetchMetadata(ctx, nil, idpMetadataURL)
	if err != nil {
		return nil, err
	}
	sp, err := saml2sp.New(saml2sp.Config{BaseURL: base + "saml/", IdP: idp, Key: kp.Key, Certificate: kp.Certificate, StateKey: stateKey})
	if err != nil {
		return nil, err
	}
	sessions := &saml2sp.Sessions{
		Store:       &saml2sp.CookieStore{Key: sessionKey, Insecure: strings.HasPrefix(base, "http:")},
		Revocations: saml2sp.NewMemoryRevocationStore(0, nil), // one replica; share a store with several
		Provisioner: &saml2sp.Provisioner{Mapping: saml2sp.OktaMapping(), Store: users},
		LoginURL:    sp.Config().LoginURL,
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp.Handler(sessions.Hooks()))
	mux.Handle("/", sessions.RequireLogin(home(sp.Config().LogoutURL)))
	return mux, nil
}

// glue:end

// home is the app's protected page.
func home(logoutURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := saml2sp.SessionFrom(r.Context())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<p>Hello, user %s.</p><p><a href=\"%s\">Log out</a></p>", html.EscapeString(s.UserID), html.EscapeString(logoutURL))
	})
}
