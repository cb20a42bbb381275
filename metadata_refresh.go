package saml2sp

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"time"
)

// MetadataRefresher keeps one SP's IdP metadata fresh from the IdP's
// metadata URL, the way IdPs expect when they rotate signing keys: it
// fetches the metadata again every Interval and hands it to
// SP.SetIdentityProvider. A failed fetch keeps the metadata in force (and
// its validUntil, which the SP enforces, still applies) and is retried
// sooner.
//
// While Run runs, a message signed with a key the metadata in force does
// not list (how an IdP's key rollover first shows) makes it fetch the
// metadata at once, in the background, at most once a minute however many
// such messages arrive: after a rollover, logins fail for at most a minute
// rather than until the next refresh. The message itself stays refused.
// A refresh that changes the IdP's signing certificates or endpoints is
// logged at Info.
//
// For SPs built per request from a database (multi-tenant apps), use a
// MetadataCache instead.
type MetadataRefresher struct {
	// URL of the IdP metadata. Required.
	URL string
	// EntityID selects one IdP of a document that lists several (a
	// federation's aggregate). Empty means the document must describe
	// exactly one IdP.
	EntityID string
	// Signers, when set, are the certificates of which one must have
	// signed the document (see MetadataSigners).
	Signers []*x509.Certificate
	// MaxSize bounds the document in bytes (see MetadataMaxSize). Zero
	// means MaxMetadataSize.
	MaxSize int
	// Client fetches it; nil means FetchMetadata's default client.
	Client *http.Client
	// Interval between refreshes. Zero means the metadata's cacheDuration,
	// or one hour; it is never below one minute.
	Interval time.Duration
	// Logger receives refresh failures (metadata the SP refuses, such as
	// a weak key with Config.RejectWeakIdPKeys, is one) and changes. Nil
	// means slog.Default(). Warnings about metadata the SP accepts go to
	// its Config.Logger.
	Logger *slog.Logger
	// InsecureAllowHTTP fetches a plain http URL on any host (see
	// FetchMetadata and its InsecureAllowHTTP option): anyone on the
	// network path could then swap in their own signing key. http on
	// localhost and loopback addresses needs no opt-in.
	InsecureAllowHTTP bool

	// minInterval overrides minRefresh in tests.
	minInterval time.Duration
}

// minRefresh bounds how often an IdP's metadata URL is fetched, by the
// timer or because of a message signed with an unknown key.
const minRefresh = time.Minute

func (m *MetadataRefresher) source() MetadataSource {
	return MetadataSource{URL: m.URL, EntityID: m.EntityID, Signers: m.Signers, MaxSize: m.MaxSize, InsecureAllowHTTP: m.InsecureAllowHTTP}
}

func (m *MetadataRefresher) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.Default()
	}
	return m.Logger
}

// Refresh fetches the metadata once and installs it in sp.
func (m *MetadataRefresher) Refresh(ctx context.Context, sp *SP) error {
	src := m.source()
	opts := src.options()
	resp, err := mdGet(ctx, m.Client, m.URL, DefaultMetadataTimeout, opts, mdValidators{})
	if err != nil {
		return err
	}
	now := time.Now()
	read := mdReader(resp.body, opts, now)
	var idp *IdentityProvider
	if m.EntityID == "" {
		idp, err = mdParseSingle(read, now)
	} else {
		idp, err = mdParseEntity(read, m.EntityID, now)
	}
	if err != nil {
		return resp.parseError(err)
	}
	return sp.SetIdentityProvider(idp)
}

// Run refreshes sp's metadata until ctx ends, and fetches it again when
// a message is signed with a key it does not list. Start it in its own
// goroutine after New.
func (m *MetadataRefresher) Run(ctx context.Context, sp *SP) {
	minInterval := m.minInterval
	if minInterval == 0 {
		minInterval = minRefresh
	}
	interval := m.Interval
	if interval > 0 {
		interval = max(interval, minInterval)
	}
	logger := m.logger()
	client := m.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultMetadataTimeout}
	}
	f := &mdFetcher{client: client, logger: logger, minInterval: minInterval, interval: interval, now: time.Now}
	d := newMDDoc(f, m.source())
	d.onUpdate = func(snap *mdSnapshot) {
		e := snap.entry(m.EntityID)
		if e.err == nil {
			e.err = sp.SetIdentityProvider(e.idp)
		}
		if e.err != nil {
			logger.Warn("saml2sp: refreshing IdP metadata failed; keeping the current metadata", "url", m.URL, "error", e.err.Error())
		}
	}
	d.seed(sp)
	for {
		wait := time.Until(d.nextRefresh())
		select {
		case <-ctx.Done():
			d.mu.Lock()
			d.evicted = true // no more key-miss fetches for this SP
			d.mu.Unlock()
			return
		case <-time.After(wait):
		}
		d.mu.Lock()
		ch, _ := d.startLocked(f.now(), false)
		d.mu.Unlock()
		if ch != nil {
			select {
			case <-ch:
			case <-ctx.Done():
			}
		}
	}
}

// seed makes the IdP sp trusts now the document's first snapshot, linked
// to the document, so that a message signed with an unknown key fetches
// the metadata before the first refresh is due. Nothing is fetched.
func (d *mdDoc) seed(sp *SP) {
	cur := *sp.IdentityProvider()
	cur.source = d
	e := &mdEntry{idp: &cur}
	e.used.Store(true)
	snap := &mdSnapshot{entities: map[string]*mdEntry{cur.EntityID: e}, cacheDuration: cur.CacheDuration, validUntil: cur.ValidUntil}
	snap.idps.n, snap.idps.ids = 1, []string{cur.EntityID}
	snap.sole = e
	if err := sp.SetIdentityProvider(&cur); err != nil {
		d.f.logger.Warn("saml2sp: MetadataRefresher could not link the IdP in force", "error", err.Error())
	}
	d.mu.Lock()
	now := d.f.now()
	d.refreshAt = now.Add(d.f.refreshAfter(snap, now))
	d.mu.Unlock()
	d.snap.Store(snap)
}

// nextRefresh is when the refresher's timer fetches next.
func (d *mdDoc) nextRefresh() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.refreshAt
}
