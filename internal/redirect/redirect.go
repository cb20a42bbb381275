// Package redirect encodes and decodes SAML 2.0 messages in the HTTP-Redirect
// binding (SAML bindings, section 3.4): the XML is compressed with raw
// DEFLATE (RFC 1951, no zlib header or trailer), base64-encoded with the
// standard alphabet and URL-encoded into a SAMLRequest or SAMLResponse query
// parameter, optionally next to RelayState, SigAlg and Signature.
//
// The signature covers the octets
//
//	SAMLRequest=<value>&RelayState=<value>&SigAlg=<value>
//
// (SAMLResponse for responses; RelayState only when the parameter is present),
// where each value is exactly the URL-encoded text of the received query
// string. Decode keeps those raw substrings and never re-encodes them, so the
// bytes that are verified are the bytes that were signed, whatever
// percent-encoding style the sender used and in whatever order the parameters
// arrived.
//
// Decode is strict: duplicate binding parameters, a SigAlg without a
// Signature (or the reverse), a RelayState over 80 bytes, URL-safe base64,
// zlib-wrapped data, trailing data and documents that inflate beyond a limit
// are all rejected. Inflation stops at the limit, so a deflate bomb costs at
// most about twice the limit in memory. An unsigned message is never treated
// as signed: Verify fails when SigAlg or Signature is missing.
//
// A receiving endpoint reads the raw query, not the parsed form:
//
//	msg, err := redirect.Decode(r.URL.RawQuery, redirect.MaxInflated)
//	if err != nil {
//		return err // 400
//	}
//	if err := msg.Verify(idpCerts, false); err != nil {
//		return err // unsigned, disallowed algorithm or bad signature
//	}
//	// msg.XML still has to be parsed and checked (Destination, Issuer, ...),
//	// and msg.RelayState is attacker-controlled until validated.
package redirect

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
)

// MaxInflated is the default bound, in bytes, on the size of the inflated
// XML document that Decode accepts (1 MiB).
const MaxInflated = 1 << 20

// ErrInvalid is wrapped by every error that Decode and Verify return.
var ErrInvalid = errors.New("invalid redirect-binding message")

func invalid(format string, args ...any) error {
	return fmt.Errorf("redirect: %w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Parameter names of the binding (bindings 3.4.4.1).
const (
	paramRequest    = "SAMLRequest"
	paramResponse   = "SAMLResponse"
	paramRelayState = "RelayState"
	paramSigAlg     = "SigAlg"
	paramSignature  = "Signature"
	paramEncoding   = "SAMLEncoding"
)

// encodingDeflate is the only SAMLEncoding value defined by the bindings
// spec, and the meaning of an absent SAMLEncoding parameter.
const encodingDeflate = "urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE"

// maxRelayState is the RelayState length limit of bindings 3.4.3, in bytes
// of the decoded value.
const maxRelayState = 80

// Message is a decoded HTTP-Redirect binding message. Only Decode fills in
// the octets that Verify checks, so a Message built by hand never verifies.
type Message struct {
	Param      string // "SAMLRequest" or "SAMLResponse"
	XML        []byte // inflated document, not yet parsed or checked
	RelayState string // decoded value; "" when absent
	SigAlg     string // decoded; "" when unsigned
	Signature  []byte // decoded; nil when unsigned

	// signedOctets are the exact raw octets from the received query string,
	// for Verify: Param=v[&RelayState=v]&SigAlg=v in that order.
	signedOctets []byte
}

// Signed reports whether the message carries a SigAlg and a Signature. It
// says nothing about whether the signature is valid: that is Verify's job.
func (m *Message) Signed() bool {
	return m.SigAlg != "" && len(m.Signature) > 0
}

// Encode builds the query string (without '?') that carries xml in the
// HTTP-Redirect binding under param, which must be "SAMLRequest" or
// "SAMLResponse". relayState may be "" (then the parameter is left out); it
// may not be longer than 80 bytes.
//
// If key is non-nil the message is signed with sigAlg, which defaults to
// rsa-sha256 for an RSA key and ecdsa-sha256 for an ECDSA key; the
// sha384 and sha512 variants may be asked for. Encode never signs with SHA-1.
// RSA signatures are PKCS #1 v1.5. ECDSA signatures are ASN.1 DER
// (SEQUENCE{r, s}), as key.Sign produces them and as OpenSSL-based
// implementations such as SimpleSAMLphp produce and expect them; note that
// this is not the raw r||s form that XML-DSig uses inside documents. sigAlg
// must be "" when key is nil.
func Encode(param string, xml []byte, relayState string, key crypto.Signer, sigAlg string) (string, error) {
	if param != paramRequest && param != paramResponse {
		return "", fmt.Errorf("redirect: parameter must be %s or %s, not %q", paramRequest, paramResponse, param)
	}
	if len(xml) == 0 {
		return "", errors.New("redirect: empty document")
	}
	if len(relayState) > maxRelayState {
		return "", fmt.Errorf("redirect: RelayState is %d bytes, more than %d", len(relayState), maxRelayState)
	}
	if key == nil && sigAlg != "" {
		return "", errors.New("redirect: SigAlg given without a signing key")
	}

	var z bytes.Buffer
	if err := deflate(&z, xml); err != nil {
		return "", err
	}

	var q strings.Builder
	q.WriteString(param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(z.Bytes())))
	if relayState != "" {
		q.WriteString("&" + paramRelayState + "=" + url.QueryEscape(relayState))
	}
	if key == nil {
		return q.String(), nil
	}

	if sigAlg == "" {
		switch key.Public().(type) {
		case *rsa.PublicKey:
			sigAlg = algRSASHA256
		case *ecdsa.PublicKey:
			sigAlg = algECDSASHA256
		default:
			return "", fmt.Errorf("redirect: unsupported signing key type %T", key.Public())
		}
	}
	alg, ok := lookupAlgorithm(sigAlg)
	if !ok {
		return "", fmt.Errorf("redirect: unsupported signature algorithm %q", sigAlg)
	}
	if alg.sha1 {
		return "", fmt.Errorf("redirect: refusing to sign with SHA-1 (%s)", sigAlg)
	}
	if !alg.keyMatches(key.Public()) {
		return "", fmt.Errorf("redirect: %s needs an %s key, not %T", sigAlg, alg.kind, key.Public())
	}
	q.WriteString("&" + paramSigAlg + "=" + url.QueryEscape(sigAlg))

	h := alg.hash.New()
	h.Write([]byte(q.String()))
	sig, err := key.Sign(rand.Reader, h.Sum(nil), alg.hash)
	if err != nil {
		return "", fmt.Errorf("redirect: sign: %w", err)
	}
	q.WriteString("&" + paramSignature + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig)))
	return q.String(), nil
}

// deflaters holds flate writers for reuse: each one allocates about 800 KB
// of tables, which made every login start cost more memory than verifying
// a Response.
var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // cannot fail for a valid level
	return w
}}

// deflate writes the raw DEFLATE compression of data to dst.
func deflate(dst *bytes.Buffer, data []byte) error {
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(dst)
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("redirect: deflate: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("redirect: deflate: %w", err)
	}
	return nil
}
