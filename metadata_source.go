package saml2sp

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The machinery behind MetadataCache and MetadataRefresher: one metadata
// document (mdDoc), fetched from its URL at most once at a time
// (singleflight) and at most once per minimum interval, whatever asks for
// it (the first lookup, the background refresh, a message signed with a
// key the metadata does not list), parsed into a snapshot that lookups
// read without locks.

// mdFetcher is what the documents of one owner share.
type mdFetcher struct {
	client      *http.Client
	logger      *slog.Logger
	minInterval time.Duration // between two fetches of one document
	interval    time.Duration // between refreshes; 0: cacheDuration or 1h
	sem         chan struct{} // one slot per fetch in flight; nil: unbounded
	now         func() time.Time
}

// mdDefaultRefresh is how often metadata is fetched again when neither
// the owner nor the metadata (cacheDuration) says; mdMaxRefresh caps a
// long cacheDuration.
const (
	mdDefaultRefresh = time.Hour
	mdMaxRefresh     = 24 * time.Hour
)

// refreshAfter is how long snap stays fresh at now: the refresh interval,
// but no more than half the time left before its earliest validUntil (an
// IdP whose metadata expired is refused), with up to 10% taken off at
// random so that documents fetched together do not stay in step.
func (f *mdFetcher) refreshAfter(snap *mdSnapshot, now time.Time) time.Duration {
	d := f.interval
	if d == 0 {
		d = min(snap.cacheDuration, mdMaxRefresh)
	}
	if d == 0 {
		d = mdDefaultRefresh
	}
	if !snap.validUntil.IsZero() {
		d = min(d, snap.validUntil.Sub(now)/2)
	}
	d -= time.Duration(rand.Int64N(max(int64(d)/10, 0) + 1))
	return max(d, f.minInterval)
}

// mdDoc is one metadata document and what was read from it.
type mdDoc struct {
	f    *mdFetcher
	src  MetadataSource
	opts mdOptions
	// onUpdate, when set, receives each new snapshot (MetadataRefresher
	// installs it in its SP), before waiters are released.
	onUpdate func(*mdSnapshot)

	snap     atomic.Pointer[mdSnapshot] // nil until a fetch succeeded
	lastUsed atomic.Int64               // UnixNano of the last lookup

	mu         sync.Mutex
	inflight   chan struct{} // closed when the fetch under way ends
	attempt    time.Time     // when the last fetch started: the rate limit
	err        error         // the last fetch's error, nil once one succeeded
	validators mdValidators  // of the snapshot's document, for a conditional fetch
	refreshAt  time.Time     // when the background loop fetches next
	checked    time.Time     // when a fetch last succeeded (MetadataStatus)
	evicted    bool          // forgotten by its cache: no more fetches

	// weakWarned holds the SHA-256 of each weak signing certificate
	// already logged, so that SPs built for every request from this
	// document warn once, not at every login.
	weakWarned sync.Map
}

// firstWeakWarning reports whether cert's weak key has not been logged
// yet for this document, and records that it now is.
func (d *mdDoc) firstWeakWarning(cert *x509.Certificate) bool {
	_, seen := d.weakWarned.LoadOrStore(sha256.Sum256(cert.Raw), struct{}{})
	return !seen
}

func newMDDoc(f *mdFetcher, src MetadataSource) *mdDoc {
	return &mdDoc{f: f, src: src, opts: src.options()}
}

// mdEntry is one entity of a snapshot: its IdP, or why it cannot be used.
type mdEntry struct {
	idp *IdentityProvider
	err error
	// used: an SP asked for it, so its changes are logged at Info.
	used atomic.Bool
}

// mdSnapshot is what one fetch of a document yielded.
type mdSnapshot struct {
	entities map[string]*mdEntry // by entityID
	sole     *mdEntry            // the document's only IdP, or why there is none
	idps     mdIdPList           // for errors
	// cacheDuration is the shortest cacheDuration of its IdPs (0: none),
	// validUntil their earliest validUntil (zero: none).
	cacheDuration time.Duration
	validUntil    time.Time
}

// entry returns the entity entityID, or the document's only IdP for "".
func (s *mdSnapshot) entry(entityID string) *mdEntry {
	if entityID == "" {
		return s.sole
	}
	if e, ok := s.entities[entityID]; ok {
		return e
	}
	if s.idps.n == 0 {
		return &mdEntry{err: fmt.Errorf("no entity %s in the document, which lists no identity provider", mdQuote(entityID))}
	}
	return &mdEntry{err: fmt.Errorf("no entity %s in the document; it lists %d identity providers (%s)",
		mdQuote(entityID), s.idps.n, &s.idps)}
}

// parse reads a fetched document into a snapshot. Unlike
// ParseMetadataEntities it keeps going past an unusable entity: a
// federation's aggregate always holds a few, and only the SPs that ask
// for one should see its error.
func (d *mdDoc) parse(body []byte, now time.Time) (*mdSnapshot, error) {
	s := &mdSnapshot{entities: map[string]*mdEntry{}}
	var first *mdEntry
	entities := 0
	err := mdEntities(body, d.opts, now, func(e mdEntity) error {
		entities++
		id := e.entityID()
		var entry *mdEntry
		switch {
		case !e.isIdP():
			entry = &mdEntry{err: mdNotIdP(e)}
		default:
			idp, err := e.identityProvider(now)
			if idp != nil {
				idp.source = d
				if c := idp.CacheDuration; c > 0 && (s.cacheDuration == 0 || c < s.cacheDuration) {
					s.cacheDuration = c
				}
				if u := idp.ValidUntil; !u.IsZero() && (s.validUntil.IsZero() || u.Before(s.validUntil)) {
					s.validUntil = u
				}
			}
			entry = &mdEntry{idp: idp, err: err}
			s.idps.add(e)
			if s.idps.n == 1 {
				first = entry
			}
		}
		if _, dup := s.entities[id]; dup {
			entry = &mdEntry{err: fmt.Errorf("entity %s appears more than once in the document", mdQuote(id))}
		}
		s.entities[id] = entry
		if entities == 1 && !e.isIdP() {
			s.sole = entry
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case s.idps.n == 1:
		s.sole = first
	case s.idps.n > 1:
		s.sole = &mdEntry{err: fmt.Errorf("the document lists %d identity providers (%s); set MetadataSource.EntityID to choose one",
			s.idps.n, &s.idps)}
	case entities != 1:
		s.sole = &mdEntry{err: fmt.Errorf("none of the %d entities in the document has an IDPSSODescriptor: it describes no identity provider", entities)}
	}
	return s, nil
}

// start begins a fetch unless one is under way (it returns that one's
// channel) or the last began less than minInterval ago (nil). holding says
// the caller already holds a slot of f.sem for it. d.mu must be held.
func (d *mdDoc) startLocked(now time.Time, holding bool) (ch chan struct{}, started bool) {
	switch {
	case d.inflight != nil:
		return d.inflight, false
	case d.evicted, !d.attempt.IsZero() && now.Sub(d.attempt) < d.f.minInterval:
		return nil, false
	}
	d.attempt = now
	d.inflight = make(chan struct{})
	go d.fetch(d.inflight, holding)
	return d.inflight, true
}

// trigger starts a fetch if the rate limit allows, without waiting for
// it, and reports whether it started one.
func (d *mdDoc) trigger() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, started := d.startLocked(d.f.now(), false)
	return started
}

// keyMiss is called when a message was signed with a key that the
// metadata in force does not list, the way an IdP's key rollover first
// shows: the document is fetched again at once, unless it was fetched
// less than minInterval ago, so that a flood of such messages costs at
// most one fetch per interval. It never waits for the fetch.
//
// The message that triggered it stays refused; it is not verified again
// once the new keys arrive. Doing so would be sound (the keys come from
// the configured URL, never from the message), but it would hold the
// request, and its verification slot of the Limiter, for as long as the
// fetch takes (up to DefaultMetadataTimeout), and anyone can send such
// messages; and it would help one user once per rollover, who otherwise
// clicks "log in" again.
func (d *mdDoc) keyMiss() {
	if d.trigger() {
		d.f.logger.Info("saml2sp: a message was signed with a key the IdP's metadata does not list; fetching the metadata again in case the IdP rolled its key over",
			"url", d.src.URL)
	}
}

// wait returns the snapshot, fetching the document first if there is
// none yet (and the rate limit allows), or the last fetch's error.
func (d *mdDoc) wait(ctx context.Context) (*mdSnapshot, error) {
	if s := d.snap.Load(); s != nil {
		return s, nil
	}
	d.mu.Lock()
	ch, _ := d.startLocked(d.f.now(), false)
	err := d.err
	d.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: waiting for the metadata from %s: %w", ErrMetadata, mdQuote(d.src.URL), ctx.Err())
		}
		if s := d.snap.Load(); s != nil {
			return s, nil
		}
		d.mu.Lock()
		err = d.err
		d.mu.Unlock()
	}
	if err == nil {
		err = fmt.Errorf("%w: metadata from %s is no longer cached", ErrMetadata, mdQuote(d.src.URL))
	}
	return nil, err
}

// fetch runs one fetch and closes done when it has installed the result.
func (d *mdDoc) fetch(done chan struct{}, holding bool) {
	if d.f.sem != nil {
		if !holding {
			d.f.sem <- struct{}{}
		}
		defer func() { <-d.f.sem }()
	}
	old := d.snap.Load()
	d.mu.Lock()
	cond := d.validators
	d.mu.Unlock()
	if old == nil {
		cond = mdValidators{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultMetadataTimeout)
	defer cancel()
	resp, err := mdGet(ctx, d.f.client, d.src.URL, DefaultMetadataTimeout, d.opts, cond)
	now := d.f.now()
	snap := old
	if err == nil && !resp.notModified {
		if snap, err = d.parse(resp.body, now); err != nil {
			err = resp.parseError(err)
		} else {
			snap = keepUsable(old, snap, d.f.logger, d.src.URL)
		}
	}

	d.mu.Lock()
	if err != nil {
		d.err = err
		d.refreshAt = now.Add(d.f.minInterval)
	} else {
		d.err = nil
		d.checked = now
		d.validators = resp.validators
		d.refreshAt = now.Add(d.f.refreshAfter(snap, now))
		d.snap.Store(snap)
	}
	d.mu.Unlock()

	switch {
	case err != nil && old != nil:
		d.f.logger.Warn("saml2sp: fetching IdP metadata failed; keeping the metadata in force", "url", d.src.URL, "error", err.Error())
	case err != nil:
		d.f.logger.Warn("saml2sp: fetching IdP metadata failed", "url", d.src.URL, "error", err.Error())
	case resp.notModified:
		d.f.logger.Debug("saml2sp: IdP metadata unchanged (304 Not Modified)", "url", d.src.URL)
	default:
		logChanges(d.f.logger, d.src.URL, old, snap)
		if d.onUpdate != nil {
			d.onUpdate(snap)
		}
	}
	d.mu.Lock()
	d.inflight = nil
	d.mu.Unlock()
	close(done)
}

// keepUsable carries over into next the entries of old that SPs use and
// that next has only an error for: an IdP that published a broken entity
// keeps the metadata in force, as a failed fetch does (its validUntil
// still applies). An entity that is gone from next stays gone: a
// federation removes an IdP on purpose.
func keepUsable(old, next *mdSnapshot, logger *slog.Logger, url string) *mdSnapshot {
	if old == nil {
		return next
	}
	for id, o := range old.entities {
		n, ok := next.entities[id]
		if !ok || !o.used.Load() {
			continue
		}
		n.used.Store(true)
		if o.idp == nil || n.idp != nil {
			continue
		}
		logger.Warn("saml2sp: an IdP's new metadata is unusable; keeping the metadata in force",
			"url", url, "idp", id, "error", n.err.Error())
		next.entities[id] = o
		if next.sole == n {
			next.sole = o
		}
	}
	return next
}
