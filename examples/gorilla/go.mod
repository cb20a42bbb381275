// The gorilla/sessions example is its own module so that gorilla/sessions
// never becomes a dependency of the library.
module github.com/saml2sp/saml2sp/examples/gorilla

go 1.25

replace github.com/saml2sp/saml2sp => ../..

require (
	github.com/beevik/etree v1.8.1
	github.com/gorilla/sessions v1.4.0
	github.com/saml2sp/saml2sp v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.11.1
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/russellhaering/goxmldsig v1.6.1 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
