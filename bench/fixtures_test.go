package bench

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The values every fixture shares (see testdata/generate.sh).
const (
	spEntityID  = "https://sp.example.com/saml/metadata"
	acsURL      = "https://sp.example.com/saml/acs"
	idpEntityID = "https://idp.example.org/metadata"
	requestID   = "_req-bench-1"
)

// now is the fixed time every contender checks the fixtures at: one minute
// after their IssueInstant (2026-01-15T10:00:00Z), inside every validity
// window and within the 90 s crewjam/saml allows after IssueInstant.
var now = time.Date(2026, 1, 15, 10, 1, 0, 0, time.UTC)

// fixture is one signed Response and what a contender must extract from it.
type fixture struct {
	name string
	file string
	// signed is which element carries the signature the floors validate:
	// "response" for the response-signed variant, else "assertion" (for
	// okta-both the Assertion, as the sum-floor defines it; the
	// extra floor-sum-2sig validates both).
	signed     string
	bothSigned bool
	nameID     string
	// attrs are attribute values every contender must return, by Name.
	attrs map[string][]string
	// groups is how many values the "groups" attribute has; attributes
	// how many attributes there are.
	groups, attributes int

	raw  []byte // the XML as xmlsec1 wrote it
	form string // the SAMLResponse form value: standard base64, no line breaks
}

var oktaAttrs = map[string][]string{
	"email":          {"jane.doe@example.com"},
	"firstName":      {"Jane"},
	"lastName":       {"Doe"},
	"department":     {"Platform Engineering"},
	"employeeNumber": {"100423"},
}

var (
	fixturesOnce sync.Once
	fixturesErr  error
	allFixtures  = []*fixture{
		{name: "okta-assertion", file: "signed-okta-assertion.xml", signed: "assertion", nameID: "jane.doe@example.com", attrs: oktaAttrs, groups: 10, attributes: 9},
		{name: "okta-response", file: "signed-okta-response.xml", signed: "response", nameID: "jane.doe@example.com", attrs: oktaAttrs, groups: 10, attributes: 9},
		{name: "okta-both", file: "signed-okta-both.xml", signed: "assertion", bothSigned: true, nameID: "jane.doe@example.com", attrs: oktaAttrs, groups: 10, attributes: 9},
		{name: "large", file: "signed-large.xml", signed: "assertion", nameID: "frank.miller@example.com", groups: 150, attributes: 101, attrs: map[string][]string{
			"email":               {"frank.miller@example.com"},
			"firstName":           {"Frank"},
			"custom.attribute050": {"value 050 of frank.miller, department platform"},
			"custom.attribute100": {"value 100 of frank.miller, department platform"},
		}},
	}
	idpCert *x509.Certificate
)

// fixtures returns every fixture, read once.
func fixtures(tb testing.TB) []*fixture {
	tb.Helper()
	fixturesOnce.Do(func() { fixturesErr = loadFixtures() })
	if fixturesErr != nil {
		tb.Fatal(fixturesErr)
	}
	return allFixtures
}

func loadFixtures() error {
	pemBytes, err := os.ReadFile(filepath.Join("testdata", "idp-cert.pem"))
	if err != nil {
		return err
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("testdata/idp-cert.pem: no PEM certificate")
	}
	if idpCert, err = x509.ParseCertificate(block.Bytes); err != nil {
		return fmt.Errorf("testdata/idp-cert.pem: %w", err)
	}
	for _, fx := range allFixtures {
		if fx.raw, err = os.ReadFile(filepath.Join("testdata", fx.file)); err != nil {
			return fmt.Errorf("%w (run testdata/generate.sh)", err)
		}
		fx.form = base64.StdEncoding.EncodeToString(fx.raw)
	}
	return nil
}
