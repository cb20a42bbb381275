package saml2sp_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

func TestMetadataRefreshRotatesKeys(t *testing.T) {
	e := newTestEnv(t)
	// The IdP rotates to a new key: same entity ID, new certificate.
	rotated, err := saml2sptest.NewIdP(testIdPEntityID)
	require.NoError(t, err)
	rotated.Clock = e.idp.Clock
	var served atomic.Pointer[[]byte]
	md := e.idp.Metadata()
	served.Store(&md)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write(*served.Load())
	}))
	defer srv.Close()
	refresher := &saml2sp.MetadataRefresher{URL: srv.URL, Client: srv.Client()}

	signedByOld := func() string { return e.mint(e.response()) }
	signedByRotated, err := rotated.Response(e.response())
	require.NoError(t, err)

	_, err = e.parse(signedByRotated)
	require.ErrorIs(t, err, saml2sp.ErrSignature, "not trusted before the refresh")

	md2 := rotated.Metadata()
	served.Store(&md2)
	require.NoError(t, refresher.Refresh(context.Background(), e.sp))
	a, err := e.parse(signedByRotated)
	require.NoError(t, err)
	assert.Equal(t, "alice@example.com", a.NameID)
	_, err = e.parse(signedByOld())
	require.ErrorIs(t, err, saml2sp.ErrSignature, "the old key is no longer trusted once the metadata drops it")
}

func TestMetadataRefreshKeepsTrustOnFailure(t *testing.T) {
	e := newTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	err := (&saml2sp.MetadataRefresher{URL: srv.URL, Client: srv.Client()}).Refresh(context.Background(), e.sp)
	require.Error(t, err)
	_, err = e.parse(e.mint(e.response()))
	require.NoError(t, err, "a failed refresh keeps the metadata in force")
}

func TestSetIdentityProviderRefusesAnotherIdP(t *testing.T) {
	e := newTestEnv(t)
	other, err := saml2sptest.NewIdP("https://evil.example/idp")
	require.NoError(t, err)
	require.ErrorIs(t, e.sp.SetIdentityProvider(other.IdentityProvider()), saml2sp.ErrMetadata)
	require.ErrorIs(t, e.sp.SetIdentityProvider(&saml2sp.IdentityProvider{EntityID: testIdPEntityID}), saml2sp.ErrConfig)
	assert.Equal(t, testIdPEntityID, e.sp.IdentityProvider().EntityID)
}

func TestMetadataRefresherRunStops(t *testing.T) {
	e := newTestEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		(&saml2sp.MetadataRefresher{URL: "http://127.0.0.1:1/"}).Run(ctx, e.sp)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

// TestMetadataRefresherPlainHTTP: a refresher fetches plain http off this
// machine only with InsecureAllowHTTP, like FetchMetadata.
func TestMetadataRefresherPlainHTTP(t *testing.T) {
	e := newTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(e.idp.Metadata()) }))
	defer srv.Close()
	// idp.example.com is routed to the test server: no DNS, no network.
	var d net.Dialer
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}}}
	for _, tc := range []struct {
		name     string
		insecure bool
		wantErr  bool
	}{
		{name: "refused without the option", wantErr: true},
		{name: "fetched with InsecureAllowHTTP", insecure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &saml2sp.MetadataRefresher{URL: "http://idp.example.com/metadata", Client: client, InsecureAllowHTTP: tc.insecure}
			err := m.Refresh(context.Background(), e.sp)
			if tc.wantErr {
				require.ErrorIs(t, err, saml2sp.ErrMetadata)
				assert.Contains(t, err.Error(), "is plain http")
				return
			}
			require.NoError(t, err)
		})
	}
}
