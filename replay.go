package saml2sp

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// ReplayCache remembers message IDs until they expire, so that a captured
// Response cannot be posted a second time.
//
// CheckAndStore must be atomic: of two concurrent calls with the same id,
// exactly one succeeds. When the id was seen before and has not expired it
// returns an error that matches ErrReplay. Any other error means the cache
// could not answer: the message is refused (fail closed) with
// ErrUnavailable, which the handlers answer with 503 and Retry-After; an
// outage is never reported as a replay. Apps running several replicas must
// share one cache: saml2sp/redisstore and saml2sp/pgstore provide them.
//
// ids are built by the library and hold values from the message (issuer,
// IDs), so their length is up to the sender: a shared store should key
// its records by a digest of the id.
type ReplayCache interface {
	// CheckAndStore records id until expires, or fails as described
	// above: ErrReplay for an id seen before, any other error when the
	// cache cannot answer.
	CheckAndStore(ctx context.Context, id string, expires time.Time) error
}

// replayKey is the one replay-cache entry a login takes: the request it
// answers, or the assertion's ID when it answers none. A solicited
// assertion carries its InResponseTo under its signature, so replaying it
// hits the same request key; an unsolicited one never has one. Keyed by
// our entity ID or the issuer too: a cache shared by many SPs and tenants
// must not let one's IDs collide with another's.
func replayKey(spEntityID string, pa *parsedAssertion) string {
	if pa.InResponseTo != "" {
		return "request:" + spEntityID + ":" + pa.InResponseTo
	}
	return "assertion:" + pa.Issuer + ":" + pa.ID
}

// remember stores id in the replay cache until expires. It returns an
// ErrReplay error when id was used before, and an ErrUnavailable error
// when the cache could not answer.
func (sp *SP) remember(ctx context.Context, id string, expires time.Time, what string) error {
	err := sp.cfg.ReplayCache.CheckAndStore(ctx, id, expires)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrReplay):
		return wrapf(ErrReplay, err, "%s", what)
	default:
		return wrapf(ErrUnavailable, err, "the replay cache could not check %s", what)
	}
}

// quote formats s for an error message.
func quote(s string) string { return strconv.Quote(s) }
