package saml2sp

import (
	"context"
	"runtime"
	"time"
)

// DefaultLimiterWait is how long a message waits for a free verification
// slot before it is refused with ErrUnavailable.
const DefaultLimiterWait = 5 * time.Second

// Limiter caps how many incoming SAML messages (Responses at the ACS,
// logout messages at the SLS) are parsed and verified at once. Parsing and
// verifying are CPU work that any anonymous client can ask for; with a cap,
// a flood's memory is bounded by the cap times the cost of one message
// (see the README's "On the open internet"), and the CPU is shared by at
// most that many messages, so each one finishes quickly. Messages beyond
// the cap wait in line for at most the limiter's wait, then fail with
// ErrUnavailable, which the handlers answer with 503 and Retry-After.
//
// The SPs of one process should share one Limiter (for example every
// tenant of a TenantHandler), so that the cap is per process rather than
// per tenant. It is safe for concurrent use.
type Limiter struct {
	slots   chan struct{}
	maxWait time.Duration
}

// NewLimiter returns a Limiter that lets n messages be verified at once
// (n <= 0: DefaultMaxConcurrentVerifications()) and lets others wait for at
// most maxWait (<= 0: DefaultLimiterWait).
func NewLimiter(n int, maxWait time.Duration) *Limiter {
	if n <= 0 {
		n = DefaultMaxConcurrentVerifications()
	}
	if maxWait <= 0 {
		maxWait = DefaultLimiterWait
	}
	return &Limiter{slots: make(chan struct{}, n), maxWait: maxWait}
}

// DefaultMaxConcurrentVerifications is the cap of a Limiter made with
// n <= 0: the number of CPUs Go uses (GOMAXPROCS), at least 2.
// Verification is CPU-bound, so running more at once only adds memory.
func DefaultMaxConcurrentVerifications() int {
	return max(2, runtime.GOMAXPROCS(0))
}

// Cap returns how many messages may be verified at once.
func (l *Limiter) Cap() int { return cap(l.slots) }

// acquire waits for a slot and returns the function that frees it.
func (l *Limiter) acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	default:
	}
	t := time.NewTimer(l.maxWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	case <-t.C:
		return nil, failf(ErrUnavailable, "%d messages are being verified and this one waited %s; try again", cap(l.slots), l.maxWait)
	case <-ctx.Done():
		return nil, wrapf(ErrUnavailable, ctx.Err(), "gave up waiting for a verification slot")
	}
}

func (l *Limiter) release() { <-l.slots }
