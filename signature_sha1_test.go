package saml2sp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// sha1Warnings returns the SHA-1 warnings in a JSON log.
func sha1Warnings(t *testing.T, log *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		if rec["level"] == "WARN" && strings.Contains(rec["msg"].(string), "SHA-1") {
			out = append(out, rec)
		}
	}
	return out
}

// TestSHA1Signatures: SHA-1 is refused with an error that names the
// algorithm and the two ways out; accepted under InsecureAllowSHA1, it is
// logged once per message with the IdP and the algorithms.
func TestSHA1Signatures(t *testing.T) {
	for _, tc := range []struct {
		name        string
		allow       bool
		sign        saml2sptest.Sign
		sigAlg      string
		digest      string
		wantRefused string   // the algorithm URI the error names
		wantLogged  []string // the algorithms of the one warning
	}{
		{name: "rsa-sha1 refused", sign: saml2sptest.SignAssertion, sigAlg: "rsa-sha1", wantRefused: xmldsig.RSASHA1},
		{name: "sha1 digest refused", sign: saml2sptest.SignResponse, digest: "sha1", wantRefused: xmldsig.SHA1},
		{name: "rsa-sha1 refused on a Response signed twice", sign: saml2sptest.SignBoth, sigAlg: "rsa-sha1", wantRefused: xmldsig.RSASHA1},
		{name: "rsa-sha1 accepted", allow: true, sign: saml2sptest.SignAssertion, sigAlg: "rsa-sha1",
			wantLogged: []string{xmldsig.RSASHA1}},
		{name: "sha1 digest accepted", allow: true, sign: saml2sptest.SignResponse, digest: "sha1",
			wantLogged: []string{xmldsig.SHA1}},
		{name: "both signatures SHA-1: one warning", allow: true, sign: saml2sptest.SignBoth, sigAlg: "rsa-sha1", digest: "sha1",
			wantLogged: []string{xmldsig.RSASHA1, xmldsig.SHA1}},
		{name: "SHA-256 under InsecureAllowSHA1: no warning", allow: true, sign: saml2sptest.SignBoth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			e := newTestEnv(t, func(c *saml2sp.Config) {
				c.InsecureAllowSHA1 = tc.allow
				c.Logger = slog.New(slog.NewJSONHandler(&log, nil))
			})
			a, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) {
				r.Sign, r.SignatureAlgorithm, r.DigestAlgorithm = tc.sign, tc.sigAlg, tc.digest
			})))
			if tc.wantRefused != "" {
				require.ErrorIs(t, err, saml2sp.ErrSignature)
				assert.Nil(t, a)
				for _, want := range []string{tc.wantRefused, "SHA-256", "Config.InsecureAllowSHA1"} {
					assert.Contains(t, err.Error(), want)
				}
				assert.Empty(t, sha1Warnings(t, &log))
				return
			}
			require.NoError(t, err)
			warnings := sha1Warnings(t, &log)
			if tc.wantLogged == nil {
				assert.Empty(t, warnings)
				return
			}
			require.Len(t, warnings, 1, log.String())
			assert.Equal(t, testIdPEntityID, warnings[0]["idp"])
			var algs []string
			for _, a := range warnings[0]["algorithms"].([]any) {
				algs = append(algs, a.(string))
			}
			assert.Equal(t, tc.wantLogged, algs)
		})
	}
}

// TestSHA1LogoutRequest: the same for a LogoutRequest sent by HTTP-POST
// (an enveloped XML signature).
func TestSHA1LogoutRequest(t *testing.T) {
	for _, binding := range sloBindings {
		for _, allow := range []bool{false, true} {
			t.Run(short(binding)+"/"+map[bool]string{false: "refused", true: "accepted"}[allow], func(t *testing.T) {
				var log bytes.Buffer
				e := newSLOEnv(t, func(c *saml2sp.Config) {
					c.InsecureAllowSHA1 = allow
					c.Logger = slog.New(slog.NewJSONHandler(&log, nil))
				})
				l := logoutRequest(func(l *saml2sptest.LogoutRequest) { l.SignatureAlgorithm = "rsa-sha1" })
				_, err := e.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, e.idp, binding, l))
				if !allow {
					require.ErrorIs(t, err, saml2sp.ErrSignature)
					assert.Contains(t, err.Error(), xmldsig.RSASHA1)
					assert.Contains(t, err.Error(), "Config.InsecureAllowSHA1")
					return
				}
				require.NoError(t, err)
				warnings := sha1Warnings(t, &log)
				require.Len(t, warnings, 1, log.String())
				assert.Equal(t, testIdPEntityID, warnings[0]["idp"])
				want := "LogoutRequest"
				if binding == saml2sp.BindingHTTPRedirect {
					want = "HTTP-Redirect LogoutRequest"
				}
				assert.Equal(t, want, warnings[0]["message"])
			})
		}
	}
}
