package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/saml2sp/saml2sp"
)

// replayScript stores the owner token ARGV[1] under KEYS[1] for ARGV[2]
// milliseconds unless the key exists, and answers 1 when the key now holds
// this token (stored now, or by an earlier attempt of the same call whose
// reply was lost and which go-redis retried), 0 when another call owns it.
// One script, so the check and the read-back see the same record: it
// cannot expire between them.
const replayScript = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return 1
end
return 0
`

// CheckAndStore implements saml2sp.ReplayCache: it stores id until
// expires, and returns an error matching saml2sp.ErrReplay when another
// call stored it first and the record has not expired. Of concurrent
// calls with the same id, from any number of replicas, exactly one
// succeeds. Any other error matches saml2sp.ErrUnavailable: the store
// could not answer, which never counts as a replay.
//
// The record's value is a random token of this call, so a write that
// reached Redis but whose reply was lost, and that the client retried,
// is recognised as this call's own. A call given up on (the timeout, a
// cancelled ctx) may still be stored: the same message is then refused as
// a replay later, which fails closed.
func (s *Store) CheckAndStore(ctx context.Context, id string, expires time.Time) error {
	key := s.replayKey(id)
	token := rand.Text()
	ttl := s.ttlMillis(expires)
	var owned bool
	err := s.call(ctx, "checking the replay cache", func(ctx context.Context) error {
		n, err := s.replay.Run(ctx, s.client, []string{key}, token, ttl).Int()
		owned = n == 1
		return err
	})
	switch {
	case err != nil:
		return err
	case !owned:
		return fmt.Errorf("%w: ID %q was already used", saml2sp.ErrReplay, id)
	}
	return nil
}

// replayKey names id's record. The id holds values from the message, so
// its length is the sender's choice: the key holds its SHA-256 instead.
func (s *Store) replayKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return s.prefix + "replay:" + hex.EncodeToString(sum[:])
}
