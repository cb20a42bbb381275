package pgstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// SchemaSQL creates the tables of a Store with DefaultTablePrefix. Every
// statement is idempotent (IF NOT EXISTS), so an app that runs its own
// migrations can apply it as one; (*Store).SchemaSQL gives the same for
// another prefix. The tables are ordinary (logged) tables: an UNLOGGED
// one is emptied by a crash, and with it the record of every assertion
// that could still be replayed.
//
// key is the SHA-256 of the replay ID (of Revocation.Key for
// revocations), so a row has a fixed size whatever the IdP sent; owner is
// a random token per CheckAndStore call, by which a retried call
// recognises its own first write. expires_at is indexed for
// DeleteExpired.
const SchemaSQL = `CREATE TABLE IF NOT EXISTS "saml2sp_replay" (
	key bytea PRIMARY KEY,
	owner bytea NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS "saml2sp_replay_expires_at_idx" ON "saml2sp_replay" (expires_at);
CREATE TABLE IF NOT EXISTS "saml2sp_revocation" (
	key bytea PRIMARY KEY,
	revoked_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS "saml2sp_revocation_expires_at_idx" ON "saml2sp_revocation" (expires_at);
`

// schemaTimeout bounds CreateSchema when its context has no deadline: DDL
// may wait for locks longer than a login should.
const schemaTimeout = 30 * time.Second

// schemaStatements returns SchemaSQL for prefix, one statement each.
func schemaStatements(prefix string) []string {
	replay, revocation := table(prefix, "replay"), table(prefix, "revocation")
	return []string{
		"CREATE TABLE IF NOT EXISTS " + replay + " (\n\tkey bytea PRIMARY KEY,\n\towner bytea NOT NULL,\n\texpires_at timestamptz NOT NULL\n)",
		"CREATE INDEX IF NOT EXISTS " + table(prefix, "replay_expires_at_idx") + " ON " + replay + " (expires_at)",
		"CREATE TABLE IF NOT EXISTS " + revocation + " (\n\tkey bytea PRIMARY KEY,\n\trevoked_at timestamptz NOT NULL,\n\texpires_at timestamptz NOT NULL\n)",
		"CREATE INDEX IF NOT EXISTS " + table(prefix, "revocation_expires_at_idx") + " ON " + revocation + " (expires_at)",
	}
}

// SchemaSQL returns the statements that create this store's tables, as
// SchemaSQL does for the default prefix.
func (s *Store) SchemaSQL() string {
	return strings.Join(schemaStatements(s.prefix), ";\n") + ";\n"
}

// CreateSchema creates the store's tables and indexes unless they exist.
// Replicas that start together may all call it: a transaction-scoped
// advisory lock runs them one after the other, since concurrent CREATE
// TABLE IF NOT EXISTS of one name can fail in PostgreSQL. It is bounded
// by ctx, or by 30 seconds when ctx has no deadline.
func (s *Store) CreateSchema(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, schemaTimeout)
		defer cancel()
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: create schema: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	h := fnv.New64a()
	h.Write([]byte("saml2sp pgstore schema " + s.prefix))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
		return fmt.Errorf("pgstore: create schema: %w", err)
	}
	for _, stmt := range schemaStatements(s.prefix) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("pgstore: create schema: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: create schema: %w", err)
	}
	return nil
}

// statements are the store's SQL for one prefix, built once by New.
type statements struct {
	// checkAndStore inserts a replay record, or takes over one that
	// expired ($4 is the cut-off), and returns the owner it wrote; no row
	// means a live record is there.
	checkAndStore string
	// owner reads the owner of a replay record.
	owner string
	// revoke inserts a revocation or moves an existing one's times to the
	// later of the old and new.
	revoke string
	// revoked reports whether a live record of either key revokes a
	// session started at $3.
	revoked string
	// deleteReplay and deleteRevocation drop up to $2 records that expired
	// before $1.
	deleteReplay, deleteRevocation string
}

func newStatements(prefix string) statements {
	replay, revocation := table(prefix, "replay"), table(prefix, "revocation")
	return statements{
		checkAndStore: `INSERT INTO ` + replay + ` AS r (key, owner, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
WHERE r.expires_at <= $4
RETURNING r.owner`,
		owner: `SELECT owner FROM ` + replay + ` WHERE key = $1`,
		revoke: `INSERT INTO ` + revocation + ` AS r (key, revoked_at, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET revoked_at = GREATEST(r.revoked_at, EXCLUDED.revoked_at),
	expires_at = GREATEST(r.expires_at, EXCLUDED.expires_at)`,
		revoked: `SELECT EXISTS (SELECT 1 FROM ` + revocation + `
WHERE key = ANY($1) AND expires_at > $2 AND revoked_at >= $3)`,
		deleteReplay:     deleteExpired(replay),
		deleteRevocation: deleteExpired(revocation),
	}
}

// deleteExpired deletes one batch: a bounded DELETE holds its locks and
// writes its WAL in small steps, however many rows have piled up.
func deleteExpired(t string) string {
	return `DELETE FROM ` + t + ` WHERE key IN (SELECT key FROM ` + t + ` WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)`
}
