package main

import (
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, o *options)
		wantErr string
	}{
		{
			name: "defaults",
			check: func(t *testing.T, o *options) {
				assert.False(t, o.allowIdPInitiated, "IdP-initiated login is off by default")
				assert.Equal(t, "simplesamlphp", o.mapping, "a preset that fits the development IdP, not generic")
				assert.False(t, o.signRequests)
				assert.False(t, o.insecureAllowSHA1)
				assert.False(t, o.trace)
				assert.Empty(t, o.authnBinding, "the library chooses")
				assert.Empty(t, o.nameIDFormat)
				assert.True(t, o.devIdP())
				assert.Equal(t, "http://127.0.0.1:8080/", o.baseURL)
			},
		},
		{
			name: "every new flag",
			args: []string{"-allow-idp-initiated", "-insecure-allow-sha1", "-sign-requests", "-insecure-trace",
				"-authn-binding", "post", "-nameid-format", "persistent", "-mapping", "okta", "-base-url", "http://app.example"},
			check: func(t *testing.T, o *options) {
				assert.True(t, o.allowIdPInitiated)
				assert.True(t, o.insecureAllowSHA1)
				assert.True(t, o.signRequests)
				assert.True(t, o.trace)
				assert.Equal(t, saml2sp.BindingHTTPPost, o.authnBinding)
				assert.Equal(t, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", o.nameIDFormat)
				assert.Equal(t, "okta", o.mapping)
				assert.Equal(t, "http://app.example/", o.baseURL, "a slash is added")
			},
		},
		{
			name: "every new flag by the environment",
			env: map[string]string{
				"SAML2SP_ALLOW_IDP_INITIATED": "true", "SAML2SP_INSECURE_ALLOW_SHA1": "1", "SAML2SP_SIGN_REQUESTS": "true",
				"SAML2SP_INSECURE_TRACE": "true", "SAML2SP_AUTHN_BINDING": "redirect", "SAML2SP_NAMEID_FORMAT": "email",
				"SAML2SP_MAPPING": "entra", "SAML2SP_IDP_METADATA_URL": "https://idp.example/md",
			},
			check: func(t *testing.T, o *options) {
				assert.True(t, o.allowIdPInitiated)
				assert.True(t, o.insecureAllowSHA1)
				assert.True(t, o.signRequests)
				assert.True(t, o.trace)
				assert.Equal(t, saml2sp.BindingHTTPRedirect, o.authnBinding)
				assert.Equal(t, "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", o.nameIDFormat)
				assert.Equal(t, "entra", o.mapping)
				assert.Equal(t, "https://idp.example/md", o.idpMetadataURL)
				assert.False(t, o.devIdP())
			},
		},
		{
			name: "a flag beats the environment",
			args: []string{"-allow-idp-initiated=false", "-authn-binding", "post"},
			env:  map[string]string{"SAML2SP_ALLOW_IDP_INITIATED": "true", "SAML2SP_AUTHN_BINDING": "redirect"},
			check: func(t *testing.T, o *options) {
				assert.False(t, o.allowIdPInitiated)
				assert.Equal(t, saml2sp.BindingHTTPPost, o.authnBinding)
			},
		},
		{
			name: "a full NameID format URN",
			args: []string{"-nameid-format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, "urn:oasis:names:tc:SAML:2.0:nameid-format:transient", o.nameIDFormat)
			},
		},
		{name: "unknown binding", args: []string{"-authn-binding", "artifact"}, wantErr: `-authn-binding "artifact"`},
		{name: "unknown NameID format", args: []string{"-nameid-format", "mail"}, wantErr: `-nameid-format "mail"`},
		{name: "unknown mapping", args: []string{"-mapping", "okta2"}, wantErr: `-mapping "okta2" is not a preset`},
		{name: "a boolean variable that is not one", env: map[string]string{"SAML2SP_ALLOW_IDP_INITIATED": "yes please"},
			wantErr: `SAML2SP_ALLOW_IDP_INITIATED="yes please" is not a boolean`},
		{name: "two IdPs", args: []string{"-idp-metadata-url", "https://a/md", "-idp-metadata-file", "b.xml"}, wantErr: "choose one IdP"},
		{name: "a stray argument", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			o, err := parseFlags(tc.args, func(k string) string { return tc.env[k] }, &out)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Contains(t, out.String(), tc.wantErr, "the user is told")
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

// TestEveryFlagHasAVariable: -help names each flag's SAML2SP_ variable
// (TestParseFlags shows the variables at work).
func TestEveryFlagHasAVariable(t *testing.T) {
	var help strings.Builder
	_, err := parseFlags([]string{"-help"}, func(string) string { return "" }, &help)
	require.True(t, errors.Is(err, flag.ErrHelp))
	assert.Contains(t, help.String(), "compiles SQLite", "the usage warns about the first, slow build")
	n := 0
	for _, line := range strings.Split(help.String(), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "-"); ok {
			name, _, _ = strings.Cut(name, " ")
			n++
			assert.Contains(t, help.String(), "["+envName(name)+"]", name)
		}
	}
	assert.Equal(t, 20, n, "every flag is listed")
}
