package main

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
)

// The root package's interop fixtures (testdata/xmlsec1 and
// testdata/xmlenc, see their README.md): verify must reach ParseResponse's
// verdict on every one of them, as configured and misconfigured.

type fixtureSetup struct {
	SP struct {
		EntityID  string    `json:"entityID"`
		ACSURL    string    `json:"acsURL"`
		RequestID string    `json:"requestID"`
		Now       time.Time `json:"now"`
	} `json:"sp"`
	IdP struct {
		EntityID     string   `json:"entityID"`
		Certificates []string `json:"certificates"`
	} `json:"idp"`
	Fixtures []struct {
		Name         string `json:"name"`
		File         string `json:"file"`
		IdPInitiated bool   `json:"idpInitiated"`
		NameID       string `json:"nameID"`
	} `json:"fixtures"`
}

type fixtureEnv struct {
	setup    fixtureSetup
	certs    []*x509.Certificate
	metadata string
}

func loadFixtures(t *testing.T) *fixtureEnv {
	t.Helper()
	env := &fixtureEnv{}
	require.NoError(t, json.Unmarshal(readFixture(t, "xmlsec1/expected.json"), &env.setup))
	require.NotEmpty(t, env.setup.Fixtures)
	for _, c := range env.setup.IdP.Certificates {
		env.certs = append(env.certs, readCert(t, filepath.Join(testdata, "xmlsec1", c)))
	}
	// The checked-in metadata (the README's examples use it) trusts
	// exactly the fixtures' IdP certificates.
	env.metadata = "testdata/fixture-idp-metadata.xml"
	data, err := os.ReadFile(env.metadata)
	require.NoError(t, err)
	idp, err := saml2sp.ParseMetadata(data)
	require.NoError(t, err)
	require.Equal(t, env.setup.IdP.EntityID, idp.EntityID)
	require.Len(t, idp.Certificates, len(env.certs))
	for i, c := range env.certs {
		require.True(t, c.Equal(idp.Certificates[i]), "certificate %d", i)
	}
	return env
}

// fixtureVariant is one way of configuring the SP, in flags and in Config.
type fixtureVariant struct {
	name string
	// flags replace the defaults (the fixtures' values) they name.
	entityID, acsURL string
	noNow            bool
	noRequestID      bool
	allowIdPInit     bool // on top of what the fixture needs
	keys             []string
	cert             string
	tamper           func(t *testing.T, doc string) string
	// accept and refuse guard the case itself: ParseResponse must accept,
	// or refuse, under this variant.
	accept, refuse bool
}

// run checks one fixture under one variant, with ParseResponse and with
// verify, and compares.
func (env *fixtureEnv) run(t *testing.T, doc []byte, idpInitiated bool, v fixtureVariant) {
	t.Helper()
	s := env.setup.SP
	entityID, acs := s.EntityID, s.ACSURL
	if v.entityID != "" {
		entityID = v.entityID
	}
	if v.acsURL != "" {
		acs = v.acsURL
	}
	x := string(doc)
	if v.tamper != nil {
		x = v.tamper(t, x)
		require.NotEqual(t, string(doc), x)
	}
	value := base64.StdEncoding.EncodeToString([]byte(x))

	args := []string{"verify", "--json", "--idp-metadata", env.metadata, "--sp-entity-id", entityID, "--acs-url", acs}
	cfg := saml2sp.Config{
		EntityID: entityID, ACSURL: acs,
		IdP:    &saml2sp.IdentityProvider{EntityID: env.setup.IdP.EntityID, Certificates: env.certs},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if !v.noNow {
		now := s.Now
		cfg.Clock = func() time.Time { return now }
		args = append(args, "--now", now.Format(time.RFC3339))
	}
	var requestIDs []string
	if !v.noRequestID {
		requestIDs = []string{s.RequestID}
		args = append(args, "--request-id", s.RequestID)
	}
	if idpInitiated || v.allowIdPInit {
		cfg.AllowIdPInitiated = true
		args = append(args, "--allow-idp-initiated")
	}
	for i, k := range v.keys {
		args = append(args, "--sp-key", filepath.Join(testdata, "xmlenc", k+"-key.pem"))
		pair, err := saml2sp.LoadKeyPair(filepath.Join(testdata, "xmlenc", k+"-cert.pem"), filepath.Join(testdata, "xmlenc", k+"-key.pem"))
		require.NoError(t, err)
		if i == 0 && v.cert != "" {
			cfg.Key, cfg.Certificate = pair.Key, pair.Certificate
			continue
		}
		cfg.PreviousKeys = append(cfg.PreviousKeys, pair.Key.(crypto.Decrypter))
	}
	if v.cert != "" {
		args = append(args, "--sp-cert", filepath.Join(testdata, "xmlenc", v.cert+"-cert.pem"))
	}
	sp, err := saml2sp.New(cfg)
	require.NoError(t, err)
	libErr := parse(sp, value, requestIDs)
	if v.accept {
		require.NoError(t, libErr, "the case itself")
	}
	if v.refuse {
		require.Error(t, libErr, "the case itself")
	}

	code, out, stderr := cli(t, value, args...)
	require.Empty(t, stderr)
	reports := readReports(t, out)
	require.Len(t, reports, 1)
	// Without --now the two read the clock at different instants, which
	// the error text may name.
	sameVerdict(t, libErr, code, reports[0], !v.noNow)
}

func TestVerifyXMLSec1Fixtures(t *testing.T) {
	env := loadFixtures(t)
	for _, fx := range env.setup.Fixtures {
		doc := readFixture(t, filepath.Join("xmlsec1", fx.File))
		variants := []fixtureVariant{
			{name: "as configured", accept: true},
			{name: "clock of today", noNow: true, refuse: true},
			{name: "wrong audience", entityID: "https://other.example.com/saml/metadata", refuse: true},
			{name: "wrong ACS", acsURL: "https://sp.example.com/other/acs", refuse: true},
			{name: "no request ID", noRequestID: true, refuse: !fx.IdPInitiated},
			{name: "tampered NameID", refuse: true, tamper: func(t *testing.T, d string) string {
				require.Contains(t, d, fx.NameID)
				return strings.Replace(d, fx.NameID, "x"+fx.NameID, 1)
			}},
		}
		for _, v := range variants {
			t.Run(fx.Name+"/"+v.name, func(t *testing.T) { env.run(t, doc, fx.IdPInitiated, v) })
		}
	}
}

func TestVerifyXMLEncFixtures(t *testing.T) {
	env := loadFixtures(t)
	files, err := filepath.Glob(filepath.Join(testdata, "xmlenc", "*.xml"))
	require.NoError(t, err)
	n := 0
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "template-") {
			continue
		}
		n++
		doc, err := os.ReadFile(f)
		require.NoError(t, err)
		refused := strings.HasPrefix(name, "refused-")
		own := []string{"sp"}
		if name == "encrypted-previous-key.xml" {
			own = []string{"sp", "sp2"}
		}
		variants := []fixtureVariant{
			{name: "key and certificate", keys: own, cert: "sp", accept: !refused, refuse: refused},
			{name: "keys without certificate", keys: own},
			{name: "the other key only", keys: []string{"sp2"}, cert: "sp2"},
			{name: "no key", keys: nil, refuse: true},
			{name: "clock of today", keys: own, cert: "sp", noNow: true, refuse: true},
			{name: "tampered ciphertext", keys: own, cert: "sp", refuse: true, tamper: func(t *testing.T, d string) string {
				cipherValue := regexp.MustCompile(`(<(?:xenc:)?CipherValue>)([A-Za-z0-9+/])`)
				return cipherValue.ReplaceAllStringFunc(d, func(m string) string {
					last := m[len(m)-1]
					repl := byte('A')
					if last == 'A' {
						repl = 'B'
					}
					return m[:len(m)-1] + string(repl)
				})
			}},
		}
		for _, v := range variants {
			t.Run(name+"/"+v.name, func(t *testing.T) { env.run(t, doc, false, v) })
		}
	}
	assert.GreaterOrEqual(t, n, 16, "the xmlenc fixtures")
}
