package saml2sp

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// Revocation names the sessions an IdP-initiated logout ends: the sessions
// of one NameID at one IdP, or only the IdP session SessionIndex names.
// Sessions that live only in a cookie cannot be deleted on the server; the
// app records the revocation and checks each session against it (see
// RevocationStore).
type Revocation struct {
	// IdP is the entity ID of the IdP that issued the sessions.
	IdP string
	// NameIDFormat, NameQualifier, SPNameQualifier and NameID name the
	// user, exactly as the assertion did. An empty format counts as
	// unspecified, as in LogoutRequest.Matches.
	NameIDFormat    string
	NameQualifier   string
	SPNameQualifier string
	NameID          string
	// SessionIndex is the IdP session; empty means every session of the
	// NameID.
	SessionIndex string
}

// RevocationOf returns the Revocation that names the session subject
// stands for, as Revoked takes it.
func RevocationOf(subject LogoutSubject) Revocation {
	return Revocation{
		IdP: subject.IdP, NameIDFormat: subject.NameIDFormat, NameQualifier: subject.NameQualifier,
		SPNameQualifier: subject.SPNameQualifier, NameID: subject.NameID, SessionIndex: subject.SessionIndex,
	}
}

// Key returns a fixed-size digest of r that stores may use as the record's
// key: every field counts, each length-prefixed so no two revocations share
// it, and an empty NameIDFormat is the unspecified format.
func (r Revocation) Key() [32]byte {
	format := r.NameIDFormat
	if format == "" {
		format = nameIDFormatUnspec
	}
	h := sha256.New()
	h.Write([]byte("saml2sp-revocation-v1"))
	for _, f := range []string{r.IdP, format, r.NameQualifier, r.SPNameQualifier, r.NameID, r.SessionIndex} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// allSessions returns r without its SessionIndex: the revocation that
// ends every session of the NameID.
func (r Revocation) allSessions() Revocation {
	r.SessionIndex = ""
	return r
}

// RevocationStore remembers sessions that the IdP ended (single logout)
// until they would have expired anyway, so that sessions kept only in a
// cookie, on any replica, end when the IdP says so. Implementations must be
// shared by every replica (saml2sp/redisstore, saml2sp/pgstore) unless
// there is only one. Every method is bounded by ctx; an error means the
// store could not answer, and callers fail closed.
type RevocationStore interface {
	// Revoke records that the sessions r names, started at or before at,
	// have ended. The record may be forgotten after expires: the latest
	// time at which a session it ends could still be presented. Revoking
	// the same r twice keeps the later at and the later expires.
	Revoke(ctx context.Context, r Revocation, at, expires time.Time) error
	// Revoked reports whether the session r names (with its SessionIndex,
	// if the IdP gave one), started at started, has been revoked: by a
	// Revoke of r itself or of every session of r's NameID (r without its
	// SessionIndex), at or after started.
	Revoked(ctx context.Context, r Revocation, started time.Time) (bool, error)
}

// MemoryRevocationStore is a RevocationStore in this process's memory, for
// an app with a single replica (and for tests). When it holds capacity
// live records it refuses new ones (fail closed) rather than forget one.
type MemoryRevocationStore struct {
	mu       sync.Mutex
	capacity int
	now      func() time.Time
	records  map[[32]byte]revocationRecord
	swept    time.Time // when dropExpired last ran
}

type revocationRecord struct{ at, expires time.Time }

// DefaultRevocationCapacity is the capacity of a MemoryRevocationStore
// made with capacity <= 0.
const DefaultRevocationCapacity = 100000

// NewMemoryRevocationStore returns an empty store holding at most capacity
// live records (<= 0: DefaultRevocationCapacity); now is its clock (nil:
// time.Now).
func NewMemoryRevocationStore(capacity int, now func() time.Time) *MemoryRevocationStore {
	if capacity <= 0 {
		capacity = DefaultRevocationCapacity
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryRevocationStore{capacity: capacity, now: now, records: map[[32]byte]revocationRecord{}}
}

// Revoke implements RevocationStore.
func (s *MemoryRevocationStore) Revoke(_ context.Context, r Revocation, at, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := r.Key()
	old, ok := s.records[k]
	if !ok {
		if len(s.records) >= s.capacity {
			s.dropExpired()
		}
		if len(s.records) >= s.capacity {
			return failf(ErrUnavailable, "revocation store full (%d live records)", s.capacity)
		}
	}
	if ok && old.at.After(at) {
		at = old.at
	}
	if ok && old.expires.After(expires) {
		expires = old.expires
	}
	s.records[k] = revocationRecord{at: at, expires: expires}
	return nil
}

// Revoked implements RevocationStore.
func (s *MemoryRevocationStore) Revoked(_ context.Context, r Revocation, started time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, q := range []Revocation{r, r.allSessions()} {
		if rec, ok := s.records[q.Key()]; ok && now.Before(rec.expires) && !rec.at.Before(started) {
			return true, nil
		}
		if r.SessionIndex == "" {
			break
		}
	}
	return false, nil
}

// dropExpired forgets every expired record. It is linear in the store's
// size, so it runs only when the store is full, at most once a second.
func (s *MemoryRevocationStore) dropExpired() {
	now := s.now()
	if now.Sub(s.swept) < time.Second {
		return
	}
	s.swept = now
	for k, rec := range s.records {
		if !now.Before(rec.expires) {
			delete(s.records, k)
		}
	}
}
