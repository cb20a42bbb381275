package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"log/slog"
	"math/big"
	"time"

	"github.com/saml2sp/saml2sp"
)

type spMetadataOptions struct {
	entityID, baseURL, acsURL, sloURL string
	certFile, keyFile, nameIDFormat   string
}

func (o *spMetadataOptions) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.entityID, "entity-id", "", "the SP's entity `ID` (default with --base-url: BASE/metadata)")
	fs.StringVar(&o.baseURL, "base-url", "", "lay out every endpoint under this `URL` (ending in /) as Config.BaseURL does: metadata, acs, sls")
	fs.StringVar(&o.acsURL, "acs-url", "", "the Assertion Consumer Service `URL` (default with --base-url: BASE/acs)")
	fs.StringVar(&o.sloURL, "slo-url", "", "the Single Logout Service `URL`, if any (default with --base-url: BASE/sls)")
	fs.StringVar(&o.certFile, "cert", "", "publish this certificate `PEMFILE` (with --key)")
	fs.StringVar(&o.keyFile, "key", "", "the private key `PEMFILE` of --cert: an RSA key makes the certificate published for encryption too")
	fs.StringVar(&o.nameIDFormat, "nameid-format", "", "the NameID format `URN` to publish (default: unspecified)")
}

func spMetadataCommand() *command {
	c := &command{
		name:    "sp-metadata",
		summary: "print SP metadata for the IdP administrator",
		usage: `
Usage: saml2sp sp-metadata [flags]

Sp-metadata prints the SP's metadata, the document the IdP administrator
imports, exactly as an app's MetadataHandler serves it (the library's
SP.Metadata): entity ID, ACS (HTTP-POST), SLO endpoints when set, NameID
format, and the certificate for signing and, with an RSA key, encryption.
Give --base-url, or --entity-id and --acs-url.
`,
	}
	c.flags = func(fs *flag.FlagSet) { new(spMetadataOptions).bind(fs) }
	c.run = func(e *env, args []string) int {
		var o spMetadataOptions
		fs := flag.NewFlagSet("saml2sp sp-metadata", flag.ContinueOnError)
		o.bind(fs)
		pos, status, ok := parseFlagSet(c, fs, e, args)
		if !ok {
			return status
		}
		switch {
		case len(pos) > 0:
			return usageError(c, e, "sp-metadata takes no arguments (got %q)", pos[0])
		case o.baseURL == "" && (o.entityID == "" || o.acsURL == ""):
			return usageError(c, e, "give --base-url, or --entity-id and --acs-url")
		case (o.certFile == "") != (o.keyFile == ""):
			return usageError(c, e, "--cert and --key go together: the key decides whether the certificate is published for encryption (keygen writes both)")
		}
		cfg := saml2sp.Config{
			BaseURL: o.baseURL, EntityID: o.entityID, ACSURL: o.acsURL, SLOURL: o.sloURL,
			NameIDFormat: o.nameIDFormat,
			Logger:       slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		}
		if o.certFile != "" {
			kp, err := saml2sp.LoadKeyPair(o.certFile, o.keyFile)
			if err != nil {
				return failure(c, e, exitUnusable, "--cert %s with --key %s: %v", o.certFile, o.keyFile, err)
			}
			cfg.Key, cfg.Certificate = kp.Key, kp.Certificate
		}
		idp, err := placeholderIdP()
		if err != nil {
			return failure(c, e, exitRefused, "%v", err)
		}
		cfg.IdP = idp
		sp, err := saml2sp.New(cfg)
		if err != nil {
			return failure(c, e, exitUnusable, "these flags make no valid SP configuration: %v", err)
		}
		e.stdout.Write(sp.Metadata())
		return exitOK
	}
	return c
}

// placeholderIdP is an IdP for the SP that prints metadata: New requires
// one, and Metadata never reads it. Its key is thrown away.
func placeholderIdP() (*saml2sp.IdentityProvider, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "placeholder (saml2sp sp-metadata)"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &saml2sp.IdentityProvider{EntityID: "urn:saml2sp:placeholder-idp", Certificates: []*x509.Certificate{cert}}, nil
}
