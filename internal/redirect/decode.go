package redirect

import (
	"bufio"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Decode parses a query string as received (r.URL.RawQuery, without '?')
// into a Message. maxInflated bounds the size of the inflated document; zero
// or less means MaxInflated.
//
// It rejects:
//   - a query longer than 2*maxInflated bytes, before decoding anything;
//   - a query with both or neither of SAMLRequest and SAMLResponse;
//   - SAMLRequest, SAMLResponse, RelayState, SigAlg, Signature or
//     SAMLEncoding appearing more than once, with a percent-encoded name or
//     without a value, and any ';' in the query (a separator to some parsers);
//   - a SigAlg without a Signature or a Signature without a SigAlg;
//   - a RelayState longer than 80 bytes once decoded (bindings 3.4.3);
//   - a SAMLEncoding other than DEFLATE;
//   - values that are not standard-alphabet base64 (whitespace inside is
//     tolerated; URL-safe base64 is not);
//   - message data that is not exactly one raw DEFLATE stream (RFC 1951;
//     zlib or gzip framing and trailing data are errors), or that inflates to
//     more than maxInflated bytes. Inflation stops at the limit, so a deflate
//     bomb costs about 2*maxInflated bytes of memory and is rejected, never
//     truncated.
//
// Other parameters are ignored; they are not covered by the signature.
//
// For Verify, the signed octets are rebuilt from the original URL-encoded
// substrings of the query, never re-encoded, in the order of the spec:
// the message parameter, RelayState when the parameter is present (even
// empty), then SigAlg, whatever order they arrived in.
func Decode(rawQuery string, maxInflated int) (*Message, error) {
	if maxInflated <= 0 {
		maxInflated = MaxInflated
	}
	// len > 2*maxInflated, written so that it cannot overflow.
	if len(rawQuery)-maxInflated > maxInflated {
		return nil, invalid("query is %d bytes, more than twice the %d-byte inflate limit", len(rawQuery), maxInflated)
	}
	p, err := splitQuery(rawQuery)
	if err != nil {
		return nil, err
	}

	m := &Message{}
	var data rawValue
	switch {
	case p.request.present && p.response.present:
		return nil, invalid("both %s and %s are present", paramRequest, paramResponse)
	case p.request.present:
		m.Param, data = paramRequest, p.request
	case p.response.present:
		m.Param, data = paramResponse, p.response
	default:
		return nil, invalid("neither %s nor %s is present", paramRequest, paramResponse)
	}
	if data.value == "" {
		return nil, invalid("%s is empty", m.Param)
	}
	if p.encoding.present {
		enc, err := url.QueryUnescape(p.encoding.value)
		if err != nil || enc != encodingDeflate {
			return nil, invalid("%s %q is not supported, only DEFLATE", paramEncoding, p.encoding.value)
		}
	}

	if p.relayState.present {
		rs, err := url.QueryUnescape(p.relayState.value)
		if err != nil {
			return nil, invalid("%s is not URL-encoded: %v", paramRelayState, err)
		}
		if len(rs) > maxRelayState {
			return nil, invalid("%s is %d bytes, more than %d", paramRelayState, len(rs), maxRelayState)
		}
		m.RelayState = rs
	}

	switch {
	case p.sigAlg.present && !p.signature.present:
		return nil, invalid("%s without %s", paramSigAlg, paramSignature)
	case p.signature.present && !p.sigAlg.present:
		return nil, invalid("%s without %s", paramSignature, paramSigAlg)
	case p.sigAlg.present:
		if m.SigAlg, err = url.QueryUnescape(p.sigAlg.value); err != nil {
			return nil, invalid("%s is not URL-encoded: %v", paramSigAlg, err)
		}
		if m.SigAlg == "" {
			return nil, invalid("%s is empty", paramSigAlg)
		}
		// Checked before decoding. A signature of maxSignatureSize bytes is
		// about 4/3*maxSignatureSize base64 characters, 3 raw characters
		// each at most once percent-encoded; the rest is room for whitespace.
		if len(p.signature.value) > 8*maxSignatureSize {
			return nil, invalid("%s is too long", paramSignature)
		}
		if m.Signature, err = decodeBase64(p.signature.value, maxSignatureSize); err != nil {
			return nil, invalid("%s: %v", paramSignature, err)
		}
		if len(m.Signature) == 0 {
			return nil, invalid("%s is empty", paramSignature)
		}
	}

	if m.XML, err = inflate(data.value, maxInflated); err != nil {
		return nil, invalid("%s: %v", m.Param, err)
	}
	if len(m.XML) == 0 {
		return nil, invalid("%s inflates to an empty document", m.Param)
	}

	if m.Signed() {
		n := len(m.Param) + 1 + len(data.value) + len(paramSigAlg) + 2 + len(p.sigAlg.value)
		if p.relayState.present {
			n += len(paramRelayState) + 2 + len(p.relayState.value)
		}
		octets := make([]byte, 0, n)
		octets = append(octets, m.Param+"="...)
		octets = append(octets, data.value...)
		if p.relayState.present {
			octets = append(octets, "&"+paramRelayState+"="...)
			octets = append(octets, p.relayState.value...)
		}
		octets = append(octets, "&"+paramSigAlg+"="...)
		octets = append(octets, p.sigAlg.value...)
		m.signedOctets = octets
	}
	return m, nil
}

// rawValue is a parameter value exactly as it appears in the query string.
type rawValue struct {
	value   string // still URL-encoded
	present bool
}

// bindingParams are the raw values of the parameters the binding defines.
type bindingParams struct {
	request, response, relayState, sigAlg, signature, encoding rawValue
}

func (p *bindingParams) field(name string) *rawValue {
	switch name {
	case paramRequest:
		return &p.request
	case paramResponse:
		return &p.response
	case paramRelayState:
		return &p.relayState
	case paramSigAlg:
		return &p.sigAlg
	case paramSignature:
		return &p.signature
	case paramEncoding:
		return &p.encoding
	}
	return nil
}

// splitQuery finds the binding's parameters in q without decoding their
// values. It is stricter than net/url so that no other parser of the same
// query (the application's, a proxy's) can see different parameters: names
// of binding parameters must appear literally, each at most once.
func splitQuery(q string) (*bindingParams, error) {
	if strings.Contains(q, ";") {
		return nil, invalid("query contains ';'")
	}
	p := &bindingParams{}
	for part := range strings.SplitSeq(q, "&") {
		if part == "" {
			continue
		}
		rawName, value, hasValue := strings.Cut(part, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return nil, invalid("malformed parameter name %q", rawName)
		}
		f := p.field(name)
		if f == nil {
			continue
		}
		if rawName != name {
			return nil, invalid("parameter name %q is percent-encoded", rawName)
		}
		if !hasValue {
			return nil, invalid("parameter %s has no value", name)
		}
		if f.present {
			return nil, invalid("parameter %s appears more than once", name)
		}
		*f = rawValue{value: value, present: true}
	}
	return p, nil
}

// decodeBase64 decodes a URL-encoded, standard-alphabet base64 value of at
// most limit bytes, ignoring whitespace.
func decodeBase64(raw string, limit int) ([]byte, error) {
	d := base64.NewDecoder(base64.StdEncoding.Strict(), &unescaper{s: raw})
	b, err := io.ReadAll(io.LimitReader(d, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

var errTooLarge = errors.New("too large")

// inflate URL-decodes, base64-decodes and inflates raw in one stream, so that
// the only buffer that grows with the input is the output, bounded by limit.
// The whole of raw must be one DEFLATE stream: nothing may follow its final
// block.
func inflate(raw string, limit int) ([]byte, error) {
	unesc := &unescaper{s: raw}
	b64 := &errRecorder{r: base64.NewDecoder(base64.StdEncoding.Strict(), unesc)}
	// flate reads byte by byte from an io.ByteReader and never past the end
	// of the stream, so whatever is left in br afterwards is trailing data.
	br := bufio.NewReaderSize(b64, 4096)
	zr := flate.NewReader(br)
	defer zr.Close()

	out, err := readAtMost(zr, limit)
	if err == nil {
		if _, rerr := br.ReadByte(); rerr != io.EOF {
			err = errors.New("data after the end of the DEFLATE stream")
		}
	}
	switch {
	case unesc.err != nil:
		return nil, unesc.err
	case b64.err != nil:
		return nil, fmt.Errorf("not base64: %w", b64.err)
	case errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("inflates to more than %d bytes", limit)
	case err != nil:
		return nil, fmt.Errorf("not raw DEFLATE data: %w", err)
	}
	return out, nil
}

// readAtMost reads r to EOF into a buffer that grows by doubling up to limit
// bytes, and fails with errTooLarge as soon as one more byte is available.
// The allocations add up to less than 2*limit plus a small start buffer.
func readAtMost(r io.Reader, limit int) ([]byte, error) {
	buf := make([]byte, 0, min(limit, 512))
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= limit {
				var one [1]byte
				n, err := io.ReadFull(r, one[:])
				if n > 0 {
					return nil, errTooLarge
				}
				if err == io.EOF {
					return buf, nil
				}
				return nil, err
			}
			grown := make([]byte, len(buf), min(2*cap(buf), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// errRecorder remembers the first error other than io.EOF that r returns,
// so that a base64 error is not reported as a DEFLATE error.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// unescaper reads the URL-decoded (application/x-www-form-urlencoded:
// %XX escapes, '+' for space) bytes of s, leaving out whitespace.
type unescaper struct {
	s   string
	i   int
	err error
}

func (u *unescaper) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	n := 0
	for n < len(p) && u.i < len(u.s) {
		c := u.s[u.i]
		switch c {
		case '%':
			if u.i+2 >= len(u.s) || !isHex(u.s[u.i+1]) || !isHex(u.s[u.i+2]) {
				u.err = fmt.Errorf("invalid URL escape %q", u.s[u.i:min(u.i+3, len(u.s))])
				return n, u.err
			}
			c = unhex(u.s[u.i+1])<<4 | unhex(u.s[u.i+2])
			u.i += 3
		case '+':
			c = ' '
			u.i++
		default:
			u.i++
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		p[n] = c
		n++
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
