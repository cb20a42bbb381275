package saml2sp_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

func TestKeyPairFiles(t *testing.T) {
	kp, err := saml2sp.GenerateKeyPair("https://app.example.com/saml/metadata", 24*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, "https://app.example.com/saml/metadata", kp.Certificate.Subject.CommonName)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "sp.crt"), filepath.Join(dir, "keys", "sp.key")
	require.NoError(t, kp.WriteFiles(certFile, keyFile))
	st, err := os.Stat(keyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the private key is its owner's only")
	require.Error(t, kp.WriteFiles(certFile, keyFile), "an existing key is never overwritten")

	back, err := saml2sp.LoadKeyPair(certFile, keyFile)
	require.NoError(t, err)
	assert.True(t, back.Certificate.Equal(kp.Certificate))

	// The pair works as an SP's key.
	idp, err := saml2sptest.NewIdP("https://idp.example.org/")
	require.NoError(t, err)
	_, err = saml2sp.New(saml2sp.Config{EntityID: "https://app.example.com/saml/metadata", ACSURL: "https://app.example.com/saml/acs",
		IdP: idp.IdentityProvider(), Key: back.Key, Certificate: back.Certificate})
	require.NoError(t, err)
}

func TestParseKeyPairRefusesMismatches(t *testing.T) {
	a, err := saml2sp.GenerateKeyPair("a", time.Hour)
	require.NoError(t, err)
	b, err := saml2sp.GenerateKeyPair("b", time.Hour)
	require.NoError(t, err)
	certA, _, err := a.MarshalPEM()
	require.NoError(t, err)
	_, keyB, err := b.MarshalPEM()
	require.NoError(t, err)
	_, err = saml2sp.ParseKeyPair(certA, keyB)
	require.ErrorContains(t, err, "does not match")
	_, err = saml2sp.ParseKeyPair(certA, []byte("not pem"))
	require.Error(t, err)
	_, err = saml2sp.ParseKeyPair(certA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate.Raw}))
	require.ErrorContains(t, err, "not a private key")

	// SEC 1 EC keys are read too.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	cert, err := saml2sptest.NewCertificate(ec, time.Now(), time.Now().Add(time.Hour))
	require.NoError(t, err)
	der, err := x509.MarshalECPrivateKey(ec)
	require.NoError(t, err)
	kp, err := saml2sp.ParseKeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	require.NoError(t, err)
	assert.NotNil(t, kp.Key)
}

// TestParsePrivateKey: the key is found after other blocks (a
// certificate kept in the same file); a file without one says what it
// holds.
func TestParsePrivateKey(t *testing.T) {
	kp, err := saml2sp.GenerateKeyPair("a", time.Hour)
	require.NoError(t, err)
	certPEM, keyPEM, err := kp.MarshalPEM()
	require.NoError(t, err)
	for name, data := range map[string][]byte{"key alone": keyPEM, "certificate first": append(append([]byte{}, certPEM...), keyPEM...)} {
		k, err := saml2sp.ParsePrivateKey(data)
		require.NoError(t, err, name)
		assert.True(t, kp.Key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()), name)
	}
	_, err = saml2sp.ParsePrivateKey(certPEM)
	require.ErrorContains(t, err, "CERTIFICATE is not a private key")
	_, err = saml2sp.ParsePrivateKey(nil)
	require.ErrorContains(t, err, "no PEM private key")
}
