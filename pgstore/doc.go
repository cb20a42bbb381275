// Package pgstore keeps saml2sp's shared state in PostgreSQL: a
// saml2sp.ReplayCache, so that a Response used at one replica of an app
// cannot be used again at another, and a saml2sp.RevocationStore, so that
// a single logout from the IdP ends the session on every replica.
//
// One Store, made by New from the app's *pgxpool.Pool, is both:
//
//	store, err := pgstore.New(pool, pgstore.Options{})
//	...
//	err = store.CreateSchema(ctx)            // or apply pgstore.SchemaSQL in a migration
//	go store.RunCleanup(ctx, 0)              // deletes expired rows every 5 minutes
//	sp, err := saml2sp.New(saml2sp.Config{ReplayCache: store, ...})
//
// # Guarantees
//
// CheckAndStore is one INSERT ... ON CONFLICT statement: of any number of
// concurrent calls with one ID, on any replicas, exactly one succeeds and
// the others get an error matching saml2sp.ErrReplay. Records are keyed
// by the SHA-256 of the ID, whose length the sender chooses.
//
// A call that cannot reach the database, or gets no answer within
// Options.Timeout (2 seconds by default), fails with an error that
// matches saml2sp.ErrUnavailable and never ErrReplay: the library refuses
// the login with 503 and Retry-After (fail closed) instead of holding it
// or calling it a replay.
//
// When a connection breaks under a call, the call runs its statement
// again (at most 3 attempts, all within the timeout). Its first attempt
// may have committed with the reply lost; each call writes a random owner
// token, and finding its own token is a success, not a replay.
//
// # Clocks
//
// Records expire by Options.Clock, which should be the SP's clock
// (saml2sp.Config.Clock, time.Now by default), not by the database's
// now(): the library computes each expiry from the SP's clock, so judged
// by that clock a record is never given up while the SP would still
// accept its message. Replay records count for Grace (5 minutes) past
// their expiry, for replicas whose clocks differ and calls that reach the
// database seconds after the SP checked the message's times.
package pgstore
