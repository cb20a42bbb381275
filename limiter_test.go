package saml2sp_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// blockingKey is an SP key whose decryption waits until released, so a
// test can hold a verification slot.
type blockingKey struct {
	*rsa.PrivateKey
	entered chan struct{}
	release chan struct{}
}

func (k *blockingKey) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	k.entered <- struct{}{}
	<-k.release
	return k.PrivateKey.Decrypt(r, msg, opts)
}

func TestLimiterDefaults(t *testing.T) {
	l := saml2sp.NewLimiter(0, 0)
	assert.Equal(t, max(2, runtime.GOMAXPROCS(0)), l.Cap())
	assert.Equal(t, 7, saml2sp.NewLimiter(7, time.Second).Cap())
	sp := newTestEnv(t).sp
	require.NotNil(t, sp.Config().Limiter, "New gives every SP a limiter")
}

// TestLimiterBoundsConcurrentVerifications: with every slot busy, another
// message waits at most the limiter's wait and is refused with
// ErrUnavailable (503 with Retry-After at the ACS), and succeeds once a
// slot is free. The Limiter is shared by two SPs, as tenants share one.
func TestLimiterBoundsConcurrentVerifications(t *testing.T) {
	rsaKey, cert := encKey(0)
	key := &blockingKey{PrivateKey: rsaKey, entered: make(chan struct{}), release: make(chan struct{})}
	limiter := saml2sp.NewLimiter(1, 50*time.Millisecond)
	busy := newTestEnv(t, func(c *saml2sp.Config) { c.Key, c.Certificate, c.Limiter = key, cert, limiter })
	other := newTestEnv(t, func(c *saml2sp.Config) { c.Limiter = limiter })
	slo := newSLOEnv(t, func(c *saml2sp.Config) { c.Limiter = limiter })

	done := make(chan error, 1)
	go func() {
		_, err := busy.parse(busy.mint(busy.response(encFor(cert, saml2sptest.Encryption{}))))
		done <- err
	}()
	<-key.entered // the first message holds the only slot

	_, err := other.parse(other.mint(other.response()))
	require.ErrorIs(t, err, saml2sp.ErrUnavailable)

	for _, binding := range sloBindings {
		_, err = slo.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, slo.idp, binding, logoutRequest()))
		require.ErrorIs(t, err, saml2sp.ErrUnavailable, short(binding))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = other.sp.ParseResponse(ctx, other.mint(other.response()), []string{testRequestID})
	require.ErrorIs(t, err, saml2sp.ErrUnavailable)
	require.ErrorIs(t, err, context.Canceled)

	var failure *saml2sp.Failure
	h := other.sp.ACSHandler(saml2sp.Hooks{
		OnLogin:   func(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error { return nil },
		OnFailure: func(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) { failure = f; w.WriteHeader(f.Status) },
	})
	form := url.Values{"SAMLResponse": {other.mint(other.response(func(r *saml2sptest.Response) { r.InResponseTo = "" }))}}
	req := httptest.NewRequest(http.MethodPost, testACSURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	require.NotNil(t, failure)
	assert.ErrorIs(t, failure.Err, saml2sp.ErrUnavailable)

	close(key.release)
	require.NoError(t, <-done)
	a, err := other.parse(other.mint(other.response()))
	require.NoError(t, err, "a free slot lets the next message through")
	assert.Equal(t, "alice@example.com", a.NameID)
	_, err = slo.sp.ParseLogoutRequest(context.Background(), logoutRequestVia(t, slo.idp, saml2sp.BindingHTTPPost, logoutRequest()))
	require.NoError(t, err)
}
