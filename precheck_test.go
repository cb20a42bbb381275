package saml2sp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// breakSignatures makes every SignatureValue of doc wrong (still valid
// base64), so that any signature check would fail.
func breakSignatures(t *testing.T, doc *etree.Document) {
	t.Helper()
	n := 0
	for _, sv := range doc.FindElements("//SignatureValue") {
		v := sv.Text()
		c := byte('A')
		if v[0] == 'A' {
			c = 'B'
		}
		sv.SetText(string(c) + v[1:])
		n++
	}
	require.NotZero(t, n)
}

// TestCheapRejectionsComeBeforeTheCryptography: a Response that could never
// pass (wrong Issuer, Destination, time or audience) is refused for that
// reason even when its signatures are also broken. Without the pre-checks
// the signature check, which runs first, would answer ErrSignature, and an
// old Response with a genuine signature would cost a full verification.
func TestCheapRejectionsComeBeforeTheCryptography(t *testing.T) {
	e := newTestEnv(t)
	cases := []struct {
		name string
		mod  func(*saml2sptest.Response)
		want error
	}{
		{"control: nothing else wrong", func(*saml2sptest.Response) {}, saml2sp.ErrSignature},
		{"unknown issuer", func(r *saml2sptest.Response) { r.Issuer = "https://evil.example/idp" }, saml2sp.ErrIssuer},
		{"wrong destination", func(r *saml2sptest.Response) { r.Destination = "https://other.example/acs" }, saml2sp.ErrDestination},
		{"issued an hour ago", func(r *saml2sptest.Response) { r.IssueInstant = testNow.Add(-time.Hour) }, saml2sp.ErrExpired},
		{"issued in the future", func(r *saml2sptest.Response) { r.IssueInstant = testNow.Add(time.Hour) }, saml2sp.ErrNotYetValid},
		{"conditions ended", func(r *saml2sptest.Response) { r.NotOnOrAfter = testNow.Add(-time.Hour) }, saml2sp.ErrExpired},
		{"conditions not started", func(r *saml2sptest.Response) { r.NotBefore = testNow.Add(time.Hour) }, saml2sp.ErrNotYetValid},
		{"other audience", func(r *saml2sptest.Response) { r.Audience = "https://other.example/sp" }, saml2sp.ErrAudience},
	}
	for _, sign := range []saml2sptest.Sign{saml2sptest.SignAssertion, saml2sptest.SignResponse, saml2sptest.SignBoth} {
		for _, tc := range cases {
			t.Run(signName(sign)+"/"+tc.name, func(t *testing.T) {
				doc := e.mintXML(e.response(func(r *saml2sptest.Response) { r.Sign = sign }, tc.mod))
				breakSignatures(t, doc)
				a, err := e.parse(encodeDoc(t, doc))
				require.Nil(t, a)
				require.ErrorIs(t, err, tc.want)
				if tc.want != saml2sp.ErrSignature {
					assert.NotErrorIs(t, err, saml2sp.ErrSignature)
				}
			})
		}
	}

	// A genuine signature by a key the SP does not trust: the same order.
	attacker := newAttackerIdP(t, testIdPEntityID)
	v, err := attacker.Response(e.response(func(r *saml2sptest.Response) { r.IssueInstant = testNow.Add(-time.Hour) }))
	require.NoError(t, err)
	_, err = e.parse(v)
	require.ErrorIs(t, err, saml2sp.ErrExpired)
}

// TestPrecheckNeverWritesTheReplayCache: copies of a genuine Response that
// are refused before or by the signature check must not use up its ID.
func TestPrecheckNeverWritesTheReplayCache(t *testing.T) {
	e := newTestEnv(t)
	r := e.response()
	forged := e.mintXML(r)
	breakSignatures(t, forged)
	_, err := e.parse(encodeDoc(t, forged))
	require.ErrorIs(t, err, saml2sp.ErrSignature)

	genuine := e.mint(r)
	a, err := e.parse(genuine)
	require.NoError(t, err)
	assert.Equal(t, "alice@example.com", a.NameID)
	_, err = e.parse(genuine)
	require.ErrorIs(t, err, saml2sp.ErrReplay)
}

// TestLogoutPrecheck: a POSTed LogoutRequest addressed elsewhere or too
// old is refused for that before its (broken) signature is looked at.
func TestLogoutPrecheck(t *testing.T) {
	e := newSLOEnv(t)
	for _, tc := range []struct {
		name string
		mod  func(*saml2sptest.LogoutRequest)
		want error
	}{
		{"control", nil, saml2sp.ErrSignature},
		{"wrong destination", func(r *saml2sptest.LogoutRequest) { r.Destination = "https://other.example/sls" }, saml2sp.ErrDestination},
		{"issued an hour ago", func(r *saml2sptest.LogoutRequest) { r.IssueInstant = testNow.Add(-time.Hour) }, saml2sp.ErrExpired},
		{"unknown issuer", func(r *saml2sptest.LogoutRequest) { r.Issuer = "https://evil.example/idp" }, saml2sp.ErrIssuer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form, err := e.idp.LogoutRequestForm(logoutRequest(tc.mod))
			require.NoError(t, err)
			raw, err := base64.StdEncoding.DecodeString(form.Get("SAMLRequest"))
			require.NoError(t, err)
			doc := etree.NewDocument()
			require.NoError(t, doc.ReadFromBytes(raw))
			breakSignatures(t, doc)
			form.Set("SAMLRequest", encodeDoc(t, doc))
			_, err = e.sp.ParseLogoutRequest(context.Background(), postRequest(form))
			require.ErrorIs(t, err, tc.want)
			if tc.want != saml2sp.ErrSignature {
				assert.NotErrorIs(t, err, saml2sp.ErrSignature)
			}
		})
	}
}

// TestDecryptedAssertionPrecheck: a decrypted Assertion gets the cheap
// rejections before its signature is verified. The client sees the one
// uniform decryption error either way; the debug log says which check
// refused it.
func TestDecryptedAssertionPrecheck(t *testing.T) {
	var log bytes.Buffer
	e := newTestEnv(t, encWithKey, func(c *saml2sp.Config) { c.Logger = slogTo(&log) })
	_, cert := encKey(0)
	attacker := newAttackerIdP(t, testIdPEntityID)
	v, err := attacker.Response(e.response(encFor(cert, saml2sptest.Encryption{}), func(r *saml2sptest.Response) {
		r.NotOnOrAfter = testNow.Add(-time.Hour)
	}))
	require.NoError(t, err)
	_, err = e.parse(v)
	require.ErrorIs(t, err, saml2sp.ErrDecryption)
	assert.Contains(t, log.String(), "Conditions NotOnOrAfter")
	assert.NotContains(t, log.String(), "does not verify")
}
