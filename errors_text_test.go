package saml2sp_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/xmldsig"
	"github.com/saml2sp/saml2sp/internal/xmlsafe"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestErrorTextNamesEachClassOnce runs real failure paths and checks that
// the message names its class, and this package, once, while errors.Is
// still finds the class and the cause.
func TestErrorTextNamesEachClassOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		run    func(t *testing.T) error
		prefix string  // the class text the message starts with
		is     []error // errors.Is must match each
	}{
		{name: "replay through ParseResponse twice with the memory cache",
			run: func(t *testing.T) error {
				e := newTestEnv(t)
				form := e.mint(e.response())
				_, err := e.parse(form)
				require.NoError(t, err)
				_, err = e.parse(form)
				return err
			},
			prefix: "saml2sp: replayed message: ",
			is:     []error{saml2sp.ErrReplay}},
		{name: "replayed LogoutRequest",
			run: func(t *testing.T) error {
				e := newSLOEnv(t)
				form, err := e.idp.LogoutRequestForm(logoutRequest())
				require.NoError(t, err)
				_, err = e.sp.ParseLogoutRequest(context.Background(), postRequest(form))
				require.NoError(t, err)
				_, err = e.sp.ParseLogoutRequest(context.Background(), postRequest(form))
				return err
			},
			prefix: "saml2sp: replayed message: ",
			is:     []error{saml2sp.ErrReplay}},
		{name: "signature by a key not in the metadata (internal/xmldsig under ErrSignature)",
			run: func(t *testing.T) error {
				e := newTestEnv(t)
				form, err := newAttackerIdP(t, testIdPEntityID).Response(e.response())
				require.NoError(t, err)
				_, err = e.parse(form)
				return err
			},
			prefix: "saml2sp: signature invalid: ",
			is:     []error{saml2sp.ErrSignature, xmldsig.ErrNoTrustedKey}},
		{name: "malformed wrapping xmlsafe.ErrInvalid",
			run: func(t *testing.T) error {
				e := newTestEnv(t)
				doc := `<!DOCTYPE Response><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`
				_, err := e.parse(base64.StdEncoding.EncodeToString([]byte(doc)))
				return err
			},
			prefix: "saml2sp: malformed message: ",
			is:     []error{saml2sp.ErrMalformed, xmlsafe.ErrInvalid}},
		{name: "decryption error",
			run: func(t *testing.T) error {
				e := newTestEnv(t, encWithKey)
				_, other := encKey(1)
				_, err := e.parse(e.mint(e.response(encFor(other, saml2sptest.Encryption{}), encSign(saml2sptest.SignAssertion))))
				return err
			},
			prefix: "saml2sp: malformed message: ",
			is:     []error{saml2sp.ErrMalformed, saml2sp.ErrDecryption}},
		{name: "IdP error status",
			run: func(t *testing.T) error {
				e := newTestEnv(t)
				_, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) {
					r.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder"
					r.SubStatusCode = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
				})))
				return err
			},
			prefix: "saml2sp: IdP returned an error status: ",
			is:     []error{saml2sp.ErrStatus}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t)
			require.Error(t, err)
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, tc.prefix), "message %q should start with %q", msg, tc.prefix)
			assert.Equal(t, 1, strings.Count(msg, strings.TrimSuffix(tc.prefix, ": ")), "class named once in %q", msg)
			assert.Equal(t, 1, strings.Count(msg, "saml2sp:"), "package named once in %q", msg)
			for _, want := range tc.is {
				assert.True(t, errors.Is(err, want), "errors.Is(%v)", want)
			}
		})
	}
}
