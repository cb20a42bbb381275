package bench

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// The login start takes no SAML message: what an anonymous client
// controls is the query (return_to) and the cookies, both bounded by the
// server's header limit (maxHeaderBytes) and by net/http itself: it
// parses at most goMaxCookies cookies (more, and Request.Cookies returns
// none) and net/url at most goMaxQueryParams parameters (more, and the
// query is an error). The handler opens every cookie named like one of its
// state cookies (an HMAC each, twice), to expire all but the newest.
const (
	// goMaxCookies is net/http's defaultCookieMaxNum (GODEBUG
	// httpcookiemaxnum).
	goMaxCookies = 3000
	// goMaxQueryParams is net/url's defaultMaxParams (GODEBUG
	// urlmaxqueryparams).
	goMaxQueryParams = 10000
)

// cookieHeader is a Cookie header of at most size bytes: goMaxCookies-1
// cookies named name(i), each value as long as the size allows, made by
// value(n) for a length n.
func cookieHeader(size int, name func(i int) string, value func(n int) string) string {
	const count = goMaxCookies - 1
	per := size/count - len(name(0)) - len("=; ")
	var b strings.Builder
	for i := range count {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(name(i) + "=" + value(per))
	}
	return b.String()
}

// handle is a random RelayState handle, the shape of the SP's own.
func handle() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// appCookies is a Cookie header of size bytes of the app's own cookies,
// which the SP ignores: the genuine login start of the same size.
func appCookies(size int) string {
	return cookieHeader(size, func(i int) string { return fmt.Sprintf("app_pref_%05d", i) }, randomHex)
}

// stateCookies is a Cookie header of size bytes of cookies named like the
// SP's state cookies for the login path, each a token of the sealed shape
// (body "." 32-byte MAC) whose MAC is computed over the whole body and
// fails.
func (w *world) stateCookies(size int) string {
	prefix := w.stateCookie[:strings.Index(w.stateCookie, w.relayState)]
	mac := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	return cookieHeader(size, func(int) string { return prefix + handle() }, func(n int) string {
		return strings.Repeat("e", min(n, 4096)-len(mac)-1) + "." + mac
	})
}

// manyParams is a login start query of size bytes: return_to and then
// goMaxQueryParams-2 more parameters, each with its own name.
func manyParams(size int) string {
	q := "return_to=%2F"
	const count = goMaxQueryParams - 2
	per := (size-len(q))/count - len("&p00000=")
	var b strings.Builder
	b.WriteString(q)
	for i := range count {
		fmt.Fprintf(&b, "&p%05d=%s", i, strings.Repeat("v", per))
	}
	return b.String()
}

// Metadata: an administrator feeds ParseMetadata at most
// saml2sp.MaxMetadataSize bytes. The hostile documents are the test IdP's
// metadata padded inside an md:Extensions of the EntityDescriptor (at
// depth 2, md, ds and x in scope) and refused at the end for a
// javascript: endpoint; the genuine one is a federation aggregate of the
// same size: many SPs and the one IdP.

const (
	mdExtensionsOpen  = `<md:Extensions xmlns:x="urn:x">`
	mdExtensionsClose = `</md:Extensions>`
)

// hostileMetadata is the IdP's metadata of exactly size bytes, padded
// with kind (padBase64: one signing certificate of that many random
// base64 characters) and with a javascript: SingleSignOnService Location.
func (w *world) hostileMetadata(kind string, size int) string {
	s := string(w.idp.Metadata())
	s = strings.Replace(s, `Location="`+w.idp.SSOURL+`"`, `Location="javascript:alert(1)"`, 1)
	at := "<md:IDPSSODescriptor"
	if kind == padBase64 {
		s = insertBefore(s, at, mdExtensionsOpen+mdExtensionsClose)
		old := textOf(s, "<ds:X509Certificate>", "</ds:X509Certificate>")
		n := (size - len(s) + len(old)) / 4 * 4
		s = cut(s, "<ds:X509Certificate>", "</ds:X509Certificate>", "<ds:X509Certificate>"+randomBase64(n)+"</ds:X509Certificate>")
		return s + strings.Repeat("\n", size-len(s))
	}
	empty := insertBefore(s, at, mdExtensionsOpen+mdExtensionsClose)
	c := container{depth: 2, inScope: 3, elems: w.lim.metadata.maxElements - 1 - countElements(empty), nodes: nodeBudget(empty, size, w.lim.metadata)}
	return insertBefore(s, at, mdExtensionsOpen+padding(kind, size-len(empty), c, w.lim.metadata)+mdExtensionsClose)
}

// genuineMetadata is an md:EntitiesDescriptor of exactly size bytes, laid
// out like a research federation's aggregate: IdP entities with
// registration info, entity attributes, a scope, UI info in two languages,
// signing and encryption certificates, SSO, SLO and artifact endpoints,
// an organization and contacts (about 2.5 KB each); and, last, the test
// IdP, the one the SP asks for.
func (w *world) genuineMetadata(size int) string {
	idp := string(w.idp.Metadata())
	idp = idp[strings.Index(idp, "<md:EntityDescriptor"):]
	cert := base64.StdEncoding.EncodeToString(w.spCerts[0].Raw)
	const head = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"` +
		` xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" xmlns:mdrpi="urn:oasis:names:tc:SAML:metadata:rpi"` +
		` xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
		` xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" Name="urn:example:federation">` + "\n"
	const tail = "</md:EntitiesDescriptor>\n"
	var b strings.Builder
	b.Grow(size)
	b.WriteString(head)
	for i := 0; ; i++ {
		e := federationIdP(i, cert)
		if b.Len()+len(e)+len(idp)+len(tail) > size {
			break
		}
		b.WriteString(e)
	}
	b.WriteString(idp)
	b.WriteString(tail)
	b.WriteString(strings.Repeat("\n", size-b.Len()))
	return b.String()
}

// federationIdP is the i-th IdP entity of genuineMetadata.
func federationIdP(i int, cert string) string {
	return fmt.Sprintf(`  <md:EntityDescriptor entityID="https://idp.uni%05[1]d.example.edu/idp/shibboleth">
    <md:Extensions>
      <mdrpi:RegistrationInfo registrationAuthority="https://federation.example.org" registrationInstant="2019-05-14T09:12:00Z"><mdrpi:RegistrationPolicy xml:lang="en">https://federation.example.org/policy</mdrpi:RegistrationPolicy></mdrpi:RegistrationInfo>
      <mdattr:EntityAttributes><saml:Attribute Name="http://macedir.org/entity-category-support" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>http://refeds.org/category/research-and-scholarship</saml:AttributeValue></saml:Attribute><saml:Attribute Name="urn:oasis:names:tc:SAML:attribute:assurance-certification" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>https://refeds.org/sirtfi</saml:AttributeValue></saml:Attribute></mdattr:EntityAttributes>
    </md:Extensions>
    <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:Extensions>
        <shibmd:Scope regexp="false">uni%05[1]d.example.edu</shibmd:Scope>
        <mdui:UIInfo><mdui:DisplayName xml:lang="en">University %[1]d</mdui:DisplayName><mdui:DisplayName xml:lang="de">Universität %[1]d</mdui:DisplayName><mdui:Description xml:lang="en">Identity provider of University %[1]d</mdui:Description><mdui:InformationURL xml:lang="en">https://www.uni%05[1]d.example.edu/</mdui:InformationURL><mdui:PrivacyStatementURL xml:lang="en">https://www.uni%05[1]d.example.edu/privacy</mdui:PrivacyStatementURL><mdui:Logo height="16" width="16">https://www.uni%05[1]d.example.edu/favicon.ico</mdui:Logo></mdui:UIInfo>
      </md:Extensions>
      <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%[2]s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
      <md:ArtifactResolutionService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="https://idp.uni%05[1]d.example.edu:8443/idp/profile/SAML2/SOAP/ArtifactResolution" index="1"/>
      <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.uni%05[1]d.example.edu/idp/profile/SAML2/Redirect/SLO"/>
      <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.uni%05[1]d.example.edu/idp/profile/SAML2/POST/SLO"/>
      <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>
      <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.uni%05[1]d.example.edu/idp/profile/SAML2/Redirect/SSO"/>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.uni%05[1]d.example.edu/idp/profile/SAML2/POST/SSO"/>
    </md:IDPSSODescriptor>
    <md:Organization><md:OrganizationName xml:lang="en">University %[1]d</md:OrganizationName><md:OrganizationDisplayName xml:lang="en">University %[1]d</md:OrganizationDisplayName><md:OrganizationURL xml:lang="en">https://www.uni%05[1]d.example.edu/</md:OrganizationURL></md:Organization>
    <md:ContactPerson contactType="technical"><md:GivenName>IT</md:GivenName><md:SurName>Services</md:SurName><md:EmailAddress>mailto:idp@uni%05[1]d.example.edu</md:EmailAddress></md:ContactPerson>
    <md:ContactPerson contactType="support"><md:EmailAddress>mailto:helpdesk@uni%05[1]d.example.edu</md:EmailAddress></md:ContactPerson>
  </md:EntityDescriptor>
`, i, cert)
}
