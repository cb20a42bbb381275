package saml2sp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mdTestCert returns a fresh self-signed certificate and its key.
func mdTestCert(t testing.TB, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert, key
}

func mdB64(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }

// mdBaseTemplate is valid IdP metadata; rejection tests break one thing in it.
const mdBaseTemplate = `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/metadata">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="true">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>CERT</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/slo"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`

const mdXMLDecl = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

func mdBaseDoc(cert *x509.Certificate) string {
	return strings.Replace(mdBaseTemplate, "CERT", mdB64(cert), 1)
}

// mdEntityOf strips the XML declaration so the entity can be nested.
func mdEntityOf(doc string) string { return strings.TrimPrefix(doc, mdXMLDecl) }

// mdAggregate wraps entities in an EntitiesDescriptor.
func mdAggregate(attrs string, entities ...string) string {
	return mdXMLDecl + `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ` + attrs + ">\n" +
		strings.Join(entities, "\n") + "</md:EntitiesDescriptor>\n"
}

func mdWithEntityID(doc, id string) string {
	return strings.Replace(doc, `entityID="https://idp.example.com/metadata"`, `entityID="`+id+`"`, 1)
}

func mdReadFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "metadata", name))
	require.NoError(t, err)
	return b
}

// mdReplace replaces old with new exactly once and fails if old is absent, so
// that a case cannot silently test the unmodified document.
func mdReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	require.Contains(t, s, old)
	return strings.Replace(s, old, new, 1)
}

func mdCNs(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func mdBindings(eps []Endpoint) []string {
	var out []string
	for _, ep := range eps {
		out = append(out, strings.TrimPrefix(ep.Binding, "urn:oasis:names:tc:SAML:2.0:bindings:"))
	}
	return out
}

const (
	mdNIDEmail      = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	mdNIDUnspec     = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	mdNIDPersistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	mdNIDTransient  = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
)

func TestParseMetadataFixtures(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		entityID   string
		certCNs    []string
		sso        []string
		slo        []string
		ssoURL     string // Redirect or POST location
		nameIDs    []string
		wantSigned bool
	}{
		{
			name:     "okta",
			file:     "okta.xml",
			entityID: "http://www.okta.com/exk1fcia6d6EMsf331d8",
			certCNs:  []string{"dev-12345678"},
			sso:      []string{"HTTP-POST", "HTTP-Redirect"},
			ssoURL:   "https://dev-12345678.okta.com/app/dev-12345678_saml2sp_1/exk1fcia6d6EMsf331d8/sso/saml",
			nameIDs:  []string{mdNIDUnspec, mdNIDEmail},
		},
		{
			name:     "entra id: signed, WS-Fed RoleDescriptors first, two signing certificates",
			file:     "entra.xml",
			entityID: "https://sts.windows.net/8f3c2a71-5b2e-4d7a-9c1e-2f6b0d4e8a91/",
			certCNs:  []string{"Microsoft Azure Federated SSO Certificate", "Microsoft Azure Federated SSO Certificate"},
			sso:      []string{"HTTP-Redirect", "HTTP-POST"},
			slo:      []string{"HTTP-Redirect"},
			ssoURL:   "https://login.microsoftonline.com/8f3c2a71-5b2e-4d7a-9c1e-2f6b0d4e8a91/saml2",
		},
		{
			name:     "adfs: signed, SPSSODescriptor too, encryption key ignored",
			file:     "adfs.xml",
			entityID: "http://adfs.example.com/adfs/services/trust",
			certCNs:  []string{"ADFS Signing - adfs.example.com"},
			sso:      []string{"HTTP-Redirect", "HTTP-POST"},
			slo:      []string{"HTTP-Redirect", "HTTP-POST"},
			ssoURL:   "https://adfs.example.com/adfs/ls/",
			nameIDs:  []string{mdNIDEmail, mdNIDPersistent, mdNIDTransient},
		},
		{
			name:       "keycloak: EntitiesDescriptor around one IdP",
			file:       "keycloak.xml",
			entityID:   "https://keycloak.example.com/realms/acme",
			certCNs:    []string{"acme"},
			sso:        []string{"HTTP-POST", "HTTP-Redirect", "SOAP", "HTTP-Artifact"},
			slo:        []string{"HTTP-POST", "HTTP-Redirect", "HTTP-Artifact", "SOAP"},
			ssoURL:     "https://keycloak.example.com/realms/acme/protocol/saml",
			nameIDs:    []string{mdNIDPersistent, mdNIDTransient, mdNIDUnspec, mdNIDEmail},
			wantSigned: true,
		},
		{
			name:     "simplesamlphp: same certificate for signing and encryption",
			file:     "simplesamlphp.xml",
			entityID: "https://idp.example.org/simplesaml/module.php/saml/idp/metadata",
			certCNs:  []string{"idp.example.org"},
			sso:      []string{"HTTP-Redirect"},
			slo:      []string{"HTTP-Redirect"},
			ssoURL:   "https://idp.example.org/simplesaml/module.php/saml/idp/singleSignOnService",
			nameIDs:  []string{mdNIDTransient},
		},
		{
			name:     "shibboleth: SAML1 and SAML2 endpoints, back-channel and front-channel signing keys",
			file:     "shibboleth.xml",
			entityID: "https://idp.example.edu/idp/shibboleth",
			certCNs:  []string{"idp.example.edu", "idp.example.edu"},
			sso:      []string{"urn:mace:shibboleth:1.0:profiles:AuthnRequest", "HTTP-POST", "HTTP-POST-SimpleSign", "HTTP-Redirect"},
			slo:      []string{"HTTP-Redirect", "HTTP-POST", "HTTP-POST-SimpleSign", "SOAP"},
			ssoURL:   "https://idp.example.edu/idp/profile/SAML2/Redirect/SSO",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp, err := ParseMetadata(mdReadFixture(t, tt.file))
			require.NoError(t, err)
			assert.Equal(t, tt.entityID, idp.EntityID)
			assert.Equal(t, tt.certCNs, mdCNs(idp.Certificates))
			assert.Equal(t, tt.sso, mdBindings(idp.SingleSignOnServices))
			assert.Equal(t, tt.slo, mdBindings(idp.SingleLogoutServices))
			ep := idp.SingleSignOnService(BindingHTTPRedirect)
			if ep == nil {
				ep = idp.SingleSignOnService(BindingHTTPPost)
			}
			require.NotNil(t, ep)
			assert.Equal(t, tt.ssoURL, ep.Location)
			assert.Equal(t, tt.nameIDs, idp.NameIDFormats)
			assert.Equal(t, tt.wantSigned, idp.WantAuthnRequestsSigned)
			assert.True(t, idp.ValidUntil.IsZero())
			assert.Zero(t, idp.CacheDuration)

			// The same document through the other two entry points.
			all, err := ParseMetadataEntities(mdReadFixture(t, tt.file))
			require.NoError(t, err)
			require.Len(t, all, 1)
			assert.Equal(t, idp, all[0])
			one, err := ParseMetadataEntity(mdReadFixture(t, tt.file), tt.entityID)
			require.NoError(t, err)
			assert.Equal(t, idp, one)
		})
	}
}

func TestParseMetadataFixtureDetails(t *testing.T) {
	t.Run("entra rollover certificates are distinct", func(t *testing.T) {
		idp, err := ParseMetadata(mdReadFixture(t, "entra.xml"))
		require.NoError(t, err)
		require.Len(t, idp.Certificates, 2)
		assert.False(t, idp.Certificates[0].Equal(idp.Certificates[1]))
	})
	t.Run("adfs encryption certificate is not trusted", func(t *testing.T) {
		idp, err := ParseMetadata(mdReadFixture(t, "adfs.xml"))
		require.NoError(t, err)
		for _, c := range idp.Certificates {
			assert.NotContains(t, c.Subject.CommonName, "Encryption")
		}
	})
}

func TestParseMetadataAggregate(t *testing.T) {
	data := mdReadFixture(t, "entities-3-idps.xml")
	ids := []string{
		"https://idp.uni-a.example/idp/shibboleth",
		"https://login.uni-b.example/simplesaml/saml2/idp/metadata.php",
		"https://sso.college-c.example/idp",
	}

	t.Run("ParseMetadata refuses to guess", func(t *testing.T) {
		_, err := ParseMetadata(data)
		require.ErrorIs(t, err, ErrMetadata)
		assert.Contains(t, err.Error(), "3 identity providers")
		assert.Contains(t, err.Error(), "ParseMetadataEntity")
		for _, id := range ids {
			assert.Contains(t, err.Error(), id)
		}
		assert.NotContains(t, err.Error(), "sp.example.net", "SP entities are not listed as IdPs")
	})

	t.Run("ParseMetadataEntities returns all three in order with inherited validity", func(t *testing.T) {
		idps, err := ParseMetadataEntities(data)
		require.NoError(t, err)
		require.Len(t, idps, 3)
		for i, id := range ids {
			assert.Equal(t, id, idps[i].EntityID)
			assert.Len(t, idps[i].Certificates, 1)
		}
		// uni-a: entity validUntil is earlier than the aggregate's; cache from the aggregate.
		assert.Equal(t, time.Date(2098, 6, 30, 12, 0, 0, 0, time.UTC), idps[0].ValidUntil.UTC())
		assert.Equal(t, 6*time.Hour, idps[0].CacheDuration)
		// uni-b: the IDPSSODescriptor's validUntil is the earliest; entity cacheDuration is shorter.
		assert.Equal(t, time.Date(2097, 1, 1, 0, 0, 0, 0, time.UTC), idps[1].ValidUntil.UTC())
		assert.Equal(t, time.Hour, idps[1].CacheDuration)
		assert.True(t, idps[1].WantAuthnRequestsSigned)
		require.NotNil(t, idps[1].SingleLogoutService(BindingHTTPRedirect))
		assert.Equal(t, "https://login.uni-b.example/simplesaml/saml2/idp/SingleLogoutServiceResponse.php",
			idps[1].SingleLogoutService(BindingHTTPRedirect).ResponseLocation)
		// college-c: P1D is longer than the aggregate's PT6H, so PT6H applies.
		assert.Equal(t, time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC), idps[2].ValidUntil.UTC())
		assert.Equal(t, 6*time.Hour, idps[2].CacheDuration)
	})

	t.Run("ParseMetadataEntity selects by entityID, also in a nested EntitiesDescriptor", func(t *testing.T) {
		for _, id := range ids {
			idp, err := ParseMetadataEntity(data, id)
			require.NoError(t, err)
			assert.Equal(t, id, idp.EntityID)
		}
	})
}

func TestParseMetadataEntityErrors(t *testing.T) {
	cert, _ := mdTestCert(t, "idp")
	good := mdBaseDoc(cert)
	fixture := string(mdReadFixture(t, "entities-3-idps.xml"))
	tests := []struct {
		name     string
		doc      string
		entityID string
		want     []string
	}{
		{name: "unknown entity", doc: fixture, entityID: "https://nope.example/",
			want: []string{`no entity "https://nope.example/"`, "3 identity providers", "https://sso.college-c.example/idp"}},
		{name: "entity is a service provider", doc: fixture, entityID: "https://sp.example.net/shibboleth",
			want: []string{"no IDPSSODescriptor", "service provider metadata"}},
		{name: "empty entityID argument", doc: fixture, entityID: "", want: []string{"no entityID given"}},
		{name: "entityID appears twice", entityID: "https://idp.example.com/metadata",
			doc:  mdAggregate("", mdEntityOf(good), mdEntityOf(good)),
			want: []string{"appears 2 times"}},
		{name: "selected entity is broken", entityID: "https://idp.example.com/metadata",
			doc: mdAggregate("", mdEntityOf(strings.Replace(good, "https://idp.example.com/sso", "javascript:alert(1)", 1)),
				mdEntityOf(mdWithEntityID(good, "https://other.example/"))),
			want: []string{"javascript:alert(1)"}},
		{name: "expired aggregate", entityID: "https://idp.example.com/metadata",
			doc:  mdAggregate(`validUntil="2021-03-04T05:06:07Z" Name="urn:fed"`, mdEntityOf(good)),
			want: []string{"2021-03-04T05:06:07Z", "has passed", `EntitiesDescriptor "urn:fed"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp, err := ParseMetadataEntity([]byte(tt.doc), tt.entityID)
			require.ErrorIs(t, err, ErrMetadata)
			assert.Nil(t, idp)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	t.Run("a broken sibling does not affect the selected entity", func(t *testing.T) {
		doc := mdAggregate("",
			mdEntityOf(mdWithEntityID(strings.Replace(good, "https://idp.example.com/sso", "javascript:alert(1)", 1), "https://broken.example/")),
			mdEntityOf(good))
		idp, err := ParseMetadataEntity([]byte(doc), "https://idp.example.com/metadata")
		require.NoError(t, err)
		assert.Equal(t, "https://idp.example.com/metadata", idp.EntityID)

		_, err = ParseMetadataEntities([]byte(doc))
		require.ErrorIs(t, err, ErrMetadata)
		assert.Contains(t, err.Error(), `entity "https://broken.example/"`, "ParseMetadataEntities fails as a whole, naming the entity")
	})
}

func TestParseMetadataEntitiesErrors(t *testing.T) {
	cert, _ := mdTestCert(t, "idp")
	good := mdBaseDoc(cert)
	sp := `<md:EntityDescriptor entityID="https://sp.example/"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{name: "duplicate entityID", doc: mdAggregate("", mdEntityOf(good), mdEntityOf(good)), want: "appears more than once"},
		{name: "no IdP at all", doc: mdAggregate("", sp, sp), want: "none of the 2 entities"},
		{name: "single SP entity", doc: mdXMLDecl + strings.Replace(sp, "<md:EntityDescriptor ", `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" `, 1),
			want: "service provider metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMetadataEntities([]byte(tt.doc))
			require.ErrorIs(t, err, ErrMetadata)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParseMetadataManyIdPs(t *testing.T) {
	cert, _ := mdTestCert(t, "idp")
	var entities []string
	for i := range 7 {
		entities = append(entities, mdEntityOf(mdWithEntityID(mdBaseDoc(cert), fmt.Sprintf("https://idp%d.example/", i))))
	}
	_, err := ParseMetadata([]byte(mdAggregate("", entities...)))
	require.ErrorIs(t, err, ErrMetadata)
	msg := err.Error()
	assert.Contains(t, msg, "7 identity providers")
	assert.Contains(t, msg, "ParseMetadataEntity")
	for i := range 5 {
		assert.Contains(t, msg, fmt.Sprintf("https://idp%d.example/", i))
	}
	assert.NotContains(t, msg, "https://idp5.example/", "at most five entityIDs are listed")
	assert.Contains(t, msg, "and 2 more")
}

func TestParseMetadataAccepts(t *testing.T) {
	cert, _ := mdTestCert(t, "idp")
	cert2, _ := mdTestCert(t, "idp-next")
	good := mdBaseDoc(cert)
	kd := func(use string, c *x509.Certificate) string {
		return `<md:KeyDescriptor` + use + `><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + mdB64(c) +
			`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
	}
	wrapped := func(c *x509.Certificate) string {
		s := mdB64(c)
		var b strings.Builder
		for len(s) > 64 {
			b.WriteString(s[:64] + "\r\n\t ")
			s = s[64:]
		}
		return "\n  " + b.String() + s + "\n"
	}
	tests := []struct {
		name  string
		doc   func(t *testing.T) string
		check func(t *testing.T, idp *IdentityProvider)
	}{
		{name: "base document", doc: func(*testing.T) string { return good }, check: func(t *testing.T, idp *IdentityProvider) {
			assert.Equal(t, "https://idp.example.com/metadata", idp.EntityID)
			assert.Equal(t, []Endpoint{{Binding: BindingHTTPRedirect, Location: "https://idp.example.com/sso"}}, idp.SingleSignOnServices)
			assert.Equal(t, []Endpoint{{Binding: BindingHTTPRedirect, Location: "https://idp.example.com/slo"}}, idp.SingleLogoutServices)
			require.Len(t, idp.Certificates, 1)
			assert.True(t, idp.Certificates[0].Equal(cert))
			assert.Equal(t, []string{mdNIDEmail}, idp.NameIDFormats)
			assert.True(t, idp.WantAuthnRequestsSigned)
		}},
		{name: "other prefix for the metadata namespace", doc: func(t *testing.T) string {
			return strings.ReplaceAll(strings.ReplaceAll(good, "md:", "saml2md:"), "xmlns:md=", "xmlns:saml2md=")
		}},
		{name: "default namespace", doc: func(t *testing.T) string {
			return strings.ReplaceAll(strings.ReplaceAll(good, "md:", ""), "xmlns:md=", "xmlns=")
		}},
		{name: "utf-8 byte order mark", doc: func(t *testing.T) string { return "\ufeff" + good }},
		{name: "enveloped ds:Signature is ignored", doc: func(t *testing.T) string {
			return mdReplace(t, good, "<md:IDPSSODescriptor ",
				`<ds:Signature><ds:SignedInfo/><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature><md:IDPSSODescriptor `)
		}},
		{name: "KeyDescriptor without use is a signing key", doc: func(t *testing.T) string {
			return mdReplace(t, good, `<md:KeyDescriptor use="signing">`, `<md:KeyDescriptor>`)
		}},
		{name: "rollover: two signing certificates, duplicate dropped", doc: func(t *testing.T) string {
			return mdReplace(t, good, "<md:SingleLogoutService ", kd("", cert2)+kd(` use="signing"`, cert)+"<md:SingleLogoutService ")
		}, check: func(t *testing.T, idp *IdentityProvider) {
			assert.Equal(t, []string{"idp", "idp-next"}, mdCNs(idp.Certificates))
		}},
		{name: "encryption certificate next to a signing one is ignored", doc: func(t *testing.T) string {
			return mdReplace(t, good, "<md:SingleLogoutService ", kd(` use="encryption"`, cert2)+"<md:SingleLogoutService ")
		}, check: func(t *testing.T, idp *IdentityProvider) {
			assert.Equal(t, []string{"idp"}, mdCNs(idp.Certificates))
		}},
		{name: "certificate base64 wrapped with CRLF, tabs and spaces", doc: func(t *testing.T) string {
			return mdReplace(t, good, mdB64(cert), wrapped(cert))
		}},
		{name: "comment inside the certificate text", doc: func(t *testing.T) string {
			b := mdB64(cert)
			return mdReplace(t, good, b, b[:10]+"<!-- rotated 2026 -->"+b[10:])
		}},
		{name: "plain http endpoint and padded Location", doc: func(t *testing.T) string {
			return mdReplace(t, good, `Location="https://idp.example.com/sso"`, `Location=" http://idp.example.com:8080/sso "`)
		}, check: func(t *testing.T, idp *IdentityProvider) {
			assert.Equal(t, "http://idp.example.com:8080/sso", idp.SingleSignOnServices[0].Location)
		}},
		{name: "validUntil and cacheDuration, earliest and shortest win", doc: func(t *testing.T) string {
			d := mdReplace(t, good, `entityID=`, `validUntil="2090-01-01T02:00:00+02:00" cacheDuration="P0Y0M0DT6H0M0.000S" entityID=`)
			return mdReplace(t, d, `WantAuthnRequestsSigned="true"`, `validUntil="2091-01-01T00:00:00Z" cacheDuration="PT12H"`)
		}, check: func(t *testing.T, idp *IdentityProvider) {
			assert.True(t, idp.ValidUntil.Equal(time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC)), idp.ValidUntil)
			assert.Equal(t, 6*time.Hour, idp.CacheDuration)
			assert.False(t, idp.WantAuthnRequestsSigned)
		}},
		{name: "SAML 1.1 descriptor next to the SAML 2.0 one", doc: func(t *testing.T) string {
			return mdReplace(t, good, "<md:IDPSSODescriptor ",
				`<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol"><md:SingleSignOnService Binding="urn:mace:shibboleth:1.0:profiles:AuthnRequest" Location="https://idp.example.com/shib"/></md:IDPSSODescriptor><md:IDPSSODescriptor `)
		}, check: func(t *testing.T, idp *IdentityProvider) {
			assert.Equal(t, []string{"HTTP-Redirect"}, mdBindings(idp.SingleSignOnServices))
		}},
		{name: "several protocols listed", doc: func(t *testing.T) string {
			return mdReplace(t, good, `protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"`,
				`protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol  urn:oasis:names:tc:SAML:2.0:protocol urn:mace:shibboleth:1.0"`)
		}},
		{name: "unknown binding with https location is kept", doc: func(t *testing.T) string {
			return mdReplace(t, good, "<md:SingleSignOnService ",
				`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="https://idp.example.com/ecp"/><md:SingleSignOnService `)
		}, check: func(t *testing.T, idp *IdentityProvider) {
			assert.Equal(t, []string{"SOAP", "HTTP-Redirect"}, mdBindings(idp.SingleSignOnServices))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp, err := ParseMetadata([]byte(tt.doc(t)))
			require.NoError(t, err)
			if tt.check != nil {
				tt.check(t, idp)
			}
		})
	}
}

// TestParseMetadataRejects: each case breaks exactly one thing in a valid
// document, so removing the check it targets makes the case fail.
func TestParseMetadataRejects(t *testing.T) {
	cert, _ := mdTestCert(t, "idp")
	good := mdBaseDoc(cert)
	_, err := ParseMetadata([]byte(good))
	require.NoError(t, err, "the base document must be valid")

	sso := `Location="https://idp.example.com/sso"`
	slo := `Location="https://idp.example.com/slo"`
	tests := []struct {
		name    string
		doc     func(t *testing.T) string
		want    []string
		notWant []string
	}{
		// Document level.
		{name: "DOCTYPE", doc: func(t *testing.T) string {
			return mdReplace(t, good, mdXMLDecl, mdXMLDecl+`<!DOCTYPE md:EntityDescriptor [<!ENTITY idp "https://evil.example/">]>`+"\n")
		}, want: []string{"DTD"}},
		{name: "processing instruction", doc: func(t *testing.T) string {
			return mdReplace(t, good, "<md:IDPSSODescriptor ", `<?evil x?><md:IDPSSODescriptor `)
		}, want: []string{"processing instruction"}},
		{name: "declared non-UTF-8 encoding", doc: func(t *testing.T) string {
			return mdReplace(t, good, `encoding="UTF-8"`, `encoding="ISO-8859-1"`)
		}, want: []string{"ISO-8859-1"}},
		{name: "larger than 10 MiB", doc: func(t *testing.T) string {
			return good + "<!--" + strings.Repeat(" ", MaxMetadataSize) + "-->"
		}, want: []string{"10 MiB limit"}},
		{name: "wrong document element", doc: func(t *testing.T) string {
			return mdXMLDecl + `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`
		}, want: []string{"document element is <Response>", "EntityDescriptor"}},
		{name: "look-alike metadata namespace", doc: func(t *testing.T) string {
			return mdReplace(t, good, `xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"`, `xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata:"`)
		}, want: []string{"document element"}},
		// Entity.
		{name: "empty entityID", doc: func(t *testing.T) string { return mdWithEntityID(good, "") },
			want: []string{"empty or missing entityID"}},
		{name: "blank entityID", doc: func(t *testing.T) string { return mdWithEntityID(good, " \t ") },
			want: []string{"empty or missing entityID"}},
		{name: "missing entityID", doc: func(t *testing.T) string {
			return mdReplace(t, good, `entityID="https://idp.example.com/metadata"`, "")
		}, want: []string{"empty or missing entityID"}},
		{name: "prefixed entityID is not entityID", doc: func(t *testing.T) string {
			return mdReplace(t, good, `entityID=`, `md:entityID=`)
		}, want: []string{"empty or missing entityID"}},
		{name: "entityID longer than 1024", doc: func(t *testing.T) string {
			return mdWithEntityID(good, "https://idp.example.com/"+strings.Repeat("a", 1024))
		}, want: []string{"longer than 1024"}},
		{name: "missing IDPSSODescriptor", doc: func(t *testing.T) string {
			return strings.ReplaceAll(good, "md:IDPSSODescriptor", "md:AttributeAuthorityDescriptor")
		}, want: []string{"no IDPSSODescriptor"}, notWant: []string{"service provider"}},
		{name: "SP metadata instead of IdP metadata", doc: func(t *testing.T) string {
			return strings.ReplaceAll(good, "md:IDPSSODescriptor", "md:SPSSODescriptor")
		}, want: []string{"no IDPSSODescriptor", "service provider metadata"}},
		{name: "IDPSSODescriptor in another namespace", doc: func(t *testing.T) string {
			d := strings.ReplaceAll(good, "md:IDPSSODescriptor", "x:IDPSSODescriptor")
			return mdReplace(t, d, "<x:IDPSSODescriptor ", `<x:IDPSSODescriptor xmlns:x="urn:oasis:names:tc:SAML:2.0:metadata#" `)
		}, want: []string{"no IDPSSODescriptor"}},
		{name: "IDPSSODescriptor without SAML 2.0", doc: func(t *testing.T) string {
			return mdReplace(t, good, `"urn:oasis:names:tc:SAML:2.0:protocol"`, `"urn:oasis:names:tc:SAML:1.1:protocol"`)
		}, want: []string{"does not support SAML 2.0", "urn:oasis:names:tc:SAML:1.1:protocol"}},
		{name: "SAML 2.0 protocol only as a prefix of another token", doc: func(t *testing.T) string {
			return mdReplace(t, good, `"urn:oasis:names:tc:SAML:2.0:protocol"`, `"urn:oasis:names:tc:SAML:2.0:protocol:evil"`)
		}, want: []string{"does not support SAML 2.0"}},
		{name: "two SAML 2.0 IDPSSODescriptors", doc: func(t *testing.T) string {
			start := strings.Index(good, "<md:IDPSSODescriptor ")
			end := strings.Index(good, "</md:IDPSSODescriptor>") + len("</md:IDPSSODescriptor>")
			return good[:end] + good[start:end] + good[end:]
		}, want: []string{"more than one IDPSSODescriptor"}},
		{name: "WantAuthnRequestsSigned is not a boolean", doc: func(t *testing.T) string {
			return mdReplace(t, good, `WantAuthnRequestsSigned="true"`, `WantAuthnRequestsSigned="yes"`)
		}, want: []string{`WantAuthnRequestsSigned="yes"`}},
		// Endpoints.
		{name: "javascript: SSO Location", doc: func(t *testing.T) string {
			return mdReplace(t, good, sso, `Location="javascript:alert(document.domain)"`)
		}, want: []string{"SingleSignOnService", "javascript:alert(document.domain)", "not an absolute http or https URL"}},
		{name: "JavaScript: in mixed case", doc: func(t *testing.T) string {
			return mdReplace(t, good, sso, `Location="JaVaScRiPt:alert(1)"`)
		}, want: []string{"not an absolute http or https URL"}},
		{name: "data: SSO Location", doc: func(t *testing.T) string {
			return mdReplace(t, good, sso, `Location="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="`)
		}, want: []string{"data:text/html"}},
		{name: "file: SLO Location", doc: func(t *testing.T) string {
			return mdReplace(t, good, slo, `Location="file:///etc/passwd"`)
		}, want: []string{"SingleLogoutService", "file:///etc/passwd"}},
		{name: "relative SSO Location", doc: func(t *testing.T) string {
			return mdReplace(t, good, sso, `Location="/sso"`)
		}, want: []string{`"/sso" is not an absolute`}},
		{name: "scheme-relative SSO Location", doc: func(t *testing.T) string {
			return mdReplace(t, good, sso, `Location="//evil.example/sso"`)
		}, want: []string{"//evil.example/sso"}},
		{name: "http URL without host", doc: func(t *testing.T) string {
			return mdReplace(t, good, sso, `Location="https:///sso"`)
		}, want: []string{"has no host"}},
		{name: "URL with user information", doc: func(t *testing.T) string {
			return mdReplace(t, good, sso, `Location="https://idp.example.com@evil.example/sso"`)
		}, want: []string{"user information"}},
		{name: "missing Location", doc: func(t *testing.T) string { return mdReplace(t, good, sso, "") },
			want: []string{"missing URL"}},
		{name: "javascript: ResponseLocation", doc: func(t *testing.T) string {
			return mdReplace(t, good, slo, slo+` ResponseLocation="javascript:alert(1)"`)
		}, want: []string{"ResponseLocation", "javascript:alert(1)"}},
		{name: "bad URL in an extra endpoint rejects the whole document", doc: func(t *testing.T) string {
			return mdReplace(t, good, "<md:SingleSignOnService ",
				`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="javascript:alert(1)"/><md:SingleSignOnService `)
		}, want: []string{"javascript:alert(1)"}},
		{name: "javascript: in an ArtifactResolutionService", doc: func(t *testing.T) string {
			return mdReplace(t, good, "<md:SingleLogoutService ",
				`<md:ArtifactResolutionService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="javascript:alert(1)" index="0"/><md:SingleLogoutService `)
		}, want: []string{"ArtifactResolutionService", "javascript:alert(1)"}},
		{name: "endpoint without Binding", doc: func(t *testing.T) string {
			return mdReplace(t, good, `Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" `+sso, sso)
		}, want: []string{"SingleSignOnService has no Binding"}},
		{name: "no SSO endpoint", doc: func(t *testing.T) string {
			return mdReplace(t, good, `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" `+sso+`/>`, "")
		}, want: []string{"no SingleSignOnService", "found: none"}},
		{name: "only a SOAP SSO endpoint", doc: func(t *testing.T) string {
			return mdReplace(t, good, `Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" `+sso,
				`Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" `+sso)
		}, want: []string{"no SingleSignOnService", "found: urn:oasis:names:tc:SAML:2.0:bindings:SOAP"}},
		// Keys.
		{name: "no KeyDescriptor", doc: func(t *testing.T) string {
			start := strings.Index(good, "<md:KeyDescriptor")
			end := strings.Index(good, "</md:KeyDescriptor>") + len("</md:KeyDescriptor>")
			return good[:start] + good[end:]
		}, want: []string{"no signing certificate"}, notWant: []string{"ignored"}},
		{name: "encryption-only certificate", doc: func(t *testing.T) string {
			return mdReplace(t, good, `use="signing"`, `use="encryption"`)
		}, want: []string{"no signing certificate", `1 certificate(s) published with use="encryption" were ignored`}},
		{name: "unknown KeyDescriptor use", doc: func(t *testing.T) string {
			return mdReplace(t, good, `use="signing"`, `use="sign"`)
		}, want: []string{`use="sign"`}},
		{name: "KeyInfo with a KeyName only", doc: func(t *testing.T) string {
			return mdReplace(t, good, `<ds:X509Data><ds:X509Certificate>`+mdB64(cert)+`</ds:X509Certificate></ds:X509Data>`, `<ds:KeyName>idp</ds:KeyName>`)
		}, want: []string{"no signing certificate"}},
		{name: "certificate in a look-alike ds namespace", doc: func(t *testing.T) string {
			return mdReplace(t, good, `xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`, `xmlns:ds="http://www.w3.org/2000/09/xmldsig"`)
		}, want: []string{"no signing certificate"}},
		{name: "certificate is not base64", doc: func(t *testing.T) string {
			return mdReplace(t, good, mdB64(cert), "MIIB!!not-base64")
		}, want: []string{"X509Certificate is not valid base64"}},
		{name: "certificate base64 uses the URL alphabet", doc: func(t *testing.T) string {
			return mdReplace(t, good, mdB64(cert), strings.NewReplacer("+", "-", "/", "_").Replace(mdB64(cert))+"-_")
		}, want: []string{"not valid base64"}},
		{name: "empty certificate", doc: func(t *testing.T) string { return mdReplace(t, good, mdB64(cert), "  \n ") },
			want: []string{"not valid base64"}},
		{name: "base64 of something that is not a certificate", doc: func(t *testing.T) string {
			return mdReplace(t, good, mdB64(cert), base64.StdEncoding.EncodeToString([]byte("hello, world")))
		}, want: []string{"X509Certificate cannot be parsed"}},
		{name: "truncated certificate", doc: func(t *testing.T) string {
			return mdReplace(t, good, mdB64(cert), base64.StdEncoding.EncodeToString(cert.Raw[:len(cert.Raw)-10]))
		}, want: []string{"X509Certificate cannot be parsed"}},
		{name: "element inside X509Certificate", doc: func(t *testing.T) string {
			return mdReplace(t, good, mdB64(cert), mdB64(cert)+"<ds:X509Certificate>"+mdB64(cert)+"</ds:X509Certificate>")
		}, want: []string{"contains an element"}},
		// Validity.
		{name: "expired validUntil on the EntityDescriptor", doc: func(t *testing.T) string {
			return mdReplace(t, good, "entityID=", `validUntil="2020-01-02T03:04:05Z" entityID=`)
		}, want: []string{"validUntil 2020-01-02T03:04:05Z has passed", "EntityDescriptor"}},
		{name: "expired validUntil on the IDPSSODescriptor", doc: func(t *testing.T) string {
			return mdReplace(t, good, "WantAuthnRequestsSigned=", `validUntil="2024-12-31T23:59:59.5Z" WantAuthnRequestsSigned=`)
		}, want: []string{"IDPSSODescriptor validUntil 2024-12-31T23:59:59Z has passed"}},
		{name: "expired validUntil on the enclosing EntitiesDescriptor", doc: func(t *testing.T) string {
			return mdAggregate(`validUntil="2022-06-01T00:00:00Z"`, mdEntityOf(good))
		}, want: []string{"EntitiesDescriptor validUntil 2022-06-01T00:00:00Z has passed"}},
		{name: "validUntil one minute ago", doc: func(t *testing.T) string {
			ts := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
			return mdReplace(t, good, "entityID=", `validUntil="`+ts+`" entityID=`)
		}, want: []string{"has passed"}},
		{name: "malformed validUntil", doc: func(t *testing.T) string {
			return mdReplace(t, good, "entityID=", `validUntil="next year" entityID=`)
		}, want: []string{`validUntil "next year"`, "xs:dateTime"}},
		{name: "malformed cacheDuration", doc: func(t *testing.T) string {
			return mdReplace(t, good, "entityID=", `cacheDuration="1h" entityID=`)
		}, want: []string{`cacheDuration "1h"`, "xs:duration"}},
		{name: "negative cacheDuration", doc: func(t *testing.T) string {
			return mdReplace(t, good, "entityID=", `cacheDuration="-PT1H" entityID=`)
		}, want: []string{"negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.doc(t)
			for name, parse := range map[string]func([]byte) (*IdentityProvider, error){
				"ParseMetadata": func(b []byte) (*IdentityProvider, error) { return ParseMetadata(b) },
				"ParseMetadataEntity": func(b []byte) (*IdentityProvider, error) {
					return ParseMetadataEntity(b, "https://idp.example.com/metadata")
				},
				"ParseMetadataEntities": func(b []byte) (*IdentityProvider, error) {
					idps, err := ParseMetadataEntities(b)
					if len(idps) > 0 {
						return idps[0], err
					}
					return nil, err
				},
			} {
				idp, err := parse([]byte(doc))
				require.Error(t, err, name)
				assert.Nil(t, idp, name)
				assert.ErrorIs(t, err, ErrMetadata, name)
				msg := err.Error()
				assert.True(t, strings.HasPrefix(msg, "saml2sp: invalid metadata: "), msg)
				if name == "ParseMetadataEntity" && strings.Contains(msg, "no entity") {
					continue // the case broke the entityID itself
				}
				for _, w := range tt.want {
					assert.Contains(t, msg, w, name)
				}
				for _, w := range tt.notWant {
					assert.NotContains(t, msg, w, name)
				}
			}
		})
	}
}

func TestParseMetadataErrorsAreBounded(t *testing.T) {
	cert, _ := mdTestCert(t, "idp")
	long := "javascript:" + strings.Repeat("x", 5000)
	_, err := ParseMetadata([]byte(strings.Replace(mdBaseDoc(cert), "https://idp.example.com/sso", long, 1)))
	require.ErrorIs(t, err, ErrMetadata)
	assert.Less(t, len(err.Error()), 400, "a hostile value must not flood the logs")
}

func TestMetadataDuration(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{name: "one hour", in: "PT1H", want: time.Hour},
		{name: "one day", in: "P1D", want: 24 * time.Hour},
		{name: "thirty minutes", in: "PT30M", want: 30 * time.Minute},
		{name: "day and hours", in: "P1DT2H", want: 26 * time.Hour},
		{name: "seconds with fraction", in: "PT1.5S", want: 1500 * time.Millisecond},
		{name: "opensaml style", in: "P0Y0M0DT6H0M0.000S", want: 6 * time.Hour},
		{name: "year and month", in: "P1Y2M", want: (365 + 60) * 24 * time.Hour},
		{name: "zero", in: "PT0S", want: 0},
		{name: "surrounding whitespace", in: " PT1H ", want: time.Hour},
		{name: "all components", in: "P1Y1M1DT1H1M1S", want: (365+30+1)*24*time.Hour + time.Hour + time.Minute + time.Second},
		{name: "empty", in: "", wantErr: true},
		{name: "P alone", in: "P", wantErr: true},
		{name: "T without time", in: "P1DT", wantErr: true},
		{name: "PT alone", in: "PT", wantErr: true},
		{name: "negative", in: "-P1D", wantErr: true},
		{name: "no P", in: "T1H", wantErr: true},
		{name: "lowercase", in: "pt1h", wantErr: true},
		{name: "Go duration syntax", in: "1h", wantErr: true},
		{name: "hours in the date part", in: "P1H", wantErr: true},
		{name: "days in the time part", in: "PT1D", wantErr: true},
		{name: "wrong order", in: "PT1M1H", wantErr: true},
		{name: "repeated unit", in: "PT1H1H", wantErr: true},
		{name: "two T", in: "PT1HT1M", wantErr: true},
		{name: "fraction on minutes", in: "PT1.5M", wantErr: true},
		{name: "fraction on days", in: "P1.5D", wantErr: true},
		{name: "dot without digits", in: "PT1.S", wantErr: true},
		{name: "number without unit", in: "PT1", wantErr: true},
		{name: "unit without number", in: "PTH", wantErr: true},
		{name: "sign inside", in: "PT+1H", wantErr: true},
		{name: "overflow", in: "P999999999999999999D", wantErr: true},
		{name: "overflow by sum", in: "P290YT2562047H", wantErr: true},
		{name: "trailing garbage", in: "PT1Hx", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mdParseDuration(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMetadataDateTime(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
	}{
		{name: "utc", in: "2030-01-02T03:04:05Z", want: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "fraction", in: "2030-01-02T03:04:05.250Z", want: time.Date(2030, 1, 2, 3, 4, 5, 250e6, time.UTC)},
		{name: "offset", in: "2030-01-02T03:04:05+02:00", want: time.Date(2030, 1, 2, 1, 4, 5, 0, time.UTC)},
		{name: "negative offset", in: "2030-01-02T03:04:05-05:30", want: time.Date(2030, 1, 2, 8, 34, 5, 0, time.UTC)},
		{name: "no zone means UTC", in: "2030-01-02T03:04:05", want: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "no zone with fraction", in: "2030-01-02T03:04:05.5", want: time.Date(2030, 1, 2, 3, 4, 5, 5e8, time.UTC)},
		{name: "whitespace", in: "\n2030-01-02T03:04:05Z ", want: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "date only", in: "2030-01-02", wantErr: true},
		{name: "space instead of T", in: "2030-01-02 03:04:05Z", wantErr: true},
		{name: "month 13", in: "2030-13-02T03:04:05Z", wantErr: true},
		{name: "unix time", in: "1893456000", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "zone without colon", in: "2030-01-02T03:04:05+0200", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mdParseDateTime(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %v", got)
		})
	}
}

// FuzzParseMetadata: no input may panic, and whatever is accepted must meet
// the guarantees ParseMetadata documents.
func FuzzParseMetadata(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "metadata", "*.xml"))
	require.NoError(f, err)
	require.NotEmpty(f, files)
	for _, name := range files {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
	cert, _ := mdTestCert(f, "idp")
	f.Add([]byte(mdBaseDoc(cert)))
	f.Add([]byte(mdAggregate(`validUntil="2090-01-01T00:00:00Z" cacheDuration="PT1H"`, mdEntityOf(mdBaseDoc(cert)))))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(idp *IdentityProvider) {
			if idp.EntityID == "" || len(idp.Certificates) == 0 {
				t.Fatalf("accepted an IdP without entityID or certificates: %+v", idp)
			}
			if idp.SingleSignOnService(BindingHTTPRedirect) == nil && idp.SingleSignOnService(BindingHTTPPost) == nil {
				t.Fatal("accepted an IdP without a usable SSO endpoint")
			}
			for _, ep := range append(append([]Endpoint(nil), idp.SingleSignOnServices...), idp.SingleLogoutServices...) {
				for _, u := range []string{ep.Location, ep.ResponseLocation} {
					if u != "" && mdCheckURL(u) != nil {
						t.Fatalf("accepted endpoint URL %q", u)
					}
				}
			}
			if !idp.ValidUntil.IsZero() && idp.ValidUntil.Before(time.Now()) {
				t.Fatalf("accepted expired metadata: %v", idp.ValidUntil)
			}
		}
		if idp, err := ParseMetadata(data); err == nil {
			check(idp)
		} else if !errors.Is(err, ErrMetadata) {
			t.Fatalf("error does not wrap ErrMetadata: %v", err)
		}
		if idps, err := ParseMetadataEntities(data); err == nil {
			for _, idp := range idps {
				check(idp)
			}
		}
		if idp, err := ParseMetadataEntity(data, "https://idp.example.com/metadata"); err == nil {
			check(idp)
		}
	})
}
