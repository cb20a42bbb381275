package redisstore_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
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

// BenchmarkACSLogin is one IdP-initiated login through the ACS handler:
// parse, verify the signed assertion (RSA-2048, SHA-256), check and store
// its ID in the replay cache, call OnLogin. The cache is in memory (the
// library's default, for comparison) or in Redis, one EVALSHA per login.
// It has the shape of pgstore's BenchmarkACSLogin, so the two modules'
// numbers compare. Run it on one core and on all:
//
//	go test -run '^$' -bench ACSLogin -benchmem -cpu 1,2
//
// RunParallel posts from GOMAXPROCS goroutines. It reports logins/s and
// each login's latency at p50 and p99. Every accepted Response is
// single-use, so distinct ones are minted before the timer; each run has
// a fresh cache (memory) or key prefix (Redis), so the next run can post
// them again.
func BenchmarkACSLogin(b *testing.B) {
	srv := startRedis(b)
	pool := newResponsePool(b)
	caches := []struct {
		name  string
		cache func(run, n int) saml2sp.ReplayCache
	}{
		{"store=memory", func(_, n int) saml2sp.ReplayCache {
			return saml2sp.NewMemoryReplayCache(max(n, saml2sp.DefaultReplayCacheSize), benchNow)
		}},
		{"store=redis", func(run, _ int) saml2sp.ReplayCache {
			return newStore(b, srv, redisstore.Options{Prefix: fmt.Sprintf("bench%d:", run), Clock: benchNow})
		}},
	}
	run := 0
	for _, c := range caches {
		b.Run(c.name, func(b *testing.B) {
			run++
			bodies := pool.take(b, b.N)
			h := pool.acs(b, c.cache(run, b.N))
			latencies := make([]time.Duration, b.N)
			var next, failed atomic.Int64
			runtime.GC() // the minting's garbage is not the logins'
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					req := httptest.NewRequest(http.MethodPost, pool.ep.ACSURL, strings.NewReader(bodies[i]))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					w := httptest.NewRecorder()
					start := time.Now()
					h.ServeHTTP(w, req)
					latencies[i] = time.Since(start)
					if w.Code != http.StatusSeeOther {
						failed.Add(1)
					}
				}
			})
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d logins failed", n, b.N)
			}
			slices.Sort(latencies)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
			b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
			b.ReportMetric(ms(latencies[len(latencies)*99/100]), "p99-ms")
		})
	}
}

// benchTime is the fixed time of the benchmark's IdP, SP and store, so
// that Responses minted before the timer never expire during a long run.
var benchTime = time.Now().Truncate(time.Second)

func benchNow() time.Time { return benchTime }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// responsePool mints IdP-initiated Responses for the benchmark, and keeps
// them for the next runs.
type responsePool struct {
	idp    *saml2sptest.IdP
	ep     saml2sp.Endpoints
	bodies []string // ACS form bodies
}

func newResponsePool(b *testing.B) *responsePool {
	idp, err := saml2sptest.NewIdP("https://idp.example.com")
	require.NoError(b, err)
	idp.Clock = benchNow
	ep, err := saml2sp.EndpointsAt("https://app.example.com/saml/")
	require.NoError(b, err)
	return &responsePool{idp: idp, ep: ep}
}

// acs returns the ACS handler of a new SP with cache.
func (p *responsePool) acs(b *testing.B, cache saml2sp.ReplayCache) http.Handler {
	cfg := saml2sp.Config{
		IdP:               p.idp.IdentityProvider(),
		AllowIdPInitiated: true,
		Clock:             benchNow,
		ReplayCache:       cache,
		Logger:            slog.New(slog.DiscardHandler),
	}
	p.ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	require.NoError(b, err)
	return sp.ACSHandler(saml2sp.Hooks{
		OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
	})
}

// take returns n form bodies, minting the missing ones on two cores.
func (p *responsePool) take(b *testing.B, n int) []string {
	b.Helper()
	missing := n - len(p.bodies)
	if missing <= 0 {
		return p.bodies[:n]
	}
	minted := make([]string, missing)
	errs := make([]error, missing)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 2 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(missing); i = next.Add(1) - 1 {
				var v string
				v, errs[i] = p.idp.Response(saml2sptest.Response{Destination: p.ep.ACSURL, Audience: p.ep.EntityID})
				minted[i] = url.Values{"SAMLResponse": {v}}.Encode()
			}
		})
	}
	wg.Wait()
	require.NoError(b, errors.Join(errs...))
	p.bodies = append(p.bodies, minted...)
	return p.bodies[:n]
}

// BenchmarkCheckAndStore is one replay check on its own: one EVALSHA
// round trip to the local redis-server, with a new ID each time.
func BenchmarkCheckAndStore(b *testing.B) {
	srv := startRedis(b)
	s := newStore(b, srv, redisstore.Options{})
	ctx := b.Context()
	expires := time.Now().Add(time.Minute)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := s.CheckAndStore(ctx, "assertion:https://idp.example.com:_"+strconv.Itoa(i), expires); err != nil {
			b.Fatal(err)
		}
	}
}
