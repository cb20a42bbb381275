// The benchmarks are their own module so that the peers they compare
// against (crewjam/saml, gosaml2) never become dependencies of the library.
module github.com/saml2sp/saml2sp/bench

go 1.25.0

replace github.com/saml2sp/saml2sp => ../

require (
	github.com/beevik/etree v1.8.1
	github.com/crewjam/saml v0.5.1
	github.com/russellhaering/gosaml2 v0.12.0
	github.com/russellhaering/goxmldsig v1.6.1
	github.com/saml2sp/saml2sp v0.0.0
)

require (
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/mattermost/xml-roundtrip-validator v0.1.0 // indirect
	golang.org/x/crypto v0.33.0 // indirect
)
