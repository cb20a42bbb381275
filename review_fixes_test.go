package saml2sp_test

// Findings of the security review (logout CSRF, ID-less assertions,
// replay keys per IdP, status message truncation, IdPInitiated flag), each
// pinned by a test that fails without its fix. The state-cookie cap is
// tested in a browser-like jar in handler_cookies_test.go.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

func TestLogoutRefusesCrossSiteRequests(t *testing.T) {
	tests := []struct {
		name, method, site, origin string
		loggedOut                  bool
	}{
		{"link on another site", http.MethodGet, "cross-site", "", false},
		{"sibling subdomain", http.MethodGet, "same-site", "", false},
		{"POST from another origin", http.MethodPost, "", "https://evil.example", false},
		{"own page", http.MethodGet, "same-origin", "", true},
		{"typed or bookmarked", http.MethodGet, "none", "", true},
		{"old browser without the headers", http.MethodGet, "", "", true},
		{"own POST", http.MethodPost, "same-origin", "https://sp.example.com", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := newWebApp(t, "https://sp.example.com/saml/")
			app.subject = &saml2sp.LogoutSubject{NameID: "alice@example.com", SessionIndex: "_s1"}
			r := httptest.NewRequest(tc.method, app.ep.LogoutURL, nil)
			if tc.site != "" {
				r.Header.Set("Sec-Fetch-Site", tc.site)
			}
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			w := httptest.NewRecorder()
			app.handler.ServeHTTP(w, r)
			if tc.loggedOut {
				assert.Equal(t, http.StatusFound, w.Code)
				assert.Len(t, app.logouts, 1)
				return
			}
			assert.Equal(t, http.StatusForbidden, w.Code)
			assert.Empty(t, app.logouts)
		})
	}
}

func TestAssertionWithoutIDRejected(t *testing.T) {
	e := newTestEnv(t)
	_, err := e.parse(e.mint(e.response(signResponse, func(r *saml2sptest.Response) {
		r.EditResponse = func(resp *etree.Element) { findTag(resp, "Assertion").RemoveAttr("ID") }
	})))
	require.ErrorIs(t, err, saml2sp.ErrMalformed)
}

// recordingCache records the keys the SP stores.
type recordingCache struct{ keys []string }

func (c *recordingCache) CheckAndStore(_ context.Context, id string, _ time.Time) error {
	c.keys = append(c.keys, id)
	return nil
}

// TestReplayKeysNameTheIssuer: one replay-cache entry per login. An
// unsolicited assertion is keyed by its issuer and ID, so that two IdPs
// sharing a cache cannot collide; a solicited one by the request it
// answers and this SP (the request ID is ours, and the assertion carries it
// under its signature, so a replay hits the same key).
func TestReplayKeysNameTheIssuer(t *testing.T) {
	cache := &recordingCache{}
	e := newTestEnv(t, func(c *saml2sp.Config) { c.ReplayCache, c.AllowIdPInitiated = cache, true })
	_, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) {
		r.AssertionID, r.InResponseTo = "_same-id-at-two-idps", ""
	})))
	require.NoError(t, err)
	_, err = e.parse(e.mint(e.response()))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"assertion:" + testIdPEntityID + ":_same-id-at-two-idps",
		"request:" + testSPEntityID + ":" + testRequestID,
	}, cache.keys)
}

func TestStatusMessageCutOnACharacterBoundary(t *testing.T) {
	e := newTestEnv(t)
	_, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) {
		r.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder"
		r.StatusMessage = strings.Repeat("a", 199) + "é and more"
	})))
	require.ErrorIs(t, err, saml2sp.ErrStatus)
	assert.True(t, utf8.ValidString(err.Error()))
}

func TestIdPInitiatedFlagFollowsTheResponse(t *testing.T) {
	// A login is under way (state cookie present), but the IdP posts an
	// unsolicited Response: it is IdP-initiated whatever the cookie says.
	app := newWebApp(t, "https://sp.example.com/saml/", func(c *saml2sp.Config) { c.AllowIdPInitiated = true })
	_, handle, cookie := app.startLogin("/x")
	w := app.do(http.MethodPost, app.ep.ACSURL, app.responseForm("", handle), cookie)
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	require.Len(t, app.logins, 1)
	assert.True(t, app.logins[0].IdPInitiated)
}
