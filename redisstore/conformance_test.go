package redisstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/redisstore"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestContract runs the contract every ReplayCache and RevocationStore
// keeps (saml2sptest) on Redis, each case on its own tables or keys, and
// a multi-tenant app as two replicas, each with its own connection and an
// SP built per request: a login crosses replicas, its replay is refused
// at both.
func TestContract(t *testing.T) {
	srv := startRedis(t)
	var n atomic.Int32
	store := func(t *testing.T) *redisstore.Store {
		return newStore(t, srv, redisstore.Options{Prefix: fmt.Sprintf("contract%d:", n.Add(1))})
	}
	t.Run("ReplayCache", func(t *testing.T) {
		saml2sptest.TestReplayCache(t, func(t *testing.T) saml2sp.ReplayCache { return store(t) })
	})
	t.Run("RevocationStore", func(t *testing.T) {
		saml2sptest.TestRevocationStore(t, func(t *testing.T) saml2sp.RevocationStore { return store(t) })
	})
	t.Run("two replicas, an SP per request", func(t *testing.T) {
		prefix := fmt.Sprintf("contract%d:", n.Add(1))
		saml2sptest.TestReplicatedTenantLogins(t, func(t *testing.T) saml2sp.ReplayCache {
			return newStore(t, srv, redisstore.Options{Prefix: prefix}) // a replica's own client
		})
	})
}
