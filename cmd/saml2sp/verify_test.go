package main

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestVerifyIdentity: --mapping shows the identity the app would get, or
// the mapping's error, and says whether it comes from verified data.
func TestVerifyIdentity(t *testing.T) {
	g := newGenEnv(t)
	attrs := []saml2sp.Attribute{{Name: "uid", Values: []string{"alice"}}, {Name: "mail", Values: []string{"alice@example.com"}}, {Name: "groups", Values: []string{"staff", "admins"}}}
	good := saml2sptest.Response{Destination: g.acs, Audience: g.spID, InResponseTo: "_req1", Attributes: attrs}
	expired := good
	expired.IssueInstant = g.now.Add(-time.Hour)
	otherRequest := good
	otherRequest.InResponseTo = "_other"
	cases := []struct {
		name       string
		resp       saml2sptest.Response
		mapping    string
		code       int
		verified   bool
		userID     string
		identError string
		text       []string
	}{
		{name: "accepted and mapped", resp: good, mapping: "simplesamlphp", code: 0, verified: true, userID: "alice",
			text: []string{"Result: ACCEPTED: ParseResponse returns the assertion.", `Identity with the "simplesamlphp" mapping, from the verified assertion:`,
				"UserID:    alice", "Email:     alice@example.com", `Groups:    "staff", "admins"`}},
		{name: "accepted, no identity", resp: good, mapping: "okta", code: 1, verified: true, identError: `Missing: user ID (tried "id", "userId", "identifier", then a persistent NameID)`,
			text: []string{`Result: ACCEPTED by ParseResponse, but the "okta" mapping finds NO IDENTITY in it`, "NONE: "}},
		{name: "refused before the signature", resp: expired, mapping: "simplesamlphp", code: 1, verified: false, userID: "alice",
			text: []string{"from the UNVERIFIED assertion"}},
		{name: "refused after the signature", resp: otherRequest, mapping: "simplesamlphp", code: 1, verified: true, userID: "alice",
			text: []string{"signature verified, but the Response was refused: the app gets no identity"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			value := formValue(t, g.idp, c.resp, nil)
			code, out, stderr := cli(t, value, g.verifyArgs("--json", "--request-id", "_req1", "--mapping", c.mapping)...)
			require.Empty(t, stderr)
			assert.Equal(t, c.code, code)
			r := readReports(t, out)[0]
			require.NotNil(t, r.Identity)
			assert.Equal(t, c.mapping, r.Identity.Mapping)
			assert.Equal(t, c.verified, r.Identity.Verified)
			if c.userID != "" {
				require.NotNil(t, r.Identity.Identity, r.Identity.Error)
				assert.Equal(t, c.userID, r.Identity.Identity.UserID)
				assert.Equal(t, "alice@example.com", r.Identity.Identity.Email)
			} else {
				assert.Nil(t, r.Identity.Identity)
				assert.Contains(t, r.Identity.Error, c.identError)
			}
			_, text, _ := cli(t, value, g.verifyArgs("--request-id", "_req1", "--mapping", c.mapping)...)
			for _, w := range c.text {
				assert.Contains(t, text, w)
			}
		})
	}
	t.Run("without --mapping", func(t *testing.T) {
		code, out, _ := cli(t, formValue(t, g.idp, good, nil), g.verifyArgs("--json", "--request-id", "_req1")...)
		assert.Equal(t, 0, code)
		assert.Nil(t, readReports(t, out)[0].Identity)
	})
}

// TestVerifyHints: a refusal a captured Response typically meets offline
// comes with what to try next.
func TestVerifyHints(t *testing.T) {
	g := newGenEnv(t)
	base := saml2sptest.Response{Destination: g.acs, Audience: g.spID, InResponseTo: "_req1"}
	old := base
	old.IssueInstant = g.now.Add(-time.Hour)
	unsolicited := base
	unsolicited.InResponseTo = ""
	encrypted := base
	encrypted.Encrypt = g.spPair.Certificate
	cases := []struct {
		name  string
		resp  saml2sptest.Response
		args  []string
		hint  string
		class string
	}{
		{name: "old, no --now", resp: old, args: []string{"--request-id", "_req1"}, class: "expired",
			hint: "a captured Response is valid for a few minutes only: add --now with the time it was posted (it claims IssueInstant " + stamp(old.IssueInstant) + ")"},
		{name: "no request ID", resp: base, class: "in_response_to", hint: `the Response answers request "_req1": pass --request-id`},
		{name: "IdP-initiated", resp: unsolicited, class: "unsolicited", hint: "--allow-idp-initiated"},
		{name: "encrypted, no key", resp: encrypted, args: []string{"--request-id", "_req1"}, class: "unsupported", hint: "the assertion is encrypted: pass the SP's private key with --sp-key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"verify", "--json", "--idp-metadata", g.metadata, "--sp-entity-id", g.spID, "--acs-url", g.acs}, c.args...)
			if c.name != "old, no --now" {
				args = append(args, "--now", g.now.Format(time.RFC3339))
			}
			code, out, _ := cli(t, formValue(t, g.idp, c.resp, nil), args...)
			assert.Equal(t, 1, code)
			r := readReports(t, out)[0]
			assert.Equal(t, c.class, r.ErrorClass)
			assert.Contains(t, strings.Join(r.Hints, "\n"), c.hint)
		})
	}
}

// TestVerifyDecryptionDetail: with --sp-key the key's owner learns why
// decryption failed (DecryptionDetail); the verdict is unchanged.
func TestVerifyDecryptionDetail(t *testing.T) {
	g := newGenEnv(t)
	value := formValue(t, g.idp, saml2sptest.Response{Destination: g.acs, Audience: g.spID, InResponseTo: "_req1", Encrypt: g.spPair.Certificate}, nil)
	code, out, _ := cli(t, value, g.verifyArgs("--json", "--request-id", "_req1", "--sp-key", g.otherKey)...)
	assert.Equal(t, 1, code)
	r := readReports(t, out)[0]
	assert.Equal(t, "decryption", r.ErrorClass)
	var detail string
	for _, ck := range r.Checks {
		if ck.Status == string(saml2sp.CheckFailed) {
			detail = ck.Detail
		}
	}
	assert.Contains(t, detail, "; the reason: ")
	assert.NotContains(t, r.Error, "; the reason: ", "the error itself stays ParseResponse's")
}

// TestVerifyLibraryLog: the library's warnings come with the report, not
// mixed into the output.
func TestVerifyLibraryLog(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	cert, err := saml2sptest.NewCertificate(key, now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	require.NoError(t, err)
	idp := saml2sptest.NewIdPWithKey("https://old-idp.example.org/metadata", key, cert)
	meta := writeFile(t, "idp.xml", idp.Metadata())
	value, err := idp.Response(saml2sptest.Response{Destination: "https://sp.example.com/acs", Audience: "https://sp.example.com/", InResponseTo: "_r"})
	require.NoError(t, err)
	code, out, stderr := cli(t, value, "verify", "--json", "--idp-metadata", meta, "--sp-entity-id", "https://sp.example.com/", "--acs-url", "https://sp.example.com/acs", "--request-id", "_r")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stderr)
	r := readReports(t, out)[0]
	assert.Contains(t, strings.Join(r.Log, "\n"), "IdP signed with a certificate outside its validity dates")
}

// TestVerifyMetadataURL: --idp-metadata takes a URL, fetched with
// FetchMetadata (plain http only from this machine).
func TestVerifyMetadataURL(t *testing.T) {
	g := newGenEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metadata" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(g.idp.Metadata())
	}))
	defer srv.Close()
	value := formValue(t, g.idp, saml2sptest.Response{Destination: g.acs, Audience: g.spID, InResponseTo: "_req1"}, nil)
	args := []string{"verify", "--sp-entity-id", g.spID, "--acs-url", g.acs, "--now", g.now.Format(time.RFC3339), "--request-id", "_req1"}

	code, out, stderr := cli(t, value, append(args, "--idp-metadata", srv.URL+"/metadata")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Result: ACCEPTED")

	code, _, stderr = cli(t, value, append(args, "--idp-metadata", srv.URL+"/missing")...)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "404")
}
