package saml2sp

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// ReplayCache remembers message IDs until they expire, so that a captured
// Response cannot be posted a second time.
//
// CheckAndStore must be atomic: of two concurrent calls with the same id,
// exactly one succeeds. When the id was seen before and has not expired it
// returns an error that matches ErrReplay. Any other error means the cache
// could not answer: the message is refused (fail closed) with
// ErrUnavailable, which the handlers answer with 503 and Retry-After; an
// outage is never reported as a replay. Apps running several replicas must
// share one cache: saml2sp/redisstore and saml2sp/pgstore provide them.
//
// ids are built by the library and hold values from the message (issuer,
// IDs), so their length is up to the sender: a shared store should key
// its records by a digest of the id.
type ReplayCache interface {
	CheckAndStore(ctx context.Context, id string, expires time.Time) error
}

// replayKey is the one replay-cache entry a login takes: the request it
// answers, or the assertion's ID when it answers none. A solicited
// assertion carries its InResponseTo under its signature, so replaying it
// hits the same request key; an unsolicited one never has one. Keyed by
// our entity ID or the issuer too: a cache shared by many SPs and tenants
// must not let one's IDs collide with another's.
func replayKey(spEntityID string, pa *parsedAssertion) string {
	if pa.InResponseTo != "" {
		return "request:" + spEntityID + ":" + pa.InResponseTo
	}
	return "assertion:" + pa.Issuer + ":" + pa.ID
}

// remember stores id in the replay cache until expires. It returns an
// ErrReplay error when id was used before, and an ErrUnavailable error
// when the cache could not answer.
func (sp *SP) remember(ctx context.Context, id string, expires time.Time, what string) error {
	err := sp.cfg.ReplayCache.CheckAndStore(ctx, id, expires)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrReplay):
		return wrapf(ErrReplay, err, "%s", what)
	default:
		return wrapf(ErrUnavailable, err, "the replay cache could not check %s", what)
	}
}

// quote formats s for an error message.
func quote(s string) string { return strconv.Quote(s) }

// DefaultReplayCacheSize is the capacity of the cache New creates.
const DefaultReplayCacheSize = 100000

// MemoryReplayCache is an in-process ReplayCache with a fixed capacity.
// Expired entries are dropped first; when it is full of live entries it
// refuses new ones (fail closed) rather than forget an ID that could still
// be replayed.
type MemoryReplayCache struct {
	mu       sync.Mutex
	capacity int
	now      func() time.Time
	seen     map[string]time.Time
	byExpiry expiryHeap
}

// NewMemoryReplayCache returns an empty cache holding at most capacity IDs
// (zero or less: DefaultReplayCacheSize). now is the clock expiry is judged
// by; nil means time.Now. Use the same clock as the SP.
func NewMemoryReplayCache(capacity int, now func() time.Time) *MemoryReplayCache {
	if capacity <= 0 {
		capacity = DefaultReplayCacheSize
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryReplayCache{capacity: capacity, now: now, seen: map[string]time.Time{}}
}

// CheckAndStore implements ReplayCache.
func (c *MemoryReplayCache) CheckAndStore(_ context.Context, id string, expires time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for len(c.byExpiry) > 0 && !c.byExpiry[0].expires.After(now) {
		e := heap.Pop(&c.byExpiry).(expiryEntry)
		if c.seen[e.id].Equal(e.expires) {
			delete(c.seen, e.id)
		}
	}
	if exp, ok := c.seen[id]; ok && exp.After(now) {
		return failf(ErrReplay, "ID %q was already used", id)
	}
	if len(c.seen) >= c.capacity {
		return fmt.Errorf("saml2sp: replay cache full (%d live IDs)", c.capacity)
	}
	c.seen[id] = expires
	heap.Push(&c.byExpiry, expiryEntry{id: id, expires: expires})
	return nil
}

type expiryEntry struct {
	id      string
	expires time.Time
}

type expiryHeap []expiryEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
