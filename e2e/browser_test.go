package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one browser step (a navigation with its redirects, a
// form submission and the SAML round trip it triggers).
const stepTimeout = 10 * time.Second

// browser is a fresh headless Chromium with its own profile, closed when the
// test ends.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu   sync.Mutex
	errs []string // chromedp's own errors, minus the known noise
}

// opts are added last, so they override the flags above.
func newBrowser(t *testing.T, chromium string, opts ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes may still write to the
	// profile for a moment after the browser exits, and TempDir's cleanup
	// fails the test when RemoveAll does.
	profile, err := os.MkdirTemp("", "saml2sp-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts = append(append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		// Hosts under .test (app.saml2sp.test, evil.saml2sp.test,
		// attacker.test) are loopback, and the HTTPS scenarios' certificate
		// is self-signed (TLSConfig). Chromium still treats such an origin
		// as secure: Secure and __Host- cookies work on it.
		chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1000, 800),
	), opts...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(b.errorf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for Chromium to exit
		removeProfile(t, profile)
	})
	// Start the browser on the long-lived context: a timeout on the first
	// Run would end the whole browser when it fires.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("e2e: starting Chromium %s: %v", chromium, err)
	}
	b.ctx = ctx
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if len(b.errs) > 0 {
				t.Logf("chromedp errors:\n%s", strings.Join(b.errs, "\n"))
			}
		}
	})
	return b
}

// trustingOnly are newBrowser options that make Chromium check
// certificates again and trust cfg's (TLSConfig's) by its public key
// alone: the origin is then what a real deployment's is, not one whose
// certificate errors are ignored.
func trustingOnly(cfg *tls.Config) []chromedp.ExecAllocatorOption {
	spki := sha256.Sum256(cfg.Certificates[0].Leaf.RawSubjectPublicKeyInfo)
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("ignore-certificate-errors", false),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
	}
}

// removeProfile deletes Chromium's profile folder, retrying while helper
// processes finish writing to it.
func removeProfile(t *testing.T, dir string) {
	var err error
	for i := 0; i < 20; i++ {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("e2e: leaving Chromium profile %s behind: %v", dir, err)
}

// errorf keeps chromedp's errors for the failure dump. cdproto v0.13 does
// not know some enum values Chromium 156 sends ("could not unmarshal event
// ... IPAddressSpace value: Loopback"): harmless, dropped.
func (b *browser) errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, "could not unmarshal event") {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, msg)
}

// run runs actions as one step; on error it shows where the browser is and
// what it shows, then fails the test.
func (b *browser) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.describe())
	}
}

// describe returns the current URL and the start of the page's HTML.
func (b *browser) describe() string {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	var loc, html string
	if err := chromedp.Run(ctx, chromedp.Location(&loc), chromedp.OuterHTML("html", &html, chromedp.ByQuery)); err != nil {
		return fmt.Sprintf("(browser state unavailable: %v; location %q)", err, loc)
	}
	if len(html) > 4000 {
		html = html[:4000] + "…"
	}
	return fmt.Sprintf("browser at %s showing:\n%s", loc, html)
}

// location returns the current URL.
func (b *browser) location() string {
	b.t.Helper()
	var loc string
	b.run("reading the location", chromedp.Location(&loc))
	return loc
}

// text returns the text of the first element matching the CSS selector.
func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.run("reading "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
	return strings.TrimSpace(s)
}

// texts returns the text of every element matching the CSS selector.
func (b *browser) texts(sel string) []string {
	b.t.Helper()
	var out []string
	b.run("reading all "+sel, chromedp.Evaluate(
		fmt.Sprintf(`Array.from(document.querySelectorAll(%q), e => e.textContent)`, sel), &out))
	return out
}

// sspErrorPage matches SimpleSAMLphp's error pages (they answer HTTP 200,
// so only the content tells): each shows a tracking ID.
const sspErrorPage = "#trackid"

// waitFor waits until the page shows an element matching sel, failing at
// once if SimpleSAMLphp shows an error page instead.
func (b *browser) waitFor(what, sel string, actions ...chromedp.Action) {
	b.t.Helper()
	var isError bool
	actions = append(actions,
		chromedp.WaitVisible(sel+", "+sspErrorPage, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q) !== null && document.querySelector(%q) === null`, sspErrorPage, sel), &isError))
	b.run(what, actions...)
	if isError {
		b.t.Fatalf("%s: SimpleSAMLphp shows an error page (its log follows at the end)\n%s", what, b.describe())
	}
}

// waitForApp waits until the browser shows one of the app's pages (every
// page of the app has <main id="app">; the IdP's and saml2sp's pages do not).
func (b *browser) waitForApp(what string) {
	b.t.Helper()
	b.waitFor(what, "#app")
}

// openAndWaitForApp navigates to u and waits until an app page is shown.
func (b *browser) openAndWaitForApp(u string) {
	b.t.Helper()
	b.waitFor("opening "+u, "#app", chromedp.Navigate(u))
}

// openLoginForm navigates to u and waits for SimpleSAMLphp's login form.
func (b *browser) openLoginForm(u string) {
	b.t.Helper()
	b.waitFor("opening "+u+" and waiting for the IdP's login form", "#username", chromedp.Navigate(u))
}

// logIn fills SimpleSAMLphp's login form and waits until the SAML round
// trip lands on an app page.
func (b *browser) logIn(user, password string) {
	b.t.Helper()
	b.run("logging in as "+user+" at the IdP",
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", user, chromedp.ByID),
		chromedp.SendKeys("#password", password, chromedp.ByID),
		chromedp.Click("#submit_button", chromedp.ByID),
	)
	b.waitForApp("waiting for the app after logging in as " + user)
}

// waitForText runs actions, then waits until the page's text contains s.
// The page may navigate meanwhile (a chain of redirects), which ends a
// single evaluation: each check is its own short step.
func (b *browser) waitForText(what, s string, actions ...chromedp.Action) {
	b.t.Helper()
	b.run(what, actions...)
	check := fmt.Sprintf(`document.body !== null && document.body.innerText.includes(%q)`, s)
	for deadline := time.Now().Add(stepTimeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		var found bool
		err := chromedp.Run(ctx, chromedp.Evaluate(check, &found))
		cancel()
		if err == nil && found {
			return
		}
	}
	b.t.Fatalf("%s: the page never showed %q\n%s", what, s, b.describe())
}

// failureReference checks that the browser shows the app's failure page
// and returns the reference it shows.
func (b *browser) failureReference() (string, error) {
	b.t.Helper()
	var n int
	b.run("looking for the failure page", chromedp.Evaluate(`document.querySelectorAll("#failure").length`, &n))
	if n != 1 {
		return "", fmt.Errorf("the app's failure page is not shown\n%s", b.describe())
	}
	text := b.text("#failure")
	_, ref, ok := strings.Cut(text, "(reference ")
	ref, _, ok2 := strings.Cut(ref, ")")
	if !ok || !ok2 {
		return "", fmt.Errorf("failure page %q shows no reference", text)
	}
	return ref, nil
}

// cookies returns the cookies Chromium's jar would send to any of urls
// (read over CDP: HttpOnly ones included).
func (b *browser) cookies(urls ...string) []*network.Cookie {
	b.t.Helper()
	var out []*network.Cookie
	b.run("reading the cookie jar", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		out, err = network.GetCookies().WithURLs(urls).Do(ctx)
		return err
	}))
	return out
}

// deleteCookies removes the cookies named name that url would get.
func (b *browser) deleteCookies(name, url string) {
	b.t.Helper()
	b.run("deleting cookie "+name, network.DeleteCookies(name).WithURL(url))
}
