package saml2sp_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// statuses maps each check of a report to its status.
func statuses(r *saml2sp.Report) map[string]saml2sp.CheckStatus {
	m := map[string]saml2sp.CheckStatus{}
	for _, c := range r.Checks {
		m[c.Name] = c.Status
	}
	return m
}

func TestDiagnoseGenuine(t *testing.T) {
	e := newTestEnv(t)
	r := e.sp.Diagnose(context.Background(), e.mint(e.response()), []string{testRequestID}, saml2sp.DiagnoseOptions{})
	require.True(t, r.Accepted, "%v", r.Err)
	require.NotNil(t, r.Assertion)
	assert.Equal(t, "alice@example.com", r.Assertion.NameID)
	assert.True(t, r.Claims.Verified)
	assert.True(t, r.Claims.AssertionSigned)
	assert.False(t, r.Claims.ResponseSigned)
	assert.Equal(t, testACSURL, r.Claims.Destination)
	st := statuses(r)
	assert.Len(t, r.Checks, 19, "every step is listed")
	for _, name := range []string{"message size", "base64", "XML (hardened parse)", "signature of the Assertion", "audience", "replay"} {
		assert.Equal(t, saml2sp.CheckPassed, st[name], name)
	}
	assert.Equal(t, saml2sp.CheckNotApplicable, st["signature of the Response"])
	assert.Equal(t, saml2sp.CheckNotApplicable, st["decryption of the EncryptedAssertion"])
	for _, c := range r.Checks {
		if c.Name == "signature of the Assertion" {
			assert.Contains(t, c.Detail, "SHA-256", "names the certificate that verified")
		}
	}
}

// TestDiagnoseStopsWhereParseResponseStops: for each failure the report's
// verdict is ParseResponse's, the failing check is the one named, later
// checks are "not reached", and values from an unverified message are
// marked so.
func TestDiagnoseStopsWhereParseResponseStops(t *testing.T) {
	tampered := func(e *testEnv) string {
		doc := e.mintXML(e.response())
		doc.FindElement("//NameID").SetText("mallory@example.com")
		return encodeDoc(t, doc)
	}
	cases := []struct {
		name     string
		form     func(e *testEnv) string
		ids      []string
		failed   string
		class    error
		verified bool
	}{
		{"not base64", func(*testEnv) string { return "%%%" }, nil, "base64", saml2sp.ErrMalformed, false},
		{"a DTD", func(*testEnv) string { return enc64([]byte(`<!DOCTYPE x><x/>`)) }, nil, "XML (hardened parse)", saml2sp.ErrMalformed, false},
		{"expired, refused before the cryptography", func(e *testEnv) string {
			return e.mint(e.response(func(r *saml2sptest.Response) { r.NotOnOrAfter = testNow.Add(-time.Hour) }))
		}, []string{testRequestID}, "Assertion, before any cryptography", saml2sp.ErrExpired, false},
		{"tampered NameID", tampered, []string{testRequestID}, "signature of the Assertion", saml2sp.ErrSignature, false},
		{"a request this browser did not make", func(e *testEnv) string { return e.mint(e.response()) }, []string{"_other"}, "InResponseTo (the request it answers)", saml2sp.ErrInResponseTo, true},
		{"an IdP error status", func(e *testEnv) string {
			return e.mint(e.response(func(r *saml2sptest.Response) { r.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder" }))
		}, nil, "IdP status", saml2sp.ErrStatus, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			form := tc.form(e)
			r := e.sp.Diagnose(context.Background(), form, tc.ids, saml2sp.DiagnoseOptions{})
			require.False(t, r.Accepted)
			require.ErrorIs(t, r.Err, tc.class)
			// The same verdict from ParseResponse on a fresh SP.
			_, err := newTestEnv(t).sp.ParseResponse(context.Background(), form, tc.ids)
			require.ErrorIs(t, err, tc.class)
			seenFailed := false
			for _, c := range r.Checks {
				switch {
				case c.Name == tc.failed:
					assert.Equal(t, saml2sp.CheckFailed, c.Status)
					assert.ErrorIs(t, c.Err, tc.class)
					seenFailed = true
				case seenFailed:
					assert.Contains(t, []saml2sp.CheckStatus{saml2sp.CheckNotReached}, c.Status, c.Name)
				default:
					assert.NotEqual(t, saml2sp.CheckFailed, c.Status, c.Name)
				}
			}
			require.True(t, seenFailed, "the failing step is %q", tc.failed)
			assert.Equal(t, tc.verified, r.Claims.Verified)
		})
	}
	t.Run("a tampered message's values are shown, as unverified", func(t *testing.T) {
		e := newTestEnv(t)
		r := e.sp.Diagnose(context.Background(), tampered(e), []string{testRequestID}, saml2sp.DiagnoseOptions{})
		require.NotNil(t, r.Claims.Assertion)
		assert.Equal(t, "mallory@example.com", r.Claims.Assertion.NameID)
		assert.False(t, r.Claims.Verified)
		assert.Nil(t, r.Assertion)
	})
}

// TestDiagnoseUsesTheReplayCache: a diagnosed Response is spent, as a
// verified one is: it cannot be used to log in afterwards.
func TestDiagnoseUsesTheReplayCache(t *testing.T) {
	e := newTestEnv(t)
	form := e.mint(e.response())
	r := e.sp.Diagnose(context.Background(), form, []string{testRequestID}, saml2sp.DiagnoseOptions{})
	require.True(t, r.Accepted)
	_, err := e.parse(form)
	require.ErrorIs(t, err, saml2sp.ErrReplay)
	r = e.sp.Diagnose(context.Background(), form, []string{testRequestID}, saml2sp.DiagnoseOptions{})
	require.ErrorIs(t, r.Err, saml2sp.ErrReplay)
	assert.Equal(t, saml2sp.CheckFailed, statuses(r)["replay"])
}

// TestDiagnoseDecryptionStaysUniform: unless asked, a decryption failure
// reads the same whatever went wrong (no padding oracle on a page a
// tenant's admin sees); the key's owner may ask for the reason.
func TestDiagnoseDecryptionStaysUniform(t *testing.T) {
	_, spCert := encKey(0)
	_, otherCert := encKey(1) // not the SP's key
	e := newTestEnv(t, encWithKey)
	detail := func(r *saml2sp.Report) string {
		for _, c := range r.Checks {
			if c.Name == "decryption of the EncryptedAssertion" {
				require.Equal(t, saml2sp.CheckFailed, c.Status)
				return c.Detail
			}
		}
		t.Fatal("no decryption check")
		return ""
	}
	wrongKey := e.mint(e.response(encFor(otherCert, saml2sptest.Encryption{})))
	badPadding := func() string {
		doc := e.mintXML(e.response(encFor(spCert, saml2sptest.Encryption{Data: "aes128-cbc"})))
		cv := doc.FindElement("//EncryptedData/CipherData/CipherValue")
		b := []byte(cv.Text())
		b[len(b)-6] ^= 1
		cv.SetText(string(b))
		return encodeDoc(t, doc)
	}()
	var details []string
	for _, form := range []string{wrongKey, badPadding} {
		r := e.sp.Diagnose(context.Background(), form, []string{testRequestID}, saml2sp.DiagnoseOptions{})
		require.ErrorIs(t, r.Err, saml2sp.ErrDecryption)
		assert.True(t, r.Claims.Encrypted)
		assert.NotEmpty(t, r.Claims.EncryptionAlgorithms)
		details = append(details, detail(r))
	}
	assert.Equal(t, details[0], details[1], "two different failures read the same")

	r := e.sp.Diagnose(context.Background(), wrongKey, []string{testRequestID}, saml2sp.DiagnoseOptions{DecryptionDetail: true})
	assert.Contains(t, detail(r), "the reason:")
	assert.NotEqual(t, details[0], detail(r))
}
