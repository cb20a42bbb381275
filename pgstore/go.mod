// pgstore is its own module so that the core library gains no dependency
// on a database driver.
module github.com/saml2sp/saml2sp/pgstore

go 1.25.0

replace github.com/saml2sp/saml2sp => ../

require (
	github.com/jackc/pgx/v5 v5.13.0
	github.com/saml2sp/saml2sp v0.0.0
	github.com/stretchr/testify v1.11.1
)

require (
	github.com/beevik/etree v1.8.1 // indirect
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/russellhaering/goxmldsig v1.6.1 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
