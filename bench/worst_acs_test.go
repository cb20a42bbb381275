package bench

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmlenc"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// Carriers: how a hostile Response or LogoutRequest relates to a genuine
// one. In each, the padding goes inside the signed element, so the digest
// no longer matches.
const (
	// carrierFresh keeps the SignedInfo and SignatureValue of a fresh
	// message the IdP signed (the RSA check of SignedInfo passes, so the
	// digest is computed) and names an untrusted certificate in KeyInfo
	// (so no trusted key is preferred).
	carrierFresh = "fresh"
	// carrierExpired is the same with a message the IdP signed two hours
	// ago, without KeyInfo.
	carrierExpired = "expired"
	// carrierForged has a random SignatureValue and no KeyInfo: every
	// trusted certificate is tried, none verifies.
	carrierForged = "forged"
)

var carriers = []string{carrierFresh, carrierExpired, carrierForged}

// signedResponse returns a Response the test IdP signed (the Assertion),
// answering the world's login, issued at issued.
func (w *world) signedResponse(issued time.Time, attrs []saml2sp.Attribute, enc *x509.Certificate) string {
	x, err := w.idp.ResponseXML(saml2sptest.Response{
		Destination:  acsURL,
		Audience:     spEntityID,
		InResponseTo: w.requestID,
		NameID:       "jane.doe@example.com",
		IssueInstant: issued,
		Attributes:   attrs,
		Encrypt:      enc,
	})
	if err != nil {
		panic(err)
	}
	return string(x)
}

// withCarrier applies carrier to the signed XML s (one ds:Signature):
// KeyInfo naming an untrusted certificate, or no KeyInfo, or a random
// SignatureValue without KeyInfo.
func (w *world) withCarrier(s, carrier string) string {
	switch carrier {
	case carrierFresh:
		return cut(s, "<ds:X509Certificate>", "</ds:X509Certificate>",
			"<ds:X509Certificate>"+base64.StdEncoding.EncodeToString(w.untrusted.Raw)+"</ds:X509Certificate>")
	case carrierExpired:
		return cut(s, "<ds:KeyInfo>", "</ds:KeyInfo>", "")
	case carrierForged:
		s = cut(s, "<ds:KeyInfo>", "</ds:KeyInfo>", "")
		sig := make([]byte, 256) // an RSA-2048 signature's length
		_, _ = rand.Read(sig)
		return cut(s, "<ds:SignatureValue>", "</ds:SignatureValue>", "<ds:SignatureValue>"+base64.StdEncoding.EncodeToString(sig)+"</ds:SignatureValue>")
	}
	panic("unknown carrier " + carrier)
}

// issuedFor is when the carrier's message was signed.
func issuedFor(carrier string) time.Time {
	if carrier == carrierExpired {
		return now.Add(-2 * time.Hour)
	}
	return now
}

// padSigned returns s, whose signed element carries an empty container
// open+close inserted at the first occurrence of at, padded with kind to
// exactly raw bytes. For padBase64 the bulk is the text of the Signature's
// X509Certificate (fresh, expired) or SignatureValue (forged) instead.
// signedFrom is where the signed element starts in s, for the cap on
// elements inside it.
func padSigned(s, at, open, close, kind, carrier string, raw int, c container, lim docLimits, signedFrom string) string {
	if kind == padBase64 {
		s = insertBefore(s, at, open+close)
		if carrier == carrierExpired {
			s = insertBefore(s, "</ds:Signature>", "<ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo>")
		}
		tag := "ds:X509Certificate"
		if carrier == carrierForged {
			tag = "ds:SignatureValue"
		}
		old := textOf(s, "<"+tag+">", "</"+tag+">")
		n := (raw - len(s) + len(old)) / 4 * 4
		s = cut(s, "<"+tag+">", "</"+tag+">", "<"+tag+">"+randomBase64(n)+"</"+tag+">")
		return s + strings.Repeat("\n", raw-len(s))
	}
	empty := insertBefore(s, at, open+close)
	c.elems = lim.maxElements - 1 - countElements(empty)
	c.nodes = nodeBudget(empty, raw, lim)
	if lim.maxSignedElements > 0 {
		signed := empty[strings.Index(empty, signedFrom):]
		c.elems = min(c.elems, lim.maxSignedElements-1-countElements(signed))
	}
	return insertBefore(s, at, open+padding(kind, raw-len(empty), c, lim)+close)
}

// Where the padding of a Response goes: a saml:Advice in the signed
// Assertion (its schema admits any element), at depth 3, with samlp,
// saml, xs, xsi and x in scope.
const (
	adviceOpen  = `<saml:Advice xmlns:x="urn:x">`
	adviceClose = `</saml:Advice>`
)

var adviceContainer = container{depth: 3, inScope: 5}

// hostileResponse is a Response of exactly raw bytes: a genuine one of
// the carrier, padded inside its signed Assertion.
func (w *world) hostileResponse(kind, carrier string, raw int) string {
	s := w.withCarrier(w.signedResponse(issuedFor(carrier), nil, nil), carrier)
	return padSigned(s, "<saml:AuthnStatement", adviceOpen, adviceClose, kind, carrier, raw, adviceContainer, w.lim.msg, "<saml:Assertion")
}

// genuineAttributes are what a big directory sends: 100 single-valued
// attributes and a "groups" attribute with n values, every value valueLen
// bytes long.
func genuineAttributes(n, valueLen int) []saml2sp.Attribute {
	value := func(prefix string, i int) string {
		v := fmt.Sprintf("%s %05d of jane.doe, department platform ", prefix, i)
		for len(v) < valueLen {
			v += "engineering "
		}
		return v[:valueLen]
	}
	attrs := []saml2sp.Attribute{
		{Name: "email", Values: []string{"jane.doe@example.com"}},
		{Name: "firstName", Values: []string{"Jane"}},
		{Name: "lastName", Values: []string{"Doe"}},
	}
	for i := range 97 {
		attrs = append(attrs, saml2sp.Attribute{Name: fmt.Sprintf("custom.attribute%03d", i+1), Values: []string{value("value", i)}})
	}
	groups := saml2sp.Attribute{Name: "groups"}
	for i := range n {
		groups.Values = append(groups.Values, value("group", i))
	}
	return append(attrs, groups)
}

// fitGenuine returns build(n, valueLen) grown to at most raw bytes, then
// made exactly raw with line breaks after the document element: n as
// large as the size allows with 40-byte values, and when that would pass
// maxN, maxN values made longer.
func fitGenuine(raw, maxN int, build func(n, valueLen int) string) string {
	valueLen := 40
	s0, s100 := len(build(0, valueLen)), len(build(100, valueLen))
	per := float64(s100-s0) / 100
	n := int(float64(raw-s0) / per)
	if n > maxN {
		n = maxN
		grow := float64(len(build(n, valueLen+10))-len(build(n, valueLen))) / 10
		valueLen += int(float64(raw-len(build(n, valueLen))) / grow)
	}
	for {
		s := build(n, valueLen)
		if len(s) <= raw {
			return s + strings.Repeat("\n", raw-len(s))
		}
		n -= int(float64(len(s)-raw)/per) + 1
	}
}

// genuineResponse is a Response the SP accepts, of exactly raw bytes:
// the Assertion signed and, with enc, encrypted for it.
func (w *world) genuineResponse(raw int, enc *x509.Certificate) string {
	maxN := w.lim.msg.maxElements - 300 // 100 attributes and the rest of the Response
	return fitGenuine(raw, maxN, func(n, valueLen int) string {
		return w.signedResponse(now, genuineAttributes(n, valueLen), enc)
	})
}

// fitForm returns build(raw) for the largest raw such that its base64 is
// at most maxEncoded and the form body (field, base64 URL-escaped, rest)
// at most maxEncoded+formOverhead, as the handlers allow.
func fitForm(maxEncoded int, field, rest string, build func(raw int) string) (xml, body string) {
	raw := rawFor(maxEncoded)
	for {
		xml = build(raw)
		b64 := base64.StdEncoding.EncodeToString([]byte(xml))
		body = field + "=" + url.QueryEscape(b64) + rest
		over := max(len(b64)-maxEncoded, len(body)-(maxEncoded+formOverhead))
		if over <= 0 {
			return xml, body
		}
		raw -= over*3/4 + 4
	}
}

// bogusEncryptedKey is an xenc:EncryptedKey that names no certificate and
// whose CipherValue is a random number below every 2048-bit modulus: each
// SP key performs a full RSA-OAEP decryption of it, and fails.
func bogusEncryptedKey() string {
	c := make([]byte, 256)
	_, _ = rand.Read(c[1:]) // c[0] = 0 keeps it below the modulus
	return `<xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>` +
		`<xenc:CipherData><xenc:CipherValue>` + base64.StdEncoding.EncodeToString(c) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>`
}

// hostileEncryptedKeys is an unsigned Response whose EncryptedAssertion
// carries xmlenc.MaxEncryptedKeys bogus EncryptedKeys (each tried with
// every SP key, none decrypts) and random ciphertext making up raw bytes.
func (w *world) hostileEncryptedKeys(raw int) string {
	s := w.signedResponse(now, nil, w.spCerts[0])
	s = cut(s, "<xenc:EncryptedKey>", "</xenc:EncryptedKey>", strings.Repeat(bogusEncryptedKey(), w.lim.maxEncryptedKeys))
	// The EncryptedData's own CipherValue is the last one.
	i := strings.LastIndex(s, "<xenc:CipherValue>") + len("<xenc:CipherValue>")
	j := i + strings.Index(s[i:], "</xenc:CipherValue>")
	n := (raw - (len(s) - (j - i))) / 4 * 4
	s = s[:i] + randomBase64(n) + s[j:]
	return s + strings.Repeat("\n", raw-len(s))
}

// hostileEncryptedAssertion is an unsigned Response whose EncryptedAssertion
// does decrypt (anyone can encrypt for the SP's public certificate): for
// the last SP key (PreviousKeys), after MaxEncryptedKeys-1 bogus
// EncryptedKeys, so every key is tried on every EncryptedKey first. The
// plaintext is a fresh genuine Assertion padded with kind inside, whose
// signature the SP then checks in vain. It returns the Response and the
// plaintext.
func (w *world) hostileEncryptedAssertion(kind string, raw int) (string, string) {
	fresh := w.withCarrier(w.signedResponse(now, nil, nil), carrierFresh)
	assertion := "<saml:Assertion" + textOf(fresh, "<saml:Assertion", "</saml:Assertion>") + "</saml:Assertion>"
	outer := w.signedResponse(now, nil, w.spCerts[0])
	build := func(plainSize int) (string, string) {
		c := adviceContainer
		c.depth-- // the Assertion is the document element of the plaintext
		lim := w.lim.msg
		lim.maxElements-- // the decrypted Assertion is parsed inside a wrapper element
		plain := padSigned(assertion, "<saml:AuthnStatement", adviceOpen, adviceClose, kind, carrierFresh, plainSize, c, lim, "<saml:Assertion")
		ed, err := xmlenc.Encrypt([]byte(plain), w.spCerts[2].PublicKey.(*rsa.PublicKey), xmlenc.EncryptOptions{Certificate: w.spCerts[2]})
		if err != nil {
			panic(err)
		}
		doc := etree.NewDocument()
		doc.SetRoot(ed)
		var buf bytes.Buffer
		if _, err := doc.WriteTo(&buf); err != nil {
			panic(err)
		}
		eds := insertBefore(buf.String(), "<xenc:EncryptedKey", strings.Repeat(bogusEncryptedKey(), w.lim.maxEncryptedKeys-1))
		return cut(outer, "<xenc:EncryptedData", "</xenc:EncryptedData>", eds), plain
	}
	// Base64 makes 4 bytes of 3: grow the plaintext by 3/4 of what is missing.
	smallPlain := len(assertion) + 64
	small, _ := build(smallPlain)
	plainSize := smallPlain + (raw-len(small))*3/4
	for {
		s, plain := build(plainSize)
		if len(s) <= raw {
			return s + strings.Repeat("\n", raw-len(s)), plain
		}
		plainSize -= (len(s)-raw)*3/4 + 4
	}
}
