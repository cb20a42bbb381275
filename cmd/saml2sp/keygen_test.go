package main

import (
	"encoding/base64"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
)

// TestKeygen writes a key pair the library loads, the key readable by its
// owner only, and never overwrites either file.
func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	code, out, stderr := cli(t, "", "keygen", "--cert", cert, "--key", key, "--cn", "https://sp.example.com/saml/metadata", "--days", "30")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Wrote the private key "+key)

	ki, err := os.Stat(key)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), ki.Mode().Perm())
	ci, err := os.Stat(cert)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), ci.Mode().Perm()&^0o022, "the certificate is public")

	kp, err := saml2sp.LoadKeyPair(cert, key)
	require.NoError(t, err)
	assert.Equal(t, "https://sp.example.com/saml/metadata", kp.Certificate.Subject.CommonName)
	assert.WithinDuration(t, time.Now().Add(30*24*time.Hour), kp.Certificate.NotAfter, time.Hour)
	assert.Contains(t, out, fingerprint(kp.Certificate))

	keyBefore, err := os.ReadFile(key)
	require.NoError(t, err)
	certBefore, err := os.ReadFile(cert)
	require.NoError(t, err)

	cases := []struct {
		name      string
		cert, key string
		untouched string // a file that must not appear
	}{
		{name: "both exist", cert: cert, key: key},
		{name: "the key exists", cert: filepath.Join(dir, "new-cert.pem"), key: key, untouched: filepath.Join(dir, "new-cert.pem")},
		{name: "the certificate exists", cert: cert, key: filepath.Join(dir, "new-key.pem"), untouched: filepath.Join(dir, "new-key.pem")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, "", "keygen", "--cert", c.cert, "--key", c.key)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, "exists: keygen never overwrites")
			if c.untouched != "" {
				assert.NoFileExists(t, c.untouched)
			}
			k, _ := os.ReadFile(key)
			cr, _ := os.ReadFile(cert)
			assert.Equal(t, keyBefore, k)
			assert.Equal(t, certBefore, cr)
		})
	}
}

// spMetadataXML is what encoding/xml reads of SP metadata.
type spMetadataXML struct {
	XMLName  xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID string   `xml:"entityID,attr"`
	SP       struct {
		AuthnRequestsSigned string `xml:"AuthnRequestsSigned,attr"`
		Keys                []struct {
			Use  string `xml:"use,attr"`
			Cert string `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo>X509Data>X509Certificate"`
		} `xml:"KeyDescriptor"`
		SLO []struct {
			Binding  string `xml:"Binding,attr"`
			Location string `xml:"Location,attr"`
		} `xml:"SingleLogoutService"`
		NameIDFormat string `xml:"NameIDFormat"`
		ACS          []struct {
			Binding  string `xml:"Binding,attr"`
			Location string `xml:"Location,attr"`
		} `xml:"AssertionConsumerService"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:metadata SPSSODescriptor"`
}

// TestSPMetadata prints SP metadata that parses as such, validates
// against the SAML metadata schema, and publishes the key pair.
func TestSPMetadata(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	code, _, stderr := cli(t, "", "keygen", "--cert", cert, "--key", key)
	require.Equal(t, 0, code, stderr)
	kp, err := saml2sp.LoadKeyPair(cert, key)
	require.NoError(t, err)
	certB64 := base64.StdEncoding.EncodeToString(kp.Certificate.Raw)

	cases := []struct {
		name     string
		args     []string
		entityID string
		acs      string
		slo      string
		uses     []string
		format   string
	}{
		{name: "base URL", args: []string{"--base-url", "https://sp.example.com/saml/"},
			entityID: "https://sp.example.com/saml/metadata", acs: "https://sp.example.com/saml/acs", slo: "https://sp.example.com/saml/sls",
			format: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"},
		{name: "explicit URLs and key", args: []string{"--entity-id", "urn:example:sp", "--acs-url", "https://sp.example.com/acs", "--cert", cert, "--key", key,
			"--nameid-format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"},
			entityID: "urn:example:sp", acs: "https://sp.example.com/acs", uses: []string{"signing", "encryption"},
			format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := cli(t, "", append([]string{"sp-metadata"}, c.args...)...)
			require.Equal(t, 0, code, stderr)
			var md spMetadataXML
			require.NoError(t, xml.Unmarshal([]byte(out), &md), out)
			assert.Equal(t, c.entityID, md.EntityID)
			require.Len(t, md.SP.ACS, 1)
			assert.Equal(t, c.acs, md.SP.ACS[0].Location)
			assert.Equal(t, saml2sp.BindingHTTPPost, md.SP.ACS[0].Binding)
			assert.Equal(t, c.format, md.SP.NameIDFormat)
			var uses []string
			for _, k := range md.SP.Keys {
				uses = append(uses, k.Use)
				assert.Equal(t, certB64, k.Cert)
			}
			assert.Equal(t, c.uses, uses)
			assert.Equal(t, map[bool]string{true: "true", false: "false"}[len(c.uses) > 0], md.SP.AuthnRequestsSigned)
			if c.slo != "" {
				require.Len(t, md.SP.SLO, 2)
				assert.Equal(t, c.slo, md.SP.SLO[0].Location)
			} else {
				assert.Empty(t, md.SP.SLO)
			}
			validateMetadataSchema(t, []byte(out))
		})
	}
}

const metadataSchema = "/usr/share/simplesamlphp/schemas/saml-schema-metadata-2.0.xsd"

// validateMetadataSchema validates doc with xmllint against the SAML 2.0
// metadata schema. Without them (apt-get install libxml2-utils
// simplesamlphp) it skips loudly, unless CI is set.
func validateMetadataSchema(t *testing.T, doc []byte) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err == nil {
		_, err = os.Stat(metadataSchema)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("xmllint and %s are required in CI: %v", metadataSchema, err)
		}
		t.Skipf("SKIPPING SCHEMA CHECK: %v; install libxml2-utils and simplesamlphp", err)
	}
	f := writeFile(t, "md.xml", doc)
	out, err := exec.Command(bin, "--noout", "--nonet", "--schema", metadataSchema, f).CombinedOutput()
	require.NoError(t, err, "xmllint: %s", out)
}
