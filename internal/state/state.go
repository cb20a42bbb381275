// Package state seals the short-lived facts an SP hands to the browser
// between the start of a login or logout and the IdP's answer: which request
// it sent and where the user wanted to go. The token is authenticated with
// HMAC-SHA256, so the server keeps no session store; it carries an expiry,
// and the audience it was issued for, so a token from one SP (or tenant) is
// useless at another.
package state

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// ErrInvalid means the token is malformed, forged, expired or for another
// purpose.
var ErrInvalid = errors.New("state: invalid or expired token")

// State is what a token carries.
type State struct {
	Kind      string `json:"k"` // "login" or "logout"
	Audience  string `json:"a"` // the SP entity ID it was issued by
	Handle    string `json:"h"` // the RelayState handle it is bound to
	RequestID string `json:"i"`
	ReturnTo  string `json:"r,omitempty"`
	Expires   int64  `json:"e"` // Unix seconds
}

// Seal returns the token for s.
func Seal(key []byte, s State) string {
	payload, _ := json.Marshal(s) // cannot fail for this struct
	body := base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(mac(key, body))
}

// Open checks a token and returns its state if it is authentic, unexpired
// at now, and of the expected kind, audience and handle.
func Open(key []byte, token string, now time.Time, kind, audience, handle string) (*State, error) {
	body, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 4096 {
		return nil, ErrInvalid
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, body)) {
		return nil, ErrInvalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, ErrInvalid
	}
	var s State
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, ErrInvalid
	}
	if s.Kind != kind || s.Audience != audience || s.Handle != handle || !now.Before(time.Unix(s.Expires, 0)) {
		return nil, ErrInvalid
	}
	return &s, nil
}

func mac(key []byte, body string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("saml2sp-state-v1\x00"))
	h.Write([]byte(body))
	return h.Sum(nil)
}
