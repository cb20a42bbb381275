package pgstore_test

import (
	"context"
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
	"github.com/saml2sp/saml2sp/pgstore"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// BenchmarkACSLogin is one IdP-initiated login through the ACS handler:
// parse, verify the signed assertion, check and store its ID in the
// replay cache, call OnLogin. The cache is in memory (the library's
// default, for comparison) or in PostgreSQL, one statement per login.
// Each op posts a distinct genuine Response (every accepted one is
// single-use), minted before the timer; the store is emptied before each
// run. Run with -cpu 1,2: RunParallel posts from GOMAXPROCS goroutines.
// It reports logins/s and each login's latency at p50 and p99.
func BenchmarkACSLogin(b *testing.B) {
	for _, tc := range []struct {
		name string
		// cache returns the cache of one run, and empties it.
		cache func(b *testing.B, n int) saml2sp.ReplayCache
	}{
		{"store=memory", func(b *testing.B, n int) saml2sp.ReplayCache {
			return saml2sp.NewMemoryReplayCache(max(n, saml2sp.DefaultReplayCacheSize), benchNow)
		}},
		{"store=postgres", postgresCache},
	} {
		b.Run(tc.name, func(b *testing.B) {
			idp, err := saml2sptest.NewIdP("https://idp.example.com")
			require.NoError(b, err)
			idp.Clock = benchNow
			ep, err := saml2sp.EndpointsAt("https://app.example.com/saml/")
			require.NoError(b, err)
			bodies := mintBodies(b, idp, ep, b.N)
			cfg := saml2sp.Config{
				IdP:               idp.IdentityProvider(),
				AllowIdPInitiated: true,
				Clock:             benchNow,
				ReplayCache:       tc.cache(b, b.N),
				Logger:            slog.New(slog.DiscardHandler),
			}
			ep.Apply(&cfg)
			sp, err := saml2sp.New(cfg)
			require.NoError(b, err)
			h := sp.ACSHandler(saml2sp.Hooks{
				OnLogin: func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
					http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
					return nil
				},
			})

			latencies := make([]time.Duration, b.N)
			var next, failed atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					req := httptest.NewRequest(http.MethodPost, ep.ACSURL, strings.NewReader(bodies[i]))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					w := httptest.NewRecorder()
					t := time.Now()
					h.ServeHTTP(w, req)
					latencies[i] = time.Since(t)
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

// postgresCache returns the cache of one run of BenchmarkACSLogin: a
// store on fresh tables, with its pool's connections open and its
// statements prepared, so that the timer sees only logins.
func postgresCache(b *testing.B, _ int) saml2sp.ReplayCache {
	s, _ := newStore(b, testDSN(b), pgstore.Options{Clock: benchNow})
	var wg sync.WaitGroup
	for i := range 2 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(b, s.CheckAndStore(context.Background(), fmt.Sprint("warm-up:", i), benchTime.Add(time.Minute)))
		}()
	}
	wg.Wait()
	return s
}

// mintBodies returns n form bodies, each a distinct signed IdP-initiated
// Response, signed on every CPU.
func mintBodies(b *testing.B, idp *saml2sptest.IdP, ep saml2sp.Endpoints, n int) []string {
	b.Helper()
	bodies := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				v, err := idp.Response(saml2sptest.Response{Destination: ep.ACSURL, Audience: ep.EntityID})
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				bodies[i] = url.Values{"SAMLResponse": {v}}.Encode()
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	return bodies
}

// BenchmarkCheckAndStore is the store's share of a login: one
// CheckAndStore of a new ID (an INSERT and its commit), from GOMAXPROCS
// goroutines, with its latency at p50 and p99.
func BenchmarkCheckAndStore(b *testing.B) {
	s := postgresCache(b, 0)
	latencies := make([]time.Duration, b.N)
	var next, failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			t := time.Now()
			if err := s.CheckAndStore(context.Background(), fmt.Sprint("assertion:https://idp.example.com:_", i), benchTime.Add(time.Minute)); err != nil {
				failed.Add(1)
			}
			latencies[i] = time.Since(t)
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d calls failed", n, b.N)
	}
	slices.Sort(latencies)
	b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
	b.ReportMetric(ms(latencies[len(latencies)*99/100]), "p99-ms")
}
