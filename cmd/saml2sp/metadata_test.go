package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// TestMetadataCheckFixtures: metadata check agrees with the library on
// every metadata fixture, and lists its IdPs and their certificates.
func TestMetadataCheckFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdata, "metadata", "*.xml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			idps, libErr := saml2sp.ParseMetadataEntities(data)
			code, out, stderr := cli(t, "", "metadata", "check", f)
			require.Empty(t, stderr)
			if libErr != nil {
				assert.Equal(t, 1, code)
				assert.Contains(t, out, "REFUSED by saml2sp: "+libErr.Error())
				return
			}
			assert.Equal(t, 0, code)
			assert.Contains(t, out, fmt.Sprintf("Accepted by saml2sp: %s.", plural(len(idps), "identity provider")))
			for _, idp := range idps {
				assert.Contains(t, out, "Identity provider "+idp.EntityID+" (as the library reads it)")
				for _, ep := range idp.SingleSignOnServices {
					assert.Contains(t, out, ep.Location)
				}
				for _, c := range idp.Certificates {
					assert.Contains(t, out, "SHA-256 "+fingerprint(c))
				}
			}
		})
	}
}

// mdCert makes a self-signed certificate with an RSA key of bits.
func mdCert(t *testing.T, bits int, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(t, err)
	c, err := saml2sptest.NewCertificate(key, notBefore, notAfter)
	require.NoError(t, err)
	return c
}

type mdOptions struct {
	signing, encryption []*x509.Certificate
	sso                 string
	validUntil          time.Time
	extensions          string
	root                string // "" or "SP" for an SP-only entity
}

func mdDocument(o mdOptions) []byte {
	var b strings.Builder
	validUntil := ""
	if !o.validUntil.IsZero() {
		validUntil = fmt.Sprintf(` validUntil="%s"`, o.validUntil.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" `+
		`xmlns:alg="urn:oasis:names:tc:SAML:metadata:algsupport" entityID="https://idp.crafted.example/"%s>`, validUntil)
	if o.extensions != "" {
		b.WriteString("<md:Extensions>" + o.extensions + "</md:Extensions>")
	}
	role := "IDPSSODescriptor"
	if o.root == "SP" {
		role = "SPSSODescriptor"
	}
	fmt.Fprintf(&b, `<md:%s protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`, role)
	for use, certs := range map[string][]*x509.Certificate{"signing": o.signing, "encryption": o.encryption} {
		for _, c := range certs {
			fmt.Fprintf(&b, `<md:KeyDescriptor use="%s"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
				use, base64.StdEncoding.EncodeToString(c.Raw))
		}
	}
	sso := o.sso
	if sso == "" {
		sso = "https://idp.crafted.example/sso"
	}
	if o.root == "SP" {
		fmt.Fprintf(&b, `<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s" index="1"/>`, sso)
	} else {
		fmt.Fprintf(&b, `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>`, sso)
	}
	fmt.Fprintf(&b, `</md:%s></md:EntityDescriptor>`, role)
	return []byte(b.String())
}

// TestMetadataCheckWarnings: each weakness gets its warning, and a sound
// document none.
func TestMetadataCheckWarnings(t *testing.T) {
	now := time.Now()
	good := mdCert(t, 2048, now.Add(-time.Hour), now.AddDate(5, 0, 0))
	cases := []struct {
		name string
		opts mdOptions
		code int
		want []string
	}{
		{name: "sound", opts: mdOptions{signing: []*x509.Certificate{good}}, want: []string{"No warnings."}},
		{name: "RSA-1024", opts: mdOptions{signing: []*x509.Certificate{mdCert(t, 1024, now.Add(-time.Hour), now.AddDate(5, 0, 0))}},
			want: []string{"RSA 1024 bits", "its RSA key has 1024 bits, under 2048"}},
		{name: "expired signing certificate", opts: mdOptions{signing: []*x509.Certificate{mdCert(t, 2048, now.AddDate(-3, 0, 0), now.AddDate(0, 0, -3))}},
			want: []string{"(EXPIRED 3 days ago)", "expired on " + stamp(now.AddDate(0, 0, -3).Truncate(time.Second)), "RejectExpiredCertificates"}},
		{name: "expiring certificate", opts: mdOptions{signing: []*x509.Certificate{mdCert(t, 2048, now.AddDate(-1, 0, 0), now.AddDate(0, 0, 10))}},
			want: []string{"expires in 9 days", "make sure the IdP publishes its next key"}},
		{name: "expired encryption certificate", opts: mdOptions{signing: []*x509.Certificate{good}, encryption: []*x509.Certificate{mdCert(t, 2048, now.AddDate(-3, 0, 0), now.AddDate(0, 0, -3))}},
			want: []string{"Encryption certificates (never trusted for signatures):", "expired on"}},
		{name: "http endpoint", opts: mdOptions{signing: []*x509.Certificate{good}, sso: "http://idp.crafted.example/sso"},
			want: []string{"the SSO endpoint http://idp.crafted.example/sso is plain http"}},
		{name: "SHA-1 methods", opts: mdOptions{signing: []*x509.Certificate{good}, extensions: `<alg:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>` +
			`<alg:SigningMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/><alg:SigningMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>`},
			want: []string{"SigningMethod:            xmldsig-more#rsa-sha256", "lists the SHA-1 signing method xmldsig#rsa-sha1", "lists the SHA-1 digest method xmldsig#sha1"}},
		{name: "metadata about to expire", opts: mdOptions{signing: []*x509.Certificate{good}, validUntil: now.Add(3 * 24 * time.Hour)},
			want: []string{"the metadata expires in 2 days (validUntil): refresh it"}},
		{name: "metadata expired", opts: mdOptions{signing: []*x509.Certificate{good}, validUntil: now.Add(-time.Hour)}, code: 1,
			want: []string{"REFUSED by saml2sp", "has passed", "Identity provider https://idp.crafted.example/ (as written: the library did not accept it)", fingerprint(good)}},
		{name: "SP metadata", opts: mdOptions{signing: []*x509.Certificate{good}, root: "SP"}, code: 1,
			want: []string{"REFUSED by saml2sp", "this is service provider metadata", "Other entities (not identity providers; saml2sp skips them):", "https://idp.crafted.example/ (SPSSODescriptor)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := writeFile(t, "md.xml", mdDocument(c.opts))
			code, out, stderr := cli(t, "", "metadata", "check", f)
			require.Empty(t, stderr)
			assert.Equal(t, c.code, code, out)
			for _, w := range c.want {
				assert.Contains(t, out, w)
			}
			if c.name != "sound" {
				assert.NotContains(t, out, "No warnings.")
			}
		})
	}
	t.Run("not XML", func(t *testing.T) {
		code, out, _ := cli(t, "", "metadata", "check", writeFile(t, "md.xml", []byte("hello")))
		assert.Equal(t, 1, code)
		assert.Contains(t, out, "REFUSED by saml2sp")
		assert.Contains(t, out, "The document cannot be read further")
	})
}

// TestMetadataCheckURL: a URL is fetched with FetchMetadata, and the
// document it read is the one checked.
func TestMetadataCheckURL(t *testing.T) {
	now := time.Now()
	good := mdCert(t, 2048, now.Add(-time.Hour), now.AddDate(5, 0, 0))
	aggregate, err := os.ReadFile(filepath.Join(testdata, "metadata", "entities-3-idps.xml"))
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/one":
			w.Write(mdDocument(mdOptions{signing: []*x509.Certificate{good}, sso: "http://idp.crafted.example/sso"}))
		case "/aggregate":
			w.Write(aggregate)
		case "/cut":
			// The connection drops before the promised body is sent.
			doc := mdDocument(mdOptions{signing: []*x509.Certificate{good}})
			w.Header().Set("Content-Length", fmt.Sprint(len(doc)+100))
			w.Write(doc)
		case "/moved":
			http.Redirect(w, r, "/one", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cases := []struct {
		name, path string
		code       int
		want       []string
		stderr     string
	}{
		{name: "one IdP", path: "/one", want: []string{"Accepted by saml2sp: 1 identity provider.", "FetchMetadata accepts the URL.", fingerprint(good), "is plain http"}},
		{name: "redirected", path: "/moved", want: []string{"FetchMetadata accepts the URL.", fingerprint(good)}},
		{name: "aggregate", path: "/aggregate", code: 1, want: []string{"Accepted by saml2sp: 3 identity providers.", "FetchMetadata refuses the URL", "ParseMetadataEntity"}},
		{name: "not found", path: "/none", code: 2, stderr: "HTTP status 404"},
		{name: "cut short", path: "/cut", code: 2, stderr: "reading the response body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := cli(t, "", "metadata", "check", srv.URL+c.path)
			assert.Equal(t, c.code, code, out+stderr)
			for _, w := range c.want {
				assert.Contains(t, out, w)
			}
			assert.Contains(t, stderr, c.stderr)
		})
	}
}
