package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/saml2sp/saml2sp"
)

// maxKeygenDays bounds --days (a hundred years).
const maxKeygenDays = 36500

type keygenOptions struct {
	certFile, keyFile, commonName string
	days                          int
}

func (o *keygenOptions) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.certFile, "cert", "sp-cert.pem", "write the certificate to `FILE` (mode 0644)")
	fs.StringVar(&o.keyFile, "key", "sp-key.pem", "write the private key to `FILE` (mode 0600)")
	fs.StringVar(&o.commonName, "cn", "saml2sp SP", "the certificate's common `NAME` (the SP's entity ID is a good one)")
	fs.IntVar(&o.days, "days", 3650, "the certificate is valid for `N` days")
}

func keygenCommand() *command {
	c := &command{
		name:    "keygen",
		summary: "write a new SP key pair (RSA-2048 key and self-signed certificate)",
		usage: `
Usage: saml2sp keygen [flags]

Keygen writes a new SP key pair with the library's GenerateKeyPair and
WriteFiles: an RSA-2048 private key (PKCS #8 PEM, readable by its owner
only) and a self-signed certificate for it (PEM). SAML uses the certificate
only to carry the public key, which IdPs pin from the SP's metadata, so a
self-signed one with a long validity is the norm. Keygen never overwrites
a file: it stops if either exists.
`,
	}
	c.flags = func(fs *flag.FlagSet) { new(keygenOptions).bind(fs) }
	c.run = func(e *env, args []string) int {
		var o keygenOptions
		fs := flag.NewFlagSet("saml2sp keygen", flag.ContinueOnError)
		o.bind(fs)
		pos, status, ok := parseFlagSet(c, fs, e, args)
		if !ok {
			return status
		}
		switch {
		case len(pos) > 0:
			return usageError(c, e, "keygen takes no arguments (got %q); name the files with --cert and --key", pos[0])
		case o.certFile == "" || o.keyFile == "":
			return usageError(c, e, "--cert and --key must name files")
		case filepath.Clean(o.certFile) == filepath.Clean(o.keyFile):
			return usageError(c, e, "--cert and --key name the same file")
		case o.days < 1 || o.days > maxKeygenDays:
			return usageError(c, e, "--days must be between 1 and %d", maxKeygenDays)
		case o.commonName == "":
			return usageError(c, e, "--cn must not be empty")
		}
		for _, f := range []string{o.keyFile, o.certFile} {
			if _, err := os.Lstat(f); err == nil {
				return failure(c, e, exitRefused, "%s exists: keygen never overwrites a key or certificate (the IdPs may trust it); remove it or choose another name", f)
			} else if !errors.Is(err, os.ErrNotExist) {
				return failure(c, e, exitRefused, "%v", err)
			}
		}
		kp, err := saml2sp.GenerateKeyPair(o.commonName, time.Duration(o.days)*24*time.Hour)
		if err != nil {
			return failure(c, e, exitRefused, "generating the key: %v", err)
		}
		// WriteFiles creates the key file exclusively, with mode 0600.
		if err := kp.WriteFiles(o.certFile, o.keyFile); err != nil {
			return failure(c, e, exitRefused, "%v", err)
		}
		lines, _ := describeCert(kp.Certificate, time.Now())
		fmt.Fprintf(e.stdout, "Wrote the private key %s (mode 0600: keep it secret) and the certificate %s:\n", o.keyFile, o.certFile)
		for _, l := range lines {
			fmt.Fprintf(e.stdout, "  %s\n", l)
		}
		fmt.Fprintf(e.stdout, "Publish it in the SP's metadata: saml2sp sp-metadata --cert %s --key %s ...\n", o.certFile, o.keyFile)
		return exitOK
	}
	return c
}
