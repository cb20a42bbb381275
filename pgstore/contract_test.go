package pgstore_test

import (
	"context"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/pgstore"
)

// The contract of issue 10, over the HTTP handlers of two replicas that
// share nothing but the database and their configuration.

// TestTwoReplicas: a login started at replica A finishes at replica B;
// one genuine Response POSTed 40 times at once, spread over both, logs in
// exactly once and every other POST is refused as a replay.
func TestTwoReplicas(t *testing.T) {
	dsn := testDSN(t)

	t.Run("started at A, finished at B", func(t *testing.T) {
		d := newDeployment(t, dsn, pgstore.Options{})
		l := d.startLogin(t, d.a, "/reports?q=1", "digest-of-session-1")
		form := d.responseForm(t, &l)
		w := d.post(d.b, form, l.cookie)
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		assert.Equal(t, "/reports?q=1", w.Header().Get("Location"))
		require.Equal(t, int32(1), d.app.logins.Load())
		assert.False(t, d.app.lastUser.IdPInitiated)
		assert.Equal(t, "digest-of-session-1", d.app.lastUser.Binding, "B opened the state A sealed")

		// The same POST again, at either replica, is a replay.
		for _, r := range []*replica{d.a, d.b} {
			w := d.post(r, form, l.cookie)
			require.Equal(t, http.StatusForbidden, w.Code, r.name)
			f := d.app.takeFailures()
			require.Len(t, f, 1)
			assert.ErrorIs(t, f[0].Err, saml2sp.ErrReplay, r.name)
		}
		// So is another Response to the same request.
		w = d.post(d.a, d.responseForm(t, &l), l.cookie)
		require.Equal(t, http.StatusForbidden, w.Code)
		assert.ErrorIs(t, d.app.takeFailures()[0].Err, saml2sp.ErrReplay)
		assert.Equal(t, int32(1), d.app.logins.Load())
	})

	for _, tc := range []struct {
		name      string
		solicited bool
	}{
		{"40 concurrent POSTs of a Response to a request", true},
		{"40 concurrent POSTs of an IdP-initiated Response", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDeployment(t, dsn, pgstore.Options{})
			var form = d.responseForm(t, nil)
			var cookie *http.Cookie
			if tc.solicited {
				l := d.startLogin(t, d.a, "/", "")
				form, cookie = d.responseForm(t, &l), l.cookie
			}
			const n = 40
			codes := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := d.a
					if i%2 == 1 {
						r = d.b
					}
					<-start
					codes[i] = d.post(r, form, cookie).Code
				}()
			}
			close(start)
			wg.Wait()
			assert.Equal(t, int32(1), d.app.logins.Load(), "exactly one login")
			ok := 0
			for _, c := range codes {
				if c == http.StatusSeeOther {
					ok++
				} else {
					assert.Equal(t, http.StatusForbidden, c)
				}
			}
			assert.Equal(t, 1, ok)
			failures := d.app.takeFailures()
			require.Len(t, failures, n-1)
			for _, f := range failures {
				require.ErrorIs(t, f.Err, saml2sp.ErrReplay)
				require.NotErrorIs(t, f.Err, saml2sp.ErrUnavailable)
			}
		})
	}
}

// TestOutage: with the database stopped, or frozen, the ACS answers 503
// with Retry-After, as ErrUnavailable and never ErrReplay, within the
// store's timeout; once the database is back, logins work again. It uses
// the cluster this test binary started, even when SAML2SP_POSTGRES_DSN is
// set, since it must stop and freeze the server.
func TestOutage(t *testing.T) {
	c := ownCluster(t)
	const timeout = time.Second
	d := newDeployment(t, c.dsn(), pgstore.Options{Timeout: timeout})

	// Both replicas work before the outage, and hold pooled connections.
	for _, r := range []*replica{d.a, d.b} {
		l := d.startLogin(t, r, "/", "")
		require.Equal(t, http.StatusSeeOther, d.post(r, d.responseForm(t, &l), l.cookie).Code)
	}

	refused := func(t *testing.T, r *replica) (login, time.Duration) {
		t.Helper()
		l := d.startLogin(t, r, "/", "")
		form := d.responseForm(t, &l)
		began := time.Now()
		w := d.post(r, form, l.cookie)
		took := time.Since(began)
		require.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())
		assert.NotEmpty(t, w.Header().Get("Retry-After"))
		f := d.app.takeFailures()
		require.Len(t, f, 1)
		assert.ErrorIs(t, f[0].Err, saml2sp.ErrUnavailable)
		assert.NotErrorIs(t, f[0].Err, saml2sp.ErrReplay)
		t.Logf("%s after %s: %v", r.name, took.Round(time.Millisecond), f[0].Err)
		return l, took
	}
	works := func(t *testing.T) {
		t.Helper()
		for _, pair := range [][2]*replica{{d.a, d.b}, {d.b, d.a}} {
			l := d.startLogin(t, pair[0], "/back", "")
			w := d.post(pair[1], d.responseForm(t, &l), l.cookie)
			require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		}
	}

	t.Run("stopped", func(t *testing.T) {
		require.NoError(t, c.stopImmediate())
		restarted := false
		t.Cleanup(func() {
			if !restarted {
				_ = c.start()
			}
		})
		var pending login
		for _, r := range []*replica{d.a, d.b} {
			l, took := refused(t, r)
			assert.Less(t, took, timeout+500*time.Millisecond, "refused connections fail fast")
			pending = l
		}

		require.NoError(t, c.start())
		restarted = true
		works(t)
		// The refused login left nothing behind: the same POST, with its
		// state, now succeeds.
		before := d.app.logins.Load()
		w := d.post(d.b, d.responseForm(t, &pending), pending.cookie)
		require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
		assert.Equal(t, before+1, d.app.logins.Load())
	})

	t.Run("frozen", func(t *testing.T) {
		require.NoError(t, c.signal(syscall.SIGSTOP))
		thawed := false
		t.Cleanup(func() {
			if !thawed {
				_ = c.signal(syscall.SIGCONT)
			}
		})
		for _, r := range []*replica{d.a, d.b} {
			_, took := refused(t, r)
			assert.GreaterOrEqual(t, took, timeout-100*time.Millisecond, "a frozen server answers nothing")
			assert.Less(t, took, timeout+time.Second, "bounded by the store's timeout")
		}
		require.NoError(t, c.signal(syscall.SIGCONT))
		thawed = true
		works(t)
	})
}

// TestTimeout: a call is bounded by the store's Timeout (default 2 s)
// unless its context ends sooner, against a frozen server.
func TestTimeout(t *testing.T) {
	c := ownCluster(t)
	s, _ := newStore(t, c.dsn(), pgstore.Options{})
	// Hold a connection, so that the calls below wait for an answer rather
	// than for a connection.
	require.NoError(t, s.CheckAndStore(context.Background(), "warm-up", time.Now().Add(time.Minute)))
	require.NoError(t, c.signal(syscall.SIGSTOP))
	t.Cleanup(func() { _ = c.signal(syscall.SIGCONT) })

	for _, tc := range []struct {
		name     string
		deadline time.Duration // 0: none
		min, max time.Duration
	}{
		{"no deadline: the default timeout", 0, pgstore.DefaultTimeout - 100*time.Millisecond, pgstore.DefaultTimeout + time.Second},
		{"a later deadline: the default timeout", 10 * time.Second, pgstore.DefaultTimeout - 100*time.Millisecond, pgstore.DefaultTimeout + time.Second},
		{"an earlier deadline wins", 300 * time.Millisecond, 250 * time.Millisecond, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			began := time.Now()
			err := s.CheckAndStore(ctx, "x:"+tc.name, time.Now().Add(time.Minute))
			took := time.Since(began)
			require.ErrorIs(t, err, saml2sp.ErrUnavailable)
			assert.NotErrorIs(t, err, saml2sp.ErrReplay)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.GreaterOrEqual(t, took, tc.min)
			assert.Less(t, took, tc.max)
		})
	}
	t.Run("Revoked too", func(t *testing.T) {
		began := time.Now()
		_, err := s.Revoked(context.Background(), saml2sp.Revocation{IdP: "i", NameID: "n"}, time.Now())
		require.ErrorIs(t, err, saml2sp.ErrUnavailable)
		assert.Less(t, time.Since(began), pgstore.DefaultTimeout+time.Second)
	})
}
