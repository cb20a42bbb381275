package pgstore_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/pgstore"
)

// An app of several replicas keeps its replay cache in PostgreSQL. It needs
// a server, so it has no output to check.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(pool, pgstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	// Or apply pgstore.SchemaSQL with the app's migrations.
	if err := store.CreateSchema(ctx); err != nil {
		log.Fatal(err)
	}
	go func() { _ = store.RunCleanup(ctx, 0) }()

	idp, err := saml2sp.FetchMetadata(ctx, http.DefaultClient, "https://idp.example.com/metadata")
	if err != nil {
		log.Fatal(err)
	}
	ep, err := saml2sp.EndpointsAt("https://app.example.com/saml/")
	if err != nil {
		log.Fatal(err)
	}
	cfg := saml2sp.Config{
		IdP:         idp,
		ReplayCache: store,
		// Every replica: the same key, from the app's secrets.
		StateKey: []byte(os.Getenv("SAML_STATE_KEY")),
	}
	ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/saml/", sp.Handler(saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			// Start the app's session for l.Assertion.NameID here.
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
	}))
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// exampleSession is what an app keeps in its session cookie.
type exampleSession struct {
	IdP     string
	Subject saml2sp.LogoutSubject // Assertion.LogoutSubject() at login
	Started time.Time
}

// A session kept only in a cookie ends on every replica when the IdP ends
// it: the app records the IdP's logout with Revoke and checks each
// session with Revoked.
func ExampleStore_Revoked() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	store, err := pgstore.New(pool, pgstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	var sess exampleSession // read from the request's cookie
	revoked, err := store.Revoked(ctx, saml2sp.RevocationOf(sess.Subject), sess.Started)
	if err != nil || revoked {
		// No answer is no session (fail closed): the user logs in again.
		log.Print("session ended")
	}
}
