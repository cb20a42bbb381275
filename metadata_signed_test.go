package saml2sp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mdSigner is a federation's metadata signing key.
type mdSigner struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newMDSigner(t testing.TB, cn string) mdSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return mdSigner{key: key, cert: cert}
}

// sign returns doc with an enveloped signature on its document element,
// as federations sign aggregates: the Signature first, referencing the
// element's ID, exclusive c14n, RSA-SHA256 (hash selects SHA-1 instead).
func (s mdSigner) sign(t testing.TB, doc string, hash crypto.Hash) string {
	t.Helper()
	d := etree.NewDocument()
	require.NoError(t, d.ReadFromString(doc))
	root := d.Root()
	if root.SelectAttr("ID") == nil {
		root.CreateAttr("ID", "_fed1")
	}
	ctx, err := dsig.NewSigningContext(s.key, [][]byte{s.cert.Raw})
	require.NoError(t, err)
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	ctx.Hash = hash
	sig, err := ctx.ConstructSignature(root.Copy(), true)
	require.NoError(t, err)
	root.InsertChildAt(0, sig)
	out, err := d.WriteToString()
	require.NoError(t, err)
	return out
}

// mdUnsignedFixture is the three-IdP aggregate without its placeholder
// signature.
func mdUnsignedFixture(t testing.TB) string {
	t.Helper()
	d := etree.NewDocument()
	require.NoError(t, d.ReadFromBytes(mdReadFixture(t, "entities-3-idps.xml")))
	d.Root().RemoveChild(d.Root().SelectElement("Signature"))
	s, err := d.WriteToString()
	require.NoError(t, err)
	return s
}

func mdEntityIDs(idps []*IdentityProvider) []string {
	var ids []string
	for _, idp := range idps {
		ids = append(ids, idp.EntityID)
	}
	return ids
}

func TestParseSignedMetadata(t *testing.T) {
	fed, other := newMDSigner(t, "federation"), newMDSigner(t, "attacker")
	unsigned := mdUnsignedFixture(t)
	want, err := ParseMetadataEntities([]byte(unsigned))
	require.NoError(t, err)
	signed := fed.sign(t, unsigned, crypto.SHA256)
	cert, _ := mdTestCert(t, "idp")
	single := fed.sign(t, mdBaseDoc(cert), crypto.SHA256)
	pin := MetadataSigners(fed.cert)

	t.Run("genuine aggregate", func(t *testing.T) {
		got, err := ParseMetadataEntities([]byte(signed), pin)
		require.NoError(t, err)
		assert.Equal(t, want, got, "the same IdPs as read unsigned, validity inherited from the signed aggregate")
		idp, err := ParseMetadataEntity([]byte(signed), "https://sso.college-c.example/idp", pin)
		require.NoError(t, err)
		assert.Equal(t, 6*time.Hour, idp.CacheDuration)
	})
	t.Run("genuine single entity", func(t *testing.T) {
		idp, err := ParseMetadata([]byte(single), pin)
		require.NoError(t, err)
		assert.Equal(t, "https://idp.example.com/metadata", idp.EntityID)
	})
	t.Run("pinned during a signer rollover", func(t *testing.T) {
		_, err := ParseMetadataEntities([]byte(signed), MetadataSigners(other.cert, fed.cert))
		require.NoError(t, err)
	})
	t.Run("the signature is ignored without a pin", func(t *testing.T) {
		got, err := ParseMetadataEntities([]byte(signed))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})

	tampered := strings.Replace(signed, "https://idp.uni-a.example/idp/profile/SAML2/Redirect/SSO", "https://evil.example/sso", 1)
	require.NotEqual(t, signed, tampered)
	evil := mdEntityOf(mdWithEntityID(mdBaseDoc(cert), "https://evil.example/idp"))
	evil = strings.Replace(evil, `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`, `<md:EntityDescriptor`, 1)
	extraInside := strings.Replace(signed, "</md:EntitiesDescriptor>", evil+"</md:EntitiesDescriptor>", 1)
	rootOpen := signed[strings.Index(signed, "<md:EntitiesDescriptor"):]
	rootOpen = rootOpen[:strings.Index(rootOpen, ">")+1]
	body := signed[strings.Index(signed, "<md:EntitiesDescriptor"):]
	wrapper := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="_wrap">`
	sigStart, sigEnd := strings.Index(body, "<ds:Signature"), strings.Index(body, "</ds:Signature>")+len("</ds:Signature>")
	for _, tc := range []struct {
		name string
		doc  string
		opts []MetadataOption
		want string
	}{
		{name: "entity changed after signing", doc: tampered, want: "changed after it was signed"},
		{name: "signed by another key", doc: other.sign(t, unsigned, crypto.SHA256), want: "signed by none of the 1 pinned certificate(s) (SHA-256 " + mdFingerprint(fed.cert)},
		{name: "unsigned", doc: unsigned, want: "the document is not signed"},
		{name: "SHA-1", doc: fed.sign(t, unsigned, crypto.SHA1), want: "SHA-1"},
		{name: "nil signer", doc: signed, opts: []MetadataOption{MetadataSigners(nil)}, want: "certificate 0 is nil"},
		{name: "wrapping: an unsigned entity added inside the signed aggregate", doc: extraInside, want: "changed after it was signed"},
		{name: "wrapping: the signed aggregate inside an unsigned one, next to an entity",
			doc: mdXMLDecl + wrapper + evil + body + "</md:EntitiesDescriptor>", want: "the document is not signed"},
		{name: "wrapping: the signature moved up to a new document element",
			doc:  mdXMLDecl + wrapper + body[sigStart:sigEnd] + evil + rootOpen + body[len(rootOpen):sigStart] + body[sigEnd:] + "</md:EntitiesDescriptor>",
			want: `does not point at the signed element #_wrap`},
		{name: "wrapping: a second document element", doc: signed + evil, want: "invalid XML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts == nil {
				opts = []MetadataOption{pin}
			}
			idps, err := ParseMetadataEntities([]byte(tc.doc), opts...)
			require.ErrorIs(t, err, ErrMetadata, "accepted: %v", mdEntityIDs(idps))
			assert.Contains(t, err.Error(), tc.want)
			_, err = ParseMetadataEntity([]byte(tc.doc), "https://evil.example/idp", opts...)
			require.ErrorIs(t, err, ErrMetadata, "the added entity must never be picked")
		})
	}
}

// TestParseSignedMetadataXMLSec1: an aggregate signed by xmlsec1, the
// reference implementation federations' tools build on, verifies.
func TestParseSignedMetadataXMLSec1(t *testing.T) {
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("xmlsec1 is required in CI (apt-get install xmlsec1): %v", err)
		}
		t.Skip("SKIPPING INTEROP CHECK: xmlsec1 not found; install it (apt-get install xmlsec1)")
	}
	fed := newMDSigner(t, "federation")
	const template = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
		`<ds:Reference URI="#_fed-20261125T000000Z"><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
		`</ds:SignedInfo><ds:SignatureValue/></ds:Signature>`
	unsigned := mdUnsignedFixture(t)
	open := unsigned[strings.Index(unsigned, "<md:EntitiesDescriptor"):]
	at := len(unsigned) - len(open) + strings.Index(open, ">") + 1
	dir := t.TempDir()
	keyFile, in, out := filepath.Join(dir, "fed.key"), filepath.Join(dir, "in.xml"), filepath.Join(dir, "out.xml")
	der, err := x509.MarshalPKCS8PrivateKey(fed.key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(in, []byte(unsigned[:at]+template+unsigned[at:]), 0o600))
	msg, err := exec.Command(bin, "--sign", "--privkey-pem", keyFile,
		"--id-attr:ID", mdNamespace+":EntitiesDescriptor", "--output", out, in).CombinedOutput()
	require.NoError(t, err, string(msg))
	signed, err := os.ReadFile(out)
	require.NoError(t, err)

	idps, err := ParseMetadataEntities(signed, MetadataSigners(fed.cert))
	require.NoError(t, err)
	assert.Len(t, idps, 3)
	_, err = ParseMetadataEntities([]byte(strings.Replace(string(signed), "University A", "University Z", 1)), MetadataSigners(fed.cert))
	require.ErrorContains(t, err, "changed after it was signed", "a change anywhere in the aggregate, even in UI names, is refused")
}

// TestFetchSignedMetadata: with MetadataSigners, FetchMetadataEntity reads
// one IdP of a signed aggregate, over plain http too, since trust then
// rests on the signature; without it, plain http off this machine is
// refused as before.
func TestFetchSignedMetadata(t *testing.T) {
	fed := newMDSigner(t, "federation")
	signed := fed.sign(t, mdUnsignedFixture(t), crypto.SHA256)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write([]byte(signed))
	}))
	defer srv.Close()
	// fed.example.org is routed to the test server: no DNS, no network.
	var d net.Dialer
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}}}
	const url, id = "http://fed.example.org/metadata.xml", "https://login.uni-b.example/simplesaml/saml2/idp/metadata.php"

	idp, err := FetchMetadataEntity(context.Background(), client, url, id, MetadataSigners(fed.cert))
	require.NoError(t, err)
	assert.Equal(t, id, idp.EntityID)

	_, err = FetchMetadataEntity(context.Background(), client, url, id)
	require.ErrorIs(t, err, ErrMetadata)
	assert.Contains(t, err.Error(), "is plain http")

	_, err = FetchMetadataEntity(context.Background(), client, url, id, MetadataSigners(newMDSigner(t, "other").cert))
	require.ErrorContains(t, err, "signed by none of the 1 pinned certificate(s)")

	_, err = FetchMetadataEntity(context.Background(), client, url, id, MetadataSigners(fed.cert), MetadataMaxSize(len(signed)-1))
	require.ErrorContains(t, err, "exceeds the")
	_, err = FetchMetadataEntity(context.Background(), client, url, id, MetadataSigners(fed.cert), MetadataMaxSize(0))
	require.ErrorContains(t, err, "MetadataMaxSize(0): the size must be positive")
}
