package saml2sp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

const (
	testSPEntityID  = "https://sp.example.com/saml/metadata"
	testACSURL      = "https://sp.example.com/saml/acs"
	testIdPEntityID = "https://idp.example.org/metadata"
	testRequestID   = "_req-1"
)

// testNow is the fixed time every test runs at.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testIdPKey is generated once per test binary: RSA key generation was
// most of the suite's time. Tests that need an IdP the SP must not trust
// make their own with saml2sptest.NewIdP.
var testIdPKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// newTestIdP returns the test IdP (shared key, fresh certificate) at testNow.
func newTestIdP(t testing.TB) *saml2sptest.IdP {
	t.Helper()
	key, err := testIdPKey()
	require.NoError(t, err)
	cert, err := saml2sptest.NewCertificate(key, time.Now().Add(-time.Hour), time.Now().AddDate(10, 0, 0))
	require.NoError(t, err)
	idp := saml2sptest.NewIdPWithKey(testIdPEntityID, key, cert)
	idp.Clock = func() time.Time { return testNow }
	return idp
}

// testEnv is one IdP and one SP that trusts it, both at testNow.
type testEnv struct {
	t   testing.TB
	idp *saml2sptest.IdP
	cfg saml2sp.Config
	sp  *saml2sp.SP
}

func newTestEnv(t testing.TB, mods ...func(*saml2sp.Config)) *testEnv {
	t.Helper()
	idp := newTestIdP(t)
	cfg := saml2sp.Config{
		EntityID: testSPEntityID,
		ACSURL:   testACSURL,
		IdP:      idp.IdentityProvider(),
		Clock:    func() time.Time { return testNow },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, m := range mods {
		m(&cfg)
	}
	sp, err := saml2sp.New(cfg)
	require.NoError(t, err)
	return &testEnv{t: t, idp: idp, cfg: cfg, sp: sp}
}

// response returns the default solicited Response, changed by mods.
func (e *testEnv) response(mods ...func(*saml2sptest.Response)) saml2sptest.Response {
	r := saml2sptest.Response{
		Destination:  testACSURL,
		Audience:     testSPEntityID,
		InResponseTo: testRequestID,
		Attributes: []saml2sp.Attribute{
			{Name: "mail", Values: []string{"alice@example.com"}},
			{Name: "groups", Values: []string{"users", "Dogs & cats"}},
		},
	}
	for _, m := range mods {
		m(&r)
	}
	return r
}

// mintXML returns the signed Response document for r.
func (e *testEnv) mintXML(r saml2sptest.Response) *etree.Document {
	e.t.Helper()
	b, err := e.idp.ResponseXML(r)
	require.NoError(e.t, err)
	doc := etree.NewDocument()
	require.NoError(e.t, doc.ReadFromBytes(b))
	return doc
}

// mint returns the form value for r.
func (e *testEnv) mint(r saml2sptest.Response) string {
	e.t.Helper()
	s, err := e.idp.Response(r)
	require.NoError(e.t, err)
	return s
}

func (e *testEnv) parse(formValue string) (*saml2sp.Assertion, error) {
	return e.sp.ParseResponse(context.Background(), formValue, []string{testRequestID})
}

func encodeDoc(t *testing.T, doc *etree.Document) string {
	t.Helper()
	b, err := doc.WriteToBytes()
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}
