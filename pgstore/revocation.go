package pgstore

import (
	"context"
	"time"

	"github.com/saml2sp/saml2sp"
)

// Revoke implements saml2sp.RevocationStore: one row per r.Key(), and
// revoking again keeps the later of the old and new revoked_at and
// expires_at, so replicas may record the same logout in any order. A
// failure matches saml2sp.ErrUnavailable.
//
// Times are kept to PostgreSQL's microsecond, and at and started are cut
// to it alike: a session started within the same microsecond as at, even
// a little after it, counts as revoked (the safe side).
func (s *Store) Revoke(ctx context.Context, r saml2sp.Revocation, at, expires time.Time) error {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	key := r.Key()
	err := retry(ctx, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, s.sql.revoke, key[:], at, expires)
		return err
	})
	if err != nil {
		return unavailable("revoke", err)
	}
	return nil
}

// Revoked implements saml2sp.RevocationStore with one query over both
// keys: r's own and, when r has a SessionIndex, r's without it (every
// session of the NameID). A record counts until its expires_at by the
// store's Clock. A failure matches saml2sp.ErrUnavailable; callers must
// then treat the session as ended (fail closed).
func (s *Store) Revoked(ctx context.Context, r saml2sp.Revocation, started time.Time) (bool, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	own := r.Key()
	keys := [][]byte{own[:]}
	if r.SessionIndex != "" {
		r.SessionIndex = ""
		all := r.Key()
		keys = append(keys, all[:])
	}
	now := s.now()
	var revoked bool
	err := retry(ctx, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, s.sql.revoked, keys, now, started).Scan(&revoked)
	})
	if err != nil {
		return false, unavailable("revoked", err)
	}
	return revoked, nil
}
