package bench

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/crewjam/saml"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/saml2sp/saml2sp"
)

// result is what a contender extracted from an accepted Response.
type result struct {
	nameID string
	count  int // attributes
	attr   func(name string) []string
}

// contender is one SAML SP library. setup builds it for the fixtures (once
// per benchmark, outside the timed loop) and returns
//   - check, what the benchmark times: it verifies one SAMLResponse form
//     value and returns nil only if the library accepts it and every check an
//     app must make has passed;
//   - extract, the same call followed by reading the NameID and attributes,
//     for TestContendersAccept.
type contender struct {
	name  string
	setup func(tb testing.TB) (check func(form string) error, extract func(form string) (result, error))
}

var contenders = []contender{
	{"saml2sp", setupSaml2sp},
	{"crewjam", setupCrewjam},
	{"gosaml2", setupGosaml2},
}

var requestIDs = []string{requestID}

// acceptAllReplayCache is a saml2sp.ReplayCache that accepts every ID. The
// benchmark parses the same Response b.N times, and a real cache (such as
// the default saml2sp.MemoryReplayCache) would rightly refuse it from the
// second iteration on. Its cost (one mutex, one map insert, one heap push
// per login) is therefore not in the saml2sp numbers; the peers have no
// replay cache at all.
type acceptAllReplayCache struct{}

func (acceptAllReplayCache) CheckAndStore(context.Context, string, time.Time) error { return nil }

// setupSaml2sp: sp.ParseResponse with a fixed Clock, the no-op replay cache
// and a discarding logger; every check is on (it has no switch to skip one).
func setupSaml2sp(tb testing.TB) (func(string) error, func(string) (result, error)) {
	tb.Helper()
	sp, err := saml2sp.New(saml2sp.Config{
		EntityID: spEntityID,
		ACSURL:   acsURL,
		IdP: &saml2sp.IdentityProvider{
			EntityID:     idpEntityID,
			Certificates: []*x509.Certificate{idpCert},
		},
		Clock:       func() time.Time { return now },
		ReplayCache: acceptAllReplayCache{},
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	check := func(form string) error {
		_, err := sp.ParseResponse(ctx, form, requestIDs)
		return err
	}
	extract := func(form string) (result, error) {
		a, err := sp.ParseResponse(ctx, form, requestIDs)
		if err != nil {
			return result{}, err
		}
		return result{nameID: a.NameID, count: len(a.Attributes), attr: a.Attribute}, nil
	}
	return check, extract
}

// setupCrewjam: ServiceProvider.ParseXMLResponse after base64 decoding (what
// its own HTTP entry point, ParseResponse, does for the POST binding), with
// the IdP certificate in IDPMetadata. crewjam/saml v0.5.1 reads the time
// only from package globals: saml.TimeNow for its own checks and saml.Clock
// for goxmldsig's certificate validity check. Setup sets both to the fixed
// time; nothing in this module runs in parallel, so overwriting them is safe.
func setupCrewjam(tb testing.TB) (func(string) error, func(string) (result, error)) {
	tb.Helper()
	saml.TimeNow = func() time.Time { return now }
	saml.Clock = dsig.NewFakeClockAt(now)
	acs := mustURL(tb, acsURL)
	sp := &saml.ServiceProvider{
		EntityID:    spEntityID,
		MetadataURL: *mustURL(tb, spEntityID),
		AcsURL:      *acs,
		IDPMetadata: &saml.EntityDescriptor{
			EntityID: idpEntityID,
			IDPSSODescriptors: []saml.IDPSSODescriptor{{
				SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
					ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
					KeyDescriptors: []saml.KeyDescriptor{{
						Use: "signing",
						KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
							X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(idpCert.Raw)}},
						}},
					}},
				}},
			}},
		},
	}
	parse := func(form string) (*saml.Assertion, error) {
		raw, err := base64.StdEncoding.DecodeString(form)
		if err != nil {
			return nil, err
		}
		return sp.ParseXMLResponse(raw, requestIDs, *acs)
	}
	check := func(form string) error {
		_, err := parse(form)
		return err
	}
	extract := func(form string) (result, error) {
		a, err := parse(form)
		if err != nil {
			// Its Error() is always "Authentication failed"; the cause is in PrivateErr.
			var ire *saml.InvalidResponseError
			if errors.As(err, &ire) {
				err = fmt.Errorf("%w: %v", err, ire.PrivateErr)
			}
			return result{}, err
		}
		if a.Subject == nil || a.Subject.NameID == nil {
			return result{}, errors.New("crewjam: accepted assertion has no NameID")
		}
		attr := func(name string) []string {
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
		count := 0
		for _, st := range a.AttributeStatements {
			count += len(st.Attributes)
		}
		return result{nameID: a.Subject.NameID.Value, count: count, attr: attr}, nil
	}
	return check, extract
}

var (
	errGosaml2Warning      = errors.New("gosaml2: assertion outside its Conditions time window or not for our audience (WarningInfo)")
	errGosaml2InResponseTo = errors.New("gosaml2: SubjectConfirmationData InResponseTo is not our request")
)

// setupGosaml2: SAMLServiceProvider.RetrieveAssertionInfo with signature
// validation on, the IdP certificate in IDPCertificateStore, IdP issuer, ACS
// URL, audience and a fixed dsig clock. gosaml2 only reports a failed
// Conditions time check or audience check as WarningInfo booleans, and does
// not check InResponseTo at all; check does what an app has to, and refuses
// those (three comparisons, no allocation).
func setupGosaml2(tb testing.TB) (func(string) error, func(string) (result, error)) {
	tb.Helper()
	return gosaml2For(newGosaml2(spEntityID))
}

func newGosaml2(audience string) *saml2.SAMLServiceProvider {
	return &saml2.SAMLServiceProvider{
		IdentityProviderIssuer:      idpEntityID,
		AssertionConsumerServiceURL: acsURL,
		ServiceProviderIssuer:       spEntityID,
		AudienceURI:                 audience,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idpCert}},
		SkipSignatureValidation:     false,
		Clock:                       dsig.NewFakeClockAt(now),
	}
}

func gosaml2For(sp *saml2.SAMLServiceProvider) (func(string) error, func(string) (result, error)) {
	parse := func(form string) (*saml2.AssertionInfo, error) {
		info, err := sp.RetrieveAssertionInfo(form)
		if err != nil {
			return nil, err
		}
		if w := info.WarningInfo; w == nil || w.InvalidTime || w.NotInAudience {
			return nil, errGosaml2Warning
		}
		a := info.Assertions
		if len(a) == 0 || a[0].Subject == nil || a[0].Subject.SubjectConfirmation == nil ||
			a[0].Subject.SubjectConfirmation.SubjectConfirmationData == nil ||
			a[0].Subject.SubjectConfirmation.SubjectConfirmationData.InResponseTo != requestID {
			return nil, errGosaml2InResponseTo
		}
		return info, nil
	}
	check := func(form string) error {
		_, err := parse(form)
		return err
	}
	extract := func(form string) (result, error) {
		info, err := parse(form)
		if err != nil {
			return result{}, err
		}
		return result{nameID: info.NameID, count: len(info.Values), attr: info.Values.GetAll}, nil
	}
	return check, extract
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
