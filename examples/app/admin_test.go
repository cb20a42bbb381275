package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdminSet(t *testing.T) {
	tests := []struct {
		list string
		want map[string]bool
	}{
		{list: "", want: map[string]bool{}},
		{list: "Alice@Example.com", want: map[string]bool{"alice@example.com": true}},
		{list: " a@x.test , ,b@y.test", want: map[string]bool{"a@x.test": true, "b@y.test": true}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, adminSet(tc.list), "%q", tc.list)
	}
}

func TestAdminEmailsFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "development IdP: its user alice", want: devIdPAdmin},
		{name: "development IdP, named admins", args: []string{"-admin-emails", "bob@example.com"}, want: "bob@example.com"},
		{name: "a real IdP: nobody unless named", args: []string{"-idp-metadata-url", "https://idp.example.com/md"}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, func(string) string { return "" }, io.Discard)
			require.NoError(t, err)
			assert.Equal(t, tc.want, o.adminEmails)
		})
	}
}

// TestAdminPage: the SSO settings page shows an admin what the app trusts
// and what it tells the IdP; others get 403, and strangers the login.
func TestAdminPage(t *testing.T) {
	a := startApp(t, testOptions(t))

	alice := newBrowser(t).logIn(a, "alice")
	alice.get(a.base)
	assert.Contains(t, alice.body, `id="admin" href="/admin/saml"`, "the home page links admins to the settings")
	alice.get(a.base + "admin/saml")
	assert.Contains(t, alice.body, `<code id="idp-entity-id">`+a.o.devIdPURL+`metadata</code>`)
	assert.Contains(t, alice.body, `<code id="sp-entity-id">`+a.base+`saml/metadata</code>`)
	assert.Contains(t, alice.body, `id="test-sso" href="`+a.base+`saml/test"`)
	assert.Contains(t, alice.body, `id="sp-metadata" href="`+a.base+`saml/metadata"`)
	assert.Contains(t, alice.body, "expires ", "certificate expiry")
	assert.Contains(t, alice.body, "loaded ", "when the metadata was loaded")

	// The fingerprint shown is the one of the certificate the IdP publishes.
	md := newBrowser(t).get(a.o.devIdPURL + "metadata").body
	cert := between(t, md, "<ds:X509Certificate>", "</ds:X509Certificate>")
	sum := sha256.Sum256(mustBase64(t, cert))
	assert.Contains(t, alice.body, fmt.Sprintf("%02X:%02X:%02X", sum[0], sum[1], sum[2]))

	bob := newBrowser(t).logIn(a, "bob")
	bob.got(bob.c.Get(a.base + "admin/saml"))
	assert.Equal(t, http.StatusForbidden, bob.status)
	assert.Contains(t, bob.body, "Admins only")
	bob.get(a.base)
	assert.NotContains(t, bob.body, `id="admin"`)

	resp, err := newBrowser(t).noRedirects().Get(a.base + "admin/saml")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, a.base+"saml/login?return_to=%2Fadmin%2Fsaml", resp.Header.Get("Location"))
}

// TestConnectionTest: the admin's "Test SSO connection" asks the IdP for a
// fresh login (someone else signs in there, bob), and shows the report
// of bob's Response: valid, bob's attributes and how the app reads them.
// The admin is still signed in as alice, bob has no account, and the
// report's Response cannot be posted again. Non-admins may not test.
func TestConnectionTest(t *testing.T) {
	a := startApp(t, testOptions(t))
	alice := newBrowser(t).logIn(a, "alice")

	alice.get(a.base + "saml/test")
	require.Contains(t, alice.body, "It asked for a fresh sign-in (ForceAuthn)", "the IdP asks again despite its session")
	alice.submit(url.Values{"username": {"bob"}})
	idpForm := alice.body
	alice.autoSubmit()
	assert.Equal(t, a.base+"saml/acs", alice.url.String())
	assert.Contains(t, alice.body, `id="test-result">Passed: the IdP`, alice.body)
	assert.Contains(t, alice.body, `<dd id="test-email">bob@example.com</dd>`)
	assert.Contains(t, alice.body, `<code id="test-nameid">bob@example.com</code>`)
	assert.Contains(t, alice.body, "(signed by the IdP)")
	assert.Contains(t, alice.body, `<tr class="check-passed"><td>signature of the`)
	assert.NotContains(t, alice.body, "check-failed")

	alice.get(a.base)
	assert.Contains(t, alice.body, "Signed in as <strong>alice</strong>", "the test changed no session")
	store, err := OpenStore(filepath.Join(a.o.dataDir, "app.db"))
	require.NoError(t, err)
	defer store.Close()
	u, err := store.FindByEmail(context.Background(), "bob@example.com")
	require.NoError(t, err)
	assert.Nil(t, u, "the test created no account")

	// The same Response again (from the IdP's form): it cannot be used
	// again, as a test or as a login.
	alice.body, alice.url = idpForm, mustParse(t, a.o.devIdPURL)
	alice.autoSubmit()
	assert.Equal(t, http.StatusForbidden, alice.status, "a test's Response posted again is refused: %s", alice.body)

	bob := newBrowser(t).logIn(a, "bob")
	bob.got(bob.c.Get(a.base + "saml/test"))
	assert.Equal(t, http.StatusForbidden, bob.status, "only admins may test")
}

func between(t *testing.T, s, start, end string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, start)
	require.True(t, ok, "no %s in %s", start, s)
	v, _, ok := strings.Cut(rest, end)
	require.True(t, ok)
	return v
}

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	require.NoError(t, err)
	return b
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}
