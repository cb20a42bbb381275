// Package redisstore keeps the state that every replica of a saml2sp app
// must share in Redis: the replay cache (saml2sp.ReplayCache), so that a
// Response one replica accepted is refused by all of them, and the
// sessions that IdP-initiated logouts ended (saml2sp.RevocationStore).
// One Store is both; give it to saml2sp.Config.ReplayCache.
//
// # Records
//
// A replay record is <prefix>replay:<hex SHA-256 of the ID>, whose value
// is a random token of the call that stored it and whose time to live
// ends when the message expires. CheckAndStore sets it with SET NX and,
// when it exists, reads it back in the same Lua script: a record holding
// the call's own token is the call's own earlier attempt (go-redis
// retries a command whose reply was lost), not a replay.
//
// A revocation record is <prefix>revoked:<hex of Revocation.Key()>,
// whose value is the revocation's time in Unix microseconds (rounded up)
// and whose time to live ends at its expiry. Revoke keeps the later time
// and the later expiry in one Lua script; Revoked reads the session's
// record and its NameID's in one MGET.
//
// Times to live are computed from Options.Clock (the SP's clock), so the
// Redis server's clock does not matter.
//
// # Failures
//
// Every call is bounded by Options.Timeout (default 2 s), or by the
// caller's context when its deadline is earlier, whatever the client's
// own timeouts and retries are: a frozen server fails a login in about
// the timeout. Every error matches saml2sp.ErrUnavailable (the ACS then
// answers 503 with Retry-After), except a replay, which matches
// saml2sp.ErrReplay and nothing else. An outage is never a replay.
//
// # What the server must be
//
//   - Redis 6.0 or later (KEEPTTL), with Lua scripting (EVAL).
//   - One primary: a standalone server, or Sentinel (redis.NewFailoverClient).
//     Redis Cluster is not supported: Revoked reads two keys that may live
//     in different slots.
//   - maxmemory-policy noeviction, Redis's default. An eviction policy
//     (allkeys-lru, volatile-lru, ...) would drop live records and let a
//     replay through; with noeviction a full server refuses writes, and
//     logins fail closed with 503.
//   - Persistence is the app's choice: a server that restarts empty
//     forgets the records, so a Response accepted in the last few minutes
//     (its validity, at most the SP's MaxAssertionAge plus the clock
//     skew) could be posted again until it expires, and revocations are
//     lost. appendonly yes closes that window.
//   - Replication is asynchronous: a failover may lose the last writes,
//     with the same effect.
package redisstore
