package saml2sp

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"strconv"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/xmlenc"
)

// mdNameIDFormatUnspecified is published when Config.NameIDFormat is empty.
const mdNameIDFormatUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

// Metadata returns this SP's SAML 2.0 metadata, to give to the IdP
// administrator or to serve at Config.EntityID: an md:EntityDescriptor
// (entityID = Config.EntityID) holding one md:SPSSODescriptor with, in
// schema order, KeyDescriptors for Config.Certificate and then
// Config.NextKey's certificate (each use="signing", plus use="encryption"
// listing the supported EncryptionMethods when its key can decrypt),
// SingleLogoutService endpoints for the HTTP-Redirect and HTTP-POST bindings
// when Config.SLOURL is set, the NameIDFormat (Config.NameIDFormat, or
// unspecified), and the AssertionConsumerService at Config.ACSURL with the
// HTTP-POST binding. AuthnRequestsSigned is true when Config.Key is set;
// WantAssertionsSigned is always true. The document is not signed.
func (sp *SP) Metadata() []byte {
	sp = sp.current()
	cfg := sp.cfg
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", mdNamespace)
	if cfg.Certificate != nil {
		ed.CreateAttr("xmlns:ds", mdDSNamespace)
	}
	ed.CreateAttr("entityID", cfg.EntityID)

	sso := ed.CreateElement("md:SPSSODescriptor")
	sso.CreateAttr("protocolSupportEnumeration", mdSAML2Protocol)
	sso.CreateAttr("AuthnRequestsSigned", strconv.FormatBool(cfg.Key != nil))
	sso.CreateAttr("WantAssertionsSigned", "true")

	if cfg.Certificate != nil {
		keyDescriptors(sso, cfg.Key, cfg.Certificate)
	}
	if nk := cfg.NextKey; nk != nil {
		keyDescriptors(sso, nk.Key, nk.Certificate)
	}
	if cfg.SLOURL != "" {
		for _, b := range []string{BindingHTTPRedirect, BindingHTTPPost} {
			slo := sso.CreateElement("md:SingleLogoutService")
			slo.CreateAttr("Binding", b)
			slo.CreateAttr("Location", cfg.SLOURL)
		}
	}
	format := cfg.NameIDFormat
	if format == "" {
		format = mdNameIDFormatUnspecified
	}
	sso.CreateElement("md:NameIDFormat").SetText(format)
	acs := sso.CreateElement("md:AssertionConsumerService")
	acs.CreateAttr("Binding", BindingHTTPPost)
	acs.CreateAttr("Location", cfg.ACSURL)
	acs.CreateAttr("index", "1")
	acs.CreateAttr("isDefault", "true")

	// etree escapes markup characters and replaces characters XML cannot
	// carry with U+FFFD. Also escape tab, CR and LF in attribute values, which
	// a conforming parser would otherwise turn into spaces.
	doc.WriteSettings.CanonicalAttrVal = true
	doc.Indent(2)
	out, err := doc.WriteToBytes()
	if err != nil {
		// Unreachable: writing to memory does not fail.
		return nil
	}
	return out
}

// keyDescriptors publishes cert for signing and, when key can decrypt
// assertions (RSA), for encryption with the algorithms this SP supports,
// authenticated encryption first.
func keyDescriptors(sso *etree.Element, key crypto.Signer, cert *x509.Certificate) {
	uses := []string{"signing"}
	if asDecrypter(key) != nil {
		uses = append(uses, "encryption")
	}
	for _, use := range uses {
		kd := sso.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", use)
		kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
			SetText(base64.StdEncoding.EncodeToString(cert.Raw))
		if use == "encryption" {
			for _, alg := range append(append([]string{}, xmlenc.DataAlgorithms...), xmlenc.KeyTransportAlgorithms...) {
				kd.CreateElement("md:EncryptionMethod").CreateAttr("Algorithm", alg)
			}
		}
	}
}
