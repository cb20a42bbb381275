package saml2sp

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultReplayCacheSize is the capacity of the in-memory cache New
// creates: 1,048,576 IDs, enough for a replica taking 1,000 logins a second
// for the whole default replay window (MaxAssertionAge plus twice the
// clock skew, 13 minutes: 780,000 logins; each login takes one entry). Each
// entry costs about 64 bytes: 780,000 live IDs hold 48 MB
// (BenchmarkMemoryReplayCacheFull), a full cache about 65 MB.
const DefaultReplayCacheSize = 1 << 20

// MemoryReplayCache is an in-process ReplayCache with a fixed capacity, for
// an app with a single replica (several replicas must share a store:
// saml2sp/redisstore, saml2sp/pgstore).
//
// It keeps a 128-bit digest of each ID (SHA-256, truncated) with its
// expiry, so an entry costs the same whatever the length of the ID an
// attacker chose, and drops entries once they expire. At the bound, when it
// holds capacity live IDs, it refuses new ones with ErrUnavailable (the
// login fails with 503 and Retry-After) rather than evict an ID that could
// still be replayed; logins work again as soon as entries expire.
type MemoryReplayCache struct {
	mu       sync.Mutex
	capacity int
	now      func() time.Time
	seen     map[replayDigest]int64 // expiry, Unix nanoseconds
	byExpiry expiryHeap
}

type replayDigest [16]byte

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
	return &MemoryReplayCache{capacity: capacity, now: now, seen: map[replayDigest]int64{}}
}

// CheckAndStore implements ReplayCache.
func (c *MemoryReplayCache) CheckAndStore(_ context.Context, id string, expires time.Time) error {
	sum := sha256.Sum256([]byte(id))
	var k replayDigest
	copy(k[:], sum[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now().UnixNano()
	for len(c.byExpiry) > 0 && c.byExpiry[0].expires <= now {
		e := c.byExpiry.pop()
		if c.seen[e.key] == e.expires {
			delete(c.seen, e.key)
		}
	}
	if exp, ok := c.seen[k]; ok && exp > now {
		return failf(ErrReplay, "ID %q was already used", id)
	}
	if len(c.seen) >= c.capacity {
		return failf(ErrUnavailable, "the in-memory replay cache holds %d live IDs, its capacity; it refuses new ones until some expire rather than forget one that could be replayed", c.capacity)
	}
	exp := expires.UnixNano()
	c.seen[k] = exp
	c.byExpiry.push(expiryEntry{key: k, expires: exp})
	return nil
}

// Len returns how many IDs the cache holds, expired ones not yet dropped
// included.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

type expiryEntry struct {
	key     replayDigest
	expires int64
}

// expiryHeap is a min-heap of entries by expiry, typed so that pushing an
// entry allocates nothing (container/heap would box each one).
type expiryHeap []expiryEntry

func (h *expiryHeap) push(e expiryEntry) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p].expires <= s[i].expires {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *expiryHeap) pop() expiryEntry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].expires < s[m].expires {
			m = l
		}
		if r < len(s) && s[r].expires < s[m].expires {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
