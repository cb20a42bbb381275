package saml2sp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/saml2sp/saml2sp"
)

// BenchmarkLoginStart is one anonymous GET of the login endpoint: the
// AuthnRequest, its encoding and the sealed state cookie. Anyone can ask
// for it, so it must cost little.
func BenchmarkLoginStart(b *testing.B) {
	for _, tc := range []struct {
		name string
		mod  func(*saml2sp.Config)
	}{
		{"unsigned", func(*saml2sp.Config) {}},
		{"signed", func(c *saml2sp.Config) {
			c.Key, c.Certificate = encKey(0)
			c.AuthnRequest.Sign = true
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newTestEnv(b, tc.mod, func(c *saml2sp.Config) { c.LoginURL = "https://sp.example.com/saml/login" })
			h := e.sp.LoginHandler(saml2sp.Hooks{})
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://sp.example.com/saml/login?return_to=/x", nil))
				if w.Code != http.StatusFound {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
