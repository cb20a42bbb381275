// Command gorilla is examples/minimal with the app's own session library,
// github.com/gorilla/sessions, plugged into the saml2sp session layer
// through its three-method SessionStore interface (what an app that has
// sessions already writes).
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
	"time"

	"github.com/gorilla/sessions"

	"github.com/saml2sp/saml2sp"
)

func main() {
	ctx := context.Background()
	kp, err := saml2sp.LoadKeyPair(os.Getenv("SP_CERT"), os.Getenv("SP_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	stateKey, err1 := hex.DecodeString(os.Getenv("STATE_KEY"))
	sessionKey, err2 := hex.DecodeString(os.Getenv("SESSION_KEY")) // 64 bytes: authentication, then encryption
	if err1 != nil || err2 != nil || len(sessionKey) != 64 {
		log.Fatal("STATE_KEY must be 32 random bytes and SESSION_KEY 64, in hex")
	}
	store := sessions.NewCookieStore(sessionKey[:32], sessionKey[32:])
	store.Options.Secure, store.Options.HttpOnly, store.Options.SameSite = true, true, http.SameSiteLaxMode
	app, err := newApp(ctx, os.Getenv("BASE_URL"), os.Getenv("IDP_METADATA_URL"), kp, stateKey, store, &saml2sp.MemoryUserStore{})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: ":8080", Handler: app, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// glue:begin
func newApp(ctx context.Context, base, idpMetadataURL string, kp *saml2sp.KeyPair, stateKey []byte, store sessions.Store, users saml2sp.UserStore) (http.Handler, error) {
	idp, err := saml2sp.FetchMetadata(ctx, nil, idpMetadataURL)
	if err != nil {
		return nil, err
	}
	sp, err := saml2sp.New(saml2sp.Config{BaseURL: base + "saml/", IdP: idp, Key: kp.Key, Certificate: kp.Certificate, StateKey: stateKey})
	if err != nil {
		return nil, err
	}
	s := &saml2sp.Sessions{
		Store:       gorillaStore{store},
		Revocations: saml2sp.NewMemoryRevocationStore(0, nil), // one replica; share a store with several
		Provisioner: &saml2sp.Provisioner{Mapping: saml2sp.OktaMapping(), Store: users},
		LoginURL:    sp.Config().LoginURL,
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp.Handler(s.Hooks()))
	mux.Handle("/", s.RequireLogin(home(sp.Config().LogoutURL)))
	return mux, nil
}

// gorillaStore keeps the saml2sp session in a gorilla session, as one
// string.
type gorillaStore struct{ store sessions.Store }

func (g gorillaStore) Save(w http.ResponseWriter, r *http.Request, s *saml2sp.Session) error {
	text, err := s.MarshalText()
	if err != nil {
		return err
	}
	sess, _ := g.store.New(r, "app") // a login starts a new session
	sess.Values["saml2sp"] = string(text)
	sess.Options.MaxAge = int(time.Until(s.Expires) / time.Second)
	return sess.Save(r, w)
}

func (g gorillaStore) Load(r *http.Request) (*saml2sp.Session, error) {
	sess, _ := g.store.Get(r, "app")
	text, _ := sess.Values["saml2sp"].(string)
	if text == "" {
		return nil, nil
	}
	s := new(saml2sp.Session)
	return s, s.UnmarshalText([]byte(text))
}

func (g gorillaStore) Delete(w http.ResponseWriter, r *http.Request) error {
	sess, _ := g.store.Get(r, "app")
	sess.Options.MaxAge = -1
	return sess.Save(r, w)
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
