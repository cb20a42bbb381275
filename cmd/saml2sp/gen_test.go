package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// genEnv is a test IdP (saml2sptest) and the SP that trusts it, with the
// IdP's metadata in a file for verify.
type genEnv struct {
	idp              *saml2sptest.IdP
	metadata         string
	spID, acs        string
	now              time.Time
	spCert, spKey    string // an SP key pair, as keygen writes it
	otherKey         string // another SP key
	spPair, otherSPK *saml2sp.KeyPair
}

func newGenEnv(t *testing.T) *genEnv {
	t.Helper()
	idp, err := saml2sptest.NewIdP("https://idp.test.example/metadata")
	require.NoError(t, err)
	g := &genEnv{
		idp:  idp,
		spID: "https://sp.test.example/saml/metadata",
		acs:  "https://sp.test.example/saml/acs",
		now:  time.Now().UTC().Truncate(time.Second),
	}
	idp.Clock = func() time.Time { return g.now }
	g.metadata = writeFile(t, "idp.xml", idp.Metadata())
	dir := t.TempDir()
	g.spPair, err = saml2sp.GenerateKeyPair(g.spID, time.Hour)
	require.NoError(t, err)
	g.spCert, g.spKey = filepath.Join(dir, "sp-cert.pem"), filepath.Join(dir, "sp-key.pem")
	require.NoError(t, g.spPair.WriteFiles(g.spCert, g.spKey))
	g.otherSPK, err = saml2sp.GenerateKeyPair(g.spID, time.Hour)
	require.NoError(t, err)
	g.otherKey = filepath.Join(dir, "other-key.pem")
	require.NoError(t, g.otherSPK.WriteFiles(filepath.Join(dir, "other-cert.pem"), g.otherKey))
	return g
}

// verifyArgs are the flags that configure the SP, then extra.
func (g *genEnv) verifyArgs(extra ...string) []string {
	return append([]string{"verify", "--idp-metadata", g.metadata, "--sp-entity-id", g.spID, "--acs-url", g.acs,
		"--now", g.now.Format(time.RFC3339)}, extra...)
}

// sp is the library SP that verify's flags describe, changed by mutate.
func (g *genEnv) sp(t *testing.T, mutate func(*saml2sp.Config)) *saml2sp.SP {
	t.Helper()
	cfg := saml2sp.Config{
		EntityID: g.spID, ACSURL: g.acs, IdP: g.idp.IdentityProvider(),
		Clock:  func() time.Time { return g.now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	sp, err := saml2sp.New(cfg)
	require.NoError(t, err)
	return sp
}

// jsonReport is verify --json's output, read back.
type jsonReport struct {
	Message    int    `json:"message"`
	Input      string `json:"input"`
	Source     string `json:"source"`
	Now        string `json:"now"`
	Accepted   bool   `json:"accepted"`
	Error      string `json:"error"`
	ErrorClass string `json:"error_class"`
	Checks     []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"checks"`
	Claims struct {
		Verified  bool   `json:"verified"`
		Issuer    string `json:"issuer"`
		Encrypted bool   `json:"encrypted"`
		Assertion *struct {
			NameID string
		} `json:"assertion"`
	} `json:"claims"`
	Identity *struct {
		Mapping  string `json:"mapping"`
		Verified bool   `json:"verified"`
		Identity *struct {
			UserID string `json:"user_id"`
			Email  string `json:"email"`
		} `json:"identity"`
		Error string `json:"error"`
	} `json:"identity"`
	Hints []string `json:"hints"`
	Log   []string `json:"log"`
}

// readReports decodes the JSON objects verify printed, one per Response.
func readReports(t *testing.T, out string) []jsonReport {
	t.Helper()
	var reports []jsonReport
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r jsonReport
		require.NoError(t, dec.Decode(&r), "output:\n%s", out)
		reports = append(reports, r)
	}
	return reports
}

// sameVerdict asserts that verify's exit status and report match what
// ParseResponse returned.
func sameVerdict(t *testing.T, libErr error, code int, r jsonReport, exactError bool) {
	t.Helper()
	if libErr == nil {
		assert.Equal(t, 0, code, "exit status; verify said: %s", r.Error)
		assert.True(t, r.Accepted)
		assert.Empty(t, r.Error)
		assert.Empty(t, r.ErrorClass)
		return
	}
	assert.Equal(t, 1, code, "exit status; ParseResponse said: %v", libErr)
	assert.False(t, r.Accepted)
	assert.Equal(t, saml2sp.ErrorClass(libErr), r.ErrorClass)
	if exactError {
		assert.Equal(t, libErr.Error(), r.Error)
	}
	failed := 0
	for _, ck := range r.Checks {
		if ck.Status == string(saml2sp.CheckFailed) {
			failed++
		}
	}
	assert.LessOrEqual(t, failed, 1, "at most one check fails")
}

// TestVerifyGenerated: verify reaches ParseResponse's verdict, error and
// error class on Responses from the test IdP, accepted and refused.
func TestVerifyGenerated(t *testing.T) {
	g := newGenEnv(t)
	base := saml2sptest.Response{Destination: g.acs, Audience: g.spID, InResponseTo: "_req1"}
	with := func(edit func(*saml2sptest.Response)) saml2sptest.Response {
		r := base
		edit(&r)
		return r
	}
	cases := []struct {
		name       string
		resp       saml2sptest.Response
		tamper     func(string) string // changes the XML after signing
		flags      []string
		cfg        func(*saml2sp.Config)
		requestIDs []string
		class      string // the expected class ("" accepted), a guard on the case itself
	}{
		{name: "accepted", resp: base, flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}},
		{name: "accepted, two request IDs", resp: base, flags: []string{"--request-id", "_other", "--request-id", "_req1"}, requestIDs: []string{"_other", "_req1"}},
		{name: "accepted, both signed", resp: with(func(r *saml2sptest.Response) { r.Sign = saml2sptest.SignBoth }), flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}},
		{name: "expired", resp: with(func(r *saml2sptest.Response) { r.IssueInstant = g.now.Add(-time.Hour) }), flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}, class: "expired"},
		{name: "not yet valid", resp: with(func(r *saml2sptest.Response) { r.IssueInstant = g.now.Add(2 * time.Minute) }), flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}, class: "not_yet_valid"},
		{name: "within a wider clock skew", resp: with(func(r *saml2sptest.Response) { r.IssueInstant = g.now.Add(2 * time.Minute) }),
			flags: []string{"--request-id", "_req1", "--clock-skew", "3m"}, requestIDs: []string{"_req1"}, cfg: func(c *saml2sp.Config) { c.ClockSkew = 3 * time.Minute }},
		{name: "tampered", resp: base, tamper: func(x string) string { return strings.Replace(x, "alice@example.com", "mallory@example.com", 1) },
			flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}, class: "signature"},
		{name: "wrong audience", resp: with(func(r *saml2sptest.Response) { r.Audience = "https://other.example.com/" }), flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}, class: "audience"},
		{name: "wrong destination", resp: with(func(r *saml2sptest.Response) { r.Destination = "https://other.example.com/acs" }), flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}, class: "destination"},
		{name: "unknown request", resp: base, flags: []string{"--request-id", "_other"}, requestIDs: []string{"_other"}, class: "in_response_to"},
		{name: "no request given", resp: base, class: "in_response_to"},
		{name: "IdP-initiated refused", resp: with(func(r *saml2sptest.Response) { r.InResponseTo = "" }), class: "unsolicited"},
		{name: "IdP-initiated allowed", resp: with(func(r *saml2sptest.Response) { r.InResponseTo = "" }), flags: []string{"--allow-idp-initiated"},
			cfg: func(c *saml2sp.Config) { c.AllowIdPInitiated = true }},
		{name: "unsigned", resp: with(func(r *saml2sptest.Response) { r.Sign = saml2sptest.SignNone }), flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}, class: "signature"},
		{name: "SHA-1 refused", resp: with(func(r *saml2sptest.Response) { r.SignatureAlgorithm, r.DigestAlgorithm = "rsa-sha1", "sha1" }),
			flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}, class: "signature"},
		{name: "SHA-1 allowed", resp: with(func(r *saml2sptest.Response) { r.SignatureAlgorithm, r.DigestAlgorithm = "rsa-sha1", "sha1" }),
			flags: []string{"--request-id", "_req1", "--insecure-allow-sha1"}, requestIDs: []string{"_req1"}, cfg: func(c *saml2sp.Config) { c.InsecureAllowSHA1 = true }},
		{name: "IdP status", resp: with(func(r *saml2sptest.Response) { r.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder" }), flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}, class: "idp_status"},
		{name: "encrypted, key and certificate", resp: with(func(r *saml2sptest.Response) { r.Encrypt = g.spPair.Certificate }),
			flags: []string{"--request-id", "_req1", "--sp-key", g.spKey, "--sp-cert", g.spCert}, requestIDs: []string{"_req1"},
			cfg: func(c *saml2sp.Config) { c.Key, c.Certificate = g.spPair.Key, g.spPair.Certificate }},
		{name: "encrypted, key only", resp: with(func(r *saml2sptest.Response) { r.Encrypt = g.spPair.Certificate }),
			flags: []string{"--request-id", "_req1", "--sp-key", g.spKey}, requestIDs: []string{"_req1"},
			cfg: func(c *saml2sp.Config) { c.PreviousKeys = []crypto.Decrypter{g.spPair.Key.(crypto.Decrypter)} }},
		{name: "encrypted, wrong key", resp: with(func(r *saml2sptest.Response) { r.Encrypt = g.spPair.Certificate }),
			flags: []string{"--request-id", "_req1", "--sp-key", g.otherKey}, requestIDs: []string{"_req1"},
			cfg: func(c *saml2sp.Config) { c.PreviousKeys = []crypto.Decrypter{g.otherSPK.Key.(crypto.Decrypter)} }, class: "decryption"},
		// The EncryptedKey for this SP follows one for another recipient and
		// names its certificate only by issuer and serial number: found with
		// the certificate; without it, the key tries the first EncryptedKey.
		{name: "encrypted, named by issuer and serial, with the certificate", resp: with(func(r *saml2sptest.Response) {
			r.Encrypt, r.EditResponse = g.spPair.Certificate, g.secondRecipient
		}),
			flags: []string{"--request-id", "_req1", "--sp-key", g.spKey, "--sp-cert", g.spCert}, requestIDs: []string{"_req1"},
			cfg: func(c *saml2sp.Config) { c.Key, c.Certificate = g.spPair.Key, g.spPair.Certificate }},
		{name: "encrypted, named by issuer and serial, key only", resp: with(func(r *saml2sptest.Response) {
			r.Encrypt, r.EditResponse = g.spPair.Certificate, g.secondRecipient
		}),
			flags: []string{"--request-id", "_req1", "--sp-key", g.spKey}, requestIDs: []string{"_req1"},
			cfg: func(c *saml2sp.Config) { c.PreviousKeys = []crypto.Decrypter{g.spPair.Key.(crypto.Decrypter)} }, class: "decryption"},
		{name: "encrypted, no key", resp: with(func(r *saml2sptest.Response) { r.Encrypt = g.spPair.Certificate }),
			flags: []string{"--request-id", "_req1"}, requestIDs: []string{"_req1"}, class: "unsupported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			value := formValue(t, g.idp, c.resp, c.tamper)
			libErr := parse(g.sp(t, c.cfg), value, c.requestIDs)
			require.Equal(t, c.class, saml2sp.ErrorClass(libErr), "the case itself: ParseResponse said %v", libErr)

			code, out, stderr := cli(t, value, g.verifyArgs(append([]string{"--json"}, c.flags...)...)...)
			require.Empty(t, stderr)
			reports := readReports(t, out)
			require.Len(t, reports, 1)
			sameVerdict(t, libErr, code, reports[0], true)
			if libErr == nil {
				assert.True(t, reports[0].Claims.Verified, "an accepted Response's claims are verified")
			}

			// The text report reaches the same verdict.
			code2, text, _ := cli(t, value, g.verifyArgs(c.flags...)...)
			assert.Equal(t, code, code2)
			if libErr == nil {
				assert.Contains(t, text, "Result: ACCEPTED")
				assert.Contains(t, text, "What the Response says: VERIFIED")
			} else {
				assert.Contains(t, text, fmt.Sprintf("Result: REFUSED (error class %q)", c.class))
				assert.Contains(t, text, libErr.Error())
			}
			if reports[0].Claims.Verified {
				assert.Contains(t, text, "What the Response says: VERIFIED")
			} else {
				assert.Contains(t, text, "What the Response says: NOT VERIFIED")
			}
		})
	}
}

// secondRecipient edits a Response encrypted for the SP's certificate: its
// EncryptedKey names the certificate by issuer and serial number only, and
// follows an EncryptedKey for the other SP certificate (with a content key
// the SP's key cannot decrypt).
func (g *genEnv) secondRecipient(resp *etree.Element) {
	ek := resp.FindElement(".//EncryptedKey")
	nameByIssuerSerial(ek, g.spPair.Certificate)
	other := ek.Copy()
	nameByIssuerSerial(other, g.otherSPK.Certificate)
	other.FindElement(".//CipherValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 256)))
	ek.Parent().InsertChildAt(ek.Index(), other)
}

func nameByIssuerSerial(ek *etree.Element, c *x509.Certificate) {
	for _, xd := range ek.FindElements("./KeyInfo/X509Data") {
		for _, ch := range xd.ChildElements() {
			xd.RemoveChild(ch)
		}
		is := xd.CreateElement("ds:X509IssuerSerial")
		is.CreateElement("ds:X509IssuerName").SetText(c.Issuer.String())
		is.CreateElement("ds:X509SerialNumber").SetText(c.SerialNumber.String())
	}
}

// formValue is the SAMLResponse form value of r, with tamper applied to
// the XML.
func formValue(t *testing.T, idp *saml2sptest.IdP, r saml2sptest.Response, tamper func(string) string) string {
	t.Helper()
	x, err := idp.ResponseXML(r)
	require.NoError(t, err)
	s := string(x)
	if tamper != nil {
		s = tamper(s)
		require.NotEqual(t, string(x), s, "the tamper changed nothing")
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

func parse(sp *saml2sp.SP, value string, requestIDs []string) error {
	_, err := sp.ParseResponse(context.Background(), value, requestIDs)
	return err
}
