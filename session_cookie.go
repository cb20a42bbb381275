package saml2sp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"
)

// CookieStore is the default SessionStore: the session lives in the
// browser, in one cookie encrypted and authenticated with AES-256-GCM, so
// the server keeps nothing and any replica with the same Key reads it.
//
// The cookie is HttpOnly, SameSite=Lax, Path=/, and expires with the
// session. Over HTTPS (the default) it is Secure and named with the
// __Host- prefix, which browsers accept only from the app's own host: a
// sibling subdomain cannot plant a session. Insecure drops both, for
// development on plain HTTP only.
//
// A cookie cannot be deleted from other browsers, so sessions that the IdP
// ends (single logout) are recorded in Sessions.Revocations and refused
// from then on.
type CookieStore struct {
	// Key encrypts and authenticates the cookie: at least 32 random bytes,
	// the same on every replica, a secret. Required.
	Key []byte
	// PreviousKeys still open cookies sealed with keys Key replaced, so
	// that rotating Key does not log everyone out; they never seal.
	PreviousKeys [][]byte
	// Name of the cookie, before the __Host- prefix. Empty means
	// "saml2sp_session".
	Name string
	// Insecure sends the cookie over plain HTTP too (no Secure attribute,
	// no __Host- prefix). Only for development on http://localhost.
	Insecure bool
}

// maxSessionCookie keeps the cookie under browsers' 4 KB limit per cookie.
const maxSessionCookie = 3800

func (c *CookieStore) name() string {
	n := c.Name
	if n == "" {
		n = "saml2sp_session"
	}
	if c.Insecure {
		return n
	}
	return "__Host-" + n
}

// sessionAEAD derives the cipher for one key: AES-256-GCM under HMAC-SHA256 of
// the key and a label, so the session key cannot be confused with any
// other use of the same secret.
func sessionAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("%w: CookieStore.Key must be at least 32 bytes", ErrConfig)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("saml2sp-session-cookie-v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Save implements SessionStore.
func (c *CookieStore) Save(w http.ResponseWriter, _ *http.Request, s *Session) error {
	aead, err := sessionAEAD(c.Key)
	if err != nil {
		return err
	}
	plain, err := s.MarshalText()
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	// The cookie's name is authenticated too: a value cannot be moved to
	// another cookie.
	sealed := aead.Seal(nonce, nonce, plain, []byte(c.name()))
	value := base64.RawURLEncoding.EncodeToString(sealed)
	if len(value)+len(c.name()) > maxSessionCookie {
		return fmt.Errorf("saml2sp: the session cookie would be %d bytes, more than %d", len(value)+len(c.name()), maxSessionCookie)
	}
	http.SetCookie(w, c.cookie(value, s.Expires))
	return nil
}

// Load implements SessionStore. A cookie that does not open (another key,
// altered, malformed) is no session.
func (c *CookieStore) Load(r *http.Request) (*Session, error) {
	ck, err := r.Cookie(c.name())
	if err != nil {
		return nil, nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(ck.Value) > maxSessionCookie {
		return nil, nil
	}
	for _, key := range append([][]byte{c.Key}, c.PreviousKeys...) {
		aead, err := sessionAEAD(key)
		if err != nil {
			return nil, err
		}
		if len(sealed) < aead.NonceSize() {
			return nil, nil
		}
		plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(c.name()))
		if err != nil {
			continue
		}
		s := new(Session)
		if err := s.UnmarshalText(plain); err != nil {
			return nil, nil
		}
		return s, nil
	}
	return nil, nil
}

// Delete implements SessionStore.
func (c *CookieStore) Delete(w http.ResponseWriter, _ *http.Request) error {
	ck := c.cookie("", time.Time{})
	ck.MaxAge = -1
	http.SetCookie(w, ck)
	return nil
}

func (c *CookieStore) cookie(value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{
		Name:     c.name(),
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   !c.Insecure,
		SameSite: http.SameSiteLaxMode,
	}
	if !expires.IsZero() {
		ck.Expires = expires
		ck.MaxAge = max(1, int(time.Until(expires)/time.Second))
	}
	return ck
}
