package saml2sp

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"
)

// ReplayCache remembers message IDs until they expire, so that a captured
// Response cannot be posted a second time.
//
// CheckAndStore must be atomic: of two concurrent calls with the same id,
// exactly one succeeds. When the id was seen before and has not expired it
// returns an error that matches ErrReplay. Any other error fails the login
// (fail closed). Apps running several replicas must share one cache (for
// example in Redis with SET NX PX).
type ReplayCache interface {
	CheckAndStore(ctx context.Context, id string, expires time.Time) error
}

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
