package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/saml2sp/saml2sp"
)

// Files in the data directory. The key pair keeps the names of earlier
// versions of the app, so an IdP that trusts its certificate still does.
const (
	spCertFile     = "sp-cert.pem"
	spKeyFile      = "sp-key.pem"
	sessionKeyFile = "session.key"
	stateKeyFile   = "state.key"
)

// spCertValidity is how long a generated SP certificate is valid. IdPs pin
// the key from the SP metadata; most ignore the dates.
const spCertValidity = 10 * 365 * 24 * time.Hour

// loadOrCreateKeyPair returns the SP's key pair from the data directory,
// generating it on first start: the SP metadata, which the IdP keeps a
// copy of, must stay the same across restarts.
func loadOrCreateKeyPair(dir, entityID string, logger *slog.Logger) (*saml2sp.KeyPair, error) {
	certPath, keyPath := filepath.Join(dir, spCertFile), filepath.Join(dir, spKeyFile)
	kp, err := saml2sp.LoadKeyPair(certPath, keyPath)
	if err == nil {
		warnIfReadable(keyPath, logger)
		return kp, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the SP key pair: %w", err)
	}
	if _, kerr := os.Stat(keyPath); kerr == nil {
		// Never replace a key an IdP may trust: the certificate alone is
		// missing, which needs a person.
		return nil, fmt.Errorf("%s exists but %s does not: restore the certificate, or move both away to start with a new key pair (and give the IdP the new SP metadata)", keyPath, certPath)
	}
	if kp, err = saml2sp.GenerateKeyPair(entityID, spCertValidity); err != nil {
		return nil, err
	}
	if err := kp.WriteFiles(certPath, keyPath); err != nil {
		return nil, fmt.Errorf("writing the SP key pair: %w", err)
	}
	logger.Info("generated the SP key pair", "certificate", certPath, "key", keyPath)
	return kp, nil
}

// secretSize is the size of the session and state keys.
const secretSize = 32

// loadOrCreateSecret returns the random key kept in path (hex), creating
// it, readable by its owner only, on first start. Keys must outlive a
// restart: a new session key would log everyone out, a new state key would
// fail every login under way.
func loadOrCreateSecret(path string, logger *slog.Logger) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < secretSize {
			return nil, fmt.Errorf("%s must hold at least %d random bytes in hex; delete it to generate a new one", path, secretSize)
		}
		warnIfReadable(path, logger)
		return key, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, secretSize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// O_EXCL: two processes starting at once must not each write a key
	// and go on with different ones.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadOrCreateSecret(path, logger)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	logger.Info("generated a key", "file", path)
	return key, nil
}

// warnIfReadable warns when a secret file can be read by others than its
// owner.
func warnIfReadable(path string, logger *slog.Logger) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("a secret file is readable by others than its owner: chmod 600 it", "file", path, "mode", fi.Mode().Perm().String())
	}
}
