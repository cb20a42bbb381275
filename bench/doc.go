// Package bench compares the cost of verifying a SAML login with saml2sp
// against github.com/crewjam/saml v0.5.1 and
// github.com/russellhaering/gosaml2 v0.12.0, and against floors (base64,
// one etree parse, goxmldsig Validate, one RSA verification) that show how
// far each is from the limit.
//
// It is its own module so that the peers never become dependencies of the
// library. Everything lives in the _test.go files; run it with
// ../scripts/bench, or for one case:
//
//	go test -run '^$' -bench '^BenchmarkParse$/^okta-assertion$/^saml2sp$' -benchmem
//
// (anchor the first level: an unanchored 'BenchmarkParse/...' also matches
// BenchmarkParseMetadataEntities, which has no sub-benchmarks and so runs.)
//
// The fixtures in testdata/ are signed by xmlsec1 (testdata/generate.sh).
// Before any number means something, TestContendersAccept shows that every
// contender accepts every fixture and extracts the right NameID and
// attributes: a benchmark of a rejection would be worthless.
package bench
