package main

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/saml2sp/saml2sp"
)

// Metadata namespaces read by metadata check.
const (
	nsMetadata = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsAlg      = "urn:oasis:names:tc:SAML:metadata:algsupport"
)

// Warning thresholds.
const (
	certExpirySoon     = 30 * 24 * time.Hour
	metadataExpirySoon = 7 * 24 * time.Hour
)

type metadataOptions struct{ now string }

func (o *metadataOptions) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.now, "now", "", "judge dates at this RFC 3339 `time` (default: now); the library's own checks use the current time")
}

func metadataCommand() *command {
	c := &command{
		name:    "metadata",
		summary: "check IdP metadata: entities, endpoints, certificates, warnings",
		usage: `
Usage: saml2sp metadata check [flags] FILE|URL

Metadata check reads IdP metadata as the library does (ParseMetadataEntities
for a file; FetchMetadata for a URL, which must be https, or http on this
machine) and lists each identity provider: entity ID, SSO and SLO endpoints
with their bindings, each certificate with its key type and size, validity
dates and SHA-256 fingerprint, validUntil and cacheDuration. It warns about
expired or soon expiring certificates, RSA keys under 2048 bits, plain http
endpoints and SHA-1 signing or digest methods.

Exit status: 0 the library accepts the metadata, 1 it refuses it, 2 it
could not be read or fetched.
`,
	}
	c.flags = func(fs *flag.FlagSet) { new(metadataOptions).bind(fs) }
	c.run = func(e *env, args []string) int {
		if len(args) == 0 || (args[0] != "check" && !strings.HasPrefix(args[0], "-")) {
			return usageError(c, e, "the subcommand is \"check\": saml2sp metadata check FILE|URL")
		}
		if args[0] == "check" {
			args = args[1:]
		}
		var o metadataOptions
		fs := flag.NewFlagSet("saml2sp metadata check", flag.ContinueOnError)
		o.bind(fs)
		pos, status, ok := parseFlagSet(c, fs, e, args)
		if !ok {
			return status
		}
		if len(pos) != 1 {
			return usageError(c, e, "metadata check takes one FILE or URL")
		}
		now := time.Now()
		if o.now != "" {
			t, err := time.Parse(time.RFC3339, o.now)
			if err != nil {
				return usageError(c, e, "--now %q is not an RFC 3339 time", o.now)
			}
			now = t
		}
		doc, err := readMetadataDocument(context.Background(), pos[0])
		if err != nil {
			return failure(c, e, exitUnusable, "%s: %v", pos[0], err)
		}
		return checkMetadata(e.stdout, pos[0], doc, now)
	}
	return c
}

// entityView is one entity of a metadata document as check shows it: the
// library's IdentityProvider where it accepted one, the document as
// written for the rest.
type entityView struct {
	entityID    string
	roles       []string
	fromLibrary bool
	isIdP       bool

	validUntil    string
	cacheDuration string
	wantSigned    string
	nameIDFormats []string
	sso, slo      []saml2sp.Endpoint
	signing       []*x509.Certificate
	// encryption are certificates published for encryption only, which
	// the library never trusts for signatures.
	encryption []*x509.Certificate
	// certErrors are certificates that cannot be read.
	certErrors []string
	// Algorithms the entity lists (alg:SigningMethod, alg:DigestMethod).
	signingMethods, digestMethods []string
}

func checkMetadata(w io.Writer, src string, doc *metadataDocument, now time.Time) int {
	status := exitOK
	fmt.Fprintf(w, "Metadata %s (%d bytes)\n", safe(src), len(doc.data))
	idps, perr := parseMetadataEntities(doc.data)
	if perr != nil {
		status = exitRefused
		fmt.Fprintf(w, "REFUSED by saml2sp: %s\n", safe(perr.Error()))
	} else {
		fmt.Fprintf(w, "Accepted by saml2sp: %s.\n", plural(len(idps), "identity provider"))
		if len(idps) > 1 {
			fmt.Fprintln(w, "  (ParseMetadata and FetchMetadata take a single IdP: choose one with ParseMetadataEntity)")
		}
	}
	if isURL(src) {
		if doc.fetchErr != nil {
			status = exitRefused
			fmt.Fprintf(w, "FetchMetadata refuses the URL: %s\n", safe(doc.fetchErr.Error()))
		} else {
			fmt.Fprintln(w, "FetchMetadata accepts the URL.")
		}
	}

	tree, terr := parseTree(doc.data, metadataLimits())
	if terr != nil {
		fmt.Fprintf(w, "\nThe document cannot be read further: %s\n", safe(terr.Error()))
		return status
	}
	views := entityViews(tree.root, idps)
	var warn []string
	var others []string
	for _, v := range views {
		if !v.isIdP {
			others = append(others, fmt.Sprintf("%s (%s)", safe(v.entityID), strings.Join(v.roles, ", ")))
			continue
		}
		warn = append(warn, printEntity(w, v, now)...)
	}
	if len(others) > 0 {
		fmt.Fprintln(w, "\nOther entities (not identity providers; saml2sp skips them):")
		for _, o := range others {
			fmt.Fprintf(w, "  %s\n", o)
		}
	}
	if sig := tree.root.kid(nsDSig, "Signature"); sig != nil {
		var sw []string
		fmt.Fprintf(w, "\nMetadata signature: %s (not verified: saml2sp trusts metadata for how it was obtained)\n", signatureLine(sig, &sw))
		if len(sw) > 0 {
			warn = append(warn, "the metadata is signed with SHA-1")
		}
	}
	if perr == nil {
		for _, idp := range idps {
			if !idp.ValidUntil.IsZero() && idp.ValidUntil.Sub(now) < metadataExpirySoon {
				warn = append(warn, fmt.Sprintf("%s: the metadata expires %s (validUntil): refresh it", safe(idp.EntityID), ago(idp.ValidUntil, now)))
			}
		}
	}
	if len(warn) == 0 {
		if status == exitOK {
			fmt.Fprintln(w, "\nNo warnings.")
		}
		return status
	}
	fmt.Fprintln(w, "\nWarnings:")
	for _, s := range warn {
		fmt.Fprintf(w, "  - %s\n", s)
	}
	return status
}

// entityViews lists every EntityDescriptor of the document in order.
func entityViews(root *xnode, idps []*saml2sp.IdentityProvider) []*entityView {
	byID := map[string]*saml2sp.IdentityProvider{}
	for _, idp := range idps {
		byID[idp.EntityID] = idp
	}
	var out []*entityView
	root.walk(func(n *xnode) {
		if !n.is(nsMetadata, "EntityDescriptor") {
			return
		}
		v := rawEntity(n)
		if idp, ok := byID[v.entityID]; ok {
			v.fromLibrary = true
			v.sso, v.slo, v.signing, v.nameIDFormats = idp.SingleSignOnServices, idp.SingleLogoutServices, idp.Certificates, idp.NameIDFormats
			v.validUntil, v.cacheDuration, v.wantSigned = "none", "none", yesNo(idp.WantAuthnRequestsSigned)
			if !idp.ValidUntil.IsZero() {
				v.validUntil = stamp(idp.ValidUntil)
			}
			if idp.CacheDuration != 0 {
				v.cacheDuration = idp.CacheDuration.String()
			}
		}
		out = append(out, v)
	})
	return out
}

// rawEntity reads an EntityDescriptor as written.
func rawEntity(ed *xnode) *entityView {
	v := &entityView{entityID: strings.TrimSpace(ed.attr("entityID")), validUntil: ed.attr("validUntil"), cacheDuration: ed.attr("cacheDuration")}
	for _, r := range ed.kids("", "") {
		if strings.HasSuffix(r.local, "Descriptor") && r.ns() == nsMetadata {
			v.roles = append(v.roles, r.local)
		}
	}
	ed.walk(func(n *xnode) {
		switch {
		case n.is(nsAlg, "SigningMethod"):
			v.signingMethods = append(v.signingMethods, n.attr("Algorithm"))
		case n.is(nsAlg, "DigestMethod"):
			v.digestMethods = append(v.digestMethods, n.attr("Algorithm"))
		}
	})
	role := ed.kid(nsMetadata, "IDPSSODescriptor")
	if role == nil {
		return v
	}
	v.isIdP = true
	if v.validUntil == "" {
		v.validUntil = role.attr("validUntil")
	}
	v.wantSigned = role.attr("WantAuthnRequestsSigned")
	for _, n := range role.kids(nsMetadata, "NameIDFormat") {
		v.nameIDFormats = append(v.nameIDFormats, n.str())
	}
	for _, ep := range role.kids(nsMetadata, "SingleSignOnService") {
		v.sso = append(v.sso, saml2sp.Endpoint{Binding: ep.attr("Binding"), Location: ep.attr("Location")})
	}
	for _, ep := range role.kids(nsMetadata, "SingleLogoutService") {
		v.slo = append(v.slo, saml2sp.Endpoint{Binding: ep.attr("Binding"), Location: ep.attr("Location"), ResponseLocation: ep.attr("ResponseLocation")})
	}
	for _, kd := range role.kids(nsMetadata, "KeyDescriptor") {
		var certs []*xnode
		for _, ki := range kd.kids(nsDSig, "KeyInfo") {
			for _, xd := range ki.kids(nsDSig, "X509Data") {
				certs = append(certs, xd.kids(nsDSig, "X509Certificate")...)
			}
		}
		for _, el := range certs {
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.str()), ""))
			var cert *x509.Certificate
			if err == nil {
				cert, err = x509.ParseCertificate(der)
			}
			switch {
			case err != nil:
				v.certErrors = append(v.certErrors, fmt.Sprintf("a certificate (use %q) cannot be read: %v", kd.attr("use"), err))
			case kd.attr("use") == "encryption":
				v.encryption = append(v.encryption, cert)
			default:
				v.signing = append(v.signing, cert)
			}
		}
	}
	return v
}

// printEntity prints an IdP entity and returns its warnings.
func printEntity(w io.Writer, v *entityView, now time.Time) []string {
	from := "as the library reads it"
	if !v.fromLibrary {
		from = "as written: the library did not accept it"
	}
	fmt.Fprintf(w, "\nIdentity provider %s (%s)\n", safe(v.entityID), from)
	var warn []string
	name := safe(v.entityID)
	f := newFields(w, "  ")
	f.add("validUntil", safe(v.validUntil))
	f.add("cacheDuration", safe(v.cacheDuration))
	want := safe(v.wantSigned)
	if v.wantSigned == "yes" || v.wantSigned == "true" {
		want += " (the SP must sign its AuthnRequests: it needs a key, Config.Key)"
	}
	f.add("WantAuthnRequestsSigned", want)
	for _, nf := range v.nameIDFormats {
		f.add("NameIDFormat", shortURN(nf))
	}
	for _, list := range []struct {
		name string
		eps  []saml2sp.Endpoint
	}{{"SSO", v.sso}, {"SLO", v.slo}} {
		for _, ep := range list.eps {
			loc := safe(ep.Location)
			if ep.ResponseLocation != "" {
				loc += ", responses to " + safe(ep.ResponseLocation)
			}
			f.add(list.name+" "+shortURN(ep.Binding), loc)
			for _, u := range []string{ep.Location, ep.ResponseLocation} {
				if hasPrefixFold(u, "http://") {
					warn = append(warn, fmt.Sprintf("%s: the %s endpoint %s is plain http: messages, and the assertions in them, cross the network readable and alterable", name, list.name, safe(u)))
				}
			}
		}
	}
	for _, m := range v.signingMethods {
		f.add("SigningMethod", shortAlg(m))
		if isSHA1(m) {
			warn = append(warn, fmt.Sprintf("%s: lists the SHA-1 signing method %s: the SP refuses SHA-1 signatures unless InsecureAllowSHA1", name, shortAlg(m)))
		}
	}
	for _, m := range v.digestMethods {
		f.add("DigestMethod", shortAlg(m))
		if isSHA1(m) {
			warn = append(warn, fmt.Sprintf("%s: lists the SHA-1 digest method %s: the SP refuses SHA-1 unless InsecureAllowSHA1", name, shortAlg(m)))
		}
	}
	f.flush()
	for _, group := range []struct {
		title string
		certs []*x509.Certificate
	}{
		{"Signing certificates (the only keys trusted for signatures)", v.signing},
		{"Encryption certificates (never trusted for signatures)", v.encryption},
	} {
		if len(group.certs) == 0 {
			continue
		}
		fmt.Fprintf(w, "  %s:\n", group.title)
		for i, c := range group.certs {
			lines, cw := describeCert(c, now)
			fmt.Fprintf(w, "    %d. %s\n", i+1, lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(w, "       %s\n", l)
			}
			for _, s := range cw {
				warn = append(warn, fmt.Sprintf("%s: certificate %s: %s", name, safe(c.Subject.String()), s))
			}
		}
	}
	if len(v.signing) == 0 {
		fmt.Fprintln(w, "  No signing certificate.")
	}
	for _, e := range v.certErrors {
		warn = append(warn, name+": "+safe(e))
	}
	return warn
}
