// Package bench compares the cost of verifying a SAML login with saml2sp
// against github.com/crewjam/saml v0.5.1 and
// github.com/russellhaering/gosaml2 v0.12.0 (crewjam/saml v0.6.3 is in the
// nested module crewjam063, since one module cannot hold two versions of
// another), and against floors (base64, one etree parse, goxmldsig
// Validate, one RSA verification) that show how far each is from the
// limit. For doubly signed Responses, saml2sp-2sig is saml2sp verifying
// both signatures (bothsig_test.go), for a like-for-like ratio.
//
// BenchmarkWorstCase (worst_*_test.go) times, for every input an anonymous
// client can send (a Response to the ACS, a logout message to the SLS by
// HTTP-POST or HTTP-Redirect, a login start) and for ParseMetadata, the
// most expensive input the limits allow, next to the genuine input of the
// same kind and size, through the real HTTP handlers. The generators read
// the limits from the code (worst_limits_test.go names the ones that do
// not exist yet). TestWorstCaseInputs shows each hostile input is refused
// with its error class and each genuine one accepted.
//
// BenchmarkFederationAggregate (federation_test.go) reads a research
// federation's aggregate of 10,000 IdPs, each with a certificate of its
// own (45 MB), with ParseMetadataEntities and with crewjam's xml.Unmarshal
// into its EntitiesDescriptor, reporting the CPU time (cpu-ns/idp, from
// getrusage, garbage collection included) and the heap kept (B/idp) per
// IdP; BenchmarkFederationAggregateSigned reads a signed one of 5,000 IdPs
// (23 MB) with MetadataSigners and reports its peak heap.
//
// It is its own module so that the peers never become dependencies of the
// library. Everything lives in the _test.go files; run it with
// ../scripts/bench, or for one case:
//
//	go test -run '^$' -bench '^BenchmarkParse$/^okta-assertion$/^saml2sp$' -benchmem
//	go test -run '^$' -bench '^BenchmarkWorstCase$/^acs$/^elements-fresh$' -benchtime 1x -benchmem
//
// (anchor the first level: an unanchored 'BenchmarkParse/...' also matches
// BenchmarkParseMetadataEntities, which has no sub-benchmarks and so runs.)
//
// The fixtures in testdata/ are signed by xmlsec1 (testdata/generate.sh).
// Before any number means something, TestContendersAccept shows that every
// contender accepts every fixture and extracts the right NameID and
// attributes: a benchmark of a rejection would be worthless.
package bench
