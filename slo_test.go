package saml2sp_test

// Single logout: ../shared/saml-attacks.md lines 42-45 (SLO1-3, DEFL).
// Every rejection case is validly signed unless the signature is what is
// under test, so only the rule under test stands between it and acceptance.

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

const (
	sloURL       = "https://sp.example.com/saml/sls"
	sloSession   = "_sess-1"
	sloRelay     = "idp-state-1"
	sloRequestID = "_logout-req-1"
	sloPartial   = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"
	sloResponder = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	sloDenied    = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
	sloSuccess   = "urn:oasis:names:tc:SAML:2.0:status:Success"
)

var sloBindings = []string{saml2sp.BindingHTTPRedirect, saml2sp.BindingHTTPPost}

func short(binding string) string { return binding[strings.LastIndexByte(binding, ':')+1:] }

// newSLOEnv is a test environment whose SP has an SLO URL.
func newSLOEnv(t testing.TB, mods ...func(*saml2sp.Config)) *testEnv {
	t.Helper()
	return newTestEnv(t, append([]func(*saml2sp.Config){func(c *saml2sp.Config) { c.SLOURL = sloURL }}, mods...)...)
}

// logoutRequest is the default IdP-initiated LogoutRequest, changed by mods.
func logoutRequest(mods ...func(*saml2sptest.LogoutRequest)) saml2sptest.LogoutRequest {
	l := saml2sptest.LogoutRequest{Destination: sloURL, SessionIndex: sloSession, RelayState: sloRelay}
	for _, m := range mods {
		if m != nil {
			m(&l)
		}
	}
	return l
}

// logoutResponse is the default answer to sloRequestID, changed by mods.
func logoutResponse(mods ...func(*saml2sptest.LogoutResponse)) saml2sptest.LogoutResponse {
	l := saml2sptest.LogoutResponse{Destination: sloURL, InResponseTo: sloRequestID, RelayState: sloRelay}
	for _, m := range mods {
		if m != nil {
			m(&l)
		}
	}
	return l
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func getRequest(rawURL string) *http.Request {
	return httptest.NewRequest(http.MethodGet, rawURL, nil)
}

func postRequest(form url.Values) *http.Request {
	return postBody(form.Encode())
}

func postBody(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, sloURL, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// logoutRequestVia sends l from idp by binding.
func logoutRequestVia(t *testing.T, idp *saml2sptest.IdP, binding string, l saml2sptest.LogoutRequest) *http.Request {
	t.Helper()
	if binding == saml2sp.BindingHTTPRedirect {
		u, err := idp.LogoutRequestURL(l)
		require.NoError(t, err)
		return getRequest(u)
	}
	form, err := idp.LogoutRequestForm(l)
	require.NoError(t, err)
	return postRequest(form)
}

// logoutResponseVia sends l from idp by binding.
func logoutResponseVia(t *testing.T, idp *saml2sptest.IdP, binding string, l saml2sptest.LogoutResponse) *http.Request {
	t.Helper()
	if binding == saml2sp.BindingHTTPRedirect {
		u, err := idp.LogoutResponseURL(l)
		require.NoError(t, err)
		return getRequest(u)
	}
	form, err := idp.LogoutResponseForm(l)
	require.NoError(t, err)
	return postRequest(form)
}

// craft builds a logout message by hand (kind LogoutRequest or
// LogoutResponse) with the default content, changed by mod.
func craft(kind string, mod func(el *etree.Element)) *etree.Element {
	el := etree.NewElement("samlp:" + kind)
	el.CreateAttr("xmlns:samlp", arNSProtocol)
	el.CreateAttr("xmlns:saml", arNSAssertion)
	el.CreateAttr("ID", "_crafted-1")
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", testNow.Format(time.RFC3339))
	el.CreateAttr("Destination", sloURL)
	el.CreateElement("saml:Issuer").SetText(testIdPEntityID)
	if kind == "LogoutRequest" {
		n := el.CreateElement("saml:NameID")
		n.CreateAttr("Format", arFormatEmail)
		n.SetText("alice@example.com")
		el.CreateElement("samlp:SessionIndex").SetText(sloSession)
	} else {
		el.CreateAttr("InResponseTo", sloRequestID)
		el.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", sloSuccess)
	}
	if mod != nil {
		mod(el)
	}
	return el
}

// sendCrafted signs el with idp's key for binding (query signature, or an
// enveloped signature right after the Issuer) and returns the request.
func sendCrafted(t *testing.T, idp *saml2sptest.IdP, binding, param string, el *etree.Element) *http.Request {
	t.Helper()
	if binding == saml2sp.BindingHTTPPost {
		ctx, err := dsig.NewSigningContext(idp.Key, [][]byte{idp.Certificate.Raw})
		require.NoError(t, err)
		ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		sig, err := ctx.ConstructSignature(el.Copy(), true)
		require.NoError(t, err)
		at := 0
		if iss := el.SelectElement("Issuer"); iss != nil {
			at = iss.Index() + 1
		}
		el.InsertChildAt(at, sig)
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	require.NoError(t, err)
	if binding == saml2sp.BindingHTTPPost {
		return postRequest(url.Values{param: {base64.StdEncoding.EncodeToString(b)}})
	}
	q, err := redirect.Encode(param, b, sloRelay, idp.Key, "")
	require.NoError(t, err)
	return getRequest(sloURL + "?" + q)
}

// rawParams splits the query of rawURL into its raw name=value parts.
func rawParams(t *testing.T, rawURL string) []string {
	t.Helper()
	i := strings.IndexByte(rawURL, '?')
	require.Positive(t, i)
	return strings.Split(rawURL[i+1:], "&")
}

// param returns the raw "name=value" part of parts named name.
func param(t *testing.T, parts []string, name string) string {
	t.Helper()
	for _, p := range parts {
		if strings.HasPrefix(p, name+"=") {
			return p
		}
	}
	t.Fatalf("no %s in query", name)
	return ""
}

// withParts rebuilds the URL at sloURL from parts, skipping those named in
// drop.
func withParts(parts []string, drop ...string) string {
	var keep []string
	for _, p := range parts {
		name, _, _ := strings.Cut(p, "=")
		if !contains(drop, name) {
			keep = append(keep, p)
		}
	}
	return sloURL + "?" + strings.Join(keep, "&")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// requireSafeError checks that err matches want and carries no XML.
func requireSafeError(t *testing.T, err error, want error) {
	t.Helper()
	require.ErrorIs(t, err, want)
	assert.NotContains(t, err.Error(), "<saml", "errors must not carry XML")
	assert.NotContains(t, err.Error(), "alice@example.com", "errors must not carry message content")
	assert.Less(t, len(err.Error()), 800)
}

func TestParseLogoutRequestAccepted(t *testing.T) {
	for _, b := range sloBindings {
		t.Run(short(b), func(t *testing.T) {
			e := newSLOEnv(t)
			l := logoutRequest(func(l *saml2sptest.LogoutRequest) {
				l.ID = "_lr-1"
				l.NameID = "bob@example.com"
			})
			req, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, e.idp, b, l))
			require.NoError(t, err)
			assert.Equal(t, &saml2sp.LogoutRequest{
				ID:             "_lr-1",
				Issuer:         testIdPEntityID,
				NameID:         "bob@example.com",
				NameIDFormat:   arFormatEmail,
				SessionIndexes: []string{sloSession},
				RelayState:     sloRelay,
				Binding:        b,
				NotOnOrAfter:   testNow.Add(5 * time.Minute),
			}, req)
		})
	}
	t.Run("several SessionIndexes and qualifiers", func(t *testing.T) {
		for _, b := range sloBindings {
			e := newSLOEnv(t)
			el := craft("LogoutRequest", func(el *etree.Element) {
				n := el.SelectElement("NameID")
				n.CreateAttr("NameQualifier", testIdPEntityID)
				n.CreateAttr("SPNameQualifier", testSPEntityID)
				el.CreateElement("samlp:SessionIndex").SetText("_sess-2")
			})
			req, err := e.sp.ParseLogoutRequest(context.Background(), sendCrafted(t, e.idp, b, "SAMLRequest", el))
			require.NoError(t, err, short(b))
			assert.Equal(t, []string{sloSession, "_sess-2"}, req.SessionIndexes)
			assert.Equal(t, testIdPEntityID, req.NameQualifier)
			assert.Equal(t, testSPEntityID, req.SPNameQualifier)
			assert.True(t, req.NotOnOrAfter.IsZero())
		}
	})
	t.Run("no RelayState, no SessionIndex", func(t *testing.T) {
		for _, b := range sloBindings {
			e := newSLOEnv(t)
			req, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, e.idp, b, logoutRequest(func(l *saml2sptest.LogoutRequest) {
				l.RelayState, l.SessionIndex = "", ""
			})))
			require.NoError(t, err, short(b))
			assert.Empty(t, req.RelayState)
			assert.Empty(t, req.SessionIndexes)
		}
	})
	t.Run("signed with the second of two metadata keys", func(t *testing.T) {
		next, err := saml2sptest.NewIdP(testIdPEntityID)
		require.NoError(t, err)
		next.Clock = func() time.Time { return testNow }
		e := newSLOEnv(t, withIdP(func(idp *saml2sp.IdentityProvider) {
			idp.Certificates = append(idp.Certificates, next.Certificate)
		}))
		for _, b := range sloBindings {
			_, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, next, b, logoutRequest()))
			require.NoError(t, err, short(b))
		}
	})
	t.Run("SHA-1 with InsecureAllowSHA1", func(t *testing.T) {
		e := newSLOEnv(t, func(c *saml2sp.Config) { c.InsecureAllowSHA1 = true })
		for _, b := range sloBindings {
			_, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, e.idp, b, logoutRequest(func(l *saml2sptest.LogoutRequest) {
				l.SignatureAlgorithm = "rsa-sha1"
			})))
			require.NoError(t, err, short(b))
		}
	})
	t.Run("traced when tracing is on", func(t *testing.T) {
		var logs bytes.Buffer
		e := newSLOEnv(t, func(c *saml2sp.Config) {
			c.InsecureTraceMessages = true
			c.Logger = slogTo(&logs)
		})
		for _, b := range sloBindings {
			_, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, e.idp, b, logoutRequest()))
			require.NoError(t, err)
		}
		assert.Equal(t, 2, strings.Count(logs.String(), "direction=in kind=LogoutRequest"))
	})
}

func TestParseLogoutRequestRejected(t *testing.T) {
	type build func(t *testing.T, e *testEnv) *http.Request
	signedURL := func(t *testing.T, e *testEnv, mods ...func(*saml2sptest.LogoutRequest)) string {
		u, err := e.idp.LogoutRequestURL(logoutRequest(mods...))
		require.NoError(t, err)
		return u
	}
	signedForm := func(t *testing.T, e *testEnv, mods ...func(*saml2sptest.LogoutRequest)) url.Values {
		f, err := e.idp.LogoutRequestForm(logoutRequest(mods...))
		require.NoError(t, err)
		return f
	}
	// both runs a LogoutRequest change through both bindings.
	both := func(mods ...func(*saml2sptest.LogoutRequest)) map[string]build {
		out := map[string]build{}
		for _, b := range sloBindings {
			out[b] = func(t *testing.T, e *testEnv) *http.Request {
				return logoutRequestVia(t, e.idp, b, logoutRequest(mods...))
			}
		}
		return out
	}
	// crafted runs a hand-made, validly signed LogoutRequest through both
	// bindings.
	crafted := func(mod func(*etree.Element)) map[string]build {
		out := map[string]build{}
		for _, b := range sloBindings {
			out[b] = func(t *testing.T, e *testEnv) *http.Request {
				return sendCrafted(t, e.idp, b, "SAMLRequest", craft("LogoutRequest", mod))
			}
		}
		return out
	}
	get := func(f build) map[string]build { return map[string]build{saml2sp.BindingHTTPRedirect: f} }
	post := func(f build) map[string]build { return map[string]build{saml2sp.BindingHTTPPost: f} }
	evilName := func(l *saml2sptest.LogoutRequest) { l.NameID = "admin@example.com" }

	cases := []struct {
		name string
		cfg  func(*saml2sp.Config)
		send map[string]build
		want error
	}{
		// SLO1: GHSA-pcgw-qcv5-h8ch.
		{name: "unsigned", send: both(func(l *saml2sptest.LogoutRequest) { l.Unsigned = true }), want: saml2sp.ErrSignature},
		// SLO2: the query string as signed is what counts.
		{name: "tampered SAMLRequest", want: saml2sp.ErrSignature, send: get(func(t *testing.T, e *testEnv) *http.Request {
			good := rawParams(t, signedURL(t, e))
			evil := rawParams(t, signedURL(t, e, evilName, func(l *saml2sptest.LogoutRequest) { l.Unsigned = true }))
			return getRequest(withParts(append(evil, param(t, good, "SigAlg"), param(t, good, "Signature"))))
		})},
		{name: "tampered RelayState", want: saml2sp.ErrSignature, send: get(func(t *testing.T, e *testEnv) *http.Request {
			return getRequest(strings.Replace(signedURL(t, e), "RelayState="+sloRelay, "RelayState=evil", 1))
		})},
		{name: "RelayState dropped", want: saml2sp.ErrSignature, send: get(func(t *testing.T, e *testEnv) *http.Request {
			return getRequest(withParts(rawParams(t, signedURL(t, e)), "RelayState"))
		})},
		{name: "RelayState added", want: saml2sp.ErrSignature, send: get(func(t *testing.T, e *testEnv) *http.Request {
			u := signedURL(t, e, func(l *saml2sptest.LogoutRequest) { l.RelayState = "" })
			return getRequest(u + "&RelayState=evil")
		})},
		{name: "SigAlg dropped", want: saml2sp.ErrMalformed, send: get(func(t *testing.T, e *testEnv) *http.Request {
			return getRequest(withParts(rawParams(t, signedURL(t, e)), "SigAlg"))
		})},
		{name: "Signature dropped", want: saml2sp.ErrMalformed, send: get(func(t *testing.T, e *testEnv) *http.Request {
			return getRequest(withParts(rawParams(t, signedURL(t, e)), "Signature"))
		})},
		{name: "SigAlg and Signature dropped", want: saml2sp.ErrSignature, send: get(func(t *testing.T, e *testEnv) *http.Request {
			return getRequest(withParts(rawParams(t, signedURL(t, e)), "SigAlg", "Signature"))
		})},
		{name: "SigAlg switched to rsa-sha512", want: saml2sp.ErrSignature, send: get(func(t *testing.T, e *testEnv) *http.Request {
			return getRequest(strings.Replace(signedURL(t, e), "rsa-sha256", "rsa-sha512", 1))
		})},
		{name: "SigAlg switched to rsa-sha1", want: saml2sp.ErrSignature, send: get(func(t *testing.T, e *testEnv) *http.Request {
			return getRequest(strings.Replace(signedURL(t, e), url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"), url.QueryEscape("http://www.w3.org/2000/09/xmldsig#rsa-sha1"), 1))
		})},
		{name: "signed with SHA-1", send: both(func(l *saml2sptest.LogoutRequest) { l.SignatureAlgorithm = "rsa-sha1" }), want: saml2sp.ErrSignature},
		{name: "duplicate SAMLRequest", want: saml2sp.ErrMalformed, send: get(func(t *testing.T, e *testEnv) *http.Request {
			evil := rawParams(t, signedURL(t, e, evilName, func(l *saml2sptest.LogoutRequest) { l.Unsigned = true }))
			return getRequest(signedURL(t, e) + "&" + param(t, evil, "SAMLRequest"))
		})},
		{name: "duplicate RelayState", want: saml2sp.ErrMalformed, send: get(func(t *testing.T, e *testEnv) *http.Request {
			return getRequest(signedURL(t, e) + "&RelayState=evil")
		})},
		{name: "duplicate Signature", want: saml2sp.ErrMalformed, send: get(func(t *testing.T, e *testEnv) *http.Request {
			u := signedURL(t, e)
			return getRequest(u + "&" + param(t, rawParams(t, u), "Signature"))
		})},
		{name: "tampered NameID", want: saml2sp.ErrSignature, send: post(func(t *testing.T, e *testEnv) *http.Request {
			f := signedForm(t, e)
			xml, err := base64.StdEncoding.DecodeString(f.Get("SAMLRequest"))
			require.NoError(t, err)
			f.Set("SAMLRequest", base64.StdEncoding.EncodeToString(bytes.Replace(xml, []byte("alice@"), []byte("admin@"), 1)))
			return postRequest(f)
		})},
		{name: "duplicate SAMLRequest field", want: saml2sp.ErrMalformed, send: post(func(t *testing.T, e *testEnv) *http.Request {
			f := signedForm(t, e)
			f.Add("SAMLRequest", signedForm(t, e, evilName).Get("SAMLRequest"))
			return postRequest(f)
		})},
		{name: "duplicate RelayState field", want: saml2sp.ErrMalformed, send: post(func(t *testing.T, e *testEnv) *http.Request {
			f := signedForm(t, e)
			f.Add("RelayState", "evil")
			return postRequest(f)
		})},
		{name: "RelayState over 80 bytes", want: saml2sp.ErrMalformed, send: post(func(t *testing.T, e *testEnv) *http.Request {
			f := signedForm(t, e)
			f.Set("RelayState", strings.Repeat("r", 81))
			return postRequest(f)
		})},
		{name: "no SAMLRequest field", want: saml2sp.ErrMalformed, send: post(func(t *testing.T, e *testEnv) *http.Request {
			return postRequest(url.Values{"RelayState": {"x"}})
		})},
		{name: "extra Signature in Extensions", want: saml2sp.ErrSignature, send: post(func(t *testing.T, e *testEnv) *http.Request {
			return sendCrafted(t, e.idp, saml2sp.BindingHTTPPost, "SAMLRequest", craft("LogoutRequest", func(el *etree.Element) {
				ext := etree.NewElement("samlp:Extensions")
				ext.CreateElement("ds:Signature").CreateAttr("xmlns:ds", "http://www.w3.org/2000/09/xmldsig#")
				el.InsertChildAt(1, ext)
			}))
		})},
		{name: "Signature after Extensions", want: saml2sp.ErrMalformed, send: post(func(t *testing.T, e *testEnv) *http.Request {
			el := craft("LogoutRequest", func(el *etree.Element) {
				el.InsertChildAt(1, etree.NewElement("samlp:Extensions"))
			})
			r := sendCrafted(t, e.idp, saml2sp.BindingHTTPPost, "SAMLRequest", el) // Signature at index 1
			require.NoError(t, r.ParseForm())
			doc := etree.NewDocument()
			xml, _ := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLRequest"))
			require.NoError(t, doc.ReadFromBytes(xml))
			root := doc.Root()
			sig := root.SelectElement("Signature")
			root.RemoveChild(sig)
			root.InsertChildAt(root.SelectElement("Extensions").Index()+1, sig)
			return postRequest(url.Values{"SAMLRequest": {encodeDoc(t, doc)}})
		})},
		{name: "ID changed after signing", want: saml2sp.ErrSignature, send: post(func(t *testing.T, e *testEnv) *http.Request {
			f := signedForm(t, e, func(l *saml2sptest.LogoutRequest) { l.ID = "_id-1" })
			xml, _ := base64.StdEncoding.DecodeString(f.Get("SAMLRequest"))
			f.Set("SAMLRequest", base64.StdEncoding.EncodeToString(bytes.Replace(xml, []byte(`ID="_id-1"`), []byte(`ID="_id-2"`), 1)))
			return postRequest(f)
		})},
		// SLO3: signed, but not for us or not now.
		{name: "wrong Destination", send: both(func(l *saml2sptest.LogoutRequest) { l.Destination = "https://other.example.com/saml/sls" }), want: saml2sp.ErrDestination},
		{name: "no Destination", send: crafted(func(el *etree.Element) { el.RemoveAttr("Destination") }), want: saml2sp.ErrDestination},
		{name: "wrong Issuer", send: both(func(l *saml2sptest.LogoutRequest) { l.Issuer = "https://other-idp.example.org" }), want: saml2sp.ErrIssuer},
		{name: "no Issuer", send: crafted(func(el *etree.Element) { el.RemoveChild(el.SelectElement("Issuer")) }), want: saml2sp.ErrIssuer},
		{name: "Issuer Format not entity", send: crafted(func(el *etree.Element) {
			el.SelectElement("Issuer").CreateAttr("Format", arFormatEmail)
		}), want: saml2sp.ErrIssuer},
		{name: "NotOnOrAfter passed", send: both(func(l *saml2sptest.LogoutRequest) { l.NotOnOrAfter = testNow.Add(-2 * time.Minute) }), want: saml2sp.ErrExpired},
		{name: "NotOnOrAfter is now minus skew (exclusive)", send: both(func(l *saml2sptest.LogoutRequest) {
			l.NotOnOrAfter = testNow.Add(-saml2sp.DefaultClockSkew)
		}), want: saml2sp.ErrExpired},
		{name: "stale IssueInstant", send: both(func(l *saml2sptest.LogoutRequest) {
			l.IssueInstant = testNow.Add(-12 * time.Minute)
			l.NotOnOrAfter = testNow.Add(5 * time.Minute)
		}), want: saml2sp.ErrExpired},
		{name: "IssueInstant in the future", send: both(func(l *saml2sptest.LogoutRequest) { l.IssueInstant = testNow.Add(2 * time.Minute) }), want: saml2sp.ErrNotYetValid},
		{name: "malformed IssueInstant", send: crafted(func(el *etree.Element) { el.CreateAttr("IssueInstant", "yesterday") }), want: saml2sp.ErrMalformed},
		{name: "EncryptedID", send: crafted(func(el *etree.Element) {
			el.SelectElement("NameID").Tag = "EncryptedID"
		}), want: saml2sp.ErrUnsupported},
		{name: "BaseID", send: crafted(func(el *etree.Element) { el.SelectElement("NameID").Tag = "BaseID" }), want: saml2sp.ErrUnsupported},
		{name: "two NameIDs", send: crafted(func(el *etree.Element) {
			el.InsertChildAt(2, el.SelectElement("NameID").Copy())
		}), want: saml2sp.ErrMalformed},
		{name: "no NameID", send: crafted(func(el *etree.Element) { el.RemoveChild(el.SelectElement("NameID")) }), want: saml2sp.ErrMalformed},
		{name: "empty NameID", send: crafted(func(el *etree.Element) { el.SelectElement("NameID").SetText("") }), want: saml2sp.ErrSubject},
		{name: "no ID", send: get(func(t *testing.T, e *testEnv) *http.Request {
			return sendCrafted(t, e.idp, saml2sp.BindingHTTPRedirect, "SAMLRequest", craft("LogoutRequest", func(el *etree.Element) { el.RemoveAttr("ID") }))
		}), want: saml2sp.ErrMalformed},
		{name: "empty SessionIndex", send: crafted(func(el *etree.Element) { el.SelectElement("SessionIndex").SetText(" ") }), want: saml2sp.ErrMalformed},
		{name: "a NameIDMappingRequest", send: crafted(func(el *etree.Element) {
			el.Tag = "NameIDMappingRequest"
			el.RemoveChild(el.SelectElement("SessionIndex"))
		}), want: saml2sp.ErrMalformed},
		{name: "a LogoutRequest carried as SAMLResponse", want: saml2sp.ErrMalformed, send: get(func(t *testing.T, e *testEnv) *http.Request {
			return sendCrafted(t, e.idp, saml2sp.BindingHTTPRedirect, "SAMLResponse", craft("LogoutRequest", nil))
		})},
		{name: "Version 1.1", send: crafted(func(el *etree.Element) { el.CreateAttr("Version", "1.1") }), want: saml2sp.ErrMalformed},
		{name: "a LogoutResponse", want: saml2sp.ErrMalformed, send: map[string]build{
			saml2sp.BindingHTTPRedirect: func(t *testing.T, e *testEnv) *http.Request {
				return sendCrafted(t, e.idp, saml2sp.BindingHTTPRedirect, "SAMLResponse", craft("LogoutResponse", nil))
			},
			saml2sp.BindingHTTPPost: func(t *testing.T, e *testEnv) *http.Request {
				return sendCrafted(t, e.idp, saml2sp.BindingHTTPPost, "SAMLRequest", craft("LogoutResponse", nil))
			},
		}},
		{name: "signed by an untrusted key", want: saml2sp.ErrSignature, send: func() map[string]build {
			out := map[string]build{}
			for _, b := range sloBindings {
				out[b] = func(t *testing.T, e *testEnv) *http.Request {
					attacker, err := saml2sptest.NewIdP(testIdPEntityID)
					require.NoError(t, err)
					attacker.Clock = e.idp.Clock
					return logoutRequestVia(t, attacker, b, logoutRequest())
				}
			}
			return out
		}()},
		{name: "IdP certificate expired and RejectExpiredCertificates", want: saml2sp.ErrSignature,
			cfg: func(c *saml2sp.Config) {
				c.RejectExpiredCertificates = true
				c.IdP.Certificates[0].NotAfter = testNow.Add(-time.Hour)
			},
			send: both()},
		{name: "metadata expired", cfg: func(c *saml2sp.Config) { c.IdP.ValidUntil = testNow.Add(-time.Minute) }, send: both(), want: saml2sp.ErrMetadata},
		{name: "SP has no SLOURL", cfg: func(c *saml2sp.Config) { c.SLOURL = "" }, send: both(), want: saml2sp.ErrConfig},
		{name: "method PUT", want: saml2sp.ErrMalformed, send: map[string]build{"PUT": func(t *testing.T, e *testEnv) *http.Request {
			r := postRequest(signedForm(t, e))
			r.Method = http.MethodPut
			return r
		}}},
	}
	for _, tc := range cases {
		for binding, send := range tc.send {
			t.Run(tc.name+"/"+short(binding), func(t *testing.T) {
				var mods []func(*saml2sp.Config)
				if tc.cfg != nil {
					mods = append(mods, tc.cfg)
				}
				e := newSLOEnv(t, mods...)
				req, err := e.sp.ParseLogoutRequest(context.Background(), send(t, e))
				require.Nil(t, req)
				requireSafeError(t, err, tc.want)
			})
		}
	}
}

func TestParseLogoutRequestBoundaries(t *testing.T) {
	t.Run("NotOnOrAfter just within the skew is accepted", func(t *testing.T) {
		for _, b := range sloBindings {
			e := newSLOEnv(t)
			_, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, e.idp, b, logoutRequest(func(l *saml2sptest.LogoutRequest) {
				l.NotOnOrAfter = testNow.Add(-saml2sp.DefaultClockSkew + time.Second)
			})))
			require.NoError(t, err)
		}
	})
	t.Run("replayed", func(t *testing.T) {
		for _, b := range sloBindings {
			e := newSLOEnv(t)
			r1 := logoutRequestVia(t, e.idp, b, logoutRequest())
			r2 := r1.Clone(context.Background())
			if b == saml2sp.BindingHTTPPost {
				form, err := e.idp.LogoutRequestForm(logoutRequest())
				require.NoError(t, err)
				r1 = postRequest(form)
				r2 = postRequest(form)
			}
			_, err := e.sp.ParseLogoutRequest(context.Background(), r1)
			require.NoError(t, err)
			req, err := e.sp.ParseLogoutRequest(context.Background(), r2)
			require.Nil(t, req)
			requireSafeError(t, err, saml2sp.ErrReplay)
		}
	})
	t.Run("replayed in the other binding", func(t *testing.T) {
		e := newSLOEnv(t)
		l := logoutRequest(func(l *saml2sptest.LogoutRequest) { l.ID = "_same" })
		_, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, e.idp, saml2sp.BindingHTTPRedirect, l))
		require.NoError(t, err)
		_, err = e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, e.idp, saml2sp.BindingHTTPPost, l))
		requireSafeError(t, err, saml2sp.ErrReplay)
	})
	t.Run("deflate bomb on Redirect is stopped at the limit", func(t *testing.T) {
		e := newSLOEnv(t)
		var z bytes.Buffer
		w, err := flate.NewWriter(&z, flate.BestCompression)
		require.NoError(t, err)
		_, err = w.Write([]byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">`))
		require.NoError(t, err)
		block := bytes.Repeat([]byte(" "), 1<<20)
		for range 16 { // 16 MiB inflated
			_, err = w.Write(block)
			require.NoError(t, err)
		}
		require.NoError(t, w.Close())
		u := sloURL + "?SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(z.Bytes()))

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		req, err := e.sp.ParseLogoutRequest(context.Background(), getRequest(u))
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		require.Nil(t, req)
		requireSafeError(t, err, saml2sp.ErrMalformed)
		assert.Less(t, elapsed, 5*time.Second)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8*redirect.MaxInflated), "inflation must stop at the limit")
	})
	t.Run("POST never inflates", func(t *testing.T) {
		e := newSLOEnv(t)
		u, err := e.idp.LogoutRequestURL(logoutRequest())
		require.NoError(t, err)
		deflated, err := url.QueryUnescape(strings.TrimPrefix(param(t, rawParams(t, u), "SAMLRequest"), "SAMLRequest="))
		require.NoError(t, err)
		_, err = e.sp.ParseLogoutRequest(context.Background(), postRequest(url.Values{"SAMLRequest": {deflated}}))
		requireSafeError(t, err, saml2sp.ErrMalformed)
	})
	t.Run("oversized POST body", func(t *testing.T) {
		e := newSLOEnv(t, func(c *saml2sp.Config) { c.MaxResponseSize = 8 << 10 })
		form, err := e.idp.LogoutRequestForm(logoutRequest())
		require.NoError(t, err)
		// The SAMLRequest itself is within the limit; the body is not.
		body := form.Encode() + "&junk=" + strings.Repeat("A", 8<<10+64<<10)
		req, err := e.sp.ParseLogoutRequest(context.Background(), postBody(body))
		require.Nil(t, req)
		requireSafeError(t, err, saml2sp.ErrTooLarge)
	})
	t.Run("oversized SAMLRequest field", func(t *testing.T) {
		e := newSLOEnv(t, func(c *saml2sp.Config) { c.MaxResponseSize = 8 << 10 })
		req, err := e.sp.ParseLogoutRequest(context.Background(), postBody("SAMLRequest="+strings.Repeat("A", 8<<10+4)))
		require.Nil(t, req)
		requireSafeError(t, err, saml2sp.ErrTooLarge)
	})
	t.Run("oversized query string", func(t *testing.T) {
		e := newSLOEnv(t, func(c *saml2sp.Config) { c.MaxResponseSize = 8 << 10 })
		req, err := e.sp.ParseLogoutRequest(context.Background(), getRequest(sloURL+"?SAMLRequest="+strings.Repeat("A", 8<<10+64<<10+4)))
		require.Nil(t, req)
		requireSafeError(t, err, saml2sp.ErrTooLarge)
	})
}

func TestLogoutRequestMatches(t *testing.T) {
	req := &saml2sp.LogoutRequest{NameID: "alice@example.com", NameIDFormat: arFormatEmail,
		SPNameQualifier: testSPEntityID, SessionIndexes: []string{"_s1", "_s2"}}
	subject := saml2sp.LogoutSubject{NameID: "alice@example.com", NameIDFormat: arFormatEmail,
		SPNameQualifier: testSPEntityID, SessionIndex: "_s2"}
	unspec := "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	cases := []struct {
		name string
		req  func(r *saml2sp.LogoutRequest)
		subj func(s *saml2sp.LogoutSubject)
		want bool
	}{
		{name: "same", want: true},
		{name: "other NameID", subj: func(s *saml2sp.LogoutSubject) { s.NameID = "bob@example.com" }},
		{name: "other Format", subj: func(s *saml2sp.LogoutSubject) { s.NameIDFormat = arFormatPers }},
		{name: "absent Format is unspecified", req: func(r *saml2sp.LogoutRequest) { r.NameIDFormat = "" },
			subj: func(s *saml2sp.LogoutSubject) { s.NameIDFormat = unspec }, want: true},
		{name: "other NameQualifier", subj: func(s *saml2sp.LogoutSubject) { s.NameQualifier = "https://x" }},
		{name: "other SPNameQualifier", subj: func(s *saml2sp.LogoutSubject) { s.SPNameQualifier = "" }},
		{name: "unknown SessionIndex", subj: func(s *saml2sp.LogoutSubject) { s.SessionIndex = "_s3" }},
		{name: "no SessionIndex in the request: every session", req: func(r *saml2sp.LogoutRequest) { r.SessionIndexes = nil },
			subj: func(s *saml2sp.LogoutSubject) { s.SessionIndex = "_s3" }, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, s := *req, subject
			if tc.req != nil {
				tc.req(&r)
			}
			if tc.subj != nil {
				tc.subj(&s)
			}
			assert.Equal(t, tc.want, r.Matches(s))
		})
	}
}

func TestAssertionLogoutSubject(t *testing.T) {
	e := newTestEnv(t)
	a, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) { r.SessionIndex = "_sess-9" })))
	require.NoError(t, err)
	assert.Equal(t, saml2sp.LogoutSubject{IdP: testIdPEntityID, NameID: "alice@example.com", NameIDFormat: arFormatEmail,
		SPNameQualifier: testSPEntityID, SessionIndex: "_sess-9"}, a.LogoutSubject())
}

func TestNewLogoutResponse(t *testing.T) {
	spKey, spCert := arKey(t, "rsa")
	postSLO := withIdP(func(idp *saml2sp.IdentityProvider) {
		idp.SingleLogoutServices = onlyBinding(idp.SingleLogoutServices, saml2sp.BindingHTTPPost)
	})
	responseLocation := withIdP(func(idp *saml2sp.IdentityProvider) {
		for i := range idp.SingleLogoutServices {
			idp.SingleLogoutServices[i].ResponseLocation = "https://idp.example.org/slo-response"
		}
	})
	cases := []struct {
		name        string
		mods        []func(*saml2sp.Config)
		binding     string // of the request
		status      string
		wantBinding string
		wantStatus  string
		wantDest    string
		signed      bool
	}{
		{name: "success, redirect, unsigned", binding: saml2sp.BindingHTTPRedirect,
			wantBinding: saml2sp.BindingHTTPRedirect, wantStatus: sloSuccess},
		{name: "success, redirect, signed", mods: []func(*saml2sp.Config){withSPKey(spKey, spCert)}, signed: true,
			binding: saml2sp.BindingHTTPRedirect, wantBinding: saml2sp.BindingHTTPRedirect, wantStatus: sloSuccess},
		{name: "Responder, POST, signed", mods: []func(*saml2sp.Config){withSPKey(spKey, spCert)}, signed: true,
			binding: saml2sp.BindingHTTPPost, status: sloResponder, wantBinding: saml2sp.BindingHTTPPost, wantStatus: sloResponder},
		{name: "Responder, POST, unsigned", binding: saml2sp.BindingHTTPPost, status: sloResponder,
			wantBinding: saml2sp.BindingHTTPPost, wantStatus: sloResponder},
		{name: "explicit Success", binding: saml2sp.BindingHTTPPost, status: sloSuccess,
			wantBinding: saml2sp.BindingHTTPPost, wantStatus: sloSuccess},
		{name: "falls back to the IdP's binding", mods: []func(*saml2sp.Config){postSLO},
			binding: saml2sp.BindingHTTPRedirect, wantBinding: saml2sp.BindingHTTPPost, wantStatus: sloSuccess},
		{name: "ResponseLocation", mods: []func(*saml2sp.Config){responseLocation},
			binding: saml2sp.BindingHTTPRedirect, wantBinding: saml2sp.BindingHTTPRedirect, wantStatus: sloSuccess,
			wantDest: "https://idp.example.org/slo-response"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSLOEnv(t, tc.mods...)
			out, err := e.sp.NewLogoutResponse(&saml2sp.LogoutRequest{ID: "_lr-7", Binding: tc.binding, RelayState: sloRelay}, tc.status)
			require.NoError(t, err)
			require.Equal(t, tc.wantBinding, out.Binding)
			dest := e.idp.SLOURL
			if tc.wantDest != "" {
				dest = tc.wantDest
			}
			s := decodeOutbound(t, out, "SAMLResponse", dest)
			root := s.root
			assert.Equal(t, sloRelay, s.relayState, "RelayState echoed")
			assert.Equal(t, "LogoutResponse", root.Tag)
			assert.Equal(t, arNSProtocol, root.NamespaceURI())
			assert.Regexp(t, arIDPattern, out.ID)
			assert.Equal(t, out.ID, root.SelectAttrValue("ID", ""))
			assert.Equal(t, "_lr-7", root.SelectAttrValue("InResponseTo", ""))
			assert.Equal(t, "2.0", root.SelectAttrValue("Version", ""))
			assert.Equal(t, "2026-03-01T12:00:00Z", root.SelectAttrValue("IssueInstant", ""))
			assert.Equal(t, dest, root.SelectAttrValue("Destination", ""))
			assert.Equal(t, testSPEntityID, child(t, root, arNSAssertion, "Issuer").Text())
			code := child(t, child(t, root, arNSProtocol, "Status"), arNSProtocol, "StatusCode")
			assert.Equal(t, tc.wantStatus, code.SelectAttrValue("Value", ""))
			if out.Binding == saml2sp.BindingHTTPRedirect {
				require.Equal(t, tc.signed, s.msg.Signed())
				if tc.signed {
					assert.NoError(t, s.msg.Verify([]*x509.Certificate{spCert}, false))
				}
			} else {
				require.Equal(t, tc.signed, root.SelectElement("Signature") != nil)
				if tc.signed {
					assert.NoError(t, verifyXMLSignature(t, s, spCert))
				}
			}
		})
	}
	t.Run("answers a parsed request", func(t *testing.T) {
		for _, b := range sloBindings {
			e := newSLOEnv(t)
			req, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, e.idp, b, logoutRequest(func(l *saml2sptest.LogoutRequest) { l.ID = "_in-1" })))
			require.NoError(t, err)
			out, err := e.sp.NewLogoutResponse(req, "")
			require.NoError(t, err)
			assert.Equal(t, b, out.Binding)
			s := decodeOutbound(t, out, "SAMLResponse", e.idp.SLOURL)
			assert.Equal(t, "_in-1", s.root.SelectAttrValue("InResponseTo", ""))
			assert.Equal(t, sloRelay, s.relayState)
		}
	})
	t.Run("errors", func(t *testing.T) {
		e := newSLOEnv(t)
		req := &saml2sp.LogoutRequest{ID: "_r", Binding: saml2sp.BindingHTTPRedirect}
		_, err := e.sp.NewLogoutResponse(req, sloPartial)
		assert.Error(t, err, "second-level code as status")
		_, err = e.sp.NewLogoutResponse(req, "Success")
		assert.Error(t, err)
		_, err = e.sp.NewLogoutResponse(nil, "")
		assert.Error(t, err)
		_, err = e.sp.NewLogoutResponse(&saml2sp.LogoutRequest{Binding: saml2sp.BindingHTTPRedirect}, "")
		assert.Error(t, err, "no ID to answer")
		_, err = e.sp.NewLogoutResponse(&saml2sp.LogoutRequest{ID: "_r", RelayState: strings.Repeat("r", 81)}, "")
		assert.ErrorIs(t, err, saml2sp.ErrConfig)
		noSLO := newSLOEnv(t, withIdP(func(idp *saml2sp.IdentityProvider) { idp.SingleLogoutServices = nil }))
		_, err = noSLO.sp.NewLogoutResponse(req, "")
		assert.ErrorIs(t, err, saml2sp.ErrConfig)
	})
}

func TestNewLogoutRequest(t *testing.T) {
	spKey, spCert := arKey(t, "rsa")
	subject := saml2sp.LogoutSubject{NameID: "alice@example.com", NameIDFormat: arFormatEmail,
		NameQualifier: testIdPEntityID, SPNameQualifier: testSPEntityID, SessionIndex: "_s1"}
	postSLO := withIdP(func(idp *saml2sp.IdentityProvider) {
		idp.SingleLogoutServices = onlyBinding(idp.SingleLogoutServices, saml2sp.BindingHTTPPost)
	})
	cases := []struct {
		name        string
		mods        []func(*saml2sp.Config)
		subject     saml2sp.LogoutSubject
		wantBinding string
		signed      bool
	}{
		{name: "redirect preferred, unsigned", subject: subject, wantBinding: saml2sp.BindingHTTPRedirect},
		{name: "redirect, signed", subject: subject, mods: []func(*saml2sp.Config){withSPKey(spKey, spCert)},
			wantBinding: saml2sp.BindingHTTPRedirect, signed: true},
		{name: "POST when the IdP has only POST, signed", subject: subject,
			mods: []func(*saml2sp.Config){postSLO, withSPKey(spKey, spCert)}, wantBinding: saml2sp.BindingHTTPPost, signed: true},
		{name: "POST, unsigned", subject: subject, mods: []func(*saml2sp.Config){postSLO}, wantBinding: saml2sp.BindingHTTPPost},
		{name: "NameID only", subject: saml2sp.LogoutSubject{NameID: "alice"}, wantBinding: saml2sp.BindingHTTPRedirect},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSLOEnv(t, tc.mods...)
			out, err := e.sp.NewLogoutRequest(tc.subject, "back-1")
			require.NoError(t, err)
			require.Equal(t, tc.wantBinding, out.Binding)
			s := decodeOutbound(t, out, "SAMLRequest", e.idp.SLOURL)
			root := s.root
			assert.Equal(t, "back-1", s.relayState)
			assert.Equal(t, "LogoutRequest", root.Tag)
			assert.Equal(t, arNSProtocol, root.NamespaceURI())
			assert.Regexp(t, arIDPattern, out.ID)
			assert.Equal(t, out.ID, root.SelectAttrValue("ID", ""))
			assert.Equal(t, "2.0", root.SelectAttrValue("Version", ""))
			assert.Equal(t, "2026-03-01T12:00:00Z", root.SelectAttrValue("IssueInstant", ""))
			assert.Equal(t, "2026-03-01T12:05:00Z", root.SelectAttrValue("NotOnOrAfter", ""))
			assert.Equal(t, e.idp.SLOURL, root.SelectAttrValue("Destination", ""))
			assert.Equal(t, testSPEntityID, child(t, root, arNSAssertion, "Issuer").Text())
			n := child(t, root, arNSAssertion, "NameID")
			assert.Equal(t, tc.subject.NameID, n.Text())
			for key, want := range map[string]string{"Format": tc.subject.NameIDFormat,
				"NameQualifier": tc.subject.NameQualifier, "SPNameQualifier": tc.subject.SPNameQualifier} {
				assert.Equal(t, want != "", hasAttr(n, key), key)
				assert.Equal(t, want, n.SelectAttrValue(key, ""), key)
			}
			if tc.subject.SessionIndex != "" {
				assert.Equal(t, tc.subject.SessionIndex, child(t, root, arNSProtocol, "SessionIndex").Text())
			} else {
				assert.Nil(t, root.SelectElement("SessionIndex"))
			}
			if out.Binding == saml2sp.BindingHTTPRedirect {
				require.Equal(t, tc.signed, s.msg.Signed())
				if tc.signed {
					assert.NoError(t, s.msg.Verify([]*x509.Certificate{spCert}, false))
				}
			} else {
				require.Equal(t, tc.signed, root.SelectElement("Signature") != nil)
				if tc.signed {
					assert.NoError(t, verifyXMLSignature(t, s, spCert))
				}
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		e := newSLOEnv(t)
		_, err := e.sp.NewLogoutRequest(saml2sp.LogoutSubject{SessionIndex: "_s"}, "")
		assert.Error(t, err, "no NameID")
		_, err = e.sp.NewLogoutRequest(saml2sp.LogoutSubject{NameID: "a\x01"}, "")
		assert.ErrorIs(t, err, saml2sp.ErrConfig)
		noSLO := newSLOEnv(t, withIdP(func(idp *saml2sp.IdentityProvider) { idp.SingleLogoutServices = nil }))
		_, err = noSLO.sp.NewLogoutRequest(subject, "")
		assert.ErrorIs(t, err, saml2sp.ErrConfig)
	})
}

func TestParseLogoutResponse(t *testing.T) {
	t.Run("accepted", func(t *testing.T) {
		for _, b := range sloBindings {
			e := newSLOEnv(t)
			resp, err := e.sp.ParseLogoutResponse(context.Background(), logoutResponseVia(t, e.idp, b, logoutResponse(func(l *saml2sptest.LogoutResponse) {
				l.ID = "_resp-1"
			})), []string{"_other", sloRequestID})
			require.NoError(t, err, short(b))
			assert.Equal(t, &saml2sp.LogoutResponse{ID: "_resp-1", InResponseTo: sloRequestID, Issuer: testIdPEntityID,
				Status: []string{sloSuccess}, RelayState: sloRelay}, resp)
		}
	})
	t.Run("Success with PartialLogout", func(t *testing.T) {
		for _, b := range sloBindings {
			e := newSLOEnv(t)
			el := craft("LogoutResponse", func(el *etree.Element) {
				el.FindElement("./Status/StatusCode").CreateElement("samlp:StatusCode").CreateAttr("Value", sloPartial)
			})
			resp, err := e.sp.ParseLogoutResponse(context.Background(), sendCrafted(t, e.idp, b, "SAMLResponse", el), []string{sloRequestID})
			require.NoError(t, err, short(b))
			assert.Equal(t, []string{sloSuccess, sloPartial}, resp.Status)
		}
	})
	t.Run("round trip with NewLogoutRequest", func(t *testing.T) {
		e := newSLOEnv(t)
		out, err := e.sp.NewLogoutRequest(saml2sp.LogoutSubject{NameID: "alice@example.com"}, "back")
		require.NoError(t, err)
		u, err := e.idp.LogoutResponseURL(saml2sptest.LogoutResponse{Destination: sloURL, InResponseTo: out.ID, RelayState: "back"})
		require.NoError(t, err)
		resp, err := e.sp.ParseLogoutResponse(context.Background(), getRequest(u), []string{out.ID})
		require.NoError(t, err)
		assert.Equal(t, "back", resp.RelayState)
	})

	cases := []struct {
		name      string
		mod       func(*saml2sptest.LogoutResponse)
		craft     func(*etree.Element) // instead of mod: a hand-made response
		ids       []string
		want      error
		wantCodes []string
	}{
		{name: "wrong InResponseTo", mod: func(l *saml2sptest.LogoutResponse) { l.InResponseTo = "_not-ours" }, want: saml2sp.ErrInResponseTo},
		{name: "no InResponseTo", mod: func(l *saml2sptest.LogoutResponse) { l.InResponseTo = "" }, want: saml2sp.ErrInResponseTo},
		{name: "no outstanding requests", ids: []string{}, want: saml2sp.ErrInResponseTo},
		{name: "no InResponseTo, empty ID outstanding", mod: func(l *saml2sptest.LogoutResponse) { l.InResponseTo = "" },
			ids: []string{""}, want: saml2sp.ErrInResponseTo},
		{name: "Responder", mod: func(l *saml2sptest.LogoutResponse) { l.StatusCode = sloResponder },
			want: saml2sp.ErrStatus, wantCodes: []string{sloResponder}},
		{name: "Responder with RequestDenied", craft: func(el *etree.Element) {
			code := el.FindElement("./Status/StatusCode")
			code.CreateAttr("Value", sloResponder)
			code.CreateElement("samlp:StatusCode").CreateAttr("Value", sloDenied)
		}, want: saml2sp.ErrStatus, wantCodes: []string{sloResponder, sloDenied}},
		{name: "Responder with nested Success", craft: func(el *etree.Element) {
			code := el.FindElement("./Status/StatusCode")
			code.CreateAttr("Value", sloResponder)
			code.CreateElement("samlp:StatusCode").CreateAttr("Value", sloSuccess)
		}, want: saml2sp.ErrStatus, wantCodes: []string{sloResponder, sloSuccess}},
		{name: "unsigned", mod: func(l *saml2sptest.LogoutResponse) { l.Unsigned = true }, want: saml2sp.ErrSignature},
		{name: "wrong Destination", mod: func(l *saml2sptest.LogoutResponse) { l.Destination = "https://sp.example.com/other" }, want: saml2sp.ErrDestination},
		{name: "no Destination", craft: func(el *etree.Element) { el.RemoveAttr("Destination") }, want: saml2sp.ErrDestination},
		{name: "wrong Issuer", mod: func(l *saml2sptest.LogoutResponse) { l.Issuer = "https://other-idp.example.org" }, want: saml2sp.ErrIssuer},
		{name: "stale IssueInstant", mod: func(l *saml2sptest.LogoutResponse) { l.IssueInstant = testNow.Add(-12 * time.Minute) }, want: saml2sp.ErrExpired},
		{name: "no Status", craft: func(el *etree.Element) { el.RemoveChild(el.SelectElement("Status")) }, want: saml2sp.ErrMalformed},
		{name: "a LogoutRequest", craft: func(el *etree.Element) { el.Tag = "LogoutRequest" }, want: saml2sp.ErrMalformed},
	}
	for _, tc := range cases {
		for _, b := range sloBindings {
			t.Run(tc.name+"/"+short(b), func(t *testing.T) {
				e := newSLOEnv(t)
				var r *http.Request
				if tc.craft != nil {
					r = sendCrafted(t, e.idp, b, "SAMLResponse", craft("LogoutResponse", tc.craft))
				} else {
					r = logoutResponseVia(t, e.idp, b, logoutResponse(tc.mod))
				}
				ids := []string{sloRequestID}
				if tc.ids != nil {
					ids = tc.ids
				}
				resp, err := e.sp.ParseLogoutResponse(context.Background(), r, ids)
				require.Nil(t, resp)
				requireSafeError(t, err, tc.want)
				if tc.wantCodes != nil {
					var se *saml2sp.StatusError
					require.True(t, errors.As(err, &se))
					assert.Equal(t, tc.wantCodes, se.Codes)
				}
			})
		}
	}
	t.Run("replayed", func(t *testing.T) {
		e := newSLOEnv(t)
		u, err := e.idp.LogoutResponseURL(logoutResponse())
		require.NoError(t, err)
		_, err = e.sp.ParseLogoutResponse(context.Background(), getRequest(u), []string{sloRequestID})
		require.NoError(t, err)
		_, err = e.sp.ParseLogoutResponse(context.Background(), getRequest(u), []string{sloRequestID})
		requireSafeError(t, err, saml2sp.ErrReplay)
	})
}

// FuzzParseLogoutRequest feeds query strings (GET, HTTP-Redirect) and form
// bodies (POST, HTTP-POST) to ParseLogoutRequest. No input may panic, and
// nothing but a complete request from the IdP may come back without an
// error.
func FuzzParseLogoutRequest(f *testing.F) {
	e := newSLOEnv(f)
	u, err := e.idp.LogoutRequestURL(logoutRequest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(false, []byte(strings.SplitN(u, "?", 2)[1]))
	f.Add(false, []byte("SAMLRequest=&SigAlg=x&Signature=%zz"))
	form, err := e.idp.LogoutRequestForm(logoutRequest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(true, []byte(form.Encode()))
	f.Add(true, []byte("SAMLRequest="+base64.StdEncoding.EncodeToString([]byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Version="2.0"/>`))))
	f.Fuzz(func(t *testing.T, post bool, data []byte) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/saml/sls", RawQuery: string(data)}, Header: http.Header{}}
		if post {
			r.Method, r.URL.RawQuery = http.MethodPost, ""
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Body = io.NopCloser(bytes.NewReader(data))
		}
		req, err := e.sp.ParseLogoutRequest(context.Background(), r)
		if err == nil && (req == nil || req.ID == "" || req.NameID == "" || req.Issuer != testIdPEntityID) {
			t.Fatalf("accepted without a complete request: %+v", req)
		}
		if err != nil && req != nil {
			t.Fatalf("request returned with error %v", err)
		}
	})
}
