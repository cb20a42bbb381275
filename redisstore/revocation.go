package redisstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/saml2sp/saml2sp"
)

// revokeScript records a revocation under KEYS[1]: ARGV[1] is its time
// (Unix microseconds, a decimal string), ARGV[2] its time to live in
// milliseconds. It keeps the later of the stored and the new time, and
// the longer of the remaining and the new time to live, in one step so
// that concurrent Revokes cannot undo each other. The values stay
// strings: Lua would print a number this large with 14 digits.
const revokeScript = `
local cur = redis.call('GET', KEYS[1])
if not cur or tonumber(ARGV[1]) > tonumber(cur) then
	redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`

// Revoke implements saml2sp.RevocationStore: sessions r names, started at
// or before at, have ended. The record lives until expires; revoking the
// same r again keeps the later at and the later expires. An error matches
// saml2sp.ErrUnavailable.
func (s *Store) Revoke(ctx context.Context, r saml2sp.Revocation, at, expires time.Time) error {
	key := s.revokedKey(r)
	v := strconv.FormatInt(ceilMicro(at), 10)
	ttl := s.ttlMillis(expires)
	return s.call(ctx, "recording a revocation", func(ctx context.Context) error {
		return s.revoke.Run(ctx, s.client, []string{key}, v, ttl).Err()
	})
}

// Revoked implements saml2sp.RevocationStore: it reports whether the
// session r names, started at started, was revoked by a Revoke of r or of
// r without its SessionIndex (every session of the NameID) at or after
// started. Both records are read in one round trip. An error matches
// saml2sp.ErrUnavailable; callers fail closed.
func (s *Store) Revoked(ctx context.Context, r saml2sp.Revocation, started time.Time) (bool, error) {
	keys := []string{s.revokedKey(r)}
	if r.SessionIndex != "" {
		all := r
		all.SessionIndex = ""
		keys = append(keys, s.revokedKey(all))
	}
	var vals []any
	err := s.call(ctx, "checking revocations", func(ctx context.Context) error {
		var err error
		vals, err = s.client.MGet(ctx, keys...).Result()
		return err
	})
	if err != nil {
		return false, err
	}
	revoked := false
	for i, v := range vals {
		if v == nil {
			continue
		}
		str, _ := v.(string)
		us, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return false, fmt.Errorf("%w: redisstore: the revocation record %s holds %.40q, not a time", saml2sp.ErrUnavailable, keys[i], str)
		}
		if !time.UnixMicro(us).Before(started) {
			revoked = true
		}
	}
	return revoked, nil
}

// revokedKey names r's record by r.Key(), a fixed-size digest.
func (s *Store) revokedKey(r saml2sp.Revocation) string {
	k := r.Key()
	return s.prefix + "revoked:" + hex.EncodeToString(k[:])
}

// ceilMicro returns t in Unix microseconds, rounded up: a record revokes
// sessions started at or before its time, so rounding may only widen it.
func ceilMicro(t time.Time) int64 {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return us
}
