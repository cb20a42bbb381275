package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/saml2sp/saml2sp"
)

type verifyOptions struct {
	idpMetadata, spEntityID, acsURL string
	spKeys                          stringList
	spCert                          string
	requestIDs                      stringList
	allowIdPInitiated               bool
	clockSkew                       time.Duration
	now                             string
	insecureAllowSHA1               bool
	json                            bool
	mapping                         string
	message                         int
}

// presetNames are the names MappingPreset knows, for the usage text.
const presetNames = "okta, entra, adfs, google, onelogin, jumpcloud, ping, auth0, keycloak, simplesamlphp, shibboleth, generic"

func (o *verifyOptions) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.idpMetadata, "idp-metadata", "", "the IdP's metadata: a `FILE` or an https URL (required)")
	fs.StringVar(&o.spEntityID, "sp-entity-id", "", "the SP's entity `ID`, as the app configures it (required)")
	fs.StringVar(&o.acsURL, "acs-url", "", "the SP's Assertion Consumer Service `URL` (required)")
	fs.Var(&o.spKeys, "sp-key", "an SP private key `PEMFILE` that decrypts assertions; repeat it for keys the app keeps as PreviousKeys")
	fs.StringVar(&o.spCert, "sp-cert", "", "the certificate `PEMFILE` of the first --sp-key (as Config.Key and Certificate); without it every key acts as a PreviousKeys entry")
	fs.Var(&o.requestIDs, "request-id", "the `ID` of an AuthnRequest the SP sent and still expects an answer to (repeatable)")
	fs.BoolVar(&o.allowIdPInitiated, "allow-idp-initiated", false, "accept Responses that answer no request (Config.AllowIdPInitiated)")
	fs.DurationVar(&o.clockSkew, "clock-skew", 0, "tolerated clock difference (Config.ClockSkew; 0: the library's default, 90s)")
	fs.StringVar(&o.now, "now", "", "check at this RFC 3339 `time` instead of now: captured Responses are old")
	fs.BoolVar(&o.insecureAllowSHA1, "insecure-allow-sha1", false, "accept SHA-1 signatures (Config.InsecureAllowSHA1)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON, one object per Response")
	fs.StringVar(&o.mapping, "mapping", "", "show the identity this attribute mapping `PRESET` finds ("+presetNames+")")
	fs.IntVar(&o.message, "message", 0, "check only message `N` of the input (as decode numbers them); 0: every Response")
}

func verifyCommand() *command {
	c := &command{
		name:    "verify",
		summary: "check a captured Response exactly as the SP would, check by check",
		usage: `
Usage: saml2sp verify --idp-metadata FILE|URL --sp-entity-id ID --acs-url URL [flags] [FILE|-]

Verify checks a captured SAMLResponse the way an app built on saml2sp does:
it runs the library's Diagnose, which is ParseResponse itself, and prints
every check in order (passed, FAILED, not reached, not applicable) with
the reason, the verdict and its error class, what the Response claims
(marked VERIFIED only when read from the element the IdP's signature
covers) and, with --mapping, the identity the app would get.

The input (FILE, or standard input) may take any form decode accepts. A HAR
file may hold several Responses: each is checked, in order, by one SP (so
a Response posted twice is a replay the second time, as in the app); pick
one with --message N. The SP remembers only what this run checks: the
app's replay cache is not consulted.

The SP is configured from the flags as an app configures it: the IdP from
its metadata, the SP's entity ID and ACS URL, its keys. Give --now the time
the Response was posted: it was valid for a few minutes only.

Decryption needs the SP's private key (--sp-key). Give its certificate too
(--sp-cert) to check exactly as the app does: an EncryptedKey that names
the SP certificate by issuer and serial number is found only with it.
With --sp-key, a decryption failure says why (DecryptionDetail): run this
only as the key's owner.

Exit status: 0 every Response accepted (and, with --mapping, mapped to an
identity), 1 a Response refused (or no identity found), 2 unusable input
or flags.
`,
	}
	c.flags = func(fs *flag.FlagSet) { new(verifyOptions).bind(fs) }
	c.run = func(e *env, args []string) int {
		var o verifyOptions
		fs := flag.NewFlagSet("saml2sp verify", flag.ContinueOnError)
		o.bind(fs)
		pos, status, ok := parseFlagSet(c, fs, e, args)
		if !ok {
			return status
		}
		return runVerify(c, e, &o, pos)
	}
	return c
}

// candidate is a message verify checks.
type candidate struct {
	n     int // its number among the input's messages
	m     *message
	value string // the SAMLResponse form value handed to Diagnose
}

func runVerify(c *command, e *env, o *verifyOptions, pos []string) int {
	switch {
	case o.idpMetadata == "":
		return usageError(c, e, "--idp-metadata is required")
	case o.spEntityID == "":
		return usageError(c, e, "--sp-entity-id is required")
	case o.acsURL == "":
		return usageError(c, e, "--acs-url is required")
	case o.spCert != "" && len(o.spKeys) == 0:
		return usageError(c, e, "--sp-cert needs --sp-key: a certificate decrypts nothing")
	case o.message < 0:
		return usageError(c, e, "--message must be 1 or more")
	case len(pos) > 1:
		return usageError(c, e, "one input at most, got %d", len(pos))
	}
	var mapping *saml2sp.AttributeMapping
	if o.mapping != "" {
		m, ok := saml2sp.MappingPreset(o.mapping)
		if !ok {
			return usageError(c, e, "--mapping %q is not a preset; use one of %s", o.mapping, presetNames)
		}
		mapping = &m
	}
	now, nowGiven := time.Now().UTC(), o.now != ""
	if nowGiven {
		t, err := time.Parse(time.RFC3339, o.now)
		if err != nil {
			return usageError(c, e, "--now %q is not an RFC 3339 time (2026-01-15T10:01:00Z)", o.now)
		}
		now = t.UTC()
	}

	msgs, name, kind, err := readMessages(pos, e.stdin)
	if err != nil {
		return failure(c, e, exitUnusable, "%v", err)
	}
	cands, err := pickResponses(msgs, o.message)
	if err != nil {
		return failure(c, e, exitUnusable, "%s (%s): %v", name, kind, err)
	}

	ctx := context.Background()
	idp, err := loadIdP(ctx, o.idpMetadata)
	if err != nil {
		return failure(c, e, exitUnusable, "the IdP metadata %s is unusable: %v", o.idpMetadata, err)
	}
	key, cert, previous, err := loadSPKeys(o.spKeys, o.spCert)
	if err != nil {
		return failure(c, e, exitUnusable, "%v", err)
	}
	logs := newLogCollector()
	sp, err := saml2sp.New(saml2sp.Config{
		EntityID:          o.spEntityID,
		ACSURL:            o.acsURL,
		IdP:               idp,
		Key:               key,
		Certificate:       cert,
		PreviousKeys:      previous,
		AllowIdPInitiated: o.allowIdPInitiated,
		ClockSkew:         o.clockSkew,
		Clock:             func() time.Time { return now },
		InsecureAllowSHA1: o.insecureAllowSHA1,
		Logger:            slog.New(logs),
	})
	if err != nil {
		return failure(c, e, exitUnusable, "these flags make no valid SP configuration: %v", err)
	}
	setupLog := logs.take()

	setup := verifySetup{
		opts: o, now: now, nowGiven: nowGiven, idp: idp, inputName: name, inputKind: kind,
		keys: len(o.spKeys), total: len(msgs),
	}
	status := exitOK
	for i, cd := range cands {
		report := sp.Diagnose(ctx, cd.value, o.requestIDs, saml2sp.DiagnoseOptions{DecryptionDetail: len(o.spKeys) > 0})
		res := newVerifyResult(&setup, cd, report, mapping)
		res.Log = append(slices.Clone(setupLog), logs.take()...)
		if !res.Accepted || (res.Identity != nil && res.Identity.Error != "") {
			status = exitRefused
		}
		if o.json {
			if err := writeJSON(e.stdout, res); err != nil {
				return failure(c, e, exitUnusable, "%v", err)
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		printVerify(e.stdout, &setup, res, i+1, len(cands))
	}
	return status
}

// pickResponses chooses the messages to verify: message n (1-based) when
// n > 0, else every message that is a login Response, or that cannot be
// decoded (the library then says why).
func pickResponses(msgs []*message, n int) ([]candidate, error) {
	if n > 0 {
		if n > len(msgs) {
			return nil, fmt.Errorf("--message %d: the input holds %s", n, plural(len(msgs), "SAML message"))
		}
		m := msgs[n-1]
		v, why := responseValue(m)
		if why != "" {
			return nil, fmt.Errorf("message %d (%s) cannot be verified: %s", n, m.Source, why)
		}
		return []candidate{{n: n, m: m, value: v}}, nil
	}
	var out []candidate
	var skipped []string
	for i, m := range msgs {
		v, why := responseValue(m)
		if why == "" && m.XML != nil {
			if root := rootName(m.XML); root != "Response" {
				why = "a " + root + ", not a login Response"
			}
		}
		if why != "" {
			skipped = append(skipped, fmt.Sprintf("message %d, %s from %s: %s", i+1, m.label(), m.Source, why))
			continue
		}
		out = append(out, candidate{n: i + 1, m: m, value: v})
	}
	if len(out) == 0 {
		if len(skipped) == 0 {
			return nil, errors.New("no SAML message found")
		}
		return nil, fmt.Errorf("no SAMLResponse to verify:\n  %s\n(decode shows them)", safe(strings.Join(skipped, "\n  ")))
	}
	return out, nil
}

// responseValue returns the SAMLResponse form value the ACS would get for
// m, or why m is not one.
func responseValue(m *message) (value, why string) {
	switch {
	case m.Param == paramRequest:
		return "", "a SAMLRequest: verify checks Responses"
	case m.Encoding == encXML:
		// As the browser would post it. Signatures verify only if this is
		// byte for byte the document the IdP signed.
		return base64.StdEncoding.EncodeToString(m.XML), ""
	case m.Encoding == encDeflate:
		return "", "DEFLATE-compressed in a URL (the HTTP-Redirect binding); the ACS takes Responses by HTTP-POST only"
	}
	return m.Value, ""
}

// rootName returns the local name of a document's root element ("" when
// it has none that can be read).
func rootName(doc []byte) string {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for range 64 {
		tok, err := d.RawToken()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
	return ""
}

// loadSPKeys reads the SP's keys: with certFile, the first key file and
// the certificate are the Key and Certificate (as the app has them), the
// other keys previous keys; without, every key is a previous key, which
// decrypts and is recognized by its public key.
func loadSPKeys(keyFiles []string, certFile string) (crypto.Signer, *x509.Certificate, []crypto.Decrypter, error) {
	var key crypto.Signer
	var cert *x509.Certificate
	rest := keyFiles
	if certFile != "" {
		kp, err := saml2sp.LoadKeyPair(certFile, keyFiles[0])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--sp-cert %s with --sp-key %s: %w", certFile, keyFiles[0], err)
		}
		key, cert, rest = kp.Key, kp.Certificate, keyFiles[1:]
	}
	var previous []crypto.Decrypter
	for _, f := range rest {
		k, err := readPrivateKey(f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--sp-key %s: %w", f, err)
		}
		d, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, nil, nil, fmt.Errorf("--sp-key %s: a %T decrypts nothing; only RSA keys decrypt assertions", f, k)
		}
		previous = append(previous, d)
	}
	return key, cert, previous, nil
}

// readPrivateKey reads a PEM private key file, as saml2sp.ParsePrivateKey
// does.
func readPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return saml2sp.ParsePrivateKey(data)
}
