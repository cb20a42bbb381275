package saml2sp

import (
	"crypto/x509"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Reading one IdP entity: its IDPSSODescriptor's keys, endpoints and
// NameID formats, with the checks ParseMetadata documents. It reads the
// entity's tree, whole (signed metadata) or pruned (mdStream), in the same
// way.

// identityProvider extracts and checks one IdP entity.
func (e mdEntity) identityProvider(now time.Time) (*IdentityProvider, error) {
	id := e.entityID()
	switch {
	case id == "":
		return nil, errors.New("an EntityDescriptor has an empty or missing entityID")
	case len(id) > mdMaxEntityIDLength:
		return nil, fmt.Errorf("entityID %s is longer than %d characters", mdQuote(id), mdMaxEntityIDLength)
	}
	idp, err := e.extract(id, now)
	if err != nil {
		return nil, fmt.Errorf("entity %s: %w", mdQuote(id), err)
	}
	return idp, nil
}

func (e mdEntity) extract(id string, now time.Time) (*IdentityProvider, error) {
	v, err := e.validity.narrow(e.el, now)
	if err != nil {
		return nil, err
	}
	var role, first *etree.Element
	for r := range mdChildSeq(e.el, mdNamespace, "IDPSSODescriptor") {
		if first == nil {
			first = r
		}
		if !slices.Contains(strings.Fields(attrValue(r, "protocolSupportEnumeration")), mdSAML2Protocol) {
			continue
		}
		if role != nil {
			return nil, errors.New("more than one IDPSSODescriptor supports SAML 2.0")
		}
		role = r
	}
	if role == nil {
		return nil, fmt.Errorf("its IDPSSODescriptor does not support SAML 2.0: protocolSupportEnumeration is %s, which lacks %s",
			mdQuote(attrValue(first, "protocolSupportEnumeration")), mdSAML2Protocol)
	}
	if v, err = v.narrow(role, now); err != nil {
		return nil, err
	}
	idp := &IdentityProvider{EntityID: id, ValidUntil: v.until, CacheDuration: v.cache}
	if idp.WantAuthnRequestsSigned, err = mdBool(role, "WantAuthnRequestsSigned"); err != nil {
		return nil, err
	}
	encryptionOnly := 0
	for _, t := range role.Child {
		c, ok := t.(*etree.Element)
		if !ok || c.NamespaceURI() != mdNamespace {
			continue
		}
		switch c.Tag {
		case "KeyDescriptor":
			switch use := attrValue(c, "use"); use {
			case "", "signing":
				if idp.Certificates, err = mdKeyDescriptorCerts(c, idp.Certificates); err != nil {
					return nil, err
				}
			case "encryption":
				for range mdX509CertificateSeq(c) {
					encryptionOnly++
				}
			default:
				return nil, fmt.Errorf("KeyDescriptor use=%s, want \"signing\", \"encryption\" or no use", mdQuote(use))
			}
		case "SingleSignOnService", "SingleLogoutService":
			ep, err := mdEndpoint(c)
			if err != nil {
				return nil, err
			}
			ep.Location = idp.sameLocation(ep.Location)
			if c.Tag == "SingleSignOnService" {
				idp.SingleSignOnServices = append(idp.SingleSignOnServices, ep)
			} else {
				idp.SingleLogoutServices = append(idp.SingleLogoutServices, ep)
			}
		case "NameIDFormat":
			if f := strings.TrimSpace(mdText(c)); f != "" {
				idp.NameIDFormats = append(idp.NameIDFormats, mdIntern(f))
			}
		default:
			// ArtifactResolutionService, ManageNameIDService...: unused, but
			// a bad URL there still says the document cannot be trusted.
			if _, ok := attr(c, "Location"); ok {
				if _, err := mdEndpoint(c); err != nil {
					return nil, err
				}
			}
		}
	}
	if idp.SingleSignOnService(BindingHTTPRedirect) == nil && idp.SingleSignOnService(BindingHTTPPost) == nil {
		found := "none"
		if len(idp.SingleSignOnServices) > 0 {
			var bs []string
			for _, ep := range idp.SingleSignOnServices {
				bs = append(bs, ep.Binding)
			}
			found = strings.Join(bs, ", ")
		}
		return nil, fmt.Errorf("no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding (found: %s)", found)
	}
	if len(idp.Certificates) == 0 {
		msg := `no signing certificate: no KeyDescriptor with use="signing" (or without use) holds a ds:X509Certificate`
		if encryptionOnly > 0 {
			msg += fmt.Sprintf("; %d certificate(s) published with use=\"encryption\" were ignored, since a key meant for encryption is not trusted for signatures", encryptionOnly)
		}
		return nil, errors.New(msg)
	}
	return idp, nil
}

// mdX509Certificates returns the ds:X509Certificate elements of a
// KeyDescriptor (KeyInfo/X509Data/X509Certificate).
func mdX509Certificates(kd *etree.Element) []*etree.Element {
	return slices.Collect(mdX509CertificateSeq(kd))
}

// mdX509CertificateSeq yields what mdX509Certificates returns.
func mdX509CertificateSeq(kd *etree.Element) iter.Seq[*etree.Element] {
	return func(yield func(*etree.Element) bool) {
		for ki := range mdChildSeq(kd, mdDSNamespace, "KeyInfo") {
			for xd := range mdChildSeq(ki, mdDSNamespace, "X509Data") {
				for c := range mdChildSeq(xd, mdDSNamespace, "X509Certificate") {
					if !yield(c) {
						return
					}
				}
			}
		}
	}
}

// mdKeyDescriptorCerts parses the certificates of a signing KeyDescriptor
// and appends the ones not already in certs.
func mdKeyDescriptorCerts(kd *etree.Element, certs []*x509.Certificate) ([]*x509.Certificate, error) {
	for el := range mdX509CertificateSeq(kd) {
		if slices.ContainsFunc(el.Child, func(t etree.Token) bool { _, ok := t.(*etree.Element); return ok }) {
			return nil, errors.New("ds:X509Certificate contains an element, want base64 text")
		}
		der, err := mdDecodeBase64(mdText(el))
		if err != nil {
			return nil, fmt.Errorf("ds:X509Certificate is not valid base64: %w", err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("ds:X509Certificate cannot be parsed: %w", err)
		}
		if !slices.ContainsFunc(certs, cert.Equal) {
			certs = append(certs, cert)
		}
	}
	return certs, nil
}

// mdEndpoint reads an md:EndpointType element and checks its URLs.
func mdEndpoint(el *etree.Element) (Endpoint, error) {
	ep := Endpoint{
		Binding:          mdIntern(strings.TrimSpace(attrValue(el, "Binding"))),
		Location:         strings.TrimSpace(attrValue(el, "Location")),
		ResponseLocation: strings.TrimSpace(attrValue(el, "ResponseLocation")),
	}
	if ep.Binding == "" {
		return ep, fmt.Errorf("%s has no Binding", el.Tag)
	}
	if err := mdCheckURL(ep.Location); err != nil {
		return ep, fmt.Errorf("%s (%s) Location: %w", el.Tag, ep.Binding, err)
	}
	if ep.ResponseLocation != "" {
		if err := mdCheckURL(ep.ResponseLocation); err != nil {
			return ep, fmt.Errorf("%s (%s) ResponseLocation: %w", el.Tag, ep.Binding, err)
		}
	}
	return ep, nil
}

// sameLocation returns the Location of one of idp's endpoints that equals
// loc, else loc: most IdPs (ADFS, Entra ID, Okta, SimpleSAMLphp) serve
// both bindings at one URL, which an aggregate of thousands then keeps
// once per IdP rather than once per endpoint.
func (idp *IdentityProvider) sameLocation(loc string) string {
	for _, list := range [][]Endpoint{idp.SingleSignOnServices, idp.SingleLogoutServices} {
		for _, ep := range list {
			if ep.Location == loc {
				return ep.Location
			}
		}
	}
	return loc
}
