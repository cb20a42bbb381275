package saml2sp

import (
	"crypto/x509"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp/internal/xmlsafe"
)

// mdSchemaPath is the SAML 2.0 metadata schema shipped by Debian's
// simplesamlphp package; its imports (xmldsig, xenc, assertion, xml.xsd)
// sit next to it, so xmllint validates offline.
const mdSchemaPath = "/usr/share/simplesamlphp/schemas/saml-schema-metadata-2.0.xsd"

// mdXMLLint validates doc against the SAML metadata schema. Without xmllint
// or the schema it skips loudly, or fails when CI is set.
func mdXMLLint(t *testing.T, doc []byte) error {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err == nil {
		_, err = os.Stat(mdSchemaPath)
	}
	if err != nil {
		msg := "SCHEMA VALIDATION NOT RUN: need xmllint (Debian: libxml2-utils) and " + mdSchemaPath +
			" (Debian: simplesamlphp): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("!!! " + msg + " !!!")
	}
	file := filepath.Join(t.TempDir(), "metadata.xml")
	require.NoError(t, os.WriteFile(file, doc, 0o600))
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", mdSchemaPath, file).CombinedOutput()
	if err != nil {
		return &mdLintError{out: string(out)}
	}
	return nil
}

type mdLintError struct{ out string }

func (e *mdLintError) Error() string { return "xmllint: " + e.out }

func mdTestSP(t *testing.T, mod func(*Config)) *SP {
	t.Helper()
	idpCert, _ := mdTestCert(t, "idp")
	cfg := Config{
		EntityID: "https://sp.example.com/saml/metadata",
		ACSURL:   "https://sp.example.com/saml/acs",
		IdP:      &IdentityProvider{EntityID: "https://idp.example.com/metadata", Certificates: []*x509.Certificate{idpCert}},
	}
	if mod != nil {
		mod(&cfg)
	}
	sp, err := New(cfg)
	require.NoError(t, err)
	return sp
}

func TestSPMetadata(t *testing.T) {
	spCert, spKey := mdTestCert(t, "sp.example.com")
	withKey := func(c *Config) { c.Key, c.Certificate = spKey, spCert }
	withSLO := func(c *Config) { c.SLOURL = "https://sp.example.com/saml/slo" }
	tests := []struct {
		name       string
		mod        func(*Config)
		children   []string
		signed     string
		nameID     string
		wantCert   bool
		wantSLO    bool
		wantEntity string
		wantACS    string
	}{
		{
			name:     "minimal: no key, no SLO",
			children: []string{"NameIDFormat", "AssertionConsumerService"},
			signed:   "false",
			nameID:   mdNameIDFormatUnspecified,
		},
		{
			name:     "key and certificate",
			mod:      withKey,
			children: []string{"KeyDescriptor", "NameIDFormat", "AssertionConsumerService"},
			signed:   "true",
			nameID:   mdNameIDFormatUnspecified,
			wantCert: true,
		},
		{
			name:     "SLO without key",
			mod:      withSLO,
			children: []string{"SingleLogoutService", "SingleLogoutService", "NameIDFormat", "AssertionConsumerService"},
			signed:   "false",
			nameID:   mdNameIDFormatUnspecified,
			wantSLO:  true,
		},
		{
			name: "everything, custom NameID format",
			mod: func(c *Config) {
				withKey(c)
				withSLO(c)
				c.NameIDFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
			},
			children: []string{"KeyDescriptor", "SingleLogoutService", "SingleLogoutService", "NameIDFormat", "AssertionConsumerService"},
			signed:   "true",
			nameID:   "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
			wantCert: true,
			wantSLO:  true,
		},
		{
			name: "characters that need escaping",
			mod: func(c *Config) {
				c.EntityID = "urn:x-sp:\"quoted\"&<angle>'apos'\ttab\nline"
				c.ACSURL = "https://sp.example.com/saml/acs?tenant=a&x=\"1\""
				c.NameIDFormat = "urn:<x>&y\x01"
			},
			children:   []string{"NameIDFormat", "AssertionConsumerService"},
			signed:     "false",
			nameID:     "urn:<x>&y\ufffd",
			wantEntity: "urn:x-sp:\"quoted\"&<angle>'apos'\ttab\nline",
			wantACS:    "https://sp.example.com/saml/acs?tenant=a&x=\"1\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := mdTestSP(t, tt.mod)
			out := sp.Metadata()
			require.NotEmpty(t, out)
			if tt.wantEntity == "" {
				tt.wantEntity = "https://sp.example.com/saml/metadata"
			}
			if tt.wantACS == "" {
				tt.wantACS = "https://sp.example.com/saml/acs"
			}

			if strings.Contains(tt.wantEntity, "\t") {
				assert.Contains(t, string(out), `&#x9;tab&#xA;line"`, "whitespace in attributes is escaped")
			}
			doc, err := xmlsafe.Parse(out, xmlsafe.DefaultLimits)
			require.NoError(t, err, string(out))
			root := doc.Root()
			require.True(t, mdIs(root, "EntityDescriptor"), string(out))
			assert.Equal(t, tt.wantEntity, attrValue(root, "entityID"))
			roles := mdChildren(root, "SPSSODescriptor")
			require.Len(t, roles, 1)
			require.Len(t, root.ChildElements(), 1)
			role := roles[0]
			assert.Equal(t, mdSAML2Protocol, attrValue(role, "protocolSupportEnumeration"))
			assert.Equal(t, tt.signed, attrValue(role, "AuthnRequestsSigned"))
			assert.Equal(t, "true", attrValue(role, "WantAssertionsSigned"))

			var children []string
			for _, c := range role.ChildElements() {
				assert.Equal(t, mdNamespace, c.NamespaceURI())
				children = append(children, c.Tag)
			}
			assert.Equal(t, tt.children, children, "schema order")

			nid := mdChildren(role, "NameIDFormat")
			require.Len(t, nid, 1)
			assert.Equal(t, tt.nameID, mdText(nid[0]))

			acs := mdChildren(role, "AssertionConsumerService")
			require.Len(t, acs, 1)
			assert.Equal(t, BindingHTTPPost, attrValue(acs[0], "Binding"))
			assert.Equal(t, tt.wantACS, attrValue(acs[0], "Location"))
			assert.Equal(t, "1", attrValue(acs[0], "index"))
			assert.Equal(t, "true", attrValue(acs[0], "isDefault"))

			kds := mdChildren(role, "KeyDescriptor")
			if tt.wantCert {
				require.Len(t, kds, 1)
				assert.Equal(t, "signing", attrValue(kds[0], "use"))
				xcs := mdX509Certificates(kds[0])
				require.Len(t, xcs, 1)
				der, err := base64.StdEncoding.DecodeString(mdText(xcs[0]))
				require.NoError(t, err)
				assert.Equal(t, spCert.Raw, der)
			} else {
				assert.Empty(t, kds)
			}

			slos := mdChildren(role, "SingleLogoutService")
			if tt.wantSLO {
				require.Len(t, slos, 2)
				assert.Equal(t, BindingHTTPRedirect, attrValue(slos[0], "Binding"))
				assert.Equal(t, BindingHTTPPost, attrValue(slos[1], "Binding"))
				for _, s := range slos {
					assert.Equal(t, "https://sp.example.com/saml/slo", attrValue(s, "Location"))
				}
			} else {
				assert.Empty(t, slos)
			}

			assert.NoError(t, mdXMLLint(t, out))
		})
	}
}

// TestSPMetadataSchemaCheckBites makes sure the schema check would notice
// a wrong element order, so a passing TestSPMetadata means something.
func TestSPMetadataSchemaCheckBites(t *testing.T) {
	out := mdTestSP(t, nil).Metadata()
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(out))
	role := doc.Root().SelectElement("md:SPSSODescriptor")
	nid := role.SelectElement("md:NameIDFormat")
	role.RemoveChild(nid)
	role.AddChild(nid) // NameIDFormat after AssertionConsumerService
	bad, err := doc.WriteToBytes()
	require.NoError(t, err)
	err = mdXMLLint(t, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NameIDFormat")
}

func TestSPMetadataIsStable(t *testing.T) {
	sp := mdTestSP(t, nil)
	assert.Equal(t, string(sp.Metadata()), string(sp.Metadata()))
	assert.True(t, strings.HasPrefix(string(sp.Metadata()), `<?xml version="1.0" encoding="UTF-8"?>`))
}
