package bench

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/saml2sp/saml2sp"
)

// metadataIdPs is how many IdPs BenchmarkParseMetadataEntities parses.
const metadataIdPs = 1000

// entitiesDescriptor returns an md:EntitiesDescriptor listing n IdPs laid
// out as IdPs publish themselves: one signing certificate, SSO and SLO over
// HTTP-Redirect and HTTP-POST, two NameID formats, URLs of their own.
//
// Every IdP has its own certificate (own subject, serial and signature), so
// the parser cannot share anything between them. To keep setup fast they all
// carry the same RSA-2048 public key and are self-signed with it (1,000 RSA
// key generations would take minutes); x509.ParseCertificate still parses
// each one into its own *x509.Certificate and *rsa.PublicKey, so the time
// and memory per IdP are those of 1,000 distinct keys.
func entitiesDescriptor(tb testing.TB, n int) []byte {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	ders := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				host := fmt.Sprintf("idp%04d.example.org", i+1)
				tmpl := &x509.Certificate{
					SerialNumber:          big.NewInt(int64(1000 + i)),
					Subject:               pkix.Name{CommonName: host, Organization: []string{"Example Tenant " + host}},
					NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
					NotAfter:              time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC),
					KeyUsage:              x509.KeyUsageDigitalSignature,
					BasicConstraintsValid: true,
				}
				ders[i], errs[i] = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			}
		})
	}
	wg.Wait()
	const (
		redirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
		post     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	)
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Name="urn:example:tenants">` + "\n")
	for i, der := range ders {
		if errs[i] != nil {
			tb.Fatal(errs[i])
		}
		host := fmt.Sprintf("idp%04d.example.org", i+1)
		fmt.Fprintf(&buf, `  <md:EntityDescriptor entityID="https://%s/metadata">
    <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:KeyDescriptor use="signing">
        <ds:KeyInfo>
          <ds:X509Data>
            <ds:X509Certificate>%s</ds:X509Certificate>
          </ds:X509Data>
        </ds:KeyInfo>
      </md:KeyDescriptor>
      <md:SingleLogoutService Binding="%s" Location="https://%s/saml/slo"/>
      <md:SingleLogoutService Binding="%s" Location="https://%s/saml/slo"/>
      <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
      <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
      <md:SingleSignOnService Binding="%s" Location="https://%s/saml/sso"/>
      <md:SingleSignOnService Binding="%s" Location="https://%s/saml/sso"/>
    </md:IDPSSODescriptor>
  </md:EntityDescriptor>
`, host, base64.StdEncoding.EncodeToString(der), redirect, host, post, host, redirect, host, post, host)
	}
	buf.WriteString("</md:EntitiesDescriptor>\n")
	return buf.Bytes()
}

// TestEntitiesDescriptor checks the generator on a few IdPs: every one is
// parsed, in order, with its own certificate and endpoints.
func TestEntitiesDescriptor(t *testing.T) {
	const n = 5
	idps, err := saml2sp.ParseMetadataEntities(entitiesDescriptor(t, n))
	if err != nil {
		t.Fatal(err)
	}
	if len(idps) != n {
		t.Fatalf("got %d IdPs, want %d", len(idps), n)
	}
	serials := map[string]bool{}
	for i, idp := range idps {
		host := fmt.Sprintf("idp%04d.example.org", i+1)
		if want := "https://" + host + "/metadata"; idp.EntityID != want {
			t.Errorf("IdP %d: EntityID %q, want %q", i, idp.EntityID, want)
		}
		if len(idp.Certificates) != 1 || idp.Certificates[0].Subject.CommonName != host {
			t.Errorf("IdP %d: certificates %v, want one for %s", i, idp.Certificates, host)
		} else {
			serials[idp.Certificates[0].SerialNumber.String()] = true
		}
		if len(idp.SingleSignOnServices) != 2 || len(idp.SingleLogoutServices) != 2 || len(idp.NameIDFormats) != 2 {
			t.Errorf("IdP %d: %d SSO, %d SLO endpoints, %d NameID formats, want 2 each",
				i, len(idp.SingleSignOnServices), len(idp.SingleLogoutServices), len(idp.NameIDFormats))
		}
	}
	if len(serials) != n {
		t.Errorf("%d distinct certificates, want %d", len(serials), n)
	}
}

var (
	metadataOnce sync.Once
	metadataDoc  []byte
)

// BenchmarkParseMetadataEntities parses an EntitiesDescriptor of 1,000 IdPs
// (about 2 MB, generated once in setup). Besides ns/op, B/op and allocs/op
// it reports B/idp: the heap still in use after the call, with the returned
// slice kept alive, divided by 1,000 — what a multi-tenant app pays per IdP
// it holds (runtime.ReadMemStats HeapAlloc after a GC, before and after one
// parse, outside the timed loop).
func BenchmarkParseMetadataEntities(b *testing.B) {
	metadataOnce.Do(func() { metadataDoc = entitiesDescriptor(b, metadataIdPs) })
	data := metadataDoc

	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept, err := saml2sp.ParseMetadataEntities(data)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(kept) != metadataIdPs {
		b.Fatalf("parsed %d IdPs, want %d", len(kept), metadataIdPs)
	}
	retained := float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
	runtime.KeepAlive(kept)

	b.ReportAllocs()
	for b.Loop() {
		if _, err := saml2sp.ParseMetadataEntities(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(retained/metadataIdPs, "B/idp")
}
