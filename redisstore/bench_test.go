package redisstore_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/redisstore"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// BenchmarkACSLogin is one SP-initiated login at the ACS handler: the
// state cookie, the signed Response (RSA-2048, SHA-256) and the replay
// cache, in memory or in Redis. logins/s is the throughput; p50-µs and
// p99-µs are the latencies of single logins. Run it on one core and on
// all:
//
//	go test -run '^$' -bench ACSLogin -benchmem -cpu 1,2
//
// RunParallel keeps one login in flight per GOMAXPROCS. Every accepted
// Response is single-use, so enough distinct ones (each answering its own
// request, with its own state cookie) are minted before the timer; each
// run has a fresh cache (memory) or key prefix (Redis), so they can be
// used again by the next run.
func BenchmarkACSLogin(b *testing.B) {
	srv := startRedis(b)
	pool := newLoginPool(b)
	caches := []struct {
		name  string
		cache func(run int) saml2sp.ReplayCache
	}{
		{"store=memory", func(int) saml2sp.ReplayCache { return saml2sp.NewMemoryReplayCache(0, nil) }},
		{"store=redis", func(run int) saml2sp.ReplayCache {
			return newStore(b, srv, redisstore.Options{Prefix: fmt.Sprintf("bench%d:", run)})
		}},
	}
	run := 0
	for _, c := range caches {
		b.Run(c.name, func(b *testing.B) {
			run++
			logins := pool.take(b, b.N)
			acs := pool.acs(b, c.cache(run))
			durations := make([]time.Duration, b.N)
			var next atomic.Int64
			runtime.GC() // the minting's garbage is not the logins'
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					l := logins[i]
					req := httptest.NewRequest(http.MethodPost, pool.ep.ACSURL, strings.NewReader(l.body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.AddCookie(l.cookie)
					w := httptest.NewRecorder()
					start := time.Now()
					acs.ServeHTTP(w, req)
					durations[i] = time.Since(start)
					if w.Code != http.StatusSeeOther {
						b.Errorf("login %d: status %d: %s", i, w.Code, w.Body)
						return
					}
				}
			})
			b.StopTimer()
			slices.Sort(durations)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
			b.ReportMetric(float64(durations[len(durations)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// loginPool mints SP-initiated logins for the benchmark: the state cookie
// of a login start and the Response to its request. Every SP the pool
// builds has the same entity ID and StateKey, so each accepts them all.
type loginPool struct {
	idp      *saml2sptest.IdP
	ep       saml2sp.Endpoints
	stateKey []byte
	start    http.Handler // a LoginHandler
	logins   []benchLogin
}

type benchLogin struct {
	body   string // the form the IdP posts: SAMLResponse and RelayState
	cookie *http.Cookie
}

func newLoginPool(b *testing.B) *loginPool {
	idp, err := saml2sptest.NewIdP("https://idp.example.com/metadata")
	require.NoError(b, err)
	ep, err := saml2sp.EndpointsAt("https://sp.example.com/saml/")
	require.NoError(b, err)
	p := &loginPool{idp: idp, ep: ep, stateKey: make([]byte, 32)}
	_, _ = rand.Read(p.stateKey)
	p.start = p.sp(b, saml2sp.NewMemoryReplayCache(0, nil)).LoginHandler(saml2sp.Hooks{})
	return p
}

func (p *loginPool) sp(b *testing.B, cache saml2sp.ReplayCache) *saml2sp.SP {
	cfg := saml2sp.Config{IdP: p.idp.IdentityProvider(), StateKey: p.stateKey, ReplayCache: cache, Logger: slog.New(slog.DiscardHandler)}
	p.ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	require.NoError(b, err)
	return sp
}

// acs returns the ACS handler of a new SP with cache.
func (p *loginPool) acs(b *testing.B, cache saml2sp.ReplayCache) http.Handler {
	return p.sp(b, cache).ACSHandler(saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) {
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
		},
	})
}

// take returns n logins, minting the missing ones on two cores.
func (p *loginPool) take(b *testing.B, n int) []benchLogin {
	b.Helper()
	missing := n - len(p.logins)
	if missing <= 0 {
		return p.logins[:n]
	}
	minted := make([]benchLogin, missing)
	errs := make([]error, missing)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 2 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(missing); i = next.Add(1) - 1 {
				minted[i], errs[i] = p.mint()
			}
		})
	}
	wg.Wait()
	require.NoError(b, errors.Join(errs...))
	p.logins = append(p.logins, minted...)
	return p.logins[:n]
}

// mint starts a login and has the IdP answer it.
func (p *loginPool) mint() (benchLogin, error) {
	w := httptest.NewRecorder()
	p.start.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p.ep.LoginURL, nil))
	if w.Code != http.StatusFound {
		return benchLogin{}, fmt.Errorf("login start: status %d", w.Code)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		return benchLogin{}, err
	}
	id, err := decodeRequestID(loc.Query().Get("SAMLRequest"))
	if err != nil {
		return benchLogin{}, err
	}
	form, err := p.idp.Response(saml2sptest.Response{
		Destination: p.ep.ACSURL, Audience: p.ep.EntityID, NameID: "alice@example.com", InResponseTo: id,
	})
	if err != nil {
		return benchLogin{}, err
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		return benchLogin{}, fmt.Errorf("login start set %d cookies", len(cookies))
	}
	body := url.Values{"SAMLResponse": {form}, "RelayState": {loc.Query().Get("RelayState")}}.Encode()
	return benchLogin{body: body, cookie: cookies[0]}, nil
}
