package saml2sp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSafeReturnTo(t *testing.T) { // RS
	tests := []struct {
		name, in, want string
	}{
		{"root", "/", "/"},
		{"path with query", "/private/page?x=1&y=%2F", "/private/page?x=1&y=%2F"},
		{"fragment", "/a#b", "/a#b"},
		{"absolute https URL", "https://evil.example/", ""},
		{"scheme-relative", "//evil.example/", ""},
		{"triple slash", "///evil.example/", ""},
		{"backslash after slash", "/\\evil.example/", ""},
		{"backslash later", "/a\\b", ""},
		{"javascript scheme", "javascript:alert(1)", ""},
		{"data scheme", "data:text/html,x", ""},
		{"relative path", "private", ""},
		{"CR LF injection", "/a\r\nSet-Cookie: x=1", ""},
		{"tab", "/\t/evil.example", ""},
		{"NUL", "/a\x00", ""},
		{"encoded slash first", "/%2F/evil.example", ""},
		{"encoded backslash first", "/%5cevil.example", ""},
		{"empty", "", ""},
		{"exactly the limit", "/" + strings.Repeat("a", 79), "/" + strings.Repeat("a", 79)},
		{"over the limit", "/" + strings.Repeat("a", 80), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, safeReturnTo(tc.in, maxRelayState))
		})
	}
}
