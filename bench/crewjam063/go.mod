// crewjam/saml v0.6.3 next to the v0.5.1 of the parent bench module: one
// module cannot hold two versions of another, so this one is its own.
module github.com/saml2sp/saml2sp/bench/crewjam063

go 1.25.0

require (
	github.com/crewjam/saml v0.6.3
	github.com/russellhaering/goxmldsig v1.6.1
)

require (
	github.com/beevik/etree v1.8.1 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	golang.org/x/crypto v0.55.0 // indirect
)
