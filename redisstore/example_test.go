package redisstore_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/redisstore"
)

// Every replica of the app gets the same configuration: the same Redis,
// the same StateKey. (This example needs a Redis server, so it is
// compiled but not run.)
func ExampleNew() {
	client := redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:6379",
		// Socket deadlines follow the context, so a call given up on at
		// the store's Timeout also ends at once in the client.
		ContextTimeoutEnabled: true,
		DialTimeout:           time.Second,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		// One retry is enough for a pooled connection Redis closed; a
		// refused connection then fails at once (503) instead of after
		// several rounds of retries and dial retries.
		MaxRetries:    1,
		DialerRetries: 1,
	})
	defer client.Close()

	store, err := redisstore.New(client, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	var idp *saml2sp.IdentityProvider // from saml2sp.FetchMetadata or ParseMetadata
	var stateKey []byte               // 32 random bytes, the same on every replica
	sp, err := saml2sp.New(saml2sp.Config{
		EntityID:    "https://app.example.com/saml/metadata",
		ACSURL:      "https://app.example.com/saml/acs",
		IdP:         idp,
		StateKey:    stateKey,
		ReplayCache: store,
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = sp

	// The app's session middleware: a session the IdP ended (single
	// logout, recorded with store.Revoke on whichever replica received
	// it) ends on every replica.
	var session struct {
		IdP     string
		Subject saml2sp.LogoutSubject // Assertion.LogoutSubject() at login
		Started time.Time
	}
	revoked, err := store.Revoked(context.Background(), saml2sp.RevocationOf(session.Subject), session.Started)
	switch {
	case err != nil:
		// The store could not answer: fail closed.
		log.Printf("session check: %v (answer %d)", err, http.StatusServiceUnavailable)
	case revoked:
		log.Print("the IdP ended this session: sign the user out")
	}
}
