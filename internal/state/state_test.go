package state

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := State{Kind: "login", Audience: "sp", Handle: "h1", RequestID: "_r", ReturnTo: "/x", Binding: "b", Expires: now.Add(time.Minute).Unix()}
	tok := Seal(key, s)

	got, err := Open(key, tok, now, "login", "sp", "h1")
	require.NoError(t, err)
	assert.Equal(t, s, *got)

	body, tag, _ := strings.Cut(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	// head is a valid payload's version and expiry, for hand-made bodies.
	head := binary.AppendUvarint([]byte{version}, uint64(s.Expires))
	require.NoError(t, func() error {
		_, err := Open(key, signed(key, append(slices.Clone(head), 0, 0, 0)), now, "login", "sp", "h1")
		return err
	}(), "a hand-made body opens when well-formed")
	tests := []struct {
		name                   string
		key                    []byte
		token                  string
		now                    time.Time
		kind, audience, handle string
	}{
		{"other key", []byte(strings.Repeat("x", 32)), tok, now, "login", "sp", "h1"},
		{"expired (exclusive)", key, tok, now.Add(time.Minute), "login", "sp", "h1"},
		{"other kind", key, tok, now, "logout", "sp", "h1"},
		{"other audience (tenant)", key, tok, now, "login", "other-sp", "h1"},
		{"other handle", key, tok, now, "login", "sp", "h2"},
		{"bound values shifted between fields", key, tok, now, "login", "sph", "1"},
		{"tampered body", key, "x" + tok[1:], now, "login", "sp", "h1"},
		{"body of another token", key, strings.Split(Seal(key, State{Kind: "login", Audience: "sp", Handle: "h1", RequestID: "_other", Expires: s.Expires}), ".")[0] + "." + tag, now, "login", "sp", "h1"},
		{"no signature", key, body, now, "login", "sp", "h1"},
		{"truncated tag", key, tok[:len(tok)-2], now, "login", "sp", "h1"},
		{"empty", key, "", now, "login", "sp", "h1"},
		{"huge", key, strings.Repeat("a", MaxToken+1) + ".b", now, "login", "sp", "h1"},
		{"other version", key, signed(key, append([]byte{1}, raw[1:]...)), now, "login", "sp", "h1"},
		{"trailing bytes", key, signed(key, append(raw, 0)), now, "login", "sp", "h1"},
		{"field longer than the payload", key, signed(key, append(head, 5, 'x')), now, "login", "sp", "h1"},
		{"field over MaxField", key, signed(key, append(append(append(head, 0x81, 0x08), make([]byte, MaxField+1)...), 0, 0)), now, "login", "sp", "h1"},
		{"missing fields", key, signed(key, append(head, 0, 0)), now, "login", "sp", "h1"},
		{"expiry overflows", key, signed(key, append(binary.AppendUvarint([]byte{version}, 1<<63), 0, 0, 0)), now, "login", "sp", "h1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.key, tc.token, tc.now, tc.kind, tc.audience, tc.handle)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

// signed seals a raw payload for kind login, audience sp, handle h1.
func signed(key, payload []byte) string {
	body := base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(mac(key, "login", "sp", "h1", body))
}

func TestTokenSize(t *testing.T) {
	// A typical login state: a 41-byte request ID, a short return path and
	// a base64 SHA-256 binding. The bound values cost nothing.
	key := []byte(strings.Repeat("k", 32))
	tok := Seal(key, State{
		Kind: "login", Audience: "https://sp.example.com/saml/acs/some-long-tenant-name/metadata/", Handle: strings.Repeat("h", 22),
		RequestID: "_" + strings.Repeat("0", 40), ReturnTo: "/private/page?x=1", Binding: strings.Repeat("b", 43),
		Expires: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Unix(),
	})
	assert.LessOrEqual(t, len(tok), 170, "token %q", tok)
	assert.NotContains(t, tok, "example.com")
}

func TestPeekExpires(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	tok := Seal(key, State{Kind: "login", Audience: "sp", Handle: "h", RequestID: "_r", Expires: 1772366460})
	tests := []struct {
		name  string
		token string
		want  int64
		ok    bool
	}{
		{"any key", tok, 1772366460, true},
		{"MAC not checked", strings.Split(tok, ".")[0] + ".AAAA", 1772366460, true},
		{"no dot", strings.Split(tok, ".")[0], 0, false},
		{"not base64", "!!.x", 0, false},
		{"garbage payload", base64.RawURLEncoding.EncodeToString([]byte{version, 0x80}) + ".x", 0, false},
		{"huge", strings.Repeat("a", MaxToken) + ".b", 0, false},
		{"expiry overflows", base64.RawURLEncoding.EncodeToString(append(binary.AppendUvarint([]byte{version}, 1<<63), 0, 0, 0)) + ".x", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PeekExpires(tc.token)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func FuzzOpen(f *testing.F) {
	key := []byte(strings.Repeat("k", 32))
	f.Add(Seal(key, State{Kind: "login", Audience: "sp", Handle: "h1", RequestID: "_r", ReturnTo: "/x", Expires: 1 << 40}))
	f.Add("AgE.")
	f.Fuzz(func(t *testing.T, token string) {
		now := time.Unix(1, 0)
		if s, err := Open(key, token, now, "login", "sp", "h1"); err == nil {
			// Whatever opens re-seals to a token that opens the same.
			again, err := Open(key, Seal(key, *s), now, "login", "sp", "h1")
			require.NoError(t, err)
			assert.Equal(t, s, again)
		}
		_, _ = PeekExpires(token)
	})
}

// TestOpenSaysWhy: an authentic but expired token and one that does not
// authenticate give different errors (both ErrInvalid), so the SP can say
// which; a token for another audience does not authenticate.
func TestOpenSaysWhy(t *testing.T) {
	key, other := []byte(strings.Repeat("k", 32)), []byte(strings.Repeat("o", 32))
	now := time.Unix(1000, 0)
	tok := Seal(key, State{Kind: "login", Audience: "sp", Handle: "h1", RequestID: "_r", Expires: 2000})
	for _, tc := range []struct {
		name string
		err  func() error
		want error
	}{
		{"expired", func() error { _, err := Open(key, tok, time.Unix(2000, 0), "login", "sp", "h1"); return err }, ErrExpired},
		{"another key", func() error { _, err := Open(other, tok, now, "login", "sp", "h1"); return err }, ErrUnauthenticated},
		{"another audience", func() error { _, err := Open(key, tok, now, "login", "sp2", "h1"); return err }, ErrUnauthenticated},
		{"another kind", func() error { _, err := Open(key, tok, now, "logout", "sp", "h1"); return err }, ErrUnauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}
