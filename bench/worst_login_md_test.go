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
	c := container{depth: 2, inScope: 3, elems: w.lim.metadata.maxElements - 1 - countElements(empty)}
	return insertBefore(s, at, mdExtensionsOpen+padding(kind, size-len(empty), c, w.lim.metadata)+mdExtensionsClose)
}

// genuineMetadata is an md:EntitiesDescriptor of exactly size bytes: SP
// entities (each with a signing certificate and two ACS endpoints) and,
// last, the test IdP, the one entity with an IDPSSODescriptor.
func (w *world) genuineMetadata(size int) string {
	idp := string(w.idp.Metadata())
	idp = idp[strings.Index(idp, "<md:EntityDescriptor"):]
	cert := base64.StdEncoding.EncodeToString(w.spCerts[0].Raw)
	const head = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Name="urn:example:federation">` + "\n"
	const tail = "</md:EntitiesDescriptor>\n"
	var b strings.Builder
	b.Grow(size)
	b.WriteString(head)
	for i := 0; ; i++ {
		host := fmt.Sprintf("sp%05d.example.edu", i)
		sp := fmt.Sprintf(`  <md:EntityDescriptor entityID="https://%[1]s/shibboleth">
    <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%[2]s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
      <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
      <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://%[1]s/Shibboleth.sso/SAML2/POST" index="1"/>
      <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://%[1]s/Shibboleth.sso/SAML2/Artifact" index="2"/>
    </md:SPSSODescriptor>
  </md:EntityDescriptor>
`, host, cert)
		if b.Len()+len(sp)+len(idp)+len(tail) > size {
			break
		}
		b.WriteString(sp)
	}
	b.WriteString(idp)
	b.WriteString(tail)
	b.WriteString(strings.Repeat("\n", size-b.Len()))
	return b.String()
}
