package redirect

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// zeroBomb returns a raw DEFLATE stream (one dynamic-Huffman block) that
// inflates to 1+258*copies zero bytes: a literal 0, then copies of
// <length 258, distance 1>, each coded in 2 bits, so that 1 GiB costs about
// 1 MiB. That is the best ratio DEFLATE allows, what zlib -9 and
// compress/flate reach on zeros, but written directly it takes milliseconds
// instead of seconds of compression.
func zeroBomb(copies int) []byte {
	var w bitWriter
	w.bits(1, 1)       // BFINAL
	w.bits(2, 2)       // BTYPE 10: dynamic Huffman codes
	w.bits(286-257, 5) // HLIT: literal/length codes 0..285
	w.bits(2-1, 5)     // HDIST: distance codes 0..1
	w.bits(18-4, 4)    // HCLEN: 18 code-length code lengths follow
	// Code lengths for the code-length alphabet, in the RFC 1951 order
	// 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1: only 0, 1 and 2 are used,
	// 0 with a 1-bit code "0", 1 and 2 with the 2-bit codes "10" and "11".
	for _, sym := range []int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1} {
		w.bits(map[int]uint64{0: 1, 1: 2, 2: 2}[sym], 3)
	}
	lengthCode := map[int]struct{ code, n int }{0: {0b0, 1}, 1: {0b10, 2}, 2: {0b11, 2}}
	put := func(l int) { w.huffman(lengthCode[l].code, lengthCode[l].n) }
	// Literal/length code lengths: 285 (length 258) gets 1 bit, the literal
	// 0 and end-of-block (256) 2 bits; canonically 285="0", 0="10", 256="11".
	for sym := 0; sym < 286; sym++ {
		switch sym {
		case 285:
			put(1)
		case 0, 256:
			put(2)
		default:
			put(0)
		}
	}
	put(1)              // distance code 0 (distance 1) = "0"
	put(1)              // distance code 1 (unused) = "1", to complete the code
	w.huffman(0b10, 2)  // literal 0
	w.zeros(2 * copies) // copies × (length 258 "0", distance 1 "0")
	w.huffman(0b11, 2)  // end of block
	return w.flush()
}

// bitWriter writes a DEFLATE bit stream: least significant bit first.
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

// huffman writes a Huffman code, which DEFLATE packs most significant bit first.
func (w *bitWriter) huffman(code, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bits(uint64(code>>i)&1, 1)
	}
}

func (w *bitWriter) zeros(n int) {
	for n > 0 && w.nacc != 0 {
		w.bits(0, 1)
		n--
	}
	w.out = append(w.out, make([]byte, n/8)...)
	w.bits(0, uint(n%8))
}

func (w *bitWriter) flush() []byte {
	if w.nacc > 0 {
		w.bits(0, 8-w.nacc)
	}
	return w.out
}

// TestZeroBomb checks the hand-written stream with the standard library.
func TestZeroBomb(t *testing.T) {
	for _, copies := range []int{0, 1, 3, 1000} {
		got, err := io.ReadAll(flate.NewReader(bytes.NewReader(zeroBomb(copies))))
		require.NoError(t, err)
		require.Equal(t, make([]byte, 1+258*copies), got, "copies=%d", copies)
	}
}

// streamedZeroBomb compresses n zero bytes with compress/flate, streaming
// them through the compressor so the test never holds them in memory.
func streamedZeroBomb(t *testing.T, n int64) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	require.NoError(t, err)
	_, err = io.Copy(w, io.LimitReader(zeroReader{}, n))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestDeflateBomb: a Redirect message that inflates far beyond the limit is
// rejected after about maxInflated bytes of work and memory (catalogue DEFL).
func TestDeflateBomb(t *testing.T) {
	tests := []struct {
		name        string
		deflated    func(t *testing.T) []byte
		inflated    int64
		maxInflated int
	}{
		{name: "1 GiB of zeros, default limit", deflated: func(*testing.T) []byte { return zeroBomb((1<<30 - 1) / 258) }, inflated: 1 + 258*((1<<30-1)/258)},
		{name: "64 MiB of zeros from compress/flate, 64 KiB limit", deflated: func(t *testing.T) []byte { return streamedZeroBomb(t, 64<<20) }, inflated: 64 << 20, maxInflated: 64 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			limit := tc.maxInflated
			if limit == 0 {
				limit = MaxInflated
			}
			deflated := tc.deflated(t)
			q := "SAMLRequest=" + enc(deflated) + "&RelayState=x"
			// The query itself is within bounds, so it is the inflate limit
			// that has to stop the bomb.
			require.LessOrEqual(t, len(q), 2*limit)
			require.Greater(t, tc.inflated, int64(1000*limit))

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			m, err := Decode(q, tc.maxInflated)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)

			require.ErrorContains(t, err, "inflates to more than")
			assert.ErrorIs(t, err, ErrInvalid)
			assert.Nil(t, m)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("deflated %d bytes, query %d bytes, Decode allocated %d bytes in %v", len(deflated), len(q), allocated, elapsed)
			assert.Less(t, allocated, uint64(4*limit), "Decode allocated %d bytes for a %d-byte limit", allocated, limit)
			assert.Less(t, elapsed, 2*time.Second)
		})
	}
}

// TestDecodeMemoryAtLimit: a document just under the limit also costs less
// than 4× the limit, although the query is close to its own bound.
func TestDecodeMemoryAtLimit(t *testing.T) {
	const limit = 256 << 10
	// Random letters, so that the query is large too.
	rnd := rand.New(rand.NewPCG(1, 2))
	var doc strings.Builder
	for doc.Len() < limit-64 {
		doc.WriteByte(byte('A' + rnd.IntN(58)))
	}
	q := "SAMLRequest=" + enc(deflateRaw(t, []byte(doc.String())))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := Decode(q, limit)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Equal(t, doc.String(), string(m.XML))
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("query %d bytes, Decode allocated %d bytes", len(q), allocated)
	assert.Less(t, allocated, uint64(4*limit))
}
