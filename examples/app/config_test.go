package main

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// fileIdP is an IdP the app knows from a metadata file (-idp-metadata-file),
// whose Responses the test mints.
type fileIdP struct {
	*saml2sptest.IdP
	o *options
}

func withFileIdP(t *testing.T, o *options) *fileIdP {
	t.Helper()
	idp, err := saml2sptest.NewIdP("https://idp.example.org/metadata")
	require.NoError(t, err)
	idp.SSOURL, idp.SLOURL = "https://idp.example.org/sso", "https://idp.example.org/slo"
	path := filepath.Join(t.TempDir(), "idp.xml")
	require.NoError(t, os.WriteFile(path, idp.Metadata(), 0o644))
	o.idpMetadataFile = path
	return &fileIdP{IdP: idp, o: o}
}

// post sends r to the app's ACS as the browser would, and returns the
// answer (not following redirects).
func (f *fileIdP) post(t *testing.T, b *browser, r saml2sptest.Response, relayState string) *http.Response {
	t.Helper()
	r.Destination, r.Audience = f.o.baseURL+"saml/acs", f.o.baseURL+"saml/metadata"
	form, err := f.Response(r)
	require.NoError(t, err)
	resp, err := b.noRedirects().PostForm(r.Destination, url.Values{"SAMLResponse": {form}, "RelayState": {relayState}})
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

// loginStart asks the app's login endpoint for an AuthnRequest and
// returns the answer (not following redirects).
func loginStart(t *testing.T, b *browser, base string) (*http.Response, string) {
	t.Helper()
	resp, err := b.noRedirects().Get(base + "saml/login?return_to=/profile")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	return resp, string(body)
}

// authnRequest decodes the AuthnRequest of an HTTP-Redirect login start.
func authnRequest(t *testing.T, location string) (string, url.Values) {
	t.Helper()
	u, err := url.Parse(location)
	require.NoError(t, err)
	q := u.Query()
	raw, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	require.NoError(t, err)
	xml, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	require.NoError(t, err)
	return string(xml), q
}

// TestFlagsReachTheSP: the AuthnRequest flags change what the SP sends.
func TestFlagsReachTheSP(t *testing.T) {
	tests := []struct {
		name  string
		set   func(*options)
		check func(t *testing.T, resp *http.Response, body string)
	}{
		{
			name: "defaults: HTTP-Redirect, unsigned, no NameID format",
			check: func(t *testing.T, resp *http.Response, _ string) {
				require.Equal(t, http.StatusFound, resp.StatusCode)
				xml, q := authnRequest(t, resp.Header.Get("Location"))
				assert.Empty(t, q.Get("Signature"))
				assert.NotContains(t, xml, "Format=")
			},
		},
		{
			name: "-authn-binding post",
			set:  func(o *options) { o.authnBinding = saml2sp.BindingHTTPPost },
			check: func(t *testing.T, resp *http.Response, body string) {
				require.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Contains(t, body, `action="https://idp.example.org/sso"`)
				assert.Contains(t, body, `name="SAMLRequest"`)
			},
		},
		{
			name: "-sign-requests",
			set:  func(o *options) { o.signRequests = true },
			check: func(t *testing.T, resp *http.Response, _ string) {
				require.Equal(t, http.StatusFound, resp.StatusCode)
				_, q := authnRequest(t, resp.Header.Get("Location"))
				assert.NotEmpty(t, q.Get("Signature"))
				assert.Equal(t, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", q.Get("SigAlg"))
			},
		},
		{
			name: "-nameid-format persistent",
			set:  func(o *options) { o.nameIDFormat, _ = nameIDFormat("persistent") },
			check: func(t *testing.T, resp *http.Response, _ string) {
				xml, _ := authnRequest(t, resp.Header.Get("Location"))
				assert.Regexp(t, `<samlp:NameIDPolicy[^>]* Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"`, xml)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t)
			withFileIdP(t, o)
			if tc.set != nil {
				tc.set(o)
			}
			a := startApp(t, o)
			resp, body := loginStart(t, newBrowser(t), a.base)
			tc.check(t, resp, body)
		})
	}
}

// TestLoginFlags: -insecure-allow-sha1 and -mapping decide which logins
// the app takes (IdP-initiated ones, allowed here, from a metadata file).
func TestLoginFlags(t *testing.T) {
	okta := []saml2sp.Attribute{
		{Name: "id", Values: []string{"00u1"}}, {Name: "email", Values: []string{"dana@example.com"}},
		{Name: "firstName", Values: []string{"Dana"}}, {Name: "lastName", Values: []string{"Diaz"}},
	}
	ssp := []saml2sp.Attribute{{Name: "uid", Values: []string{"dana"}}, {Name: "mail", Values: []string{"dana@example.com"}}}
	sha1 := func(r *saml2sptest.Response) { r.SignatureAlgorithm, r.DigestAlgorithm = "rsa-sha1", "sha1" }
	tests := []struct {
		name     string
		set      func(*options)
		response func(*saml2sptest.Response)
		ok       bool
		page     string // on the failure page
	}{
		{name: "SHA-1 refused by default", response: sha1, page: "Single sign-on failed"},
		{name: "SHA-1 with -insecure-allow-sha1", set: func(o *options) { o.insecureAllowSHA1 = true }, response: sha1, ok: true},
		{name: "SHA-256 by default", ok: true},
		{name: "Okta attributes refused by the default mapping",
			response: func(r *saml2sptest.Response) { r.Attributes = okta }, page: "Sign-in refused"},
		{name: "Okta attributes with -mapping okta", set: func(o *options) { o.mapping = "okta" },
			response: func(r *saml2sptest.Response) { r.Attributes = okta }, ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t)
			o.allowIdPInitiated = true
			idp := withFileIdP(t, o)
			if tc.set != nil {
				tc.set(o)
			}
			a := startApp(t, o)
			b := newBrowser(t)
			r := saml2sptest.Response{NameID: "dana@example.com", Attributes: ssp}
			if tc.response != nil {
				tc.response(&r)
			}
			resp := idp.post(t, b, r, "")
			if tc.ok {
				require.Equal(t, http.StatusSeeOther, resp.StatusCode, a.logs.String())
				b.get(a.base)
				assert.Contains(t, b.body, "Signed in as <strong>dana</strong>")
				return
			}
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			b.got(b.c.Get(a.base))
			assert.Contains(t, b.body, "You are not signed in.")
			// The failure page itself.
			form, err := idp.Response(func() saml2sptest.Response {
				r.Destination, r.Audience = o.baseURL+"saml/acs", o.baseURL+"saml/metadata"
				return r
			}())
			require.NoError(t, err)
			b.got(b.c.PostForm(o.baseURL+"saml/acs", url.Values{"SAMLResponse": {form}}))
			assert.Contains(t, b.body, tc.page)
		})
	}
}

// TestKeysSurviveARestart: the SP key pair, the session key and the state
// key live in the data directory (secrets readable by the owner only), so
// a restart keeps the sessions, finishes the logins under way, and keeps
// the SP metadata the IdP trusts.
func TestKeysSurviveARestart(t *testing.T) {
	o := testOptions(t)
	idp := withFileIdP(t, o)
	a := startApp(t, o)
	b := newBrowser(t)
	mdBefore := fetchMetadata(t, a.base+"saml/metadata")
	erin := saml2sptest.Response{NameID: "erin@example.com",
		Attributes: []saml2sp.Attribute{{Name: "uid", Values: []string{"erin"}}, {Name: "mail", Values: []string{"erin@example.com"}}}}
	// login starts an SP-initiated login and returns its request ID and
	// RelayState (the state cookie is in b's jar).
	login := func() (string, string) {
		resp, _ := loginStart(t, b, a.base)
		require.Equal(t, http.StatusFound, resp.StatusCode)
		xml, q := authnRequest(t, resp.Header.Get("Location"))
		m := regexp.MustCompile(` ID="([^"]+)"`).FindStringSubmatch(xml)
		require.NotNil(t, m, xml)
		return m[1], q.Get("RelayState")
	}

	id, rs := login()
	r := erin
	r.InResponseTo = id
	require.Equal(t, http.StatusSeeOther, idp.post(t, b, r, rs).StatusCode, a.logs.String())
	pendingID, pendingRS := login()
	a.stop()

	a = startApp(t, o)
	b.get(a.base)
	assert.Contains(t, b.body, "Signed in as <strong>erin</strong>", "the session outlives the restart")
	r.InResponseTo = pendingID
	resp := idp.post(t, b, r, pendingRS)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the login started before the restart completes after it\n%s", a.logs.String())
	assert.Equal(t, "/profile", resp.Header.Get("Location"))
	assert.Equal(t, mdBefore, fetchMetadata(t, a.base+"saml/metadata"), "the same SP key pair")

	for _, f := range []string{sessionKeyFile, stateKeyFile, spKeyFile} {
		fi, err := os.Stat(filepath.Join(o.dataDir, f))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
}

// TestSecretFiles: loadOrCreateSecret keeps its key, and refuses a file
// that does not hold one.
func TestSecretFiles(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name    string
		content string // "" means no file
		wantErr string
	}{
		{name: "created on first start"},
		{name: "kept", content: strings.Repeat("ab", 32) + "\n"},
		{name: "too short", content: strings.Repeat("ab", 16), wantErr: "at least 32 random bytes"},
		{name: "not hex", content: strings.Repeat("zz", 32), wantErr: "at least 32 random bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if tc.content != "" {
				require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			}
			key, err := loadOrCreateSecret(path, logger)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, key, 32)
			again, err := loadOrCreateSecret(path, logger)
			require.NoError(t, err)
			assert.Equal(t, key, again, "the same key on the next start")
			if tc.content != "" {
				assert.Equal(t, bytes.Repeat([]byte{0xab}, 32), key)
			}
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		})
	}
}

// TestKeyWithoutCertificate: a key without its certificate is not
// replaced (an IdP may trust it): the app refuses to start.
func TestKeyWithoutCertificate(t *testing.T) {
	o := testOptions(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := loadOrCreateKeyPair(o.dataDir, "https://sp/metadata", logger)
	require.NoError(t, err)
	keyPEM, err := os.ReadFile(filepath.Join(o.dataDir, spKeyFile))
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(o.dataDir, spCertFile)))
	_, err = build(o, logger)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exists but")
	after, err := os.ReadFile(filepath.Join(o.dataDir, spKeyFile))
	require.NoError(t, err)
	assert.Equal(t, keyPEM, after, "the key is untouched")
}
