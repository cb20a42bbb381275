package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saml2sp/saml2sp"
)

// Defaults of Options.
const (
	// DefaultTablePrefix starts the names of the store's tables:
	// saml2sp_replay and saml2sp_revocation.
	DefaultTablePrefix = "saml2sp_"
	// DefaultTimeout bounds each call when its context has no earlier
	// deadline: a frozen database fails a login in about this long
	// instead of holding it (and a goroutine, and a pool connection).
	DefaultTimeout = 2 * time.Second
)

// Grace is how long past its expiry a replay record still counts. The
// library judges a message's times with the SP's clock before it calls
// CheckAndStore, which may run seconds later (a wait for a verification
// slot, a slow database), and replicas' clocks differ: a record dropped
// the moment it expires could let a replay through in that gap. Grace is
// longer than saml2sp.MaxClockSkew and costs nothing, since an ID is
// never legitimately used twice. DeleteExpired keeps every record, replay
// or revocation, until Grace past its expiry for the same reasons.
const Grace = 5 * time.Minute

// maxAttempts bounds how often one call runs its statement when the
// connection fails under it. Each write is idempotent (replay records
// carry the caller's owner token, revocations keep the later times), so
// running it again is safe even when the first attempt committed.
const maxAttempts = 3

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// TablePrefix starts the table and index names: lower-case letters,
	// digits and underscores, starting with a letter or underscore, at
	// most 38 bytes (so that every name fits PostgreSQL's 63). Empty
	// means DefaultTablePrefix. The tables live in the connection's
	// search_path; to put them in a schema of their own, set search_path
	// in the pool's connection string.
	TablePrefix string
	// Timeout bounds each call (all its attempts) when its context has no
	// earlier deadline. Zero means DefaultTimeout.
	Timeout time.Duration
	// Clock returns the current time, by which records are judged
	// expired. Nil means time.Now. Use the SP's clock (saml2sp.Config.Clock):
	// the library computes the expiry it passes from that clock.
	Clock func() time.Time
	// Logger receives RunCleanup's failures. Nil means slog.Default().
	Logger *slog.Logger
}

// Store is a saml2sp.ReplayCache and saml2sp.RevocationStore kept in
// PostgreSQL, shared by every replica that uses the same database and
// TablePrefix. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	now     func() time.Time
	logger  *slog.Logger
	prefix  string
	sql     statements
}

var (
	_ saml2sp.ReplayCache     = (*Store)(nil)
	_ saml2sp.RevocationStore = (*Store)(nil)
)

// prefixPattern is what TablePrefix may be: an identifier start that
// needs no quoting, short enough that every name built from it fits
// PostgreSQL's 63-byte identifiers.
var prefixPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,37}$`)

// New returns a Store that runs its statements on pool. It does not touch
// the database: create the tables with CreateSchema or with SchemaSQL in
// the app's migrations.
func New(pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: New needs a pool")
	}
	if opts.TablePrefix == "" {
		opts.TablePrefix = DefaultTablePrefix
	}
	if !prefixPattern.MatchString(opts.TablePrefix) {
		return nil, fmt.Errorf("pgstore: table prefix %q is not 1 to 38 of [a-z0-9_] starting with a letter or _", opts.TablePrefix)
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("pgstore: negative timeout %s", opts.Timeout)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Store{
		pool: pool, timeout: opts.Timeout, now: opts.Clock, logger: opts.Logger,
		prefix: opts.TablePrefix, sql: newStatements(opts.TablePrefix),
	}, nil
}

// bounded returns ctx with the store's timeout, unless ctx already ends
// sooner.
func (s *Store) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= s.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// retry runs op until it succeeds, fails for good, or maxAttempts ran.
// Only failures that may go away are retried (see transient): most
// errors the server reports about a statement would come back the same.
func retry(ctx context.Context, op func(context.Context) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = op(ctx); err == nil || attempt == maxAttempts || !transient(ctx, err) {
			return err
		}
		// A short pause lets a pool replace a connection that just broke.
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt) * 20 * time.Millisecond):
		}
	}
}

// transient reports whether err may go away by running the statement
// again: the connection broke (no server error came back), or the server
// said it is shutting down, starting, or could not serialize.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	switch c := pgErr.Code; {
	case strings.HasPrefix(c, "08"), // connection exception
		c == "57P01", c == "57P02", c == "57P03", // admin shutdown, crash shutdown, cannot connect now
		c == "40001", c == "40P01": // serialization failure, deadlock
		return true
	}
	return false
}

// unavailable wraps a failure to reach or use the database: it matches
// saml2sp.ErrUnavailable (and the cause), never saml2sp.ErrReplay.
func unavailable(what string, err error) error {
	return fmt.Errorf("%w: pgstore: %s: %w", saml2sp.ErrUnavailable, what, err)
}

// table returns the quoted name of the table called prefix+name.
func table(prefix, name string) string { return pgx.Identifier{prefix + name}.Sanitize() }
