package saml2sptest

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"

	"github.com/beevik/etree"
	"github.com/saml2sp/saml2sp"
)

// SAML namespaces and identifiers used by the IdP.
const (
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXS        = "http://www.w3.org/2001/XMLSchema"
	nsXSI       = "http://www.w3.org/2001/XMLSchema-instance"

	nameIDFormatEmail      = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	nameIDFormatPersistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
)

// bindings lists the bindings published for each endpoint, in order.
var bindings = []string{saml2sp.BindingHTTPRedirect, saml2sp.BindingHTTPPost}

// Metadata returns the IdP's metadata: an md:EntityDescriptor with one
// IDPSSODescriptor that holds the signing certificate, the SSO and SLO
// endpoints for the HTTP-Redirect and HTTP-POST bindings, and the
// emailAddress and persistent NameID formats. It is unsigned.
func (idp *IdP) Metadata() []byte {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMetadata)
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("entityID", idp.EntityID)

	d := ed.CreateElement("md:IDPSSODescriptor")
	d.CreateAttr("protocolSupportEnumeration", nsProtocol)
	if idp.Certificate != nil {
		kd := d.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", "signing")
		kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
			SetText(base64.StdEncoding.EncodeToString(idp.Certificate.Raw))
	}
	// Schema order: KeyDescriptor, SingleLogoutService, NameIDFormat,
	// SingleSignOnService.
	for _, b := range bindings {
		s := d.CreateElement("md:SingleLogoutService")
		s.CreateAttr("Binding", b)
		s.CreateAttr("Location", idp.SLOURL)
	}
	for _, f := range []string{nameIDFormatEmail, nameIDFormatPersistent} {
		d.CreateElement("md:NameIDFormat").SetText(f)
	}
	for _, b := range bindings {
		s := d.CreateElement("md:SingleSignOnService")
		s.CreateAttr("Binding", b)
		s.CreateAttr("Location", idp.SSOURL)
	}

	doc.Indent(2)
	var buf bytes.Buffer
	_, _ = doc.WriteTo(&buf) // a bytes.Buffer never fails
	return buf.Bytes()
}

// IdentityProvider returns the data of Metadata as the struct saml2sp.Config
// takes, without an XML round trip.
func (idp *IdP) IdentityProvider() *saml2sp.IdentityProvider {
	p := &saml2sp.IdentityProvider{
		EntityID:      idp.EntityID,
		NameIDFormats: []string{nameIDFormatEmail, nameIDFormatPersistent},
	}
	if idp.Certificate != nil {
		p.Certificates = []*x509.Certificate{idp.Certificate}
	}
	for _, b := range bindings {
		p.SingleSignOnServices = append(p.SingleSignOnServices, saml2sp.Endpoint{Binding: b, Location: idp.SSOURL})
		p.SingleLogoutServices = append(p.SingleLogoutServices, saml2sp.Endpoint{Binding: b, Location: idp.SLOURL})
	}
	return p
}
