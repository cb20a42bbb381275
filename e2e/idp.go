// Package e2e drives saml2sp's web flows end to end: a real SimpleSAMLphp
// IdP (Debian's package, served by `php -S` on loopback), a tiny app built on
// saml2sp's public API only, and headless Chromium in between. See README.md.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SimpleSAMLphpDir is where Debian's simplesamlphp package installs the code;
// its www/ folder is the web root.
const SimpleSAMLphpDir = "/usr/share/simplesamlphp"

// SAML name formats and bindings written into the IdP's configuration.
const (
	nameIDEmail  = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	bindingPOST  = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	bindingRedir = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
)

// RemoteSP is one service provider the IdP knows (saml20-sp-remote.php).
type RemoteSP struct {
	EntityID string // the SP's entity ID
	ACSURL   string // HTTP-POST
	SLSURL   string // HTTP-Redirect; empty: no single logout
	// Certificate, when set, is given to the IdP as certData and turns on
	// validate.authnrequest and validate.logout: the SP's AuthnRequests
	// and logout messages must then be signed with the matching key.
	Certificate *x509.Certificate
	// EncryptAssertions sets assertion.encryption: the IdP encrypts each
	// assertion for this SP, with the public key of Certificate (required).
	EncryptAssertions bool
}

// IdPOptions configure StartIdP.
type IdPOptions struct {
	// Host the IdP is served as: "127.0.0.1" (the default, same site as an
	// app on 127.0.0.1) or "localhost" (another site: cookies ignore ports,
	// but sites do not, so an app on 127.0.0.1 sees cross-site requests).
	// The server always listens on 127.0.0.1.
	Host string
	// SPs the IdP accepts requests from and sends assertions to.
	SPs []RemoteSP
	// TrustedDomains are host:port values the IdP may redirect to
	// (RelayState of initSLO.php, ReturnTo). The IdP's own is added.
	TrustedDomains []string
}

// IdP is a running SimpleSAMLphp IdP.
type IdP struct {
	// BaseURL is the IdP's root, ending in "/".
	BaseURL string
	// EntityID is the IdP's entity ID, which is also its metadata URL.
	EntityID string
	// Dir holds config/, metadata/, cert/ and var/ (logs, sessions).
	Dir string
	// Certificate is the IdP's signing certificate.
	Certificate *x509.Certificate
}

// MetadataURL is where the IdP publishes its SAML metadata.
func (idp *IdP) MetadataURL() string { return idp.BaseURL + "saml2/idp/metadata.php" }

// InitiateSSOURL starts an IdP-initiated login for spEntityID; the Response
// carries relayState.
func (idp *IdP) InitiateSSOURL(spEntityID, relayState string) string {
	return idp.BaseURL + "saml2/idp/SSOService.php?" + url.Values{
		"spentityid": {spEntityID}, "RelayState": {relayState},
	}.Encode()
}

// InitiateSLOURL starts an IdP-initiated logout of every SP in the IdP
// session; the browser lands on returnTo (its host:port must be trusted).
func (idp *IdP) InitiateSLOURL(returnTo string) string {
	return idp.BaseURL + "saml2/idp/initSLO.php?" + url.Values{"RelayState": {returnTo}}.Encode()
}

// Log returns SimpleSAMLphp's log (debug level, every SAML message's XML)
// followed by the PHP server's own output.
func (idp *IdP) Log() string {
	var b strings.Builder
	for _, name := range []string{"simplesamlphp.log", "php-server.log"} {
		data, err := os.ReadFile(filepath.Join(idp.Dir, "var", "log", name))
		if err != nil {
			fmt.Fprintf(&b, "--- %s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(&b, "--- %s (%d bytes)\n%s\n", name, len(data), data)
	}
	return b.String()
}

// SignaturesValidated counts the signatures on messages from SPs that
// SimpleSAMLphp checked and found good (AuthnRequests, LogoutRequests,
// LogoutResponses), from its log.
func (idp *IdP) SignaturesValidated() int {
	data, err := os.ReadFile(filepath.Join(idp.Dir, "var", "log", "simplesamlphp.log"))
	if err != nil {
		return 0
	}
	return len(validatedRE.FindAllIndex(data, -1))
}

// validatedRE is what modules/saml/lib/Message.php logs for a good signature.
var validatedRE = regexp.MustCompile(`Validation with key #\d+ succeeded\.`)

// MissingTools reports which of the tools the e2e tests need are missing:
// php with the DOM extension (php-cli, php-xml), SimpleSAMLphp, Chromium.
// The second result is Chromium's path when found.
func MissingTools() (missing []string, chromium string) {
	if phpPath, err := exec.LookPath("php"); err != nil {
		missing = append(missing, "php (apt-get install php-cli)")
	} else if err := exec.Command(phpPath, "-r", `exit(class_exists("DOMDocument") ? 0 : 1);`).Run(); err != nil {
		missing = append(missing, "PHP's DOM extension (apt-get install php-xml)")
	}
	if _, err := os.Stat(filepath.Join(SimpleSAMLphpDir, "www", "saml2", "idp", "SSOService.php")); err != nil {
		missing = append(missing, "SimpleSAMLphp in "+SimpleSAMLphpDir+" (apt-get install simplesamlphp)")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		missing = append(missing, "Chromium (apt-get install chromium)")
	}
	return missing, chromium
}

// StartIdP writes a SimpleSAMLphp configuration into a fresh temporary
// folder, generates the IdP's key and certificate, starts `php -S` in its
// own process group and waits until the IdP's metadata answers. The server
// is killed when the test ends; if the test failed, SimpleSAMLphp's log is
// written to the test log first.
//
// Users: alice/alicepass (uid, mail, givenName, sn, groups "users" and
// "Dogs & cats") and bob/bobpass. NameIDs are emailAddress, taken from mail.
func StartIdP(t testing.TB, opts IdPOptions) *IdP {
	t.Helper()
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	dir := t.TempDir()
	for _, d := range []string{"config", "metadata", "cert", "var/tmp", "var/sessions", "var/log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key, cert, err := NewKeyPair("SimpleSAMLphp e2e test IdP")
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cert", "idp.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	writeFile(t, filepath.Join(dir, "cert", "idp.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	writeFile(t, filepath.Join(dir, "config", "authsources.php"), []byte(authsourcesPHP))
	writeFile(t, filepath.Join(dir, "metadata", "saml20-sp-remote.php"), []byte(spRemotePHP(opts.SPs)))

	idp := &IdP{Dir: dir, Certificate: cert}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("SimpleSAMLphp IdP at %s:\n%s", idp.BaseURL, idp.Log())
		}
	})

	// The port is chosen by the kernel and released just before php binds
	// it, so another process may take it in between: retry a few times.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		idp.BaseURL = "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
		idp.EntityID = idp.MetadataURL()
		trusted := append([]string{net.JoinHostPort(host, strconv.Itoa(port))}, opts.TrustedDomains...)
		writeFile(t, filepath.Join(dir, "config", "config.php"), []byte(configPHP(idp.BaseURL, trusted)))
		writeFile(t, filepath.Join(dir, "metadata", "saml20-idp-hosted.php"), []byte(idpHostedPHP(idp.EntityID)))
		if lastErr = idp.serve(t, port); lastErr == nil {
			return idp
		}
	}
	t.Fatalf("e2e: SimpleSAMLphp did not start: %v", lastErr)
	return nil
}

// serve starts php -S on 127.0.0.1:port and waits for the IdP's metadata.
func (idp *IdP) serve(t testing.TB, port int) error {
	logFile, err := os.OpenFile(filepath.Join(idp.Dir, "var", "log", "php-server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("php",
		"-d", "opcache.revalidate_freq=0",
		"-S", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		"-t", filepath.Join(SimpleSAMLphpDir, "www"))
	cmd.Dir = idp.Dir
	cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+filepath.Join(idp.Dir, "config"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group, so that killing it also ends any PHP workers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("php -S on port %d exited: %s", port, lastLines(idp.Log(), 10))
		default:
		}
		// Error pages answer 200 too: look for the metadata itself. The
		// request goes to 127.0.0.1 whatever the Host is: the server
		// answers on both names.
		body, err := get(client, fmt.Sprintf("http://127.0.0.1:%d/saml2/idp/metadata.php", port))
		if err == nil && strings.Contains(body, "EntityDescriptor") && strings.Contains(body, idp.EntityID) {
			t.Cleanup(stop)
			return nil
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("no IdP metadata on port %d after 15s (last answer: %v %.500s)", port, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(client *http.Client, u string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func writeFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// NewKeyPair generates an RSA-2048 key and a self-signed certificate for it,
// valid from an hour ago for a day.
func NewKeyPair(commonName string) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

// php quotes s as a PHP single-quoted string literal.
func php(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func configPHP(baseURL string, trusted []string) string {
	var td []string
	for _, d := range trusted {
		td = append(td, php(d))
	}
	return `<?php
// SimpleSAMLphp 1.19 loopback test IdP, written by saml2sp's e2e tests.
$base = dirname(__DIR__);
$config = [
    'baseurlpath' => ` + php(baseURL) + `,
    'secretsalt' => 'e2e-test-only-not-a-secret',
    'auth.adminpassword' => 'e2e-test-only-admin',
    'technicalcontact_name' => 'saml2sp e2e',
    'technicalcontact_email' => 'e2e@example.org',
    'certdir' => $base . '/cert/',
    'metadatadir' => $base . '/metadata/',
    'datadir' => $base . '/var/',
    'tempdir' => $base . '/var/tmp',
    'loggingdir' => $base . '/var/log/',
    'logging.handler' => 'file',
    'logging.logfile' => 'simplesamlphp.log',
    'logging.level' => SimpleSAML\Logger::DEBUG,
    'debug' => ['saml' => true, 'backtraces' => true, 'validatexml' => false],
    'enable.saml20-idp' => true,
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true],
    'trusted.url.domains' => [` + strings.Join(td, ", ") + `],
    'store.type' => 'phpsession',
    'session.phpsession.cookiename' => 'SimpleSAML',
    'session.phpsession.savepath' => $base . '/var/sessions',
    'session.cookie.secure' => false,
    'session.cookie.samesite' => null,
    'language.cookie.secure' => false,
    'language.cookie.samesite' => null,
    'admin.checkforupdates' => false,
    'timezone' => 'UTC',
];
`
}

const authsourcesPHP = `<?php
$config = [
    'admin' => ['core:AdminPassword'],
    'example-userpass' => [
        'exampleauth:UserPass',
        'alice:alicepass' => [
            'uid' => ['alice'],
            'mail' => ['alice@example.com'],
            'givenName' => ['Alice'],
            'sn' => ['Liddell'],
            'groups' => ['users', 'Dogs & cats'],
        ],
        'bob:bobpass' => [
            'uid' => ['bob'],
            'mail' => ['bob@example.com'],
            'givenName' => ['Bob'],
            'sn' => ['Builder'],
            'groups' => ['users'],
        ],
    ],
];
`

func idpHostedPHP(entityID string) string {
	return `<?php
$metadata[` + php(entityID) + `] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'example-userpass',
    'NameIDFormat' => ` + php(nameIDEmail) + `,
];
`
}

func spRemotePHP(sps []RemoteSP) string {
	var b bytes.Buffer
	b.WriteString("<?php\n")
	for _, sp := range sps {
		fmt.Fprintf(&b, "$metadata[%s] = [\n", php(sp.EntityID))
		fmt.Fprintf(&b, "    'AssertionConsumerService' => [['Binding' => %s, 'Location' => %s, 'index' => 0]],\n",
			php(bindingPOST), php(sp.ACSURL))
		if sp.SLSURL != "" {
			fmt.Fprintf(&b, "    'SingleLogoutService' => [['Binding' => %s, 'Location' => %s]],\n",
				php(bindingRedir), php(sp.SLSURL))
		}
		fmt.Fprintf(&b, "    'NameIDFormat' => %s,\n", php(nameIDEmail))
		b.WriteString("    'simplesaml.nameidattribute' => 'mail',\n")
		b.WriteString("    'sign.logout' => true,\n")
		b.WriteString("    'redirect.sign' => true,\n")
		if sp.Certificate != nil {
			fmt.Fprintf(&b, "    'certData' => %s,\n", php(base64.StdEncoding.EncodeToString(sp.Certificate.Raw)))
			b.WriteString("    'validate.authnrequest' => true,\n")
			b.WriteString("    'validate.logout' => true,\n")
		}
		if sp.EncryptAssertions {
			b.WriteString("    'assertion.encryption' => true,\n")
		}
		b.WriteString("];\n")
	}
	return b.String()
}

// RequireTools skips the test, loudly, when MissingTools reports anything,
// or fails it when the CI environment variable is set: CI installs the tools
// (.ci/run), so a missing one there is a broken setup, not a reason to skip.
// It returns Chromium's path.
func RequireTools(t testing.TB) string {
	t.Helper()
	missing, chromium := MissingTools()
	if len(missing) == 0 {
		return chromium
	}
	msg := "\n" + strings.Repeat("!", 72) + "\n" +
		"!!! E2E TESTS NOT RUN: missing " + strings.Join(missing, "; ") + "\n" +
		"!!! Install: apt-get install simplesamlphp php-cli php-xml chromium\n" +
		strings.Repeat("!", 72)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "\n(CI is set, so this is a failure, not a skip)")
	}
	t.Skip(msg)
	return ""
}
