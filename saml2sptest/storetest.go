package saml2sptest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// TestReplicatedTenantLogins runs a multi-tenant app as two replicas on
// the ReplayCache clients newClient returns: each call a new client (a
// replica's own connection) of one and the same store. Each replica is a
// TenantHandler whose resolver builds a new SP for every request, as one
// that reads tenants from a database does; they share only the StateKey
// and the store. A login started at one replica finishes at the other,
// and its Response posted again, at either replica, is refused as a
// replay.
func TestReplicatedTenantLogins(t *testing.T, newClient func(t *testing.T) saml2sp.ReplayCache) {
	const base = "https://app.example.com/saml/"
	idp, err := NewIdP("https://idp.acme.example/metadata")
	if err != nil {
		t.Fatal(err)
	}
	stateKey := make([]byte, 32)
	quiet := slog.New(slog.DiscardHandler)
	var mu sync.Mutex
	var logins []string
	var refusals []error
	replica := func() *saml2sp.TenantHandler {
		h := &saml2sp.TenantHandler{
			BaseURL:     base,
			Logger:      quiet,
			StateKey:    stateKey,
			ReplayCache: newClient(t),
			Tenants: saml2sp.TenantResolverFunc(func(ctx context.Context, tenant string) (*saml2sp.SP, error) {
				if tenant != "acme" {
					return nil, saml2sp.ErrUnknownTenant
				}
				ep, err := saml2sp.TenantEndpoints(base, tenant)
				if err != nil {
					return nil, err
				}
				cfg := saml2sp.Config{IdP: idp.IdentityProvider(), Logger: quiet}
				ep.Apply(&cfg)
				return saml2sp.New(cfg) // a new SP, no StateKey or ReplayCache of its own
			}),
			Hooks: saml2sp.Hooks{
				OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
					mu.Lock()
					logins = append(logins, l.Assertion.NameID)
					mu.Unlock()
					http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
					return nil
				},
				OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
					mu.Lock()
					refusals = append(refusals, f.Err)
					mu.Unlock()
					w.WriteHeader(f.Status)
				},
				OnLogout:       func(http.ResponseWriter, *http.Request, *saml2sp.Logout) error { return nil },
				CurrentSubject: func(*http.Request) (saml2sp.LogoutSubject, bool) { return saml2sp.LogoutSubject{}, false },
			},
		}
		if err := h.Validate(); err != nil {
			t.Fatal(err)
		}
		return h
	}
	lb := &roundRobin{replicas: []http.Handler{replica(), replica()}}
	b := &Browser{App: lb}
	ep, err := saml2sp.TenantEndpoints(base, "acme")
	if err != nil {
		t.Fatal(err)
	}

	// The login starts at replica A (the request to the login URL) and
	// its Response reaches replica B.
	w, err := b.Login(idp, ep.LoginURL+"?return_to=/issues", Response{NameID: "alice@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/issues" || len(logins) != 1 {
		t.Fatalf("the login started at one replica and finished at the other: %d %q, logins %q, refusals %v",
			w.Code, w.Header().Get("Location"), logins, refusals)
	}
	if lb.last() != 1 {
		t.Fatalf("the Response reached replica %d, want the other one", lb.last())
	}
	// An attacker who captured the POST, cookies included, sends it
	// again.
	form, cookie := lb.lastForm, lb.lastCookie
	for i := range 2 {
		r := httptest.NewRequest(http.MethodPost, ep.ACSURL, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Cookie", cookie)
		w = httptest.NewRecorder()
		lb.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden || len(refusals) != i+1 || !errors.Is(refusals[i], saml2sp.ErrReplay) {
			t.Fatalf("the Response posted again at replica %d: %d, refusals %v; want 403 and a replay", lb.last(), w.Code, refusals)
		}
	}
	if len(logins) != 1 {
		t.Fatalf("logins %q, want one", logins)
	}
}

// roundRobin is a load balancer that sends each request to the next
// replica, and remembers the last form posted and its cookies.
type roundRobin struct {
	replicas   []http.Handler
	n          int
	lastForm   url.Values
	lastCookie string
}

func (l *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		l.lastForm, _ = url.ParseQuery(string(body))
		l.lastCookie = r.Header.Get("Cookie")
	}
	h := l.replicas[l.n%len(l.replicas)]
	l.n++
	h.ServeHTTP(w, r)
}

// last is the replica that served the last request.
func (l *roundRobin) last() int { return (l.n - 1) % len(l.replicas) }
