// Package crewjam063 times github.com/crewjam/saml v0.6.3, the latest
// release, on the fixtures of the parent bench module (../testdata), with
// the same acceptance test, so that ../../scripts/bench can put it in the
// speed table next to v0.5.1. The parent module pins v0.5.1; one module
// cannot hold two versions of another, hence this nested module.
//
// Its benchmark names match the parent's: BenchmarkParse/<fixture>/crewjam063.
package crewjam063

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// The values every fixture shares (see ../testdata/generate.sh); the same
// as the parent module's fixtures_test.go.
const (
	spEntityID  = "https://sp.example.com/saml/metadata"
	acsURL      = "https://sp.example.com/saml/acs"
	idpEntityID = "https://idp.example.org/metadata"
	requestID   = "_req-bench-1"
)

// now is one minute after the fixtures' IssueInstant, as in the parent.
var now = time.Date(2026, 1, 15, 10, 1, 0, 0, time.UTC)

type fixture struct {
	name, file         string
	nameID             string
	attrs              map[string][]string
	groups, attributes int
	raw                []byte
	form               string
}

var oktaAttrs = map[string][]string{
	"email":          {"jane.doe@example.com"},
	"firstName":      {"Jane"},
	"lastName":       {"Doe"},
	"department":     {"Platform Engineering"},
	"employeeNumber": {"100423"},
}

// fixtures returns the parent module's fixtures, read from ../testdata,
// and the IdP certificate.
func fixtures(tb testing.TB) ([]*fixture, *x509.Certificate) {
	tb.Helper()
	dir := filepath.Join("..", "testdata")
	pemBytes, err := os.ReadFile(filepath.Join(dir, "idp-cert.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		tb.Fatal("idp-cert.pem: no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	fxs := []*fixture{
		{name: "okta-assertion", file: "signed-okta-assertion.xml", nameID: "jane.doe@example.com", attrs: oktaAttrs, groups: 10, attributes: 9},
		{name: "okta-response", file: "signed-okta-response.xml", nameID: "jane.doe@example.com", attrs: oktaAttrs, groups: 10, attributes: 9},
		{name: "okta-both", file: "signed-okta-both.xml", nameID: "jane.doe@example.com", attrs: oktaAttrs, groups: 10, attributes: 9},
		{name: "large", file: "signed-large.xml", nameID: "frank.miller@example.com", groups: 150, attributes: 101, attrs: map[string][]string{
			"email":               {"frank.miller@example.com"},
			"firstName":           {"Frank"},
			"custom.attribute050": {"value 050 of frank.miller, department platform"},
			"custom.attribute100": {"value 100 of frank.miller, department platform"},
		}},
	}
	for _, fx := range fxs {
		if fx.raw, err = os.ReadFile(filepath.Join(dir, fx.file)); err != nil {
			tb.Fatal(err)
		}
		fx.form = base64.StdEncoding.EncodeToString(fx.raw)
	}
	return fxs, cert
}

// newSP builds crewjam/saml v0.6.3's ServiceProvider as the parent builds
// v0.5.1's, except that v0.6 has a Clock field (the package globals
// TimeNow and Clock are deprecated), which is set to the fixed time.
func newSP(tb testing.TB, cert *x509.Certificate) (*saml.ServiceProvider, url.URL) {
	tb.Helper()
	acs, err := url.Parse(acsURL)
	if err != nil {
		tb.Fatal(err)
	}
	md, err := url.Parse(spEntityID)
	if err != nil {
		tb.Fatal(err)
	}
	sp := &saml.ServiceProvider{
		EntityID:    spEntityID,
		MetadataURL: *md,
		AcsURL:      *acs,
		Clock:       dsig.NewFakeClockAt(now),
		IDPMetadata: &saml.EntityDescriptor{
			EntityID: idpEntityID,
			IDPSSODescriptors: []saml.IDPSSODescriptor{{
				SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
					ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
					KeyDescriptors: []saml.KeyDescriptor{{
						Use: "signing",
						KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
							X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(cert.Raw)}},
						}},
					}},
				}},
			}},
		},
	}
	return sp, *acs
}

// parse is what the benchmark times: base64 decoding (what its HTTP entry
// point does for the POST binding) and ParseXMLResponse.
func parse(sp *saml.ServiceProvider, acs url.URL, form string) (*saml.Assertion, error) {
	raw, err := base64.StdEncoding.DecodeString(form)
	if err != nil {
		return nil, err
	}
	a, err := sp.ParseXMLResponse(raw, []string{requestID}, acs)
	if err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) {
			err = fmt.Errorf("%w: %v", err, ire.PrivateErr)
		}
	}
	return a, err
}

// TestAccept is the parent's TestContendersAccept for v0.6.3: every fixture
// is accepted with the right NameID, attributes and groups.
func TestAccept(t *testing.T) {
	fxs, cert := fixtures(t)
	sp, acs := newSP(t, cert)
	for _, fx := range fxs {
		t.Run(fx.name, func(t *testing.T) {
			a, err := parse(sp, acs, fx.form)
			if err != nil {
				t.Fatalf("refuses %s: %v", fx.file, err)
			}
			if a.Subject == nil || a.Subject.NameID == nil || a.Subject.NameID.Value != fx.nameID {
				t.Fatalf("NameID = %+v, want %q", a.Subject, fx.nameID)
			}
			values := func(name string) []string {
				var vals []string
				for _, st := range a.AttributeStatements {
					for _, at := range st.Attributes {
						if at.Name == name {
							for _, v := range at.Values {
								vals = append(vals, v.Value)
							}
						}
					}
				}
				return vals
			}
			for name, want := range fx.attrs {
				if got := values(name); !slices.Equal(got, want) {
					t.Errorf("attribute %q = %q, want %q", name, got, want)
				}
			}
			count := 0
			for _, st := range a.AttributeStatements {
				count += len(st.Attributes)
			}
			if count != fx.attributes {
				t.Errorf("%d attributes, want %d", count, fx.attributes)
			}
			if got := values("groups"); len(got) != fx.groups {
				t.Errorf("groups has %d values, want %d", len(got), fx.groups)
			}
		})
	}
}

var nameIDText = regexp.MustCompile(`(<saml2:NameID[^>]*>)([^<])`)

// TestRefuseTampered: a changed signed NameID is refused, so the benchmark
// times a signature check.
func TestRefuseTampered(t *testing.T) {
	fxs, cert := fixtures(t)
	sp, acs := newSP(t, cert)
	for _, fx := range fxs {
		t.Run(fx.name, func(t *testing.T) {
			tampered := nameIDText.ReplaceAll(fx.raw, []byte("${1}~"))
			if bytes.Equal(tampered, fx.raw) {
				t.Fatal("no NameID to tamper with")
			}
			if _, err := parse(sp, acs, base64.StdEncoding.EncodeToString(tampered)); err == nil {
				t.Fatal("accepts a changed NameID")
			}
		})
	}
}

// BenchmarkParse times BenchmarkParse/<fixture>/crewjam063, named like the
// parent module's contenders so that scripts/bench puts it in one table.
func BenchmarkParse(b *testing.B) {
	fxs, cert := fixtures(b)
	for _, fx := range fxs {
		b.Run(fx.name, func(b *testing.B) {
			b.Run("crewjam063", func(b *testing.B) {
				sp, acs := newSP(b, cert)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := parse(sp, acs, fx.form); err != nil {
						b.Fatalf("refuses %s: %v", fx.file, err)
					}
				}
			})
		})
	}
}
