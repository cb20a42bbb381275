package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/saml2sp/saml2sp"
)

// samlGate serves the SAML endpoints (/saml/) once the SP exists. An SP
// needs its IdP, and an IdP known by its metadata URL may not answer yet:
// SimpleSAMLphp, for one, fails its own metadata until it can fetch the
// SP's, so an app that waited for the IdP before serving anything would
// wait forever. Until the SP is ready the gate serves the SP metadata
// (the IdP may be waiting for it) and answers every other SAML endpoint
// 503 with the reason; the home page shows the reason too.
type samlGate struct {
	// ready holds the SP and its handler once built; nil until then.
	ready atomic.Pointer[readySP]
	// metadataPath and metadata serve the SP metadata before ready.
	metadataPath string
	metadata     []byte
	// source names where the IdP comes from, for the messages.
	source string

	mu       sync.Mutex
	lastErr  error
	attempts int
	next     time.Time
}

// readySP is the SP in service and the handler of its endpoints.
type readySP struct {
	sp      *saml2sp.SP
	handler http.Handler
	loaded  time.Time // when the IdP's metadata was first loaded
}

// gateStatus is what the pages say about single sign-on.
type gateStatus struct {
	Ready bool
	// Source names the IdP's metadata (URL, file or the development IdP).
	Source string
	// Err is the last failure while not ready; Attempts how many fetches
	// failed, and Next when the next one starts.
	Err      string
	Attempts int
	Next     time.Time
}

// Status returns the gate's state.
func (g *samlGate) Status() gateStatus {
	if g.ready.Load() != nil {
		return gateStatus{Ready: true, Source: g.source}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	st := gateStatus{Source: g.source, Attempts: g.attempts, Next: g.next}
	if g.lastErr != nil {
		st.Err = g.lastErr.Error()
	}
	return st
}

// SP returns the SP in service, or nil before it is ready.
func (g *samlGate) SP() *saml2sp.SP {
	if r := g.ready.Load(); r != nil {
		return r.sp
	}
	return nil
}

func (g *samlGate) install(r *readySP) { g.ready.Store(r) }

func (g *samlGate) failed(err error, next time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastErr, g.next = err, next
	g.attempts++
}

// ServeHTTP serves the SAML endpoints, or the SP metadata and 503s while
// the SP is not ready.
func (g *samlGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ready := g.ready.Load(); ready != nil {
		ready.handler.ServeHTTP(w, r)
		return
	}
	if r.URL.Path == g.metadataPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Header().Set("Cache-Control", "no-store") // it is served before the SP is ready
		if r.Method == http.MethodGet {
			_, _ = w.Write(g.metadata)
		}
		return
	}
	st := g.Status()
	msg := "Single sign-on is not available yet: the app has not loaded the IdP metadata from " + st.Source + "."
	if st.Err != "" {
		msg += fmt.Sprintf(" Attempt %d failed: %s. The app keeps trying (next attempt at %s); try again in a moment.",
			st.Attempts, st.Err, st.Next.Format(time.TimeOnly))
	}
	w.Header().Set("Retry-After", "5")
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, http.StatusServiceUnavailable)
}

// backoff paces retries: First, then doubling up to Max, each wait with
// up to a fifth of random jitter so that restarted replicas do not fetch
// in step.
type backoff struct {
	First, Max time.Duration
}

func (b backoff) wait(attempt int) time.Duration {
	d := b.First
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d + rand.N(d/5+1)
}

// fetchAndInstall fetches the IdP metadata with fetch until it succeeds
// and build accepts it, waiting by b between attempts, then installs the
// SP. It returns the SP, or nil when ctx ends first.
func (g *samlGate) fetchAndInstall(ctx context.Context, fetch func(context.Context) (*saml2sp.IdentityProvider, error),
	build func(*saml2sp.IdentityProvider) (*readySP, error), b backoff, logger *slog.Logger) *saml2sp.SP {
	for attempt := 1; ; attempt++ {
		ready, err := g.try(ctx, fetch, build)
		if err == nil {
			g.install(ready)
			logger.Info("IdP metadata loaded: single sign-on is ready", "metadata", g.source, "attempts", attempt)
			return ready.sp
		}
		wait := b.wait(attempt)
		g.failed(err, time.Now().Add(wait))
		logger.Warn("IdP metadata unavailable; single sign-on waits for it", "metadata", g.source, "attempt", attempt,
			"retry_in", wait.Round(time.Millisecond).String(), "error", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func (g *samlGate) try(ctx context.Context, fetch func(context.Context) (*saml2sp.IdentityProvider, error),
	build func(*saml2sp.IdentityProvider) (*readySP, error)) (*readySP, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	idp, err := fetch(ctx)
	if err != nil {
		return nil, err
	}
	return build(idp)
}
