package saml2sp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// weakKeys holds the keys of the weak-key tests, made once: RSA-1024 and
// ECDSA P-224 (weak), P-256 (not).
var weakKeys = sync.OnceValue(func() map[string]crypto.Signer {
	rsa1024, err1 := rsa.GenerateKey(rand.Reader, 1024)
	p224, err2 := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p256, err3 := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err1 != nil || err2 != nil || err3 != nil {
		panic("generating test keys failed")
	}
	return map[string]crypto.Signer{"RSA-1024": rsa1024, "ECDSA P-224": p224, "ECDSA P-256": p256}
})

// idpWithKey returns the test IdP signing with the named key of weakKeys
// ("" : the usual RSA-2048 key).
func idpWithKey(t *testing.T, name string) *saml2sptest.IdP {
	t.Helper()
	if name == "" {
		return newTestIdP(t)
	}
	key := weakKeys()[name]
	cert, err := saml2sptest.NewCertificate(key, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	require.NoError(t, err)
	idp := saml2sptest.NewIdPWithKey(testIdPEntityID, key, cert)
	idp.Clock = func() time.Time { return testNow }
	return idp
}

func spConfig(idp *saml2sptest.IdP, logs *bytes.Buffer, reject bool) saml2sp.Config {
	return saml2sp.Config{
		EntityID: testSPEntityID, ACSURL: testACSURL, IdP: idp.IdentityProvider(),
		Clock:             func() time.Time { return testNow },
		Logger:            slog.New(slog.NewTextHandler(logs, nil)),
		RejectWeakIdPKeys: reject,
	}
}

func TestWeakIdPKeysAtNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  string // of weakKeys, "" for RSA-2048
		weak bool
	}{
		{name: "RSA-1024 is weak", key: "RSA-1024", weak: true},
		{name: "ECDSA P-224 is weak", key: "ECDSA P-224", weak: true},
		{name: "RSA-2048 is not", key: ""},
		{name: "ECDSA P-256 is not", key: "ECDSA P-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := idpWithKey(t, tc.key)

			var logs bytes.Buffer
			sp, err := saml2sp.New(spConfig(idp, &logs, false))
			require.NoError(t, err, "accepted by default")
			if !tc.weak {
				assert.NotContains(t, logs.String(), "weak")
				_, err = saml2sp.New(spConfig(idp, &logs, true))
				require.NoError(t, err)
				return
			}
			assert.Contains(t, logs.String(), "level=WARN")
			assert.Contains(t, logs.String(), "idp="+testIdPEntityID)
			assert.Regexp(t, `key="?`+tc.key+`"? `, logs.String())
			a, err := sp.ParseResponse(context.Background(), mustResponse(t, idp), []string{testRequestID})
			require.NoError(t, err, "a weak key still verifies by default")
			assert.Equal(t, "alice@example.com", a.NameID)

			logs.Reset()
			_, err = saml2sp.New(spConfig(idp, &logs, true))
			require.ErrorIs(t, err, saml2sp.ErrConfig)
			assert.Contains(t, err.Error(), testIdPEntityID)
			assert.Contains(t, err.Error(), "weak "+tc.key+" key")
			assert.Equal(t, 1, strings.Count(err.Error(), "saml2sp:"))
		})
	}
}

func mustResponse(t *testing.T, idp *saml2sptest.IdP) string {
	t.Helper()
	form, err := idp.Response(saml2sptest.Response{Destination: testACSURL, Audience: testSPEntityID, InResponseTo: testRequestID, NameID: "alice@example.com"})
	require.NoError(t, err)
	return form
}

func TestWeakIdPKeysAtSetIdentityProvider(t *testing.T) {
	strong := newTestIdP(t)
	weak := idpWithKey(t, "RSA-1024")
	// Rollover metadata: the strong key and the weak one.
	both := strong.IdentityProvider()
	both.Certificates = append(both.Certificates, weak.Certificate)

	t.Run("warned once, when the key appears", func(t *testing.T) {
		var logs bytes.Buffer
		sp, err := saml2sp.New(spConfig(strong, &logs, false))
		require.NoError(t, err)
		require.Empty(t, logs.String())
		require.NoError(t, sp.SetIdentityProvider(both))
		assert.Equal(t, 1, strings.Count(logs.String(), "weak key"), logs.String())
		assert.Contains(t, logs.String(), `key=RSA-1024`)
		assert.Contains(t, logs.String(), "certificate=1")
		require.NoError(t, sp.SetIdentityProvider(both), "a refresh with the same keys")
		assert.Equal(t, 1, strings.Count(logs.String(), "weak key"), "not repeated at every refresh")
	})

	t.Run("refused with RejectWeakIdPKeys, keeping the IdP in force", func(t *testing.T) {
		var logs bytes.Buffer
		sp, err := saml2sp.New(spConfig(strong, &logs, true))
		require.NoError(t, err)
		err = sp.SetIdentityProvider(both)
		require.ErrorIs(t, err, saml2sp.ErrMetadata)
		assert.Contains(t, err.Error(), "signing certificate 1")
		assert.Equal(t, []*x509.Certificate{strong.Certificate}, sp.IdentityProvider().Certificates)
	})

	t.Run("MetadataRefresher", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(weak.Metadata()) }))
		defer srv.Close()
		for _, reject := range []bool{false, true} {
			var logs bytes.Buffer
			sp, err := saml2sp.New(spConfig(strong, &logs, reject))
			require.NoError(t, err)
			err = (&saml2sp.MetadataRefresher{URL: srv.URL}).Refresh(context.Background(), sp)
			if reject {
				require.ErrorIs(t, err, saml2sp.ErrMetadata)
				assert.True(t, sp.IdentityProvider().Certificates[0].Equal(strong.Certificate), "the strong key stays in force")
				continue
			}
			require.NoError(t, err)
			assert.Contains(t, logs.String(), "key=RSA-1024", "the SP's logger warns")
		}
	})
}

// TestWeakIdPKeysPerRequestSPs: a tenant's SP built for each request from
// a MetadataCache warns about its IdP's weak key once, not at every login.
func TestWeakIdPKeysPerRequestSPs(t *testing.T) {
	weak := idpWithKey(t, "RSA-1024")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(weak.Metadata()) }))
	defer srv.Close()
	cache := &saml2sp.MetadataCache{Client: srv.Client()}
	var logs bytes.Buffer
	for range 3 {
		idp, err := cache.IdentityProvider(context.Background(), saml2sp.MetadataSource{URL: srv.URL, InsecureAllowHTTP: true})
		require.NoError(t, err)
		cfg := spConfig(weak, &logs, false)
		cfg.IdP = idp
		_, err = saml2sp.New(cfg)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "weak key"), logs.String())

	var manual bytes.Buffer
	for range 2 {
		_, err := saml2sp.New(spConfig(weak, &manual, false))
		require.NoError(t, err)
	}
	assert.Equal(t, 2, strings.Count(manual.String(), "weak key"), "an IdP configured by hand has no document to remember the warning by")
}
