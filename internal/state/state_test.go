package state

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := State{Kind: "login", Audience: "sp", Handle: "h1", RequestID: "_r", ReturnTo: "/x", Expires: now.Add(time.Minute).Unix()}
	tok := Seal(key, s)

	got, err := Open(key, tok, now, "login", "sp", "h1")
	require.NoError(t, err)
	assert.Equal(t, s, *got)

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
		{"tampered body", key, "x" + tok[1:], now, "login", "sp", "h1"},
		{"no signature", key, strings.Split(tok, ".")[0], now, "login", "sp", "h1"},
		{"empty", key, "", now, "login", "sp", "h1"},
		{"huge", key, strings.Repeat("a", 5000) + ".b", now, "login", "sp", "h1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.key, tc.token, tc.now, tc.kind, tc.audience, tc.handle)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}
