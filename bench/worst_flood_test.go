package bench

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/saml2sp/saml2sp"
)

// floodRequests is how many hostile POSTs BenchmarkWorstCaseFlood sends at
// once.
const floodRequests = 64

// verificationCap is how many messages the SP verifies at once: the cap of
// the default Config.Limiter.
func verificationCap() int { return saml2sp.DefaultMaxConcurrentVerifications() }

// heapSampler records the peak of the heap's object bytes (live objects
// and garbage not yet swept) while it runs.
type heapSampler struct {
	stop chan struct{}
	done chan uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan uint64)}
	go func() {
		peak := heapNow()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				h.done <- max(peak, heapNow())
				return
			case <-t.C:
				peak = max(peak, heapNow())
			}
		}
	}()
	return h
}

func (h *heapSampler) peak() uint64 {
	close(h.stop)
	return <-h.done
}

// peakHeap runs f after a GC and returns how far the heap rose above
// where it started.
func peakHeap(f func()) float64 {
	runtime.GC()
	base := heapNow()
	h := startHeapSampler()
	f()
	return float64(h.peak()) - float64(base)
}

// BenchmarkWorstCaseFlood sends floodRequests hostile POSTs to the ACS at
// once (acs/attributes-fresh, the hostile Response with the most B/op)
// and reports the peak heap they raise (peak-MB), the peak of one such
// request alone (single-peak-MB), and their quotient (in-flight): how many
// requests' worth of heap the flood held at once. "capped" is the SP with
// its default Config.Limiter (cap reported too); "uncapped" has a Limiter
// as large as the flood. The peak counts garbage not yet collected, so
// in-flight overstates what was live; compare the two. Nothing is timed
// or asserted: the numbers are for reading.
func BenchmarkWorstCaseFlood(b *testing.B) {
	w, cases := worstCases(b)
	var c *worstCase
	for _, k := range cases {
		if k.endpoint == "acs" && k.name == padAttributes+"-"+carrierFresh {
			c = k
		}
	}
	uncapped := *w
	cfg := w.cfg
	cfg.Limiter = saml2sp.NewLimiter(floodRequests, time.Minute)
	var err error
	if uncapped.sp, err = saml2sp.New(cfg); err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		w    *world
		cap  int
	}{
		{"capped", w, verificationCap()},
		{"uncapped", &uncapped, floodRequests},
	} {
		b.Run(v.name, func(b *testing.B) {
			single := peakHeap(func() {
				var o outcome
				v.w.runner(c, &o)()
			})
			var flood float64
			for b.Loop() {
				flood = max(flood, peakHeap(func() {
					var wg sync.WaitGroup
					for range floodRequests {
						wg.Go(func() {
							var o outcome
							v.w.runner(c, &o)()
						})
					}
					wg.Wait()
				}))
			}
			b.ReportMetric(flood/(1<<20), "peak-MB")
			b.ReportMetric(single/(1<<20), "single-peak-MB")
			b.ReportMetric(flood/single, "in-flight")
			b.ReportMetric(float64(v.cap), "cap")
		})
	}
}
