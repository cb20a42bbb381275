package main

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// HAR 1.2 documents as Chromium's DevTools export them ("Save all as
// HAR"): log.entries[].request with url, queryString and postData
// (mimeType, text, and params whose names and values stay URL-encoded),
// response with lower-case HTTP/2 header names and redirectURL.

type testHAR struct {
	Log testHARLog `json:"log"`
}

type testHARLog struct {
	Version string         `json:"version"`
	Creator map[string]any `json:"creator"`
	Pages   []any          `json:"pages"`
	Entries []testHAREntry `json:"entries"`
}

type testHAREntry struct {
	StartedDateTime string          `json:"startedDateTime"`
	Request         testHARRequest  `json:"request"`
	Response        testHARResponse `json:"response"`
}

type testHARRequest struct {
	Method      string          `json:"method"`
	URL         string          `json:"url"`
	HTTPVersion string          `json:"httpVersion"`
	Headers     []harParam      `json:"headers"`
	QueryString []harParam      `json:"queryString"`
	Cookies     []any           `json:"cookies"`
	HeadersSize int             `json:"headersSize"`
	BodySize    int             `json:"bodySize"`
	PostData    *testHARPost    `json:"postData,omitempty"`
	Extra       json.RawMessage `json:"_initiator,omitempty"`
}

type testHARPost struct {
	MimeType string     `json:"mimeType"`
	Text     string     `json:"text,omitempty"`
	Params   []harParam `json:"params,omitempty"`
}

type testHARResponse struct {
	Status      int            `json:"status"`
	StatusText  string         `json:"statusText"`
	HTTPVersion string         `json:"httpVersion"`
	Headers     []harParam     `json:"headers"`
	Cookies     []any          `json:"cookies"`
	Content     map[string]any `json:"content"`
	RedirectURL string         `json:"redirectURL"`
	HeadersSize int            `json:"headersSize"`
	BodySize    int            `json:"bodySize"`
}

// chromiumParams splits a query or body as Chromium does: on '&' and the
// first '=', without decoding.
func chromiumParams(raw string) []harParam {
	var out []harParam
	for _, pair := range strings.Split(raw, "&") {
		name, value, _ := strings.Cut(pair, "=")
		out = append(out, harParam{Name: name, Value: value})
	}
	return out
}

func getEntry(u string, status int, location string) testHAREntry {
	e := testHAREntry{
		StartedDateTime: "2026-01-15T09:59:55.123Z",
		Request:         testHARRequest{Method: "GET", URL: u, HTTPVersion: "http/2.0", HeadersSize: -1, Headers: []harParam{{Name: ":method", Value: "GET"}}},
		Response:        testHARResponse{Status: status, HTTPVersion: "http/2.0", HeadersSize: -1, BodySize: -1, Content: map[string]any{"size": 0, "mimeType": "text/html"}},
	}
	if pu, err := url.Parse(u); err == nil && pu.RawQuery != "" {
		e.Request.QueryString = chromiumParams(pu.RawQuery)
	}
	if location != "" {
		e.Response.Headers = append(e.Response.Headers, harParam{Name: "location", Value: location})
		e.Response.RedirectURL = location
	}
	return e
}

func postEntry(u string, body string, post func(p *testHARPost)) testHAREntry {
	e := testHAREntry{
		StartedDateTime: "2026-01-15T10:00:01.456Z",
		Request: testHARRequest{Method: "POST", URL: u, HTTPVersion: "http/2.0", HeadersSize: -1, BodySize: len(body),
			Headers:  []harParam{{Name: "content-type", Value: "application/x-www-form-urlencoded"}},
			PostData: &testHARPost{MimeType: "application/x-www-form-urlencoded", Text: body, Params: chromiumParams(body)}},
		Response: testHARResponse{Status: 303, HTTPVersion: "http/2.0", HeadersSize: -1, BodySize: 0,
			Headers: []harParam{{Name: "location", Value: "/profile"}}, RedirectURL: "/profile", Content: map[string]any{"size": 0, "mimeType": "x-unknown"}},
	}
	if post != nil {
		post(e.Request.PostData)
	}
	return e
}

func harJSON(t *testing.T, entries ...testHAREntry) string {
	t.Helper()
	b, err := json.MarshalIndent(testHAR{Log: testHARLog{Version: "1.2", Creator: map[string]any{"name": "WebInspector", "version": "537.36"}, Entries: entries}}, "", "  ")
	require.NoError(t, err)
	return string(b)
}

// loginHAR is an SP-initiated login: the SP redirects to the IdP with a
// Redirect-binding AuthnRequest, the browser follows, and posts the IdP's
// Response to the ACS. post changes the POST's postData.
func loginHAR(t *testing.T, g *genEnv, post func(p *testHARPost)) (har, requestID, value string) {
	t.Helper()
	sp := g.sp(t, nil)
	out, err := sp.NewAuthnRequest("state-1", nil)
	require.NoError(t, err)
	require.Equal(t, saml2sp.BindingHTTPRedirect, out.Binding)
	value = formValue(t, g.idp, saml2sptest.Response{Destination: g.acs, Audience: g.spID, InResponseTo: out.ID}, nil)
	body := "SAMLResponse=" + url.QueryEscape(value) + "&RelayState=state-1"
	har = harJSON(t,
		getEntry("https://sp.test.example/saml/login?return=%2Fprofile", 302, out.URL),
		getEntry(out.URL, 200, ""),
		postEntry(g.acs, body, post),
	)
	return har, out.ID, value
}

// TestDecodeHAR finds both messages of a login in a HAR file, whichever
// way the POST body was exported.
func TestDecodeHAR(t *testing.T) {
	g := newGenEnv(t)
	cases := []struct {
		name string
		post func(p *testHARPost)
	}{
		{name: "Chromium: text and encoded params"},
		{name: "params only, URL-encoded (Chromium without text)", post: func(p *testHARPost) { p.Text = "" }},
		{name: "params only, decoded (other tools)", post: func(p *testHARPost) {
			p.Text = ""
			for i := range p.Params {
				p.Params[i].Value, _ = url.QueryUnescape(p.Params[i].Value)
			}
		}},
		{name: "text only", post: func(p *testHARPost) { p.Params = nil }},
		{name: "text without mimeType", post: func(p *testHARPost) { p.Params, p.MimeType = nil, "" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			har, id, _ := loginHAR(t, g, c.post)
			code, out, stderr := cli(t, har, "decode", "--no-xml")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, "2 SAML messages in standard input (a HAR file).")
			assert.Contains(t, out, "=== 1/2: SAMLRequest from HAR entry 1: Location header of the 302 answer to GET https://sp.test.example/saml/login (to https://idp.test.example/metadata/sso)")
			assert.Contains(t, out, "Note:        also in HAR entry 2: GET https://idp.test.example/metadata/sso, query string")
			assert.Contains(t, out, "Message:                      AuthnRequest")
			assert.Contains(t, out, "ID:                           "+id)
			assert.Contains(t, out, "=== 2/2: SAMLResponse from HAR entry 3: POST https://sp.test.example/saml/acs, form body")
			assert.Contains(t, out, `RelayState:  "state-1"`)
			assert.Contains(t, out, "InResponseTo:   "+id)
			assert.Contains(t, out, "NameID:               alice@example.com")
			assert.NotContains(t, out, "CANNOT DECODE")
		})
	}
}

// TestVerifyHAR: verify picks the Responses out of a HAR file and checks
// them with one SP, as the app would.
func TestVerifyHAR(t *testing.T) {
	g := newGenEnv(t)
	har, id, value := loginHAR(t, g, nil)

	t.Run("the Response, not the request", func(t *testing.T) {
		code, out, stderr := cli(t, har, g.verifyArgs("--json", "--request-id", id)...)
		require.Equal(t, 0, code, stderr)
		reports := readReports(t, out)
		require.Len(t, reports, 1)
		assert.True(t, reports[0].Accepted)
		assert.Equal(t, 2, reports[0].Message)
		assert.Equal(t, "HAR entry 3: POST https://sp.test.example/saml/acs, form body", reports[0].Source)
		assert.Equal(t, "standard input (a HAR file)", reports[0].Input)
	})
	t.Run("--message picks the request", func(t *testing.T) {
		code, _, stderr := cli(t, har, g.verifyArgs("--message", "1")...)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "message 1 (HAR entry 1: Location header of the 302 answer to GET https://sp.test.example/saml/login (to https://idp.test.example/metadata/sso)) cannot be verified: a SAMLRequest")
	})
	t.Run("--message picks the Response", func(t *testing.T) {
		code, out, stderr := cli(t, har, g.verifyArgs("--message", "2", "--request-id", id)...)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, out, "Response 1 of 1: message 2 of 2 in standard input (a HAR file)")
	})
	t.Run("a Response posted twice is a replay the second time", func(t *testing.T) {
		body := "SAMLResponse=" + url.QueryEscape(value)
		twice := harJSON(t, postEntry(g.acs, body, nil), postEntry(g.acs, body, nil))

		sp := g.sp(t, nil)
		first, second := parse(sp, value, []string{id}), parse(sp, value, []string{id})
		require.NoError(t, first)
		require.ErrorIs(t, second, saml2sp.ErrReplay)

		code, out, stderr := cli(t, twice, g.verifyArgs("--json", "--request-id", id)...)
		require.Empty(t, stderr)
		reports := readReports(t, out)
		require.Len(t, reports, 2)
		assert.Equal(t, 1, code)
		assert.True(t, reports[0].Accepted)
		assert.Equal(t, saml2sp.ErrorClass(second), reports[1].ErrorClass)
		assert.Equal(t, second.Error(), reports[1].Error)
	})
	t.Run("offline, separate runs know nothing of each other", func(t *testing.T) {
		// The app's replay cache is not consulted: each run starts afresh,
		// and says so.
		for range 2 {
			code, out, stderr := cli(t, value, g.verifyArgs("--request-id", id)...)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, "replay: only the Responses of this run are remembered")
		}
	})
	t.Run("a HAR without Responses", func(t *testing.T) {
		code, _, stderr := cli(t, harJSON(t, getEntry("https://sp.test.example/", 200, "")), g.verifyArgs()...)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "no SAML message found")
	})
}

// TestVerifyPicksResponses: verify checks login Responses and says why it
// leaves other messages out.
func TestVerifyPicksResponses(t *testing.T) {
	g := newGenEnv(t)
	value := formValue(t, g.idp, saml2sptest.Response{Destination: g.acs, Audience: g.spID, InResponseTo: "_req1"}, nil)
	logout := `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_lr" Version="2.0" IssueInstant="2026-01-15T10:00:00Z"/>`
	logoutB64 := base64.StdEncoding.EncodeToString([]byte(logout))

	t.Run("a POSTed LogoutResponse is left out", func(t *testing.T) {
		har := harJSON(t, postEntry(g.acs, "SAMLResponse="+url.QueryEscape(value), nil),
			postEntry("https://sp.test.example/saml/sls", "SAMLResponse="+url.QueryEscape(logoutB64), nil))
		code, out, stderr := cli(t, har, g.verifyArgs("--json", "--request-id", "_req1")...)
		require.Equal(t, 0, code, stderr)
		reports := readReports(t, out)
		require.Len(t, reports, 1)
		assert.Equal(t, 1, reports[0].Message)
	})
	t.Run("only a LogoutResponse", func(t *testing.T) {
		code, _, stderr := cli(t, "SAMLResponse="+url.QueryEscape(logoutB64), g.verifyArgs()...)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "message 1, SAMLResponse from the form body or query string: a LogoutResponse, not a login Response")
	})
	t.Run("a Redirect-binding SAMLResponse", func(t *testing.T) {
		code, _, stderr := cli(t, "https://sp.test.example/saml/sls?SAMLResponse="+redirectValue(t, logout), g.verifyArgs()...)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "DEFLATE-compressed in a URL (the HTTP-Redirect binding); the ACS takes Responses by HTTP-POST only")
	})
	t.Run("an undecodable SAMLResponse goes to the library", func(t *testing.T) {
		// ParseResponse says why, as the app would.
		code, out, stderr := cli(t, "SAMLResponse=not-base64!", g.verifyArgs("--json")...)
		require.Empty(t, stderr)
		assert.Equal(t, 1, code)
		r := readReports(t, out)[0]
		assert.Equal(t, "malformed", r.ErrorClass)
		assert.Equal(t, "base64", r.Checks[1].Name)
		assert.Equal(t, string(saml2sp.CheckFailed), r.Checks[1].Status)
	})
	t.Run("a URL-encoded value", func(t *testing.T) {
		code, _, stderr := cli(t, url.QueryEscape(value), g.verifyArgs("--request-id", "_req1")...)
		assert.Equal(t, 0, code, stderr)
	})
	t.Run("the XML document", func(t *testing.T) {
		doc, err := base64.StdEncoding.DecodeString(value)
		require.NoError(t, err)
		code, out, stderr := cli(t, string(doc), g.verifyArgs("--request-id", "_req1")...)
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, out, "the input was XML, re-encoded in base64")
	})
}
