package bench

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// signedLogoutRequest returns a LogoutRequest the test IdP signed for the
// HTTP-POST binding, issued at issued.
func (w *world) signedLogoutRequest(issued time.Time) string {
	form, err := w.idp.LogoutRequestForm(saml2sptest.LogoutRequest{
		Destination:  sloURL,
		NameID:       "jane.doe@example.com",
		SessionIndex: "_sess-bench-1",
		IssueInstant: issued,
	})
	if err != nil {
		panic(err)
	}
	raw, err := base64.StdEncoding.DecodeString(form.Get("SAMLRequest"))
	if err != nil {
		panic(err)
	}
	return string(raw)
}

// Where the padding of a LogoutRequest goes: a samlp:Extensions after the
// Signature (its schema admits any element), at depth 2, with samlp, saml
// and x in scope.
const (
	extensionsOpen  = `<samlp:Extensions xmlns:x="urn:x">`
	extensionsClose = `</samlp:Extensions>`
)

var extensionsContainer = container{depth: 2, inScope: 3}

// hostileLogoutRequest is a LogoutRequest of exactly raw bytes: a genuine
// one of the carrier, padded inside (the whole message is signed).
func (w *world) hostileLogoutRequest(kind, carrier string, raw int) string {
	s := w.withCarrier(w.signedLogoutRequest(issuedFor(carrier)), carrier)
	// Extensions follow the Signature: insert before the NameID.
	return padSigned(s, "<saml:NameID", extensionsOpen, extensionsClose, kind, carrier, raw, extensionsContainer, w.lim.msg, "<samlp:LogoutRequest")
}

// logoutRequestXML is an unsigned LogoutRequest ending n sessions of
// jane.doe, each SessionIndex valueLen bytes (random base64, so that
// DEFLATE cannot shrink them much and the query, not the inflated size,
// is what the limits bind).
func logoutRequestXML(issued time.Time, n, valueLen int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_%s" Version="2.0" IssueInstant="%s" Destination="%s" NotOnOrAfter="%s">`,
		randomHex(16), issued.UTC().Format(time.RFC3339), sloURL, issued.Add(5*time.Minute).UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, `<saml:Issuer>%s</saml:Issuer>`, idpEntityID)
	b.WriteString(`<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">jane.doe@example.com</saml:NameID>`)
	for range n {
		b.WriteString("<samlp:SessionIndex>_" + randomBase64(valueLen/4*4 + 4)[:max(valueLen-1, 1)] + "</samlp:SessionIndex>")
	}
	b.WriteString("</samlp:LogoutRequest>")
	return b.String()
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)[:n]
}

// signEnveloped signs the document element of x as the test IdP does
// (exclusive c14n, RSA-SHA256, KeyInfo with its certificate, the
// Signature after the Issuer).
func (w *world) signEnveloped(x string) string {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(x); err != nil {
		panic(err)
	}
	ctx, err := dsig.NewSigningContext(w.idp.Key, [][]byte{w.idp.Certificate.Raw})
	if err != nil {
		panic(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	root := doc.Root()
	sig, err := ctx.ConstructSignature(root.Copy(), true)
	if err != nil {
		panic(err)
	}
	root.InsertChildAt(root.SelectElement("Issuer").Index()+1, sig)
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		panic(err)
	}
	return buf.String()
}

// genuineLogoutRequest is a signed LogoutRequest the SP accepts, of
// exactly raw bytes: it ends as many sessions as the size needs.
func (w *world) genuineLogoutRequest(raw int) string {
	return fitGenuine(raw, w.lim.msg.maxElements-20, func(n, valueLen int) string {
		return w.signEnveloped(logoutRequestXML(now, n, valueLen))
	})
}

// redirectQuery returns the HTTP-Redirect query of a LogoutRequest with n
// SessionIndexes of valueLen bytes, signed in the query by the IdP.
func (w *world) redirectQuery(issued time.Time, n, valueLen int) string {
	q, err := redirect.Encode("SAMLRequest", []byte(logoutRequestXML(issued, n, valueLen)), "", w.idp.Key, "")
	if err != nil {
		panic(err)
	}
	return q
}

// genuineRedirect is the largest signed HTTP-Redirect LogoutRequest whose
// query fits w.lim.maxQuery (issued at issued: now, or two hours ago for a
// replayed old one).
func (w *world) genuineRedirect(issued time.Time) string {
	maxN := w.lim.msg.maxElements - 20
	// Long session IDs, so that the query comes as close to its limit as
	// the inflated size allows (the tags around them deflate to nothing).
	valueLen := max(200, w.lim.maxQuery/maxN+1)
	q0, q100 := len(w.redirectQuery(issued, 0, valueLen)), len(w.redirectQuery(issued, 100, valueLen))
	per := float64(q100-q0) / 100
	perInflated := len("<samlp:SessionIndex></samlp:SessionIndex>") + valueLen
	n := min(int(float64(w.lim.maxQuery-q0)/per), maxN, (w.lim.maxInflated-1024)/perInflated)
	for {
		q := w.redirectQuery(issued, n, valueLen)
		if len(q) <= w.lim.maxQuery {
			return q
		}
		n -= int(float64(len(q)-w.lim.maxQuery)/per) + 1
	}
}

// forgedSignature is a SigAlg and Signature pair that verifies with no
// key: a random 2048-bit-sized value.
func forgedSignature() string {
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	return "&SigAlg=" + url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256") +
		"&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
}

// deflated is the SAMLRequest parameter of xml, DEFLATE-compressed.
func deflated(xml []byte) string {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = fw.Write(xml)
	_ = fw.Close()
	return "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// fillQuery appends an ignored parameter (not covered by the signature)
// that brings q to exactly size bytes.
func fillQuery(q string, size int) string {
	const name = "&pad="
	if n := size - len(q) - len(name); n > 0 {
		return q + name + strings.Repeat("a", n)
	}
	return q
}

// hostileRedirectInflation is a query at the size limit whose SAMLRequest
// inflates to just under redirect.MaxInflated (a LogoutRequest whose
// Extensions hold only white space), with a forged signature.
func (w *world) hostileRedirectInflation() (query string, xml []byte) {
	s := logoutRequestXML(now, 0, 0)
	s = insertBefore(s, "<saml:NameID", extensionsOpen+extensionsClose)
	s = insertBefore(s, extensionsClose, strings.Repeat(" ", w.lim.maxInflated-1-len(s)))
	return fillQuery(deflated([]byte(s))+forgedSignature(), w.lim.maxQuery), []byte(s)
}

// hostileRedirectBomb is a query at the size limit whose SAMLRequest would
// inflate to twice redirect.MaxInflated; the decoder stops at the limit.
func (w *world) hostileRedirectBomb() string {
	return fillQuery(deflated(bytes.Repeat([]byte(" "), 2*w.lim.maxInflated))+forgedSignature(), w.lim.maxQuery)
}

// hostileRedirectLong is a query at the size limit that is all
// SAMLRequest: a LogoutRequest whose Extensions hold random text that
// DEFLATE cannot shrink, so every trusted certificate's verification
// hashes the whole query; the signature is forged.
func (w *world) hostileRedirectLong() (query string, xml []byte) {
	s := logoutRequestXML(now, 0, 0)
	s = insertBefore(s, "<saml:NameID", extensionsOpen+extensionsClose)
	// DEFLATE takes base64 text down to about 3/4, base64 brings it back.
	size := min(w.lim.maxQuery, w.lim.maxInflated-len(s)-1)
	text := randomBase64(size/4*4 + 4)
	for {
		x := insertBefore(s, extensionsClose, text[:size])
		q := deflated([]byte(x)) + forgedSignature()
		if len(q) <= w.lim.maxQuery {
			return q, []byte(x)
		}
		size -= (len(q)-w.lim.maxQuery)*3/4 + 4
	}
}

// saml2sptestLogoutRequest is a typical signed LogoutRequest of the test
// IdP: the reference for the HTTP-Redirect cases.
func saml2sptestLogoutRequest() saml2sptest.LogoutRequest {
	return saml2sptest.LogoutRequest{Destination: sloURL, NameID: "jane.doe@example.com", SessionIndex: "_sess-bench-1"}
}
