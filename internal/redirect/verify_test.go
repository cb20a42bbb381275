package redirect

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTampering starts from a query signed with RSA-SHA256 and changes it
// the ways an attacker would (catalogue SLO2).
func TestTampering(t *testing.T) {
	rsaKey, _, p256, _ := testKeys(t)
	trusted := []*x509.Certificate{rsaKey.cert}
	const relayState = "/dashboard?tab=1"
	signed, err := Encode("SAMLRequest", []byte(testXML), relayState, rsaKey.signer, "")
	require.NoError(t, err)
	require.Contains(t, rawParam(t, signed, "RelayState"), "%2F")
	unsignedRS, err := Encode("SAMLRequest", []byte(testXML), "", rsaKey.signer, "")
	require.NoError(t, err)
	other, err := Encode("SAMLRequest", []byte(strings.Replace(testXML, "_0123456789abcdef", "_other", 1)), relayState, rsaKey.signer, "")
	require.NoError(t, err)

	req := "SAMLRequest=" + rawParam(t, signed, "SAMLRequest")
	rs := "RelayState=" + rawParam(t, signed, "RelayState")
	alg := "SigAlg=" + rawParam(t, signed, "SigAlg")
	sig := "Signature=" + rawParam(t, signed, "Signature")
	sigBytes, err := base64.StdEncoding.DecodeString(mustUnescape(t, rawParam(t, signed, "Signature")))
	require.NoError(t, err)
	sigBytes[len(sigBytes)/2] ^= 1
	flipped := url.QueryEscape(base64.StdEncoding.EncodeToString(sigBytes))

	tests := []struct {
		name      string
		query     string
		allowSHA1 bool
		decodeErr string // substring; "" means Decode succeeds
		verifyErr string // substring; "" means Verify succeeds
	}{
		{name: "untouched", query: signed},
		{name: "parameters reordered", query: strings.Join([]string{sig, alg, rs, req}, "&")},
		{name: "parameters reordered, other parameters around", query: strings.Join([]string{"a=1", sig, rs, "b=%2F", alg, req, "c"}, "&")},
		{name: "modified RelayState", query: setParam(t, signed, "RelayState", "%2Fdashboard%3Ftab%3D2"), verifyErr: "does not verify"},
		{name: "RelayState emptied", query: setParam(t, signed, "RelayState", ""), verifyErr: "does not verify"},
		{name: "RelayState dropped", query: dropParam(t, signed, "RelayState"), verifyErr: "does not verify"},
		{name: "RelayState added", query: unsignedRS + "&RelayState=x", verifyErr: "does not verify"},
		{name: "empty RelayState added", query: unsignedRS + "&RelayState=", verifyErr: "does not verify"},
		// The sender wrote %2F; a verifier that re-encoded the decoded value
		// the same way would not notice '/', but the raw octets differ.
		{name: "RelayState %2F rewritten as /", query: setParam(t, signed, "RelayState", strings.ReplaceAll(rawParam(t, signed, "RelayState"), "%2F", "/")), verifyErr: "does not verify"},
		{name: "SAMLRequest %2B rewritten as %2b", query: setParam(t, signed, "SAMLRequest", lowerEscapes(rawParam(t, signed, "SAMLRequest"))), verifyErr: "does not verify"},
		{name: "SAMLRequest of another signed message", query: setParam(t, signed, "SAMLRequest", rawParam(t, other, "SAMLRequest")), verifyErr: "does not verify"},
		{name: "Signature of another message", query: setParam(t, signed, "Signature", rawParam(t, other, "Signature")), verifyErr: "does not verify"},
		{name: "Signature bit flipped", query: setParam(t, signed, "Signature", flipped), verifyErr: "does not verify"},
		{name: "dropped SigAlg", query: dropParam(t, signed, "SigAlg"), decodeErr: "Signature without SigAlg"},
		{name: "dropped Signature", query: dropParam(t, signed, "Signature"), decodeErr: "SigAlg without Signature"},
		{name: "dropped SigAlg and Signature", query: dropParam(t, dropParam(t, signed, "SigAlg"), "Signature"), verifyErr: "not signed"},
		{name: "dropped SigAlg and Signature, SHA-1 allowed", query: dropParam(t, dropParam(t, signed, "SigAlg"), "Signature"), allowSHA1: true, verifyErr: "not signed"},
		{name: "SigAlg switched to rsa-sha1", query: setParam(t, signed, "SigAlg", url.QueryEscape(algRSASHA1)), verifyErr: "uses SHA-1, which is not allowed"},
		{name: "SigAlg switched to rsa-sha1, SHA-1 allowed", query: setParam(t, signed, "SigAlg", url.QueryEscape(algRSASHA1)), allowSHA1: true, verifyErr: "does not verify"},
		{name: "SigAlg switched to rsa-sha512", query: setParam(t, signed, "SigAlg", url.QueryEscape(algRSASHA512)), verifyErr: "does not verify"},
		{name: "SigAlg switched to rsa-sha384", query: setParam(t, signed, "SigAlg", url.QueryEscape(algRSASHA384)), verifyErr: "does not verify"},
		{name: "SigAlg switched to ecdsa-sha256", query: setParam(t, signed, "SigAlg", url.QueryEscape(algECDSASHA256)), verifyErr: "no trusted certificate holds an ECDSA key"},
		{name: "SigAlg hmac-sha256", query: setParam(t, signed, "SigAlg", url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#hmac-sha256")), verifyErr: "is not supported"},
		{name: "SigAlg dsa-sha1", query: setParam(t, signed, "SigAlg", url.QueryEscape("http://www.w3.org/2000/09/xmldsig#dsa-sha1")), allowSHA1: true, verifyErr: "is not supported"},
		{name: "SigAlg case changed", query: setParam(t, signed, "SigAlg", url.QueryEscape(strings.ToUpper(algRSASHA256))), verifyErr: "is not supported"},
		{name: "duplicate SAMLRequest", query: signed + "&" + req, decodeErr: "SAMLRequest appears more than once"},
		{name: "duplicate SAMLRequest, other value first", query: "SAMLRequest=" + rawParam(t, other, "SAMLRequest") + "&" + signed, decodeErr: "SAMLRequest appears more than once"},
		{name: "SAMLResponse added", query: signed + "&SAMLResponse=" + rawParam(t, other, "SAMLRequest"), decodeErr: "both SAMLRequest and SAMLResponse"},
		{name: "duplicate RelayState", query: signed + "&RelayState=%2Fevil", decodeErr: "RelayState appears more than once"},
		{name: "duplicate RelayState, same value", query: signed + "&" + rs, decodeErr: "RelayState appears more than once"},
		{name: "duplicate SigAlg", query: signed + "&SigAlg=" + url.QueryEscape(algRSASHA1), decodeErr: "SigAlg appears more than once"},
		{name: "duplicate Signature", query: signed + "&Signature=" + rawParam(t, other, "Signature"), decodeErr: "Signature appears more than once"},
		{name: "percent-encoded duplicate name", query: signed + "&Relay%53tate=%2Fevil", decodeErr: "percent-encoded"},
		{name: "request renamed to response", query: strings.Replace(signed, "SAMLRequest=", "SAMLResponse=", 1), verifyErr: "does not verify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.query, 0)
			if tc.decodeErr != "" {
				require.ErrorContains(t, err, tc.decodeErr)
				assert.ErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			err = m.Verify(trusted, tc.allowSHA1)
			if tc.verifyErr == "" {
				require.NoError(t, err)
				assert.Equal(t, relayState, m.RelayState)
				assert.Equal(t, testXML, string(m.XML))
				return
			}
			require.ErrorContains(t, err, tc.verifyErr)
			assert.ErrorIs(t, err, ErrInvalid)
			assert.True(t, strings.HasPrefix(err.Error(), "redirect: "), err.Error())
			// The same tampered message fails with every other key too.
			assert.Error(t, m.Verify([]*x509.Certificate{p256.cert, rsaKey.cert}, true))
		})
	}
}

// TestTamperedSAMLRequest changes one character of the encoded SAMLRequest
// at a time. Every change must be rejected, and some of them still inflate
// to a (different) document, so it is the signature that catches them.
func TestTamperedSAMLRequest(t *testing.T) {
	rsaKey, _, _, _ := testKeys(t)
	signed, err := Encode("SAMLRequest", []byte(testXML), "rs", rsaKey.signer, "")
	require.NoError(t, err)
	orig := rawParam(t, signed, "SAMLRequest")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

	decoded := 0
	for i := 0; i < len(orig); i++ {
		if !strings.ContainsRune(alphabet, rune(orig[i])) {
			continue // part of a %XX escape
		}
		repl := alphabet[(strings.IndexByte(alphabet, orig[i])+1)%len(alphabet)]
		q := setParam(t, signed, "SAMLRequest", orig[:i]+string(repl)+orig[i+1:])
		m, err := Decode(q, 0)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			continue
		}
		if string(m.XML) != testXML {
			decoded++ // (else the change hit the unused bits after the final block)
		}
		require.ErrorContains(t, m.Verify([]*x509.Certificate{rsaKey.cert}, true), "does not verify", "position %d", i)
	}
	t.Logf("%d single-character changes inflated to another document", decoded)
	assert.Greater(t, decoded, 0, "no single-character change inflated; the signature check went untested")
}

// TestVerifyUsesRawOctets signs the octets exactly as a sender that encodes
// differently from Go's url.QueryEscape would send them: '/' and '=' left
// as they are, lowercase escapes, '+' or '%20' for space. A verifier that decoded and
// re-encoded the values would compute other octets and fail.
func TestVerifyUsesRawOctets(t *testing.T) {
	rsaKey, _, p256, _ := testKeys(t)
	unsigned, err := Encode("SAMLRequest", []byte(testXML), "", nil, "")
	require.NoError(t, err)
	req := rawParam(t, unsigned, "SAMLRequest")
	require.True(t, strings.Contains(req, "%2F") || strings.Contains(req, "%3D"), req)
	oddReq := lowerEscapes(strings.NewReplacer("%2F", "/", "%3D", "=").Replace(req))
	require.NotEqual(t, req, oddReq)

	tests := []struct {
		name   string
		key    testKey
		hash   crypto.Hash
		octets string
		wantRS string
	}{
		{name: "raw slash and equals, lowercase escapes", key: rsaKey, hash: crypto.SHA256,
			octets: "SAMLRequest=" + oddReq + "&RelayState=/a+b?c=d&SigAlg=" + algRSASHA256, wantRS: "/a b?c=d"},
		{name: "%20 for space, %2f", key: rsaKey, hash: crypto.SHA256,
			octets: "SAMLRequest=" + req + "&RelayState=%2fa%20b&SigAlg=http%3a%2f%2fwww.w3.org%2f2001%2f04%2fxmldsig-more%23rsa-sha256", wantRS: "/a b"},
		{name: "ECDSA, no RelayState", key: p256, hash: crypto.SHA256,
			octets: "SAMLRequest=" + oddReq + "&SigAlg=" + url.PathEscape(algECDSASHA256)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := signOctets(t, tc.key.signer, tc.hash, tc.octets)
			m, err := Decode(q, 0)
			require.NoError(t, err)
			assert.Equal(t, testXML, string(m.XML))
			assert.Equal(t, tc.wantRS, m.RelayState)
			require.NoError(t, m.Verify([]*x509.Certificate{tc.key.cert}, false))
		})
	}
}

func TestVerifyKeys(t *testing.T) {
	rsaKey, rsaOther, p256, p384 := testKeys(t)
	rsaSigned, err := Encode("SAMLResponse", []byte(testXML), "s", rsaKey.signer, "")
	require.NoError(t, err)
	ecSigned, err := Encode("SAMLResponse", []byte(testXML), "s", p256.signer, "")
	require.NoError(t, err)
	ecRaw := setParam(t, ecSigned, "Signature", url.QueryEscape(base64.StdEncoding.EncodeToString(
		rawECDSA(t, mustB64(t, rawParam(t, ecSigned, "Signature")), 32))))
	p384Signed, err := Encode("SAMLResponse", []byte(testXML), "", p384.signer, algECDSASHA512)
	require.NoError(t, err)
	p384Raw := setParam(t, p384Signed, "Signature", url.QueryEscape(base64.StdEncoding.EncodeToString(
		rawECDSA(t, mustB64(t, rawParam(t, p384Signed, "Signature")), 48))))
	sha1Octets := strings.SplitN(rsaSigned, "&SigAlg=", 2)[0] + "&SigAlg=" + url.QueryEscape(algRSASHA1)
	sha1Signed := signOctets(t, rsaKey.signer, crypto.SHA1, sha1Octets)

	tests := []struct {
		name      string
		query     string
		trusted   []*x509.Certificate
		allowSHA1 bool
		wantErr   string
	}{
		{name: "RSA", query: rsaSigned, trusted: []*x509.Certificate{rsaKey.cert}},
		{name: "RSA, signer second of several", query: rsaSigned, trusted: []*x509.Certificate{nil, p256.cert, rsaOther.cert, rsaKey.cert}},
		{name: "RSA, untrusted key", query: rsaSigned, trusted: []*x509.Certificate{rsaOther.cert}, wantErr: "does not verify with any trusted certificate"},
		{name: "RSA, only ECDSA certificates", query: rsaSigned, trusted: []*x509.Certificate{p256.cert, p384.cert}, wantErr: "no trusted certificate holds an RSA key"},
		{name: "no trusted certificates", query: rsaSigned, wantErr: "no trusted certificates"},
		{name: "ECDSA DER", query: ecSigned, trusted: []*x509.Certificate{p256.cert}},
		{name: "ECDSA raw r||s", query: ecRaw, trusted: []*x509.Certificate{p256.cert}},
		{name: "ECDSA P-384 sha512 DER", query: p384Signed, trusted: []*x509.Certificate{p384.cert}},
		{name: "ECDSA P-384 sha512 raw r||s", query: p384Raw, trusted: []*x509.Certificate{p384.cert}},
		{name: "ECDSA, untrusted key", query: ecSigned, trusted: []*x509.Certificate{p384.cert}, wantErr: "does not verify"},
		{name: "ECDSA raw r||s, untrusted key", query: ecRaw, trusted: []*x509.Certificate{p384.cert, rsaKey.cert}, wantErr: "does not verify"},
		{name: "ECDSA, only RSA certificates", query: ecSigned, trusted: []*x509.Certificate{rsaKey.cert}, wantErr: "no trusted certificate holds an ECDSA key"},
		{name: "rsa-sha1 refused by default", query: sha1Signed, trusted: []*x509.Certificate{rsaKey.cert}, wantErr: "SHA-1"},
		{name: "rsa-sha1 with allowSHA1", query: sha1Signed, trusted: []*x509.Certificate{rsaKey.cert}, allowSHA1: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.query, 0)
			require.NoError(t, err)
			err = m.Verify(tc.trusted, tc.allowSHA1)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestVerifyHandMadeMessage(t *testing.T) {
	rsaKey, _, _, _ := testKeys(t)
	signed, err := Encode("SAMLRequest", []byte(testXML), "", rsaKey.signer, "")
	require.NoError(t, err)
	m, err := Decode(signed, 0)
	require.NoError(t, err)
	// The exported fields alone do not make a verifiable message.
	copied := &Message{Param: m.Param, XML: m.XML, SigAlg: m.SigAlg, Signature: m.Signature}
	assert.True(t, copied.Signed())
	require.ErrorContains(t, copied.Verify([]*x509.Certificate{rsaKey.cert}, false), "not produced by Decode")
	assert.False(t, (&Message{SigAlg: algRSASHA256}).Signed())
	assert.False(t, (&Message{Signature: []byte{1}}).Signed())
}

func mustUnescape(t testing.TB, s string) string {
	t.Helper()
	u, err := url.QueryUnescape(s)
	require.NoError(t, err)
	return u
}

func mustB64(t testing.TB, raw string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(mustUnescape(t, raw))
	require.NoError(t, err)
	return b
}

// rawECDSA converts an ASN.1 DER ECDSA signature into r||s, each size bytes.
func rawECDSA(t testing.TB, der []byte, size int) []byte {
	t.Helper()
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	require.NoError(t, err)
	require.Empty(t, rest)
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out
}
