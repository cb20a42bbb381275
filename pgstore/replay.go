package pgstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/saml2sp/saml2sp"
)

// errVanished: the record that stopped the insert was gone when read,
// deleted in between as expired; the next attempt inserts again.
var errVanished = errors.New("the conflicting record vanished")

// CheckAndStore implements saml2sp.ReplayCache. It stores SHA-256(id)
// until expires with a random owner token, in one atomic statement that
// also takes over a record that expired (more than Grace ago, by the
// store's Clock). When a live record is there it reads its owner: this
// call's own token means an earlier attempt of this call committed but
// its reply was lost, which is a success; another token is a replay, and
// the error matches saml2sp.ErrReplay. Every other failure matches
// saml2sp.ErrUnavailable and never ErrReplay.
//
// Expiry is judged by the store's Clock (the SP's), not the database's
// now(): expires comes from the SP's clock, and judged by that same clock
// a record is taken over only once the SP itself would refuse the
// message as expired, whatever the database's clock says.
func (s *Store) CheckAndStore(ctx context.Context, id string, expires time.Time) error {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	key := sha256.Sum256([]byte(id))
	owner := make([]byte, 16)
	if _, err := rand.Read(owner); err != nil {
		return unavailable("owner token", err)
	}
	cutoff := s.now().Add(-Grace)
	var replayed bool
	err := retry(ctx, func(ctx context.Context) error {
		var got []byte
		err := s.pool.QueryRow(ctx, s.sql.checkAndStore, key[:], owner, expires, cutoff).Scan(&got)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// A live record stopped the insert: whose is it?
		switch err := s.pool.QueryRow(ctx, s.sql.owner, key[:]).Scan(&got); {
		case errors.Is(err, pgx.ErrNoRows):
			return errVanished
		case err != nil:
			return err
		}
		replayed = !bytes.Equal(got, owner)
		return nil
	})
	switch {
	case err != nil:
		return unavailable("check and store", err)
	case replayed:
		return fmt.Errorf("%w: pgstore: the ID was already used", saml2sp.ErrReplay)
	}
	return nil
}
