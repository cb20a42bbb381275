package saml2sp

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of MetadataCache.
const (
	// DefaultMaxConcurrentFetches bounds the metadata fetches a
	// MetadataCache runs at once.
	DefaultMaxConcurrentFetches = 4
	// DefaultMinFetchInterval is the least time between two fetches of
	// one metadata document: the background refresh, a lookup after a
	// failed fetch, and the fetch a message signed with an unknown key
	// triggers all wait for it. After an IdP rolls its key over, logins
	// fail for at most this long.
	DefaultMinFetchInterval = time.Minute
	// DefaultMetadataIdleTimeout is how long a MetadataCache keeps a
	// document nobody looked up.
	DefaultMetadataIdleTimeout = 24 * time.Hour
)

// MetadataSource says where an IdP's metadata comes from and how far to
// trust it. It is also the key of a MetadataCache: tenants with equal
// sources share one document, one fetch and one *IdentityProvider.
type MetadataSource struct {
	// URL of the metadata document. Required. It must be https, as for
	// FetchMetadata, unless Signers is set or InsecureAllowHTTP.
	URL string
	// EntityID selects one IdP of a document that lists several, such as
	// a federation's aggregate. Empty means the document must describe
	// exactly one IdP.
	EntityID string
	// Signers, when set, are the certificates of which one must have
	// signed the document (see MetadataSigners). A federation's aggregate
	// should be read with its signing certificate.
	Signers []*x509.Certificate
	// MaxSize bounds the document in bytes (see MetadataMaxSize). Zero
	// means MaxMetadataSize (10 MiB); an aggregate needs more.
	MaxSize int
	// InsecureAllowHTTP fetches a plain http URL on any host (see the
	// InsecureAllowHTTP option).
	InsecureAllowHTTP bool
}

// options turns src into the options of FetchMetadata.
func (src MetadataSource) options() mdOptions {
	opts := []MetadataOption{MetadataSigners(src.Signers...)}
	if src.MaxSize != 0 {
		opts = append(opts, MetadataMaxSize(src.MaxSize))
	}
	if src.InsecureAllowHTTP {
		opts = append(opts, InsecureAllowHTTP())
	}
	return mdOptionsOf(opts)
}

// documentKey identifies the document src reads: everything but EntityID.
func (src MetadataSource) documentKey() string {
	var b strings.Builder
	b.WriteString(src.URL)
	b.WriteString("\x00")
	b.WriteString(strconv.Itoa(src.MaxSize))
	if src.InsecureAllowHTTP {
		b.WriteString("\x00insecure-http")
	}
	fps := make([]string, 0, len(src.Signers))
	for _, c := range src.Signers {
		if c != nil {
			fps = append(fps, mdFingerprint(c))
		}
	}
	slices.Sort(fps)
	for _, fp := range fps {
		b.WriteString("\x00")
		b.WriteString(fp)
	}
	return b.String()
}

// MetadataCache holds the metadata of the IdPs of many SPs, such as the
// tenants of a multi-tenant app, each fetched from its metadata URL, and
// keeps it fresh, in the manner of go-oidc's remote key set:
//
//   - IdentityProvider returns the IdP of a MetadataSource: after the
//     first fetch, a map lookup; the first lookup fetches, and concurrent
//     first lookups share that one fetch.
//   - Run refreshes, in the background, every document some SP asked for,
//     at most MaxConcurrentFetches at a time, and forgets documents nobody
//     asked for in IdleTimeout.
//   - Every *IdentityProvider it returns remembers its document. When an
//     SP built with it (once, or for each request) receives a message
//     signed with a key the IdP's metadata does not list, which is how an
//     IdP's key rollover first shows, the document is fetched again at
//     once, in the background, at most once per MinFetchInterval however
//     many such messages arrive. The message itself stays refused; the
//     next login uses the new keys. So after a rollover, logins fail for
//     at most MinFetchInterval, instead of until the next refresh.
//
// A fetch that fails keeps the metadata in force (its validUntil still
// applies) and is retried after MinFetchInterval; a lookup of a document
// that never fetched returns the last error until then. A refresh that
// changes an IdP's signing certificates or endpoints is logged at Info,
// naming each certificate that came or went by its SHA-256 fingerprint.
//
// The zero value is ready to use. Set the fields before the first call
// and do not change them afterwards. A MetadataCache must not be copied
// after first use.
type MetadataCache struct {
	// Client fetches the documents. Nil means a client whose dialer refuses
	// internal addresses (RefuseInternalAddress), without proxy, with a
	// DefaultMetadataTimeout timeout: tenants supply their own metadata
	// URLs, and without it any of them could make the app fetch from its
	// internal network or its cloud provider's metadata service. Set a
	// client of your own to fetch from internal hosts (for development,
	// http://localhost).
	Client *http.Client
	// Logger receives fetch failures and metadata changes. Nil means
	// slog.Default().
	Logger *slog.Logger
	// MaxConcurrentFetches bounds the fetches in flight at once, for all
	// documents and whatever started them. Zero means
	// DefaultMaxConcurrentFetches.
	MaxConcurrentFetches int
	// MinFetchInterval is the least time between two fetches of one
	// document. Zero means DefaultMinFetchInterval (one minute). A shorter
	// one lets a stream of messages signed with unknown keys (anyone can
	// send them) make the app fetch that often.
	MinFetchInterval time.Duration
	// RefreshInterval is how often Run fetches each document again. Zero
	// means the shortest cacheDuration of its IdPs, capped at a day, or an
	// hour when none is given. A document is fetched sooner when half the
	// time left before its earliest validUntil is shorter, and never more
	// often than MinFetchInterval.
	RefreshInterval time.Duration
	// IdleTimeout is how long Run keeps a document that no lookup asked
	// for. Zero means DefaultMetadataIdleTimeout (a day).
	IdleTimeout time.Duration

	once sync.Once
	f    *mdFetcher
	mu   sync.Mutex
	docs map[string]*mdDoc
	// now is the clock of the rate limits and idle times; tests set it.
	now func() time.Time
}

func (c *MetadataCache) init() {
	c.once.Do(func() {
		client := c.Client
		if client == nil {
			client = newGuardedClient()
		}
		logger := c.Logger
		if logger == nil {
			logger = slog.Default()
		}
		n := c.MaxConcurrentFetches
		if n <= 0 {
			n = DefaultMaxConcurrentFetches
		}
		minInterval := c.MinFetchInterval
		if minInterval <= 0 {
			minInterval = DefaultMinFetchInterval
		}
		now := c.now
		if now == nil {
			now = time.Now
		}
		interval := c.RefreshInterval
		if interval > 0 {
			interval = max(interval, minInterval)
		}
		c.f = &mdFetcher{client: client, logger: logger, minInterval: minInterval, interval: interval,
			sem: make(chan struct{}, n), now: now}
		c.docs = map[string]*mdDoc{}
	})
}

// newGuardedClient is MetadataCache's default client.
func newGuardedClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: RefuseInternalAddress}
	return &http.Client{
		Timeout: DefaultMetadataTimeout,
		Transport: &http.Transport{
			Proxy:                 nil, // the dialer would see the proxy's address, not the IdP's
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
}

// IdentityProvider returns the IdP src describes, as last fetched: for an
// SP built with it, for example per request by a TenantResolver. The
// first call for a document fetches it (bounded by ctx and by
// DefaultMetadataTimeout); later calls read the copy in memory. The
// *IdentityProvider is shared: do not modify it.
//
// Errors wrap ErrMetadata: the fetch failed (the last failure is returned
// until MinFetchInterval has passed), the document is unusable, or the
// entity is missing or unusable (other entities of the document are not
// affected).
func (c *MetadataCache) IdentityProvider(ctx context.Context, src MetadataSource) (*IdentityProvider, error) {
	c.init()
	if src.URL == "" {
		return nil, fmt.Errorf("%w: MetadataSource.URL is required", ErrMetadata)
	}
	for {
		d := c.document(src)
		snap, err := d.wait(ctx)
		if err != nil {
			if d.isEvicted() {
				continue // forgotten meanwhile: look it up afresh
			}
			return nil, err
		}
		if d.due(c.f.now()) {
			d.trigger() // Run is late or not running
		}
		e := snap.entry(src.EntityID)
		if e.err != nil {
			return nil, fmt.Errorf("%w: from %s: %w", ErrMetadata, mdQuote(src.URL), e.err)
		}
		if !e.used.Load() {
			e.used.Store(true)
		}
		return e.idp, nil
	}
}

// document returns the document of src, created on first use, and
// records the lookup.
func (c *MetadataCache) document(src MetadataSource) *mdDoc {
	key := src.documentKey()
	c.mu.Lock()
	d, ok := c.docs[key]
	if !ok {
		d = newMDDoc(c.f, src)
		c.docs[key] = d
	}
	c.mu.Unlock()
	d.lastUsed.Store(c.f.now().UnixNano())
	return d
}

func (d *mdDoc) isEvicted() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.evicted
}

// due reports whether the document should be fetched again now.
func (d *mdDoc) due(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inflight == nil && !d.refreshAt.IsZero() && !now.Before(d.refreshAt)
}

// Run refreshes the cached documents until ctx ends: each when it is due
// (RefreshInterval), at most MaxConcurrentFetches at a time, and forgets
// those no lookup asked for in IdleTimeout. Start it in its own goroutine.
// Without it, lookups still fetch what they miss and refresh what is due,
// but nothing is ever forgotten.
func (c *MetadataCache) Run(ctx context.Context) {
	c.init()
	tick := min(c.f.minInterval/2, time.Minute)
	t := time.NewTicker(max(tick, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.sweep(ctx)
		}
	}
}

// sweep forgets idle documents and starts the fetches that are due, each
// once a slot is free.
func (c *MetadataCache) sweep(ctx context.Context) {
	now := c.f.now()
	idle := c.IdleTimeout
	if idle <= 0 {
		idle = DefaultMetadataIdleTimeout
	}
	var due []*mdDoc
	c.mu.Lock()
	for key, d := range c.docs {
		if now.Sub(time.Unix(0, d.lastUsed.Load())) > idle {
			delete(c.docs, key)
			d.mu.Lock()
			d.evicted = true
			d.mu.Unlock()
			continue
		}
		if d.due(now) {
			due = append(due, d)
		}
	}
	c.mu.Unlock()
	for _, d := range due {
		select {
		case c.f.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		d.mu.Lock()
		_, started := d.startLocked(c.f.now(), true)
		d.mu.Unlock()
		if !started {
			<-c.f.sem
		}
	}
}
