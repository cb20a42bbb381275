package saml2sptest

import (
	"crypto/x509"
	"encoding/base64"
	"reflect"
	"testing"

	"github.com/beevik/etree"
	"github.com/saml2sp/saml2sp"
)

// parseTestMetadata reads the fields of an IdP metadata document that
// Metadata writes, independently of the package under test.
func parseTestMetadata(t *testing.T, b []byte) *saml2sp.IdentityProvider {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	ed := doc.Root()
	if ed.Tag != "EntityDescriptor" || ed.NamespaceURI() != nsMetadata {
		t.Fatalf("root is {%s}%s", ed.NamespaceURI(), ed.Tag)
	}
	d := ed.SelectElement("IDPSSODescriptor")
	if d == nil || d.NamespaceURI() != nsMetadata {
		t.Fatal("no md:IDPSSODescriptor")
	}
	if got := d.SelectAttrValue("protocolSupportEnumeration", ""); got != nsProtocol {
		t.Errorf("protocolSupportEnumeration = %q", got)
	}
	p := &saml2sp.IdentityProvider{EntityID: ed.SelectAttrValue("entityID", "")}
	for _, kd := range d.SelectElements("KeyDescriptor") {
		if use := kd.SelectAttrValue("use", ""); use != "signing" {
			t.Errorf("KeyDescriptor use = %q", use)
		}
		x := kd.FindElement("./KeyInfo/X509Data/X509Certificate")
		if x == nil || x.NamespaceURI() != nsDSig {
			t.Fatal("KeyDescriptor without ds:X509Certificate")
		}
		der, err := base64.StdEncoding.DecodeString(x.Text())
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		p.Certificates = append(p.Certificates, cert)
	}
	for _, s := range d.SelectElements("SingleSignOnService") {
		p.SingleSignOnServices = append(p.SingleSignOnServices, saml2sp.Endpoint{
			Binding: s.SelectAttrValue("Binding", ""), Location: s.SelectAttrValue("Location", "")})
	}
	for _, s := range d.SelectElements("SingleLogoutService") {
		p.SingleLogoutServices = append(p.SingleLogoutServices, saml2sp.Endpoint{
			Binding: s.SelectAttrValue("Binding", ""), Location: s.SelectAttrValue("Location", "")})
	}
	for _, f := range d.SelectElements("NameIDFormat") {
		p.NameIDFormats = append(p.NameIDFormats, f.Text())
	}
	return p
}

func TestMetadata(t *testing.T) {
	idp := newTestIdP(t)
	idp.SSOURL = "https://idp.example.com/login?x=1&y=2"

	got := parseTestMetadata(t, idp.Metadata())
	want := &saml2sp.IdentityProvider{
		EntityID: testIdPID,
		SingleSignOnServices: []saml2sp.Endpoint{
			{Binding: saml2sp.BindingHTTPRedirect, Location: idp.SSOURL},
			{Binding: saml2sp.BindingHTTPPost, Location: idp.SSOURL},
		},
		SingleLogoutServices: []saml2sp.Endpoint{
			{Binding: saml2sp.BindingHTTPRedirect, Location: testIdPID + "/slo"},
			{Binding: saml2sp.BindingHTTPPost, Location: testIdPID + "/slo"},
		},
		Certificates: []*x509.Certificate{idp.Certificate},
		NameIDFormats: []string{
			"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
			"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Metadata() says\n%+v\nwant\n%+v", got, want)
	}
	if ip := idp.IdentityProvider(); !reflect.DeepEqual(ip, want) {
		t.Errorf("IdentityProvider() = \n%+v\nwant\n%+v", ip, want)
	}
}

func TestMetadataSchemaOrder(t *testing.T) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(newTestIdP(t).Metadata()); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range doc.Root().SelectElement("IDPSSODescriptor").ChildElements() {
		if n := len(order); n == 0 || order[n-1] != c.Tag {
			order = append(order, c.Tag)
		}
	}
	want := []string{"KeyDescriptor", "SingleLogoutService", "NameIDFormat", "SingleSignOnService"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("IDPSSODescriptor children = %v, want %v", order, want)
	}
}
