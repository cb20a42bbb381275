package saml2sp_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// lockedBuffer is a log destination that goroutines share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// refetchLog is what the SP logs when a message signed with an unknown
// key makes it fetch the IdP's metadata again.
const refetchLog = "fetching the metadata again in case the IdP rolled its key over"

// idpMetadataServer serves an IdP's metadata, which the test swaps, and
// counts the fetches.
type idpMetadataServer struct {
	*httptest.Server
	doc  atomic.Pointer[[]byte]
	hits atomic.Int32
}

func newIdPMetadataServer(t *testing.T, idp *saml2sptest.IdP) *idpMetadataServer {
	s := &idpMetadataServer{}
	s.serve(idp)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write(*s.doc.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *idpMetadataServer) serve(idp *saml2sptest.IdP) {
	md := idp.Metadata()
	s.doc.Store(&md)
}

// rolledOver is the test IdP after a key rollover: same entity ID and
// endpoints, a new key.
func rolledOver(t *testing.T, e *testEnv) *saml2sptest.IdP {
	t.Helper()
	rotated, err := saml2sptest.NewIdP(testIdPEntityID)
	require.NoError(t, err)
	rotated.Clock = e.idp.Clock
	return rotated
}

// TestKeyRolloverRefresher: the IdP rolls its key over and publishes new
// metadata; no timer fires, yet the first login signed with the new key
// fails and makes the refresher fetch the metadata once, and the next
// login works. Further messages with unknown keys fetch nothing more
// within the minute.
func TestKeyRolloverRefresher(t *testing.T) {
	e := newTestEnv(t)
	srv := newIdPMetadataServer(t, e.idp)
	logs := new(lockedBuffer)
	refresher := &saml2sp.MetadataRefresher{URL: srv.URL, Client: srv.Client(), Interval: time.Hour, Logger: logs.logger()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seeded := e.sp.IdentityProvider()
	go refresher.Run(ctx, e.sp)
	require.Eventually(t, func() bool { return e.sp.IdentityProvider() != seeded }, 10*time.Second, time.Millisecond,
		"Run links the IdP in force to its metadata URL")
	assert.Equal(t, int32(0), srv.hits.Load(), "without fetching it")

	rotated := rolledOver(t, e)
	srv.serve(rotated)
	first, err := rotated.Response(e.response())
	require.NoError(t, err)
	_, err = e.parse(first)
	require.ErrorIs(t, err, saml2sp.ErrSignature, "the message that reveals the rollover is refused")
	require.Eventually(t, func() bool { return e.sp.IdentityProvider().Certificates[0].Equal(rotated.Certificate) },
		10*time.Second, time.Millisecond)
	assert.Equal(t, int32(1), srv.hits.Load(), "one fetch")

	next, err := rotated.Response(e.response())
	require.NoError(t, err)
	a, err := e.parse(next)
	require.NoError(t, err, "the next login uses the new key")
	assert.Equal(t, "alice@example.com", a.NameID)

	attacker, err := saml2sptest.NewIdP(testIdPEntityID)
	require.NoError(t, err)
	attacker.Clock = e.idp.Clock
	for range 20 {
		forged, err := attacker.Response(e.response())
		require.NoError(t, err)
		_, err = e.parse(forged)
		require.ErrorIs(t, err, saml2sp.ErrSignature)
	}
	assert.Equal(t, 1, strings.Count(logs.String(), refetchLog), "rate-limited: no fetch within a minute of the last\n%s", logs)
	assert.Contains(t, logs.String(), "IdP metadata changed", "the rollover is logged at Info")
}

// TestKeyRolloverTenantCache: SPs built for each request from a
// MetadataCache get the same re-fetch: a login signed with the new key
// fails once, the cache fetches the metadata, and the SP built for the
// next request trusts the new key.
func TestKeyRolloverTenantCache(t *testing.T) {
	e := newTestEnv(t)
	srv := newIdPMetadataServer(t, e.idp)
	logs := new(lockedBuffer)
	// No minimum interval here: the rate limit has tests of its own, and
	// the first fetch of this test would hold back the re-fetch.
	cache := &saml2sp.MetadataCache{Client: srv.Client(), Logger: logs.logger(), MinFetchInterval: time.Nanosecond}
	src := saml2sp.MetadataSource{URL: srv.URL}
	spForRequest := func() *saml2sp.SP {
		idp, err := cache.IdentityProvider(context.Background(), src)
		require.NoError(t, err)
		cfg := e.cfg
		cfg.IdP = idp
		sp, err := saml2sp.New(cfg)
		require.NoError(t, err)
		return sp
	}
	parse := func(sp *saml2sp.SP, form string) error {
		_, err := sp.ParseResponse(context.Background(), form, []string{testRequestID})
		return err
	}
	require.NoError(t, parse(spForRequest(), e.mint(e.response())))
	require.Equal(t, int32(1), srv.hits.Load())

	rotated := rolledOver(t, e)
	srv.serve(rotated)
	first, err := rotated.Response(e.response())
	require.NoError(t, err)
	require.ErrorIs(t, parse(spForRequest(), first), saml2sp.ErrSignature)
	require.Eventually(t, func() bool {
		idp, err := cache.IdentityProvider(context.Background(), src)
		return err == nil && idp.Certificates[0].Equal(rotated.Certificate)
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, int32(2), srv.hits.Load())
	assert.Equal(t, 1, strings.Count(logs.String(), refetchLog))

	next, err := rotated.Response(e.response())
	require.NoError(t, err)
	require.NoError(t, parse(spForRequest(), next))
}

// TestKeyMissOnlyForUnknownKeys: a message signed by the IdP's own key
// whose content changed afterwards fetches nothing (the key is known);
// one signed by another key does.
func TestKeyMissOnlyForUnknownKeys(t *testing.T) {
	e := newTestEnv(t)
	srv := newIdPMetadataServer(t, e.idp)
	logs := new(lockedBuffer)
	refresher := &saml2sp.MetadataRefresher{URL: srv.URL, Client: srv.Client(), Interval: time.Hour, Logger: logs.logger()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seeded := e.sp.IdentityProvider()
	go refresher.Run(ctx, e.sp)
	require.Eventually(t, func() bool { return e.sp.IdentityProvider() != seeded }, 10*time.Second, time.Millisecond)

	doc := e.mintXML(e.response())
	nameID := doc.FindElement("//NameID")
	nameID.SetText("admin@example.com")
	_, err := e.parse(encodeDoc(t, doc))
	require.ErrorIs(t, err, saml2sp.ErrSignature)
	assert.NotContains(t, logs.String(), refetchLog, "a changed message under the known key fetches nothing")

	other := rolledOver(t, e)
	forged, err := other.Response(e.response())
	require.NoError(t, err)
	_, err = e.parse(forged)
	require.ErrorIs(t, err, saml2sp.ErrSignature)
	assert.Contains(t, logs.String(), refetchLog)
	require.Eventually(t, func() bool { return srv.hits.Load() == 1 }, 10*time.Second, time.Millisecond)
}

// TestKeyMissOnLogoutRequest: a LogoutRequest signed with the IdP's new
// key triggers the re-fetch too, by either binding.
func TestKeyMissOnLogoutRequest(t *testing.T) {
	for _, binding := range []string{saml2sp.BindingHTTPPost, saml2sp.BindingHTTPRedirect} {
		t.Run(binding, func(t *testing.T) {
			e := newSLOEnv(t)
			srv := newIdPMetadataServer(t, e.idp)
			refresher := &saml2sp.MetadataRefresher{URL: srv.URL, Client: srv.Client(), Interval: time.Hour, Logger: slog.New(slog.DiscardHandler)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			seeded := e.sp.IdentityProvider()
			go refresher.Run(ctx, e.sp)
			require.Eventually(t, func() bool { return e.sp.IdentityProvider() != seeded }, 10*time.Second, time.Millisecond)

			rotated := rolledOver(t, e)
			srv.serve(rotated)
			_, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, rotated, binding, logoutRequest()))
			require.ErrorIs(t, err, saml2sp.ErrSignature)
			require.Eventually(t, func() bool { return e.sp.IdentityProvider().Certificates[0].Equal(rotated.Certificate) },
				10*time.Second, time.Millisecond)
			_, err = e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, rotated, binding, logoutRequest()))
			require.NoError(t, err)
		})
	}
}
