package saml2sptest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saml2sp/saml2sp"
)

// Conformance tests for shared-state stores, in the manner of
// golang.org/x/net/nettest's TestConn: whoever writes a ReplayCache or a
// RevocationStore (on DynamoDB, on the app's own database) runs them from
// a test of their own, and so do this module's memory, Redis and
// PostgreSQL stores. They cover what every implementation must answer the
// same way; expiry, outages and timeouts depend on the store and need
// tests of its own (see the redisstore and pgstore tests).

// TestReplayCache runs the ReplayCache contract on the caches newCache
// returns: each call an empty cache (or one on key space of its own),
// whose clock is the real time. A first use succeeds and a second is an
// ErrReplay error (never ErrUnavailable), IDs are compared exactly and
// may be long, and of 40 concurrent uses of one ID exactly one succeeds.
func TestReplayCache(t *testing.T, newCache func(t *testing.T) saml2sp.ReplayCache) {
	ctx := context.Background()
	later := func() time.Time { return time.Now().Add(10 * time.Minute) }

	t.Run("a second use is a replay", func(t *testing.T) {
		c := newCache(t)
		if err := c.CheckAndStore(ctx, "assertion:idp:_a1", later()); err != nil {
			t.Fatalf("first use: %v", err)
		}
		err := c.CheckAndStore(ctx, "assertion:idp:_a1", later())
		if !errors.Is(err, saml2sp.ErrReplay) || errors.Is(err, saml2sp.ErrUnavailable) {
			t.Fatalf("second use: %v, want an ErrReplay error that is not ErrUnavailable", err)
		}
	})
	t.Run("IDs are compared exactly", func(t *testing.T) {
		c := newCache(t)
		long := "assertion:https://idp.example/:" + strings.Repeat("x", 1<<20)
		for _, id := range []string{"assertion:idp:_a", "assertion:idp:_A", "assertion:idp2:_a", "request:sp:_a", "assertion:idp:_a ", long, long + "y"} {
			if err := c.CheckAndStore(ctx, id, later()); err != nil {
				t.Fatalf("%.40q: %v, want nil: it differs from every ID before it", id, err)
			}
		}
		if err := c.CheckAndStore(ctx, long, later()); !errors.Is(err, saml2sp.ErrReplay) {
			t.Fatalf("a 1 MiB ID again: %v, want ErrReplay", err)
		}
	})
	t.Run("one of 40 concurrent uses succeeds", func(t *testing.T) {
		c := newCache(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, replays := 0, 0
		var other []error
		for range 40 {
			wg.Go(func() {
				err := c.CheckAndStore(ctx, "request:sp:_concurrent", later())
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, saml2sp.ErrReplay):
					replays++
				default:
					other = append(other, err)
				}
			})
		}
		wg.Wait()
		if ok != 1 || replays != 39 || len(other) > 0 {
			t.Fatalf("%d accepted, %d replays, other errors %v; want 1 and 39", ok, replays, other)
		}
	})
}

// TestRevocationStore runs the RevocationStore contract on the stores
// newStore returns: each call an empty store (or one on key space of its
// own), whose clock is the real time. It checks which sessions a
// revocation ends: by SessionIndex or every session of the NameID, only
// sessions started at or before it, never the same NameID at another IdP
// or with another format, qualifier or case, an empty format counting as
// unspecified; and that revoking again keeps the later time.
func TestRevocationStore(t *testing.T, newStore func(t *testing.T) saml2sp.RevocationStore) {
	ctx := context.Background()
	t0 := time.Now().Truncate(time.Second)
	alice := saml2sp.Revocation{IdP: "https://idp-a.example", NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		NameID: "alice@example.com", SessionIndex: "_s1"}
	with := func(f func(*saml2sp.Revocation)) saml2sp.Revocation { r := alice; f(&r); return r }
	allOfAlice := with(func(r *saml2sp.Revocation) { r.SessionIndex = "" })
	before := t0.Add(-time.Hour)

	cases := []struct {
		name    string
		revoke  saml2sp.Revocation
		check   saml2sp.Revocation
		started time.Time
		want    bool
	}{
		{"the session revoked", alice, alice, before, true},
		{"a session started when it was revoked", alice, alice, t0, true},
		{"every session of the NameID", allOfAlice, alice, before, true},
		{"a session without index, all revoked", allOfAlice, allOfAlice, before, true},
		{"a session without index, one revoked", alice, allOfAlice, before, false},
		{"another session of the NameID", alice, with(func(r *saml2sp.Revocation) { r.SessionIndex = "_s2" }), before, false},
		{"a session started after the revocation", allOfAlice, alice, t0.Add(time.Minute), false},
		{"a session started a microsecond after", alice, alice, t0.Add(time.Microsecond), false},
		{"the same NameID at another IdP (tenant)", allOfAlice, with(func(r *saml2sp.Revocation) { r.IdP = "https://idp-b.example" }), before, false},
		{"another format", allOfAlice, with(func(r *saml2sp.Revocation) { r.NameIDFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" }), before, false},
		{"another NameQualifier", allOfAlice, with(func(r *saml2sp.Revocation) { r.NameQualifier = "q" }), before, false},
		{"another SPNameQualifier", allOfAlice, with(func(r *saml2sp.Revocation) { r.SPNameQualifier = "q" }), before, false},
		{"a NameID that differs in case", allOfAlice, with(func(r *saml2sp.Revocation) { r.NameID = "Alice@example.com" }), before, false},
		{"fields do not run into each other", saml2sp.Revocation{IdP: "ab", NameID: "c"}, saml2sp.Revocation{IdP: "a", NameID: "bc"}, before, false},
		{"no format is unspecified",
			with(func(r *saml2sp.Revocation) { r.NameIDFormat = ""; r.SessionIndex = "" }),
			with(func(r *saml2sp.Revocation) { r.NameIDFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" }), before, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if err := s.Revoke(ctx, tc.revoke, t0, t0.Add(24*time.Hour)); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			got, err := s.Revoked(ctx, tc.check, tc.started)
			if err != nil {
				t.Fatalf("Revoked: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Revoked = %v, want %v", got, tc.want)
			}
		})
	}

	for _, order := range []struct {
		name string
		at   []time.Duration // of each Revoke, after t0
	}{
		{"revoking again keeps the later time (later first)", []time.Duration{time.Hour, 0}},
		{"revoking again keeps the later time (later last)", []time.Duration{0, time.Hour}},
	} {
		t.Run(order.name, func(t *testing.T) {
			s := newStore(t)
			for _, d := range order.at {
				if err := s.Revoke(ctx, allOfAlice, t0.Add(d), t0.Add(24*time.Hour)); err != nil {
					t.Fatalf("Revoke: %v", err)
				}
			}
			got, err := s.Revoked(ctx, alice, t0.Add(30*time.Minute))
			if err != nil || !got {
				t.Fatalf("a session started between the two revocations: Revoked = %v, %v; want true", got, err)
			}
		})
	}
}
