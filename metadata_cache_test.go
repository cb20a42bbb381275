package saml2sp

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
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
)

// mdClock is a clock tests move by hand.
type mdClock struct {
	mu sync.Mutex
	t  time.Time
}

func newMDClock() *mdClock { return &mdClock{t: time.Now()} }

func (c *mdClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *mdClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mdMetadataServer serves metadata documents by path, counting fetches
// and the fetches in flight; while gate is set, each fetch waits for it.
type mdMetadataServer struct {
	*httptest.Server
	mu       sync.Mutex
	docs     map[string]string
	hits     map[string]int
	gate     chan struct{}
	inflight atomic.Int32
	most     atomic.Int32 // the most fetches in flight at once
	etags    bool         // answer 304 to a matching If-None-Match
}

func newMDMetadataServer(t *testing.T) *mdMetadataServer {
	s := &mdMetadataServer{docs: map[string]string{}, hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *mdMetadataServer) serve(w http.ResponseWriter, r *http.Request) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	s.mu.Lock()
	s.hits[r.URL.Path]++
	doc, ok := s.docs[r.URL.Path]
	gate, etags := s.gate, s.etags
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if !ok {
		http.Error(w, "no such metadata", http.StatusInternalServerError)
		return
	}
	etag := fmt.Sprintf(`"%x"`, len(doc)) + fmt.Sprintf(`"%d"`, strings.Count(doc, "a"))
	if etags {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write([]byte(doc))
}

func (s *mdMetadataServer) set(path, doc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = doc
}

func (s *mdMetadataServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *mdMetadataServer) setGate(g chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = g
}

// newTestCache is a cache of srv's documents on clock, logging to logs.
func newTestCache(srv *mdMetadataServer, clock *mdClock, logs *bytes.Buffer) *MetadataCache {
	if logs == nil {
		logs = new(bytes.Buffer)
	}
	return &MetadataCache{
		Client: srv.Client(),
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		now:    clock.Now,
	}
}

// settle waits until no fetch of the document of src is under way.
func (c *MetadataCache) settle(src MetadataSource) {
	c.mu.Lock()
	d := c.docs[src.documentKey()]
	c.mu.Unlock()
	if d == nil {
		return
	}
	d.mu.Lock()
	ch := d.inflight
	d.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// mdTwoIdPs is the metadata of one IdP, once with its first certificate
// and once rolled over to a second, with its SSO URL moved.
func mdTwoIdPs(t *testing.T) (before, after string, c1, c2 *x509.Certificate) {
	c1, _ = mdTestCert(t, "idp-2026")
	c2, _ = mdTestCert(t, "idp-2027")
	before = mdBaseDoc(c1)
	after = strings.Replace(mdBaseDoc(c2), "https://idp.example.com/sso", "https://login.idp.example.com/sso", 1)
	return before, after, c1, c2
}

func TestMetadataCacheSharesTheFirstFetch(t *testing.T) {
	srv := newMDMetadataServer(t)
	doc, _, c1, _ := mdTwoIdPs(t)
	srv.set("/md", doc)
	gate := make(chan struct{})
	srv.setGate(gate)
	cache := newTestCache(srv, newMDClock(), nil)
	src := MetadataSource{URL: srv.URL + "/md"}

	const lookups = 50
	idps := make([]*IdentityProvider, lookups)
	var wg sync.WaitGroup
	for i := range lookups {
		wg.Go(func() {
			var err error
			idps[i], err = cache.IdentityProvider(context.Background(), src)
			assert.NoError(t, err)
		})
	}
	require.Eventually(t, func() bool { return srv.count("/md") == 1 }, 10*time.Second, time.Millisecond)
	close(gate)
	wg.Wait()
	assert.Equal(t, 1, srv.count("/md"), "concurrent first lookups share one fetch")
	for _, idp := range idps {
		require.Same(t, idps[0], idp)
	}
	assert.True(t, idps[0].Certificates[0].Equal(c1))

	again, err := cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)
	assert.Same(t, idps[0], again, "a later lookup reads the copy in memory")
	assert.Equal(t, 1, srv.count("/md"))
}

// TestMetadataCacheKeyMissFlood: however many messages signed with an
// unknown key arrive, the document is fetched at most once per
// MinFetchInterval, and the first miss after the interval fetches at once.
func TestMetadataCacheKeyMissFlood(t *testing.T) {
	srv := newMDMetadataServer(t)
	before, after, _, c2 := mdTwoIdPs(t)
	srv.set("/md", before)
	clock := newMDClock()
	cache := newTestCache(srv, clock, nil)
	src := MetadataSource{URL: srv.URL + "/md"}
	idp, err := cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)
	require.Equal(t, 1, srv.count("/md"))

	flood := func() {
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(idp.keyMiss)
		}
		wg.Wait()
		cache.settle(src)
	}
	flood()
	assert.Equal(t, 1, srv.count("/md"), "within a minute of the first fetch: no fetch")

	srv.set("/md", after)
	clock.Advance(DefaultMinFetchInterval)
	flood()
	assert.Equal(t, 2, srv.count("/md"), "one fetch for the whole flood")
	rolled, err := cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)
	assert.True(t, rolled.Certificates[0].Equal(c2), "the next lookup has the new key")

	clock.Advance(DefaultMinFetchInterval - time.Nanosecond)
	flood()
	rolled.keyMiss()
	cache.settle(src)
	assert.Equal(t, 2, srv.count("/md"), "still within the interval")
	clock.Advance(time.Nanosecond)
	flood()
	assert.Equal(t, 3, srv.count("/md"))
}

// TestMetadataCacheFailedFetch: a document that cannot be fetched is not
// fetched again before MinFetchInterval; lookups get the last error.
func TestMetadataCacheFailedFetch(t *testing.T) {
	srv := newMDMetadataServer(t)
	clock := newMDClock()
	cache := newTestCache(srv, clock, nil)
	src := MetadataSource{URL: srv.URL + "/missing"}
	_, err := cache.IdentityProvider(context.Background(), src)
	require.ErrorIs(t, err, ErrMetadata)
	assert.Contains(t, err.Error(), "HTTP status 500")
	for range 10 {
		_, err2 := cache.IdentityProvider(context.Background(), src)
		require.Equal(t, err, err2)
	}
	assert.Equal(t, 1, srv.count("/missing"))

	doc, _, _, _ := mdTwoIdPs(t)
	srv.set("/missing", doc)
	clock.Advance(DefaultMinFetchInterval)
	_, err = cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)
	assert.Equal(t, 2, srv.count("/missing"))
}

// TestMetadataCacheBoundsConcurrentFetches: many tenants looked up at
// once, or refreshed at once by Run, never make more than
// MaxConcurrentFetches fetches at a time.
func TestMetadataCacheBoundsConcurrentFetches(t *testing.T) {
	const tenants, bound = 20, 3
	srv := newMDMetadataServer(t)
	doc, _, _, _ := mdTwoIdPs(t)
	for i := range tenants {
		srv.set(fmt.Sprintf("/tenant/%d", i), doc)
	}
	clock := newMDClock()
	cache := newTestCache(srv, clock, nil)
	cache.MaxConcurrentFetches = bound
	src := func(i int) MetadataSource { return MetadataSource{URL: fmt.Sprintf("%s/tenant/%d", srv.URL, i)} }

	run := func(start func(i int)) {
		gate := make(chan struct{})
		srv.setGate(gate)
		srv.most.Store(0)
		var wg sync.WaitGroup
		for i := range tenants {
			wg.Go(func() { start(i) })
		}
		require.Eventually(t, func() bool { return srv.inflight.Load() == bound }, 10*time.Second, time.Millisecond)
		time.Sleep(50 * time.Millisecond) // room for a fetch past the bound to show up
		srv.setGate(nil)
		close(gate)
		wg.Wait()
		assert.Equal(t, int32(bound), srv.most.Load(), "fetches in flight at once")
	}
	t.Run("first lookups", func(t *testing.T) {
		run(func(i int) {
			_, err := cache.IdentityProvider(context.Background(), src(i))
			assert.NoError(t, err)
		})
	})
	t.Run("background refresh", func(t *testing.T) {
		clock.Advance(2 * mdDefaultRefresh)
		run(func(i int) {
			if i == 0 {
				cache.sweep(context.Background())
			}
		})
		for i := range tenants {
			cache.settle(src(i))
			assert.Equal(t, 2, srv.count(fmt.Sprintf("/tenant/%d", i)), "tenant %d refreshed once", i)
		}
	})
}

// mdLogRecords decodes the JSON log lines in logs.
func mdLogRecords(t *testing.T, logs *bytes.Buffer) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		out = append(out, rec)
	}
	return out
}

func mdLogged(recs []map[string]any, level, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["level"] == level && strings.Contains(r["msg"].(string), msg) {
			out = append(out, r)
		}
	}
	return out
}

// TestMetadataCacheLogsChanges: a refresh that changes keys or endpoints
// is logged at Info with the fingerprints and endpoints that came and
// went; one that changes nothing logs nothing above Debug.
func TestMetadataCacheLogsChanges(t *testing.T) {
	srv := newMDMetadataServer(t)
	before, after, c1, c2 := mdTwoIdPs(t)
	srv.set("/md", before)
	clock := newMDClock()
	logs := new(bytes.Buffer)
	cache := newTestCache(srv, clock, logs)
	src := MetadataSource{URL: srv.URL + "/md"}
	idp, err := cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)

	refresh := func() {
		logs.Reset()
		clock.Advance(2 * mdDefaultRefresh)
		cache.sweep(context.Background())
		cache.settle(src)
	}
	refresh()
	recs := mdLogRecords(t, logs)
	assert.Empty(t, mdLogged(recs, "INFO", ""), "an unchanged refresh logs nothing at Info")
	assert.NotEmpty(t, mdLogged(recs, "DEBUG", "refreshed, unchanged"))

	srv.set("/md", after)
	refresh()
	changes := mdLogged(mdLogRecords(t, logs), "INFO", "IdP metadata changed")
	require.Len(t, changes, 1, logs.String())
	rec := changes[0]
	assert.Equal(t, src.URL, rec["url"])
	assert.Equal(t, idp.EntityID, rec["idp"])
	assert.Equal(t, []any{"SHA-256 " + mdFingerprint(c2)}, rec["certificates_added"])
	assert.Equal(t, []any{"SHA-256 " + mdFingerprint(c1)}, rec["certificates_removed"])
	assert.Equal(t, []any{"SingleSignOnService HTTP-Redirect https://login.idp.example.com/sso"}, rec["endpoints_added"])
	assert.Equal(t, []any{"SingleSignOnService HTTP-Redirect https://idp.example.com/sso"}, rec["endpoints_removed"])
	assert.NotContains(t, rec, "want_authn_requests_signed")
}

// TestMetadataCacheAggregate: the entities of one aggregate share its
// fetch; an unusable entity fails alone; a used entity that turns
// unusable keeps the metadata in force, one that is removed is gone.
func TestMetadataCacheAggregate(t *testing.T) {
	srv := newMDMetadataServer(t)
	cert, _ := mdTestCert(t, "idp")
	good := mdBaseDoc(cert)
	a, b := mdWithEntityID(good, "https://a.example/idp"), mdWithEntityID(good, "https://b.example/idp")
	broken := strings.Replace(mdWithEntityID(good, "https://broken.example/idp"), "https://idp.example.com/sso", "javascript:alert(1)", 1)
	const sp = `<md:EntityDescriptor entityID="https://sp.example/"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`
	srv.set("/fed", mdAggregate("", mdEntityOf(a), mdEntityOf(b), mdEntityOf(broken), sp))
	clock := newMDClock()
	logs := new(bytes.Buffer)
	cache := newTestCache(srv, clock, logs)
	lookup := func(id string) (*IdentityProvider, error) {
		return cache.IdentityProvider(context.Background(), MetadataSource{URL: srv.URL + "/fed", EntityID: id})
	}
	for _, tc := range []struct {
		name, id, wantErr string
	}{
		{name: "first IdP", id: "https://a.example/idp"},
		{name: "second IdP", id: "https://b.example/idp"},
		{name: "unusable IdP", id: "https://broken.example/idp", wantErr: "javascript:alert(1)"},
		{name: "service provider", id: "https://sp.example/", wantErr: "no IDPSSODescriptor"},
		{name: "unknown entity", id: "https://nope.example/", wantErr: `no entity "https://nope.example/"`},
		{name: "no entity ID", id: "", wantErr: "lists 3 identity providers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp, err := lookup(tc.id)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, ErrMetadata)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.id, idp.EntityID)
		})
	}
	assert.Equal(t, 1, srv.count("/fed"), "one fetch for every entity")

	// a breaks, b is removed.
	aBefore, err := lookup("https://a.example/idp")
	require.NoError(t, err)
	srv.set("/fed", mdAggregate("", mdEntityOf(strings.Replace(a, "https://idp.example.com/sso", "javascript:alert(2)", 1)), sp))
	logs.Reset()
	clock.Advance(2 * mdDefaultRefresh)
	cache.sweep(context.Background())
	cache.settle(MetadataSource{URL: srv.URL + "/fed"})
	aAfter, err := lookup("https://a.example/idp")
	require.NoError(t, err, "a used IdP whose entity broke keeps the metadata in force")
	assert.Same(t, aBefore, aAfter)
	_, err = lookup("https://b.example/idp")
	require.ErrorContains(t, err, `no entity "https://b.example/idp"`, "a removed IdP is no longer trusted")
	recs := mdLogRecords(t, logs)
	assert.Len(t, mdLogged(recs, "WARN", "new metadata is unusable; keeping the metadata in force"), 1, logs.String())
	assert.Len(t, mdLogged(recs, "WARN", "IdP removed from its metadata"), 1, logs.String())
}

// TestMetadataCacheConditionalFetch: a server that answers 304 Not
// Modified spares the parse; the IdPs stay the same objects.
func TestMetadataCacheConditionalFetch(t *testing.T) {
	srv := newMDMetadataServer(t)
	srv.etags = true
	doc, _, _, _ := mdTwoIdPs(t)
	srv.set("/md", doc)
	clock := newMDClock()
	cache := newTestCache(srv, clock, nil)
	src := MetadataSource{URL: srv.URL + "/md"}
	first, err := cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)
	clock.Advance(2 * mdDefaultRefresh)
	cache.sweep(context.Background())
	cache.settle(src)
	require.Equal(t, 2, srv.count("/md"))
	again, err := cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)
	assert.Same(t, first, again)
}

// TestMetadataCacheForgetsIdleDocuments: Run forgets a document nobody
// looked up in IdleTimeout; IdPs read from it before no longer trigger
// fetches, and the next lookup fetches it afresh.
func TestMetadataCacheForgetsIdleDocuments(t *testing.T) {
	srv := newMDMetadataServer(t)
	doc, _, _, _ := mdTwoIdPs(t)
	srv.set("/md", doc)
	clock := newMDClock()
	cache := newTestCache(srv, clock, nil)
	cache.IdleTimeout = time.Hour
	src := MetadataSource{URL: srv.URL + "/md"}
	idp, err := cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)

	clock.Advance(30 * time.Minute)
	cache.sweep(context.Background())
	require.Len(t, cache.docs, 1, "used half an hour ago")
	clock.Advance(31 * time.Minute)
	cache.sweep(context.Background())
	require.Empty(t, cache.docs, "idle for an hour")

	idp.keyMiss()
	idp.source.mu.Lock()
	ch := idp.source.inflight
	idp.source.mu.Unlock()
	if ch != nil {
		<-ch
	}
	assert.Equal(t, 1, srv.count("/md"), "an evicted document is not fetched again")
	_, err = cache.IdentityProvider(context.Background(), src)
	require.NoError(t, err)
	assert.Equal(t, 2, srv.count("/md"))
}

// TestMetadataCacheDefaultClient: without a Client of its own, the cache
// refuses to fetch from internal addresses.
func TestMetadataCacheDefaultClient(t *testing.T) {
	srv := newMDMetadataServer(t)
	doc, _, _, _ := mdTwoIdPs(t)
	srv.set("/md", doc)
	cache := &MetadataCache{Logger: slog.New(slog.DiscardHandler)}
	_, err := cache.IdentityProvider(context.Background(), MetadataSource{URL: srv.URL + "/md"})
	require.ErrorIs(t, err, ErrMetadata)
	require.ErrorIs(t, err, ErrInternalAddress)
	assert.Equal(t, 0, srv.count("/md"))
}

// TestMetadataCacheRun: Run refreshes in the background until its
// context ends.
func TestMetadataCacheRun(t *testing.T) {
	srv := newMDMetadataServer(t)
	doc, _, _, _ := mdTwoIdPs(t)
	srv.set("/md", doc)
	cache := &MetadataCache{Client: srv.Client(), Logger: slog.New(slog.DiscardHandler),
		MinFetchInterval: 20 * time.Millisecond, RefreshInterval: 20 * time.Millisecond}
	_, err := cache.IdentityProvider(context.Background(), MetadataSource{URL: srv.URL + "/md"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		cache.Run(ctx)
		close(done)
	}()
	require.Eventually(t, func() bool { return srv.count("/md") >= 3 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

// TestMetadataRefreshBeforeExpiry: a document whose validUntil comes
// before the refresh interval is over is refreshed at half the time left,
// so that its IdPs never expire while the IdP keeps publishing.
func TestMetadataRefreshBeforeExpiry(t *testing.T) {
	f := &mdFetcher{minInterval: time.Minute, interval: 6 * time.Hour}
	now := time.Now()
	for _, tc := range []struct {
		name     string
		snap     mdSnapshot
		min, max time.Duration
	}{
		{name: "interval", snap: mdSnapshot{}, min: 6*time.Hour - 36*time.Minute, max: 6 * time.Hour},
		{name: "far validUntil", snap: mdSnapshot{validUntil: now.Add(30 * 24 * time.Hour)}, min: 6*time.Hour - 36*time.Minute, max: 6 * time.Hour},
		{name: "near validUntil", snap: mdSnapshot{validUntil: now.Add(2 * time.Hour)}, min: 54 * time.Minute, max: time.Hour},
		{name: "validUntil all but passed", snap: mdSnapshot{validUntil: now.Add(time.Second)}, min: time.Minute, max: time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := f.refreshAfter(&tc.snap, now)
			assert.GreaterOrEqual(t, d, tc.min)
			assert.LessOrEqual(t, d, tc.max)
		})
	}
}
