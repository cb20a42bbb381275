package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/saml2sp/saml2sp"
)

// options are the app's settings: each a flag, each also an environment
// variable (SAML2SP_ and the flag's name in capitals, dashes as
// underscores), the flag winning.
type options struct {
	addr, baseURL, dataDir, mapping string
	devIdPAddr, devIdPURL           string
	idpMetadataURL, idpMetadataFile string
	idpEntityID, idpSSOURL          string
	idpSLOURL, idpCertFile          string
	nameIDFormat, authnBinding      string
	adminEmails                     string
	allowIdPInitiated               bool
	signRequests                    bool
	insecureAllowSHA1               bool
	trace                           bool
	otelStdout                      bool

	// retry paces the fetches of the IdP metadata until the first one
	// succeeds (not a flag: tests shorten it).
	retry backoff
	// otelOut is where -otel-stdout writes (not a flag: standard output,
	// which tests capture).
	otelOut io.Writer
}

// nameIDFormat returns the URN of a -nameid-format value: a short name
// or a full URN ("" asks for none).
func nameIDFormat(v string) (string, bool) {
	switch strings.ToLower(v) {
	case "":
		return "", true
	case "unspecified":
		return "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified", true
	case "email", "emailaddress":
		return "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", true
	case "persistent":
		return "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", true
	case "transient":
		return "urn:oasis:names:tc:SAML:2.0:nameid-format:transient", true
	}
	return v, strings.HasPrefix(v, "urn:")
}

// authnBinding returns the binding URN of an -authn-binding value ("" lets
// the library choose).
func authnBinding(v string) (string, bool) {
	switch strings.ToLower(v) {
	case "":
		return "", true
	case "redirect":
		return saml2sp.BindingHTTPRedirect, true
	case "post":
		return saml2sp.BindingHTTPPost, true
	}
	return "", false
}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "SAML2SP_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags reads the options from args and getenv (os.Getenv in main).
// Usage and errors go to out.
func parseFlags(args []string, getenv func(string) string, out io.Writer) (*options, error) {
	o := &options{retry: backoff{First: time.Second, Max: time.Minute}, otelOut: os.Stdout}
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: go run -C examples/app . [flags]

The saml2sp example app. The first "go run" compiles SQLite (modernc.org/sqlite,
pure Go) and takes a few minutes with no output; later runs start at once.
With no IdP flag it also starts a development IdP (never for production).
Every flag can also be set by the environment variable in brackets.

`)
		fs.PrintDefaults()
	}
	var envErrs []error
	str := func(p *string, name, def, usage string) {
		env := envName(name)
		if v := getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" ["+env+"]")
	}
	boolean := func(p *bool, name, usage string) {
		env := envName(name)
		def := false
		if v := getenv(env); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s=%q is not a boolean (true or false)", env, v))
			}
			def = b
		}
		fs.BoolVar(p, name, def, usage+" ["+env+"]")
	}
	str(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	str(&o.baseURL, "base-url", "http://127.0.0.1:8080/", "public URL of the app (what the browser and the IdP use)")
	str(&o.dataDir, "data-dir", "data", "directory for the SQLite database, the SP key pair and the session and state keys")
	str(&o.mapping, "mapping", "simplesamlphp", "attribute mapping preset: okta, entra, adfs, google, onelogin, jumpcloud, ping, auth0, keycloak, simplesamlphp (fits the development IdP), shibboleth, generic (for trying an IdP out, not for production)")
	str(&o.devIdPAddr, "dev-idp-addr", "127.0.0.1:8180", "listen address of the development IdP (used when no IdP is configured)")
	str(&o.devIdPURL, "dev-idp-url", "http://localhost:8180/dev-idp/", "public base URL of the development IdP (another site than the app on purpose)")
	str(&o.idpMetadataURL, "idp-metadata-url", "", "IdP metadata URL (fetched in the background until it answers, then refreshed)")
	str(&o.idpMetadataFile, "idp-metadata-file", "", "IdP metadata XML file")
	str(&o.idpEntityID, "idp-entity-id", "", "manual IdP: entity ID")
	str(&o.idpSSOURL, "idp-sso-url", "", "manual IdP: SSO URL (HTTP-Redirect)")
	str(&o.idpSLOURL, "idp-slo-url", "", "manual IdP: SLO URL (optional)")
	str(&o.idpCertFile, "idp-cert-file", "", "manual IdP: signing certificate (PEM or base64)")
	str(&o.nameIDFormat, "nameid-format", "", "NameID format to ask for: email, persistent, transient, unspecified or a full URN (default: none asked)")
	str(&o.authnBinding, "authn-binding", "", "binding of the AuthnRequest: redirect or post (default: redirect when the IdP offers it; some IdPs need post)")
	str(&o.adminEmails, "admin-emails", "", "comma-separated emails of the app's admins, who see /admin/saml and may test the SSO connection (default with the development IdP: "+devIdPAdmin+")")
	boolean(&o.allowIdPInitiated, "allow-idp-initiated", "accept IdP-initiated logins (Responses that answer no request of this app)")
	boolean(&o.signRequests, "sign-requests", "sign AuthnRequests even when the IdP's metadata does not ask for it (always on with the development IdP)")
	boolean(&o.insecureAllowSHA1, "insecure-allow-sha1", "accept RSA-SHA1 signatures and SHA-1 digests from the IdP (broken: only for IdPs that cannot be fixed)")
	boolean(&o.trace, "insecure-trace", "log every SAML message at debug level and raise the log level to debug (the logs then hold personal data)")
	boolean(&o.otelStdout, "otel-stdout", "print the SAML endpoints' OpenTelemetry spans (as each request ends) and metrics (every 30s and at exit) to standard output as JSON (saml2sp/otelsaml2sp)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError(out, "unexpected argument %q", fs.Arg(0))
	}
	if len(envErrs) > 0 {
		return nil, usageError(out, "%v", errors.Join(envErrs...))
	}
	if !strings.HasSuffix(o.baseURL, "/") {
		o.baseURL += "/"
	}
	if _, ok := saml2sp.MappingPreset(o.mapping); !ok {
		return nil, usageError(out, "-mapping %q is not a preset (see -help)", o.mapping)
	}
	var ok bool
	if o.nameIDFormat, ok = nameIDFormat(o.nameIDFormat); !ok {
		return nil, usageError(out, "-nameid-format %q: use email, persistent, transient, unspecified or a full URN", o.nameIDFormat)
	}
	binding := o.authnBinding
	if o.authnBinding, ok = authnBinding(binding); !ok {
		return nil, usageError(out, "-authn-binding %q: use redirect or post", binding)
	}
	if o.adminEmails == "" && o.devIdP() {
		o.adminEmails = devIdPAdmin
	}
	sources := 0
	for _, set := range []bool{o.idpMetadataURL != "", o.idpMetadataFile != "", o.idpEntityID != "" || o.idpSSOURL != "" || o.idpCertFile != ""} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		return nil, usageError(out, "choose one IdP: -idp-metadata-url, -idp-metadata-file, or -idp-entity-id with -idp-sso-url and -idp-cert-file")
	}
	return o, nil
}

// usageError prints a flag error the way package flag does and returns it.
func usageError(out io.Writer, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	fmt.Fprintln(out, err)
	return err
}

// devIdP reports whether the options configure no IdP, so that the app
// runs its development IdP.
func (o *options) devIdP() bool {
	return o.idpMetadataURL == "" && o.idpMetadataFile == "" && o.idpEntityID == "" && o.idpSSOURL == "" && o.idpCertFile == ""
}
