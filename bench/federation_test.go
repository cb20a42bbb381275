package bench

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/saml2sp/saml2sp"
)

// A research federation's aggregate: federationIdP entities (about 4.5 KB
// each with their certificate), each IdP with a certificate of its own.
const (
	// federationIdPs is the IdP count of BenchmarkFederationAggregate:
	// about eduGAIN's IdP count, 45 MB in this layout.
	federationIdPs = 10000
	// signedFederationIdPs is the IdP count of
	// BenchmarkFederationAggregateSigned: about 23 MB.
	signedFederationIdPs = 5000
)

// distinctCertificates returns n base64 certificates, each with its own
// subject, serial and RSA-2048 signature, for hosts named by host(i). To
// keep setup fast they share one public key (n key generations would take
// minutes); x509.ParseCertificate still parses each into its own
// *x509.Certificate and *rsa.PublicKey, so the time and memory per IdP are
// those of n distinct keys.
func distinctCertificates(tb testing.TB, n int, host func(i int) string) []string {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				tmpl := &x509.Certificate{
					SerialNumber:          big.NewInt(int64(1000 + i)),
					Subject:               pkix.Name{CommonName: host(i)},
					NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
					NotAfter:              time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC),
					KeyUsage:              x509.KeyUsageDigitalSignature,
					BasicConstraintsValid: true,
				}
				var der []byte
				der, errs[i] = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
				out[i] = base64.StdEncoding.EncodeToString(der)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

const federationHead = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"` +
	` xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" xmlns:mdrpi="urn:oasis:names:tc:SAML:metadata:rpi"` +
	` xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
	` xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" ID="_federation" Name="urn:example:federation" cacheDuration="PT6H">` + "\n"

// federationAggregate is an md:EntitiesDescriptor of n federationIdP
// entities with distinct certificates.
func federationAggregate(tb testing.TB, n int) []byte {
	tb.Helper()
	certs := distinctCertificates(tb, n, func(i int) string { return fmt.Sprintf("idp.uni%05d.example.edu", i) })
	var b strings.Builder
	b.WriteString(federationHead)
	for i, c := range certs {
		b.WriteString(federationIdP(i, c))
	}
	b.WriteString("</md:EntitiesDescriptor>\n")
	return []byte(b.String())
}

var (
	federationOnce sync.Once
	federationDoc  []byte
	signedOnce     sync.Once
	signedDoc      []byte
	signedCert     *x509.Certificate
)

func theFederation(tb testing.TB) []byte {
	federationOnce.Do(func() { federationDoc = federationAggregate(tb, federationIdPs) })
	return federationDoc
}

// theSignedFederation is an aggregate of signedFederationIdPs IdPs signed
// by a federation key (RSA-SHA256, enveloped, exclusive c14n) and the
// federation's certificate.
func theSignedFederation(tb testing.TB) ([]byte, *x509.Certificate) {
	signedOnce.Do(func() {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(federationAggregate(tb, signedFederationIdPs)); err != nil {
			tb.Fatal(err)
		}
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			tb.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "federation metadata signer"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			tb.Fatal(err)
		}
		if signedCert, err = x509.ParseCertificate(der); err != nil {
			tb.Fatal(err)
		}
		ctx, err := dsig.NewSigningContext(key, [][]byte{der})
		if err != nil {
			tb.Fatal(err)
		}
		ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		ctx.Hash = crypto.SHA256
		sig, err := ctx.ConstructSignature(doc.Root().Copy(), true)
		if err != nil {
			tb.Fatal(err)
		}
		doc.Root().InsertChildAt(0, sig)
		if signedDoc, err = doc.WriteToBytes(); err != nil {
			tb.Fatal(err)
		}
	})
	return signedDoc, signedCert
}

// TestFederationAggregate checks the generator on a few IdPs: each is
// read with its own certificate, crewjam reads them too, and the document
// takes about 4.5 KB per IdP.
func TestFederationAggregate(t *testing.T) {
	const n = 20
	doc := federationAggregate(t, n)
	idps, err := saml2sp.ParseMetadataEntities(doc)
	if err != nil {
		t.Fatal(err)
	}
	serials := map[string]bool{}
	for i, idp := range idps {
		if want := fmt.Sprintf("https://idp.uni%05d.example.edu/idp/shibboleth", i); idp.EntityID != want {
			t.Errorf("IdP %d is %q, want %q", i, idp.EntityID, want)
		}
		if len(idp.Certificates) != 1 || len(idp.SingleSignOnServices) != 2 || len(idp.SingleLogoutServices) != 2 {
			t.Errorf("IdP %d: %d certificates, %d SSO, %d SLO endpoints", i, len(idp.Certificates), len(idp.SingleSignOnServices), len(idp.SingleLogoutServices))
			continue
		}
		serials[idp.Certificates[0].SerialNumber.String()] = true
	}
	if len(idps) != n || len(serials) != n {
		t.Fatalf("%d IdPs with %d distinct certificates, want %d", len(idps), len(serials), n)
	}
	var ed saml.EntitiesDescriptor
	if err := xml.Unmarshal(doc, &ed); err != nil || len(ed.EntityDescriptors) != n {
		t.Fatalf("crewjam reads %d entities (%v), want %d", len(ed.EntityDescriptors), err, n)
	}
	if per := len(doc) / n; per < 4000 || per > 5000 {
		t.Errorf("%d bytes per IdP, want about 4.5 KB", per)
	}
}

// TestSignedFederationAggregate: the signed aggregate verifies with the
// federation's certificate and is refused with another.
func TestSignedFederationAggregate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 23 MB signed aggregate")
	}
	doc, cert := theSignedFederation(t)
	opts := []saml2sp.MetadataOption{saml2sp.MetadataMaxSize(64 << 20), saml2sp.MetadataSigners(cert)}
	idps, err := saml2sp.ParseMetadataEntities(doc, opts...)
	if err != nil || len(idps) != signedFederationIdPs {
		t.Fatalf("read %d IdPs (%v), want %d", len(idps), err, signedFederationIdPs)
	}
	tampered := []byte(strings.Replace(string(doc), "University 4711", "University 4712", 1))
	if _, err := saml2sp.ParseMetadataEntities(tampered, opts...); err == nil {
		t.Fatal("a changed aggregate verifies")
	}
}

// cpuTime is the CPU time the process has used (getrusage).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// retainedPerIdP is the heap still in use after parse, with its result
// kept alive, divided by n (runtime.ReadMemStats HeapAlloc after two GCs,
// before and after).
func retainedPerIdP(b *testing.B, n int, parse func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := parse()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// BenchmarkFederationAggregate reads an aggregate of federationIdPs IdPs
// (45 MB, generated once in setup): saml2sp's ParseMetadataEntities,
// which checks every byte with the hardened parser and parses every
// certificate, against crewjam/saml's xml.Unmarshal into its
// EntitiesDescriptor, which does neither. Besides ns/op, B/op and
// allocs/op: cpu-ns/idp, the CPU time of the process (user and system,
// garbage collection included, whatever else the machine runs) per IdP,
// and B/idp, the heap the result keeps per IdP.
func BenchmarkFederationAggregate(b *testing.B) {
	doc := theFederation(b)
	for _, c := range []struct {
		name  string
		parse func() (any, error)
	}{
		{"saml2sp", func() (any, error) { return saml2sp.ParseMetadataEntities(doc, saml2sp.MetadataMaxSize(64<<20)) }},
		{"crewjam", func() (any, error) {
			var ed saml.EntitiesDescriptor
			err := xml.Unmarshal(doc, &ed)
			return &ed, err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			kept := retainedPerIdP(b, federationIdPs, func() any {
				v, err := c.parse()
				if err != nil {
					b.Fatal(err)
				}
				return v
			})
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if _, err := c.parse(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N)/federationIdPs, "cpu-ns/idp")
			b.ReportMetric(kept, "B/idp")
		})
	}
}

// BenchmarkFederationAggregateSigned reads an aggregate of
// signedFederationIdPs IdPs (23 MB) with its signature verified against
// the pinned federation certificate. Besides ns/op and B/op it reports
// peak-MB, the most heap in use during one read above what was in use
// before it (peakHeap, sampled every millisecond, so a lower bound).
func BenchmarkFederationAggregateSigned(b *testing.B) {
	doc, cert := theSignedFederation(b)
	b.Logf("signed aggregate: %d bytes, %d IdPs", len(doc), signedFederationIdPs)
	opts := []saml2sp.MetadataOption{saml2sp.MetadataMaxSize(64 << 20), saml2sp.MetadataSigners(cert)}
	parse := func() {
		if _, err := saml2sp.ParseMetadataEntities(doc, opts...); err != nil {
			b.Fatal(err)
		}
	}
	peak := peakHeap(parse)
	b.ReportAllocs()
	for b.Loop() {
		parse()
	}
	b.ReportMetric(peak/1e6, "peak-MB")
}
