package pgstore_test

import (
	"testing"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/pgstore"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestContract runs the contract every ReplayCache and RevocationStore
// keeps (saml2sptest) on PostgreSQL, each case on its own tables or keys, and
// a multi-tenant app as two replicas, each with its own connection and an
// SP built per request: a login crosses replicas, its replay is refused
// at both.
func TestContract(t *testing.T) {
	dsn := testDSN(t)
	t.Run("ReplayCache", func(t *testing.T) {
		saml2sptest.TestReplayCache(t, func(t *testing.T) saml2sp.ReplayCache {
			s, _ := newStore(t, dsn, pgstore.Options{})
			return s
		})
	})
	t.Run("RevocationStore", func(t *testing.T) {
		saml2sptest.TestRevocationStore(t, func(t *testing.T) saml2sp.RevocationStore {
			s, _ := newStore(t, dsn, pgstore.Options{})
			return s
		})
	})
	t.Run("two replicas, an SP per request", func(t *testing.T) {
		prefix := freshPrefix()
		newStore(t, dsn, pgstore.Options{TablePrefix: prefix}) // the tables
		saml2sptest.TestReplicatedTenantLogins(t, func(t *testing.T) saml2sp.ReplayCache {
			s, err := pgstore.New(newPool(t, dsn), pgstore.Options{TablePrefix: prefix}) // a replica's own pool
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}
