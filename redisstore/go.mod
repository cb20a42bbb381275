module github.com/saml2sp/saml2sp/redisstore

go 1.26.0

require (
	github.com/redis/go-redis/v9 v9.23.0-beta.1
	github.com/saml2sp/saml2sp v0.0.0
	github.com/stretchr/testify v1.11.1
)

require (
	github.com/beevik/etree v1.8.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/russellhaering/goxmldsig v1.6.1 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace github.com/saml2sp/saml2sp => ../
