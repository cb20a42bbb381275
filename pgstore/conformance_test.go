package pgstore_test

import (
	"testing"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/pgstore"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestContract runs the contract every ReplayCache and RevocationStore
// keeps (saml2sptest) on PostgreSQL, each case on tables of its own.
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
}
