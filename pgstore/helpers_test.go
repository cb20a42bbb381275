package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp/pgstore"
)

// newPool connects to dsn and closes the pool when the test ends.
func newPool(t testing.TB, dsn string, mods ...func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	for _, m := range mods {
		m(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// freshPrefix returns a table prefix no other test uses, so that tests
// sharing a server do not see each other's rows.
func freshPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "t" + hex.EncodeToString(b) + "_"
}

// newStore returns a Store on its own fresh tables of the server at dsn,
// dropped when the test ends.
func newStore(t testing.TB, dsn string, opts pgstore.Options) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	pool := newPool(t, dsn)
	if opts.TablePrefix == "" {
		opts.TablePrefix = freshPrefix()
	}
	s, err := pgstore.New(pool, opts)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.CreateSchema(ctx))
	prefix := opts.TablePrefix
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = pool.Exec(ctx, `DROP TABLE IF EXISTS "`+prefix+`replay", "`+prefix+`revocation"`)
	})
	return s, pool
}

// replayRows returns the rows of a store's replay table: hex(key) → owner.
func replayRows(t testing.TB, pool *pgxpool.Pool, prefix string) map[string][]byte {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT key, owner FROM "`+prefix+`replay"`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var key, owner []byte
		require.NoError(t, rows.Scan(&key, &owner))
		out[hex.EncodeToString(key)] = owner
	}
	require.NoError(t, rows.Err())
	return out
}

// fixedClock is a settable clock for the store's Options.Clock.
type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }
