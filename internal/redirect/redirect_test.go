package redirect

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	rsaKey, rsaOther, p256, p384 := testKeys(t)
	tests := []struct {
		name       string
		param      string
		relayState string
		key        *testKey
		sigAlg     string
		wantAlg    string // "" for unsigned
	}{
		{name: "unsigned request", param: "SAMLRequest"},
		{name: "unsigned request with RelayState", param: "SAMLRequest", relayState: "/app?x=1&y=%20+"},
		{name: "unsigned response", param: "SAMLResponse", relayState: "state"},
		{name: "RSA default", param: "SAMLRequest", key: &rsaKey, wantAlg: algRSASHA256},
		{name: "RSA default with RelayState", param: "SAMLRequest", relayState: "https://sp.example.com/a/b?c=d", key: &rsaKey, wantAlg: algRSASHA256},
		{name: "RSA sha384 response", param: "SAMLResponse", relayState: "x", key: &rsaKey, sigAlg: algRSASHA384, wantAlg: algRSASHA384},
		{name: "RSA sha512", param: "SAMLRequest", key: &rsaKey, sigAlg: algRSASHA512, wantAlg: algRSASHA512},
		{name: "ECDSA default", param: "SAMLRequest", key: &p256, wantAlg: algECDSASHA256},
		{name: "ECDSA default with RelayState", param: "SAMLRequest", relayState: "/étoile", key: &p256, wantAlg: algECDSASHA256},
		{name: "ECDSA P-384 sha384", param: "SAMLResponse", relayState: "r", key: &p384, sigAlg: algECDSASHA384, wantAlg: algECDSASHA384},
		{name: "ECDSA P-384 sha512", param: "SAMLRequest", key: &p384, sigAlg: algECDSASHA512, wantAlg: algECDSASHA512},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var signer crypto.Signer
			if tc.key != nil {
				signer = tc.key.signer
			}
			q, err := Encode(tc.param, []byte(testXML), tc.relayState, signer, tc.sigAlg)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(q, tc.param+"="), q)

			m, err := Decode(q, 0)
			require.NoError(t, err)
			assert.Equal(t, tc.param, m.Param)
			assert.Equal(t, testXML, string(m.XML))
			assert.Equal(t, tc.relayState, m.RelayState)
			assert.Equal(t, tc.wantAlg, m.SigAlg)
			assert.Equal(t, tc.wantAlg != "", m.Signed())

			if tc.wantAlg == "" {
				assert.Nil(t, m.Signature)
				assert.ErrorContains(t, m.Verify([]*x509.Certificate{rsaKey.cert, p256.cert}, true), "not signed")
				return
			}
			require.NoError(t, m.Verify([]*x509.Certificate{tc.key.cert}, false))
			// Any trusted certificate may have signed (key rollover).
			require.NoError(t, m.Verify([]*x509.Certificate{rsaOther.cert, tc.key.cert}, false))
			assert.Error(t, m.Verify([]*x509.Certificate{rsaOther.cert}, false))
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	rsaKey, _, p256, _ := testKeys(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tests := []struct {
		name       string
		param      string
		xml        string
		relayState string
		key        crypto.Signer
		sigAlg     string
		wantErr    string
	}{
		{name: "bad parameter", param: "SAMLMessage", xml: testXML, wantErr: "parameter must be"},
		{name: "empty document", param: "SAMLRequest", wantErr: "empty document"},
		{name: "RelayState 81 bytes", param: "SAMLRequest", xml: testXML, relayState: strings.Repeat("r", 81), wantErr: "more than 80"},
		{name: "SigAlg without key", param: "SAMLRequest", xml: testXML, sigAlg: algRSASHA256, wantErr: "without a signing key"},
		{name: "SHA-1", param: "SAMLRequest", xml: testXML, key: rsaKey.signer, sigAlg: algRSASHA1, wantErr: "SHA-1"},
		{name: "unknown algorithm", param: "SAMLRequest", xml: testXML, key: rsaKey.signer, sigAlg: "http://www.w3.org/2000/09/xmldsig#hmac-sha1", wantErr: "unsupported signature algorithm"},
		{name: "ECDSA algorithm with RSA key", param: "SAMLRequest", xml: testXML, key: rsaKey.signer, sigAlg: algECDSASHA256, wantErr: "needs an ECDSA key"},
		{name: "RSA algorithm with ECDSA key", param: "SAMLRequest", xml: testXML, key: p256.signer, sigAlg: algRSASHA256, wantErr: "needs an RSA key"},
		{name: "Ed25519 key", param: "SAMLRequest", xml: testXML, key: edKey, wantErr: "unsupported signing key type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(tc.param, []byte(tc.xml), tc.relayState, tc.key, tc.sigAlg)
			require.ErrorContains(t, err, tc.wantErr)
			assert.True(t, strings.HasPrefix(err.Error(), "redirect: "), err.Error())
		})
	}
}

// deflateRaw compresses data as raw DEFLATE.
func deflateRaw(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// enc base64- and URL-encodes data as a query value.
func enc(data []byte) string {
	return url.QueryEscape(base64.StdEncoding.EncodeToString(data))
}

func TestDecodeRejects(t *testing.T) {
	xml := []byte(testXML)
	req := enc(deflateRaw(t, xml))
	// A base64 value with both '+' and '/' in it, to turn into URL-safe base64.
	var urlSafe string
	for i := 0; urlSafe == ""; i++ {
		b64 := base64.StdEncoding.EncodeToString(deflateRaw(t, []byte(testXML+strings.Repeat(" ", i))))
		if strings.ContainsAny(b64, "+") && strings.ContainsAny(b64, "/") {
			urlSafe = strings.NewReplacer("+", "-", "/", "_").Replace(b64)
		}
	}
	// The same bytes with non-zero bits in the unused part of the last
	// base64 character: malleable, so refused (base64 Strict).
	var sloppy string
	for i := 0; sloppy == ""; i++ {
		d := deflateRaw(t, []byte(testXML+strings.Repeat(" ", i)))
		if len(d)%3 == 2 {
			b64 := base64.StdEncoding.EncodeToString(d)
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
			last := strings.IndexByte(alphabet, b64[len(b64)-2])
			sloppy = url.QueryEscape(b64[:len(b64)-2] + string(alphabet[last^1]) + "=")
		}
	}
	var zl, gz bytes.Buffer
	zw := zlib.NewWriter(&zl)
	_, _ = zw.Write(xml)
	require.NoError(t, zw.Close())
	gw := gzip.NewWriter(&gz)
	_, _ = gw.Write(xml)
	require.NoError(t, gw.Close())
	sig := "&SigAlg=" + url.QueryEscape(algRSASHA256) + "&Signature=" + enc([]byte("sig"))

	tests := []struct {
		name        string
		query       string
		maxInflated int
		wantErr     string
	}{
		{name: "empty query", query: "", wantErr: "neither SAMLRequest nor SAMLResponse"},
		{name: "neither parameter", query: "RelayState=x&foo=" + req, wantErr: "neither SAMLRequest nor SAMLResponse"},
		{name: "both parameters", query: "SAMLRequest=" + req + "&SAMLResponse=" + req, wantErr: "both SAMLRequest and SAMLResponse"},
		{name: "duplicate SAMLRequest", query: "SAMLRequest=" + req + "&SAMLRequest=" + req, wantErr: "SAMLRequest appears more than once"},
		{name: "duplicate SAMLResponse", query: "SAMLResponse=" + req + "&SAMLResponse=" + req, wantErr: "SAMLResponse appears more than once"},
		{name: "duplicate RelayState", query: "SAMLRequest=" + req + "&RelayState=a&RelayState=b", wantErr: "RelayState appears more than once"},
		{name: "duplicate SigAlg", query: "SAMLRequest=" + req + sig + "&SigAlg=x", wantErr: "SigAlg appears more than once"},
		{name: "duplicate Signature", query: "SAMLRequest=" + req + sig + "&Signature=" + enc([]byte("x")), wantErr: "Signature appears more than once"},
		{name: "duplicate SAMLEncoding", query: "SAMLRequest=" + req + "&SAMLEncoding=" + url.QueryEscape(encodingDeflate) + "&SAMLEncoding=" + url.QueryEscape(encodingDeflate), wantErr: "SAMLEncoding appears more than once"},
		{name: "percent-encoded parameter name", query: "SAMLRequest=" + req + "&Relay%53tate=x", wantErr: "percent-encoded"},
		{name: "malformed parameter name", query: "SAMLRequest=" + req + "&a%zz=1", wantErr: "malformed parameter name"},
		{name: "parameter without value", query: "SAMLRequest=" + req + "&RelayState", wantErr: "RelayState has no value"},
		{name: "semicolon separator", query: "SAMLRequest=" + req + ";RelayState=x", wantErr: "';'"},
		{name: "SigAlg without Signature", query: "SAMLRequest=" + req + "&SigAlg=" + url.QueryEscape(algRSASHA256), wantErr: "SigAlg without Signature"},
		{name: "Signature without SigAlg", query: "SAMLRequest=" + req + "&Signature=" + enc([]byte("sig")), wantErr: "Signature without SigAlg"},
		{name: "empty SigAlg", query: "SAMLRequest=" + req + "&SigAlg=&Signature=" + enc([]byte("sig")), wantErr: "SigAlg is empty"},
		{name: "empty Signature", query: "SAMLRequest=" + req + "&SigAlg=x&Signature=", wantErr: "Signature is empty"},
		{name: "Signature not base64", query: "SAMLRequest=" + req + "&SigAlg=x&Signature=%21%21%21%21", wantErr: "Signature: not base64"},
		{name: "Signature too large", query: "SAMLRequest=" + req + "&SigAlg=x&Signature=" + enc(make([]byte, 2049)), wantErr: "more than 2048 bytes"},
		{name: "Signature too long before decoding", query: "SAMLRequest=" + req + "&SigAlg=x&Signature=" + strings.Repeat("%20", 8000), wantErr: "Signature is too long"},
		{name: "empty SAMLRequest", query: "SAMLRequest=&RelayState=x", wantErr: "SAMLRequest is empty"},
		{name: "RelayState 81 bytes", query: "SAMLRequest=" + req + "&RelayState=" + strings.Repeat("r", 81), wantErr: "RelayState is 81 bytes, more than 80"},
		{name: "RelayState 81 bytes once decoded", query: "SAMLRequest=" + req + "&RelayState=" + strings.Repeat("%C3%A9", 40) + "r", wantErr: "RelayState is 81 bytes"},
		{name: "RelayState bad escape", query: "SAMLRequest=" + req + "&RelayState=%zz", wantErr: "RelayState is not URL-encoded"},
		{name: "SAMLRequest bad escape", query: "SAMLRequest=" + req + "%2", wantErr: "invalid URL escape"},
		{name: "SAMLEncoding not DEFLATE", query: "SAMLRequest=" + req + "&SAMLEncoding=urn%3Aother", wantErr: "SAMLEncoding \"urn%3Aother\" is not supported"},
		{name: "URL-safe base64", query: "SAMLRequest=" + urlSafe, wantErr: "SAMLRequest: not base64"},
		{name: "base64 with non-zero padding bits", query: "SAMLRequest=" + sloppy, wantErr: "SAMLRequest: not base64"},
		{name: "not base64", query: "SAMLRequest=%3C%3Fxml", wantErr: "SAMLRequest: not base64"},
		{name: "base64 of plain XML", query: "SAMLRequest=" + enc(xml), wantErr: "not raw DEFLATE"},
		{name: "zlib header and trailer", query: "SAMLRequest=" + enc(zl.Bytes()), wantErr: "not raw DEFLATE"},
		{name: "gzip", query: "SAMLRequest=" + enc(gz.Bytes()), wantErr: "not raw DEFLATE"},
		{name: "truncated DEFLATE", query: "SAMLRequest=" + enc(deflateRaw(t, xml)[:20]), wantErr: "not raw DEFLATE"},
		{name: "trailing bytes after DEFLATE", query: "SAMLRequest=" + enc(append(deflateRaw(t, xml), 0, 0, 0, 0)), wantErr: "data after the end of the DEFLATE stream"},
		{name: "trailing bad base64 after DEFLATE", query: "SAMLRequest=" + req + "%21%21%21%21", wantErr: "not base64"},
		{name: "empty document", query: "SAMLRequest=" + enc(deflateRaw(t, nil)), wantErr: "inflates to an empty document"},
		{name: "one byte over the inflate limit", query: "SAMLRequest=" + enc(deflateRaw(t, make([]byte, 1001))), maxInflated: 1000, wantErr: "inflates to more than 1000 bytes"},
		{name: "inflate limit defaults to MaxInflated", query: "SAMLRequest=" + enc(deflateRaw(t, make([]byte, MaxInflated+1))), wantErr: "inflates to more than 1048576 bytes"},
		{name: "query longer than twice the limit", query: "SAMLRequest=" + req + "&x=" + strings.Repeat("a", 2000), maxInflated: 1000, wantErr: "more than twice the 1000-byte inflate limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.query, tc.maxInflated)
			require.ErrorContains(t, err, tc.wantErr)
			assert.Nil(t, m)
			assert.ErrorIs(t, err, ErrInvalid)
			assert.True(t, strings.HasPrefix(err.Error(), "redirect: "), err.Error())
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	xml := []byte(testXML)
	req := enc(deflateRaw(t, xml))
	b64 := base64.StdEncoding.EncodeToString(deflateRaw(t, xml))
	require.Contains(t, req, "%2B", "the test document must need percent-encoding")
	small := "SAMLRequest=" + enc(deflateRaw(t, []byte("<a/>"))) + "&x="
	tests := []struct {
		name           string
		query          string
		maxInflated    int
		wantXML        string
		wantRelayState string
	}{
		{name: "RelayState exactly 80 bytes", query: "SAMLRequest=" + req + "&RelayState=" + strings.Repeat("r", 80), wantRelayState: strings.Repeat("r", 80)},
		{name: "RelayState 80 bytes once decoded", query: "SAMLRequest=" + req + "&RelayState=" + strings.Repeat("%C3%A9", 40), wantRelayState: strings.Repeat("é", 40)},
		{name: "empty RelayState", query: "SAMLRequest=" + req + "&RelayState="},
		{name: "RelayState with plus", query: "SAMLRequest=" + req + "&RelayState=a+b%2Bc", wantRelayState: "a b+c"},
		{name: "base64 with line breaks and spaces", query: "SAMLRequest=" + url.QueryEscape(b64[:10]+"\r\n"+b64[10:30]+" \t"+b64[30:]), wantRelayState: ""},
		{name: "lowercase percent escapes", query: "SAMLRequest=" + lowerEscapes(req)},
		{name: "unescaped slash and equals", query: "SAMLRequest=" + strings.NewReplacer("%2B", "%2b", "%2F", "/", "%3D", "=").Replace(req)},
		{name: "parameters in any order, others ignored", query: "a=1&RelayState=s&&b&SAMLRequest=" + req + "&c=%20", wantRelayState: "s"},
		{name: "SAMLEncoding DEFLATE", query: "SAMLEncoding=" + url.QueryEscape(encodingDeflate) + "&SAMLRequest=" + req},
		{name: "exactly at the inflate limit", query: "SAMLRequest=" + enc(deflateRaw(t, bytes.Repeat([]byte("x"), 1000))), maxInflated: 1000, wantXML: strings.Repeat("x", 1000)},
		{name: "query exactly twice the limit", query: small + strings.Repeat("a", 2000-len(small)), maxInflated: 1000, wantXML: "<a/>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.query, tc.maxInflated)
			require.NoError(t, err)
			want := tc.wantXML
			if want == "" {
				want = testXML
			}
			assert.Equal(t, want, string(m.XML))
			assert.Equal(t, tc.wantRelayState, m.RelayState)
			assert.False(t, m.Signed())
		})
	}
}

// lowerEscapes turns %2B into %2b and so on.
func lowerEscapes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			b.WriteString("%" + strings.ToLower(s[i+1:i+3]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
