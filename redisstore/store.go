package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/saml2sp/saml2sp"
)

// DefaultTimeout bounds each call of a Store made with a zero
// Options.Timeout: a frozen server fails a login in about this long.
const DefaultTimeout = 2 * time.Second

// DefaultPrefix starts every key of a Store made with an empty
// Options.Prefix.
const DefaultPrefix = "saml2sp:"

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Prefix starts the name of every key the store writes (replay:...
	// and revoked:... follow it). Empty means DefaultPrefix. Every replica
	// of an app must use the same prefix, and apps sharing one Redis
	// different ones: a revocation names the IdP and the user, not the
	// app, so one app's single logout would end the sessions of another
	// app that shares the prefix.
	Prefix string
	// Timeout bounds each call when the caller's context has no earlier
	// deadline. Zero means DefaultTimeout; it may not be negative.
	Timeout time.Duration
	// Clock is the time expiries are judged by: use the SP's
	// Config.Clock. Records are given a time to live of expires minus
	// Clock(), so the Redis server's own clock does not matter. Nil means
	// time.Now.
	Clock func() time.Time
}

// Store keeps saml2sp's shared state in Redis: it is a
// saml2sp.ReplayCache and a saml2sp.RevocationStore. Build it with New. It
// is safe for concurrent use, and every replica of an app may have its own
// Store (and client) on the same Redis.
type Store struct {
	client  *redis.Client
	prefix  string
	timeout time.Duration
	now     func() time.Time
	replay  *redis.Script
	revoke  *redis.Script
}

var (
	_ saml2sp.ReplayCache     = (*Store)(nil)
	_ saml2sp.RevocationStore = (*Store)(nil)
)

// New returns a Store on client. The Store does not own the client: close
// it yourself when the app stops. The client's own timeouts and retries
// do not make a call outlast Options.Timeout, but a client configured as
// in the package example gives up sooner and holds fewer connections when
// the server is frozen.
func New(client *redis.Client, opts Options) (*Store, error) {
	switch {
	case client == nil:
		return nil, errors.New("redisstore: the Redis client is nil")
	case opts.Timeout < 0:
		return nil, fmt.Errorf("redisstore: Timeout %v is negative", opts.Timeout)
	}
	s := &Store{
		client:  client,
		prefix:  opts.Prefix,
		timeout: opts.Timeout,
		now:     opts.Clock,
		replay:  redis.NewScript(replayScript),
		revoke:  redis.NewScript(revokeScript),
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// call runs f with ctx bounded by the store's timeout and returns by the
// deadline whatever the client does. go-redis applies a context's deadline
// to its sockets only with Options.ContextTimeoutEnabled, and retries
// (with backoff and dial retries) on top, so without this bound a call to
// a frozen server would take the client's ReadTimeout (5 s by default) or
// more. A call given up on finishes in the background, within the
// client's own timeouts.
//
// Every error it returns matches saml2sp.ErrUnavailable and the cause
// (a go-redis error, context.DeadlineExceeded...).
func (s *Store) call(ctx context.Context, what string, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	done := make(chan error, 1) // buffered: a late answer must not block
	go func() { done <- f(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done: // an answer that came at the last moment wins
		default:
			return fmt.Errorf("%w: redisstore: %s: gave up waiting for Redis: %w", saml2sp.ErrUnavailable, what, ctx.Err())
		}
	}
	if err != nil {
		return fmt.Errorf("%w: redisstore: %s: %w", saml2sp.ErrUnavailable, what, err)
	}
	return nil
}

// ttlMillis returns the time to live, in whole milliseconds rounded up
// and at least 1, of a record that may be forgotten after expires.
func (s *Store) ttlMillis(expires time.Time) int64 {
	d := expires.Sub(s.now())
	ms := d / time.Millisecond
	if d%time.Millisecond > 0 {
		ms++
	}
	return max(int64(ms), 1)
}
