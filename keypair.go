package saml2sp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The SP's key pair: what signs its requests and decrypts assertions, and
// the certificate its metadata publishes. SAML uses the certificate only
// as a container for the public key (IdPs pin it from the metadata), so a
// self-signed one is the norm.

// GenerateKeyPair returns a new RSA-2048 key and a self-signed certificate
// for it, valid for validFor from now, named commonName (the SP's entity
// ID is a good name).
func GenerateKeyPair(commonName string, validFor time.Duration) (*KeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Key: key, Certificate: cert}, nil
}

// MarshalPEM returns the certificate and the private key (PKCS #8) as PEM.
func (kp *KeyPair) MarshalPEM() (certPEM, keyPEM []byte, err error) {
	if kp.Key == nil || kp.Certificate == nil {
		return nil, nil, errors.New("saml2sp: the key pair needs both Key and Certificate")
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(kp.Key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.Certificate.Raw})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, nil
}

// ParsePrivateKey reads the first PEM private key in data (PKCS #8,
// PKCS #1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"), skipping other
// blocks such as a certificate stored next to it: an SP key with no
// certificate of its own, such as one of Config.PreviousKeys.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	var skipped []string
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil && len(skipped) > 0 {
			return nil, fmt.Errorf("saml2sp: no PEM private key: %s is not a private key", strings.Join(skipped, ", "))
		}
		if b == nil {
			return nil, errors.New("saml2sp: no PEM private key")
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			skipped = append(skipped, b.Type)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("saml2sp: reading the private key: %w", err)
		}
		signer, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("saml2sp: a %T cannot sign", k)
		}
		return signer, nil
	}
}

// ParseKeyPair reads a PEM certificate and its PEM private key (PKCS #8,
// PKCS #1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY") and checks that
// they belong together.
func ParseKeyPair(certPEM, keyPEM []byte) (*KeyPair, error) {
	cert, err := ParseCertificate(string(certPEM))
	if err != nil {
		return nil, err
	}
	signer, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(signer.Public(), cert.PublicKey) {
		return nil, errors.New("saml2sp: the private key does not match the certificate")
	}
	return &KeyPair{Key: signer, Certificate: cert}, nil
}

// LoadKeyPair reads the key pair from a PEM certificate file and a PEM
// private-key file (see ParseKeyPair).
func LoadKeyPair(certFile, keyFile string) (*KeyPair, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	return ParseKeyPair(certPEM, keyPEM)
}

// WriteFiles writes the key pair as PEM: the certificate readable by all
// (0644), the private key by its owner only (0600). It refuses to
// overwrite an existing key file, so a key the IdPs already trust is not
// lost by mistake.
func (kp *KeyPair) WriteFiles(certFile, keyFile string) error {
	certPEM, keyPEM, err := kp.MarshalPEM()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(keyPEM); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(certFile, certPEM, 0o644)
}
