package bench

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/saml2sp/saml2sp"
)

// worstCase is one input of BenchmarkWorstCase: a hostile input or the
// genuine one it is compared with.
type worstCase struct {
	// endpoint groups a hostile input with its genuine counterpart, which
	// is named "genuine" (the same kind and size); "genuine-small" is a
	// typical message, shown for reference only.
	endpoint, name string
	// target is the handler that serves req: "acs", "sls" or "login";
	// "metadata" means saml2sp.ParseMetadataEntity(metadata, the test
	// IdP's entity ID), as an app does with a federation aggregate.
	target   string
	req      []byte
	metadata []byte
	// size is the size the limit bounds: the encoded form value, the
	// query, the Cookie header or the metadata document. It must be at
	// most maxSize and at least minSize (zero: 90% of maxSize).
	size, maxSize, minSize int
	// want lists the error classes a hostile input may be refused with;
	// nil for a genuine input (accepted) and for the login start (which
	// must start a login whatever the cookies and query hold).
	want []error
	// docs are the XML documents the SP parses (the decoded message, or
	// also a decrypted plaintext), which must stay within lim.
	docs [][]byte
	lim  docLimits
}

var (
	casesOnce sync.Once
	allCases  []*worstCase
)

// worstCases builds every input once (a few seconds: the genuine
// messages are signed at full size).
func worstCases(tb testing.TB) (*world, []*worstCase) {
	tb.Helper()
	w := getWorld(tb)
	casesOnce.Do(func() { allCases = w.buildCases() })
	return w, allCases
}

func (w *world) buildCases() []*worstCase {
	var cases []*worstCase
	lim := w.lim
	acsRest := "&RelayState=" + w.relayState
	acsPost := func(endpoint, name string, want []error, build func(raw int) string) *worstCase {
		xml, body := fitForm(lim.maxEncoded, "SAMLResponse", acsRest, build)
		return &worstCase{endpoint: endpoint, name: name, target: "acs", req: rawPost("/saml/acs", body, w.stateCookie),
			size: base64.StdEncoding.EncodedLen(len(xml)), maxSize: lim.maxEncoded, want: want, docs: [][]byte{[]byte(xml)}, lim: lim.msg}
	}
	slsPost := func(name string, want []error, build func(raw int) string) *worstCase {
		xml, body := fitForm(lim.maxEncoded, "SAMLRequest", "", build)
		return &worstCase{endpoint: "sls-post", name: name, target: "sls", req: rawPost("/saml/slo", body, ""),
			size: base64.StdEncoding.EncodedLen(len(xml)), maxSize: lim.maxEncoded, want: want, docs: [][]byte{[]byte(xml)}, lim: lim.msg}
	}
	refusedAs := func(carrier string) []error {
		if carrier == carrierExpired {
			// Refused by the digest today, by the time check once it runs
			// before the cryptography.
			return []error{saml2sp.ErrSignature, saml2sp.ErrExpired}
		}
		return []error{saml2sp.ErrSignature}
	}

	// ACS, plain assertions.
	cases = append(cases, acsPost("acs", "genuine", nil, func(raw int) string { return w.genuineResponse(raw, nil) }))
	for _, kind := range padKinds {
		for _, carrier := range carriers {
			cases = append(cases, acsPost("acs", kind+"-"+carrier, refusedAs(carrier), func(raw int) string {
				return w.hostileResponse(kind, carrier, raw)
			}))
		}
	}
	// ACS, encrypted assertions.
	cases = append(cases, acsPost("acs-encrypted", "genuine", nil, func(raw int) string { return w.genuineResponse(raw, w.spCerts[0]) }))
	cases = append(cases, acsPost("acs-encrypted", fmt.Sprintf("keys-%dx%d", lim.maxEncryptedKeys, spKeys), []error{saml2sp.ErrDecryption}, w.hostileEncryptedKeys))
	var plain string
	c := acsPost("acs-encrypted", "decrypts-elements", []error{saml2sp.ErrDecryption}, func(raw int) string {
		var s string
		s, plain = w.hostileEncryptedAssertion(padElements, raw)
		return s
	})
	c.docs = append(c.docs, []byte(plain))
	cases = append(cases, c)

	// SLS, HTTP-POST binding.
	cases = append(cases, slsPost("genuine", nil, w.genuineLogoutRequest))
	cases = append(cases, slsPost("genuine-small", nil, func(int) string { return w.signedLogoutRequest(now) }))
	for _, kind := range padKinds {
		for _, carrier := range carriers {
			cases = append(cases, slsPost(kind+"-"+carrier, refusedAs(carrier), func(raw int) string {
				return w.hostileLogoutRequest(kind, carrier, raw)
			}))
		}
	}

	// SLS, HTTP-Redirect binding.
	redirect := func(name, query string, want []error, xml []byte) *worstCase {
		c := &worstCase{endpoint: "sls-redirect", name: name, target: "sls", req: rawGet("/saml/slo?"+query, ""),
			// A query is bounded twice: by its own length and by what it
			// inflates to. A genuine message's content compresses poorly
			// and meets the second first.
			size: len(query), maxSize: lim.maxQuery, minSize: min(lim.maxQuery, lim.maxInflated) * 9 / 10, want: want, lim: lim.msg}
		if xml != nil {
			c.docs = [][]byte{xml}
		}
		return c
	}
	small, err := w.idp.LogoutRequestURL(saml2sptestLogoutRequest())
	if err != nil {
		panic(err)
	}
	cases = append(cases,
		redirect("genuine", w.genuineRedirect(now), nil, nil),
		redirect("genuine-small", small[len(sloURL)+1:], nil, nil),
		redirect("expired-replayed", w.genuineRedirect(issuedFor(carrierExpired)), []error{saml2sp.ErrExpired}, nil))
	q, xml := w.hostileRedirectInflation()
	cases = append(cases, redirect("max-inflation-forged", q, []error{saml2sp.ErrSignature}, xml))
	q, xml = w.hostileRedirectLong()
	cases = append(cases, redirect("long-forged", q, []error{saml2sp.ErrSignature}, xml))
	cases = append(cases, redirect("deflate-bomb", w.hostileRedirectBomb(), []error{saml2sp.ErrMalformed}, nil))

	// Login start.
	cookies := maxHeaderBytes - len("return_to=%2Fdashboard")
	login := func(name, query, cookie string) *worstCase {
		return &worstCase{endpoint: "login", name: name, target: "login", req: rawGet("/saml/login?"+query, cookie),
			size: len(query) + len(cookie), maxSize: maxHeaderBytes}
	}
	cases = append(cases,
		login("genuine", "return_to=%2Fdashboard", appCookies(cookies)),
		login("genuine-small", "return_to=%2Fdashboard", ""),
		login("state-cookies", "return_to=%2Fdashboard", w.stateCookies(cookies)),
		login("query-many-params", manyParams(maxHeaderBytes), ""))

	// ParseMetadataEntity.
	md := func(name, doc string, want []error, lim docLimits) *worstCase {
		return &worstCase{endpoint: "metadata", name: name, target: "metadata", metadata: []byte(doc),
			size: len(doc), maxSize: w.lim.maxMetadata, want: want, docs: [][]byte{[]byte(doc)}, lim: lim}
	}
	cases = append(cases, md("genuine", w.genuineMetadata(lim.maxMetadata), nil, lim.metadata))
	for _, kind := range padKinds {
		cases = append(cases, md(kind, w.hostileMetadata(kind, lim.maxMetadata), []error{saml2sp.ErrMetadata}, lim.metadata))
	}
	return cases
}

// runner returns what the benchmark times for c: one request through the
// real handler (parsed from the wire bytes, so form parsing and body
// limits count), or one ParseMetadataEntity call. o records the outcome.
func (w *world) runner(c *worstCase, o *outcome) func() {
	acs, sls, login := w.handlers(o)
	h := map[string]http.Handler{"acs": acs, "sls": sls, "login": login}[c.target]
	if c.target == "metadata" {
		return func() {
			*o = outcome{}
			if _, err := saml2sp.ParseMetadataEntity(c.metadata, w.idp.EntityID); err != nil {
				o.err = err
			} else {
				o.ok = true
			}
		}
	}
	return func() {
		if err := serve(h, c.req, o); err != nil {
			o.err = err
		}
	}
}

// BenchmarkWorstCase times BenchmarkWorstCase/<endpoint>/<input>: every
// hostile input of worst_*_test.go and the genuine input of the same kind
// and size it is compared with (scripts/bench prints the ratios). Inputs
// are built once, before any timing; TestWorstCaseInputs checks what each
// comes to, so the loop asserts nothing. msg-B is the size the limit
// bounds (see worstCase.size).
func BenchmarkWorstCase(b *testing.B) {
	w, cases := worstCases(b)
	for _, c := range cases {
		b.Run(c.endpoint+"/"+c.name, func(b *testing.B) {
			var o outcome
			run := w.runner(c, &o)
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
			b.ReportMetric(float64(c.size), "msg-B")
		})
	}
}
