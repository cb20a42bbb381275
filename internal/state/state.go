// Package state seals the short-lived facts an SP hands to the browser
// between the start of a login or logout and the IdP's answer: which request
// it sent, where the user wanted to go and, for a login, the app's binding
// to the session that started it. The token is authenticated with
// HMAC-SHA256, so the server keeps no session store; it carries an expiry,
// and its MAC covers the kind, the audience it was issued for and the
// RelayState handle, so a token from one SP (or tenant), for another flow
// or under another handle is useless.
//
// Tokens travel in cookies that browsers send with every request to the
// app, so they are kept small: a binary payload, and the bound kind,
// audience and handle are not repeated in it (the verifier knows them).
package state

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalid means the token is malformed, forged, expired or for another
// purpose. Every error of Open matches it; ErrUnauthenticated and
// ErrExpired say which.
var ErrInvalid = errors.New("state: invalid or expired token")

// ErrUnauthenticated means the token's MAC does not verify: it was sealed
// with another key, or for another SP, flow or handle (the MAC covers
// them), or it was altered.
var ErrUnauthenticated = fmt.Errorf("%w: its MAC does not verify", ErrInvalid)

// ErrExpired means an authentic token has expired.
var ErrExpired = fmt.Errorf("%w: expired", ErrInvalid)

// Bounds of a token and of the fields it carries.
const (
	// MaxToken bounds a token; anything longer is refused unread.
	MaxToken = 2048
	// MaxField bounds each carried string (RequestID, ReturnTo, Binding).
	MaxField = 1024
	// tagLen is the MAC length kept in the token: 128 bits.
	tagLen = 16
	// version is the payload's first byte.
	version = 2
)

// State is what a token carries. Kind, Audience and Handle are bound by
// the MAC but not carried: Open fills them in from its arguments.
type State struct {
	Kind      string // "login" or "logout"
	Audience  string // the SP entity ID it was issued by
	Handle    string // the RelayState handle it is bound to
	RequestID string // the ID of the AuthnRequest or LogoutRequest sent
	ReturnTo  string // the local path to go to once the flow ends
	// Binding is the app's value tying a login to the session that
	// started it ("" for none).
	Binding string
	Expires int64 // Unix seconds
}

// Seal returns the token for s. Strings longer than MaxField are cut; the
// caller bounds them first.
func Seal(key []byte, s State) string {
	payload := []byte{version}
	payload = binary.AppendUvarint(payload, uint64(max(s.Expires, 0)))
	for _, f := range []string{s.RequestID, s.ReturnTo, s.Binding} {
		f = f[:min(len(f), MaxField)]
		payload = binary.AppendUvarint(payload, uint64(len(f)))
		payload = append(payload, f...)
	}
	body := base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(mac(key, s.Kind, s.Audience, s.Handle, body))
}

// Open checks a token and returns its state if it is authentic, unexpired
// at now, and of the expected kind, audience and handle.
func Open(key []byte, token string, now time.Time, kind, audience, handle string) (*State, error) {
	if len(token) > MaxToken {
		return nil, ErrInvalid
	}
	body, tag, ok := strings.Cut(token, ".")
	if !ok {
		return nil, ErrInvalid
	}
	got, err := base64.RawURLEncoding.DecodeString(tag)
	if err != nil || !hmac.Equal(got, mac(key, kind, audience, handle, body)) {
		return nil, ErrUnauthenticated
	}
	s, ok := decode(body)
	if !ok {
		return nil, ErrInvalid
	}
	if !now.Before(time.Unix(s.Expires, 0)) {
		return nil, ErrExpired
	}
	s.Kind, s.Audience, s.Handle = kind, audience, handle
	return s, nil
}

// PeekExpires returns the expiry a token claims, WITHOUT checking its MAC
// (a token of another tenant cannot be verified here). It serves only to
// choose which pending states to drop first, never to trust one.
func PeekExpires(token string) (int64, bool) {
	body, _, ok := strings.Cut(token, ".")
	if !ok || len(token) > MaxToken {
		return 0, false
	}
	s, ok := decode(body)
	if !ok {
		return 0, false
	}
	return s.Expires, true
}

// decode parses a token body: version, expiry, then three
// length-prefixed strings, and nothing after them.
func decode(body string) (*State, bool) {
	p, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(p) == 0 || p[0] != version {
		return nil, false
	}
	p = p[1:]
	exp, n := binary.Uvarint(p)
	if n <= 0 || exp > 1<<62 {
		return nil, false
	}
	p = p[n:]
	var fields [3]string
	for i := range fields {
		l, n := binary.Uvarint(p)
		if n <= 0 || l > MaxField || l > uint64(len(p)-n) {
			return nil, false
		}
		fields[i] = string(p[n : n+int(l)])
		p = p[n+int(l):]
	}
	if len(p) != 0 {
		return nil, false
	}
	return &State{RequestID: fields[0], ReturnTo: fields[1], Binding: fields[2], Expires: int64(exp)}, true
}

// mac authenticates body together with what the token is bound to. Each
// bound value is length-prefixed, so no two inputs collide.
func mac(key []byte, kind, audience, handle, body string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("saml2sp-state-v2\x00"))
	for _, v := range []string{kind, audience, handle, body} {
		h.Write(binary.AppendUvarint(nil, uint64(len(v))))
		h.Write([]byte(v))
	}
	return h.Sum(nil)[:tagLen]
}
