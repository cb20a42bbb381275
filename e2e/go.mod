module github.com/saml2sp/saml2sp/e2e

go 1.25

// chromedp is pinned on purpose. v0.13.6 is the version checked against
// Debian bookworm's Chromium 156 (../shared notes: full SSP login, 1-2 s);
// v0.20 and later changed the API (generic Run/Do), so moving past it is a
// code change, not a routine bump. Its cdproto predates Chromium 156 and
// logs unknown enum values ("IPAddressSpace value: Loopback"): harmless,
// filtered in browser_test.go.
require (
	// cdproto at the version chromedp v0.13.6 requires; the tests read
	// Chromium's cookie jar with its network domain.
	github.com/chromedp/cdproto v0.0.0-20250403032234-65de8f5d025b
	github.com/chromedp/chromedp v0.13.6
	github.com/saml2sp/saml2sp v0.0.0
)

require (
	github.com/beevik/etree v1.8.1 // indirect
	github.com/chromedp/sysutil v1.1.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20250211171154-1ae217ad3535 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gobwas/pool v0.2.1 // indirect
	github.com/gobwas/ws v1.4.0 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/russellhaering/goxmldsig v1.6.1 // indirect
	golang.org/x/sys v0.29.0 // indirect
)

replace github.com/saml2sp/saml2sp => ../
