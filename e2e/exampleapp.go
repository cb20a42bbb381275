package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// ExampleAppDir is the example app's source, from this module's folder.
const ExampleAppDir = "../examples/app"

// BuildExampleApp compiles the example app (examples/app, its own module,
// so it cannot be imported) into dir and returns the binary's path. The
// first build compiles SQLite (modernc.org/sqlite) and takes a minute or
// more; Go's build cache makes later ones quick.
func BuildExampleApp(ctx context.Context, dir string) (string, error) {
	src, err := filepath.Abs(ExampleAppDir)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "example-app")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = src
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build in %s: %w\n%s", src, err, out)
	}
	return bin, nil
}

// ExampleApp is the example app's binary running on loopback with its
// development IdP, or with an IdP metadata URL (ExampleAppOptions).
type ExampleApp struct {
	// URL is the app's base URL, "http://127.0.0.1:<port>/".
	URL string
	// DevIdPURL is the development IdP's base URL,
	// "http://localhost:<port>/dev-idp/": another site than the app.
	DevIdPURL string
	// DataDir holds the app's SQLite file and keys.
	DataDir string

	out syncBuffer // the binary's stdout and stderr
}

// ExampleAppOptions are extra settings of a run.
type ExampleAppOptions struct {
	// Args are more flags (-allow-idp-initiated, -idp-metadata-url ...).
	Args []string
	// Env are more environment variables ("SAML2SP_X=y").
	Env []string
}

// StartExampleApp runs bin with its app on 127.0.0.1 and its development
// IdP on localhost (other sites), both on free ports, waits until the app
// answers, and stops it (SIGINT, as Ctrl-C does) when the test ends; a
// failed test gets its output.
func StartExampleApp(t testing.TB, bin string, o ExampleAppOptions) *ExampleApp {
	t.Helper()
	appPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	idpPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	a := &ExampleApp{
		URL:       "http://127.0.0.1:" + strconv.Itoa(appPort) + "/",
		DevIdPURL: "http://localhost:" + strconv.Itoa(idpPort) + "/dev-idp/",
		DataDir:   t.TempDir(),
	}
	args := append([]string{
		"-addr", "127.0.0.1:" + strconv.Itoa(appPort), "-base-url", a.URL,
		"-dev-idp-addr", "127.0.0.1:" + strconv.Itoa(idpPort), "-dev-idp-url", a.DevIdPURL,
		"-data-dir", a.DataDir,
	}, o.Args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.Stdout, cmd.Stderr = &a.out, &a.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("example app output:\n%s", a.out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(a.URL)
		if err == nil {
			resp.Body.Close()
			return a
		}
		select {
		case err := <-exited:
			t.Fatalf("the example app exited at start (%v):\n%s", err, a.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the example app does not answer at %s: %v\n%s", a.URL, err, a.out.String())
		}
	}
}

// Output returns what the binary printed so far.
func (a *ExampleApp) Output() string { return a.out.String() }

// RequireChromium is RequireTools for scenarios that need Chromium only
// (not SimpleSAMLphp): it skips loudly, or fails under CI.
func RequireChromium(t testing.TB) string {
	t.Helper()
	if _, chromium := MissingTools(); chromium != "" {
		return chromium
	}
	msg := "\n" + strings.Repeat("!", 72) + "\n!!! E2E TESTS NOT RUN: Chromium is missing (apt-get install chromium)\n" + strings.Repeat("!", 72)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "\n(CI is set, so this is a failure, not a skip)")
	}
	t.Skip(msg)
	return ""
}

// LateIdP is a development IdP that behaves like SimpleSAMLphp waiting
// for an SP: its metadata URL answers 503 until Open, and then, before
// answering, it fetches the SP's metadata from the app and registers the
// SP with the certificate found there (so it requires the SP's requests
// signed with that key). An app that needs the IdP's metadata before it
// serves its own waits for it forever.
type LateIdP struct {
	// BaseURL is "http://localhost:<port>/dev-idp/".
	BaseURL string

	spMetadataURL string
	mu            sync.Mutex
	open          bool
	dev           *saml2sptest.Server
}

// StartLateIdP serves a LateIdP, closed.
func StartLateIdP(t testing.TB) *LateIdP {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	l := &LateIdP{BaseURL: "http://localhost:" + port + "/dev-idp/"}
	srv.Config.Handler = l
	srv.Start()
	return l
}

// MetadataURL is where the IdP's metadata is (once open).
func (l *LateIdP) MetadataURL() string { return l.BaseURL + "metadata" }

// Open makes the IdP answer, for the SP whose metadata is at
// spMetadataURL (its ACS and SLS beside it: acs, sls).
func (l *LateIdP) Open(spMetadataURL string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open, l.spMetadataURL = true, spMetadataURL
}

// spCertificate matches the first certificate of SP metadata.
var spCertificate = regexp.MustCompile(`<ds:X509Certificate>([^<]+)</ds:X509Certificate>`)

func (l *LateIdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.open {
		http.Error(w, "the IdP cannot load the SP metadata yet", http.StatusServiceUnavailable)
		return
	}
	if l.dev == nil {
		dev, err := l.fromSPMetadata(r.Context())
		if err != nil {
			http.Error(w, "the IdP cannot load the SP metadata: "+err.Error(), http.StatusBadGateway)
			return
		}
		l.dev = dev
	}
	l.dev.Handler().ServeHTTP(w, r)
}

func (l *LateIdP) fromSPMetadata(ctx context.Context) (*saml2sptest.Server, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.spMetadataURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	md, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	m := spCertificate.FindSubmatch(md)
	if resp.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("%s answered %d without a certificate", l.spMetadataURL, resp.StatusCode)
	}
	cert, err := saml2sp.ParseCertificate(string(m[1]))
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(l.spMetadataURL, "metadata")
	return saml2sptest.NewServer(l.BaseURL, nil, saml2sptest.DevSP{
		EntityID: l.spMetadataURL, ACSURL: base + "acs", SLOURL: base + "sls", Certificate: cert,
	})
}
