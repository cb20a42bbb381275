package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The example app's binary, built once per test run by the first scenario
// that needs it (exampleAppBinary), into a folder TestMain removes.
var exampleBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if exampleBuild.dir != "" {
		os.RemoveAll(exampleBuild.dir)
	}
	os.Exit(code)
}

// exampleAppBinary builds examples/app (once) and returns the binary.
func exampleAppBinary(t *testing.T) string {
	t.Helper()
	exampleBuild.once.Do(func() {
		start := time.Now()
		if exampleBuild.dir, exampleBuild.err = os.MkdirTemp("", "saml2sp-e2e-example-app-"); exampleBuild.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		exampleBuild.bin, exampleBuild.err = BuildExampleApp(ctx, exampleBuild.dir)
		t.Logf("go build of the example app took %v", time.Since(start).Round(time.Millisecond))
	})
	if exampleBuild.err != nil {
		t.Fatal(exampleBuild.err)
	}
	return exampleBuild.bin
}

// exampleEnv is one example-app scenario: the app's binary with its
// development IdP, and a fresh Chromium.
type exampleEnv struct {
	t   *testing.T
	app *ExampleApp
	b   *browser
}

func newExampleEnv(t *testing.T, o ExampleAppOptions) *exampleEnv {
	t.Helper()
	chromium := RequireChromium(t)
	bin := exampleAppBinary(t)
	start := time.Now()
	t.Cleanup(func() { t.Logf("scenario took %v", time.Since(start).Round(time.Millisecond)) })
	app := StartExampleApp(t, bin, o)
	if first, _, _ := strings.Cut(app.Output(), "\n"); first != "saml2sp example app: starting" {
		t.Errorf("the app's first line is %q", first)
	}
	return &exampleEnv{t: t, app: app, b: newBrowser(t, chromium)}
}

// Selectors on the development IdP's pages.
const (
	devSignIn       = `button[name="username"]`                    // its login page's buttons
	devLogoutButton = `form[action$="slo/start"] button`           // "Log out of the IdP and every SP"
	devLoggedOut    = `You are logged out of the development IdP.` // its page after an IdP-initiated logout
)

// logIn clicks "Log in" on the app's home page, picks user on the
// development IdP's login page, and checks that the browser lands on the
// profile, signed in.
func (e *exampleEnv) logIn(user string) {
	e.t.Helper()
	e.b.openAndWaitForApp(e.app.URL)
	e.b.waitFor("clicking Log in", devSignIn, chromedp.Click("#login", chromedp.ByID))
	e.b.waitFor("signing in as "+user+" at the development IdP", "#email",
		chromedp.Click(fmt.Sprintf(`button[name="username"][value=%q]`, user), chromedp.ByQuery))
	if got, want := e.b.location(), e.app.URL+"profile"; got != want {
		e.t.Fatalf("after login the browser is at %s, want %s\n%s", got, want, e.b.describe())
	}
	if got, want := e.b.text("#email"), user+"@example.com"; got != want {
		e.t.Fatalf("the profile shows email %q, want %q", got, want)
	}
	if got := e.b.text("#username"); got != user {
		e.t.Fatalf("the profile shows username %q, want %q (the default mapping reads the dev IdP's uid)", got, user)
	}
}

// wantSignedOut checks the app's home page says nobody is signed in, and
// that /profile sends the browser to the login, which the development IdP
// answers with its login page (its session ended too).
func (e *exampleEnv) wantSignedOut() {
	e.t.Helper()
	e.b.openAndWaitForApp(e.app.URL)
	if got := e.b.text("#status"); got != "You are not signed in." {
		e.t.Fatalf("the home page says %q, want %q", got, "You are not signed in.")
	}
	e.b.waitFor("opening /profile signed out", devSignIn, chromedp.Navigate(e.app.URL+"profile"))
	if loc := e.b.location(); !strings.HasPrefix(loc, e.app.DevIdPURL) {
		e.t.Fatalf("/profile led to %s, want the development IdP's login page", loc)
	}
}

// TestExampleAppSPInitiatedLogin: the example app as built, its "Log in"
// button, a user picked on the development IdP (another site), and the
// profile.
func TestExampleAppSPInitiatedLogin(t *testing.T) {
	e := newExampleEnv(t, ExampleAppOptions{})
	e.logIn("alice")
	if got := e.b.texts("dd code"); strings.Join(got, "|") != "engineering|Dogs & cats" {
		t.Errorf("groups %q, want engineering and Dogs & cats", got)
	}
}

// TestExampleAppIdPInitiatedLogin: IdP-initiated login from the
// development IdP's page is refused by default and works with
// -allow-idp-initiated.
func TestExampleAppIdPInitiatedLogin(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		allow bool
	}{
		{name: "refused by default"},
		{name: "accepted with -allow-idp-initiated", args: []string{"-allow-idp-initiated"}, allow: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newExampleEnv(t, ExampleAppOptions{Args: tc.args})
			e.b.waitFor("opening the development IdP", `a[href*="user=bob"]`, chromedp.Navigate(e.app.DevIdPURL))
			e.b.waitFor("clicking Sign in as Bob", "#app", chromedp.Click(`a[href*="user=bob"]`, chromedp.ByQuery))
			if !tc.allow {
				if msg := e.b.text("#message"); !strings.Contains(msg, "IdP-initiated login is off") {
					t.Fatalf("the failure page says %q", msg)
				}
				e.b.openAndWaitForApp(e.app.URL)
				if got := e.b.text("#status"); got != "You are not signed in." {
					t.Fatalf("after a refused IdP-initiated login the home page says %q", got)
				}
				return
			}
			if got := e.b.location(); got != e.app.URL {
				t.Fatalf("the browser is at %s, want the app's home %s", got, e.app.URL)
			}
			if got := e.b.text("#status"); !strings.HasPrefix(got, "Signed in as bob ") {
				t.Fatalf("the home page says %q, want bob signed in", got)
			}
		})
	}
}

// TestExampleAppSPInitiatedLogout: "Log out" ends on the app's home page
// with the logged-out message; the app's session and the IdP's ended.
func TestExampleAppSPInitiatedLogout(t *testing.T) {
	e := newExampleEnv(t, ExampleAppOptions{})
	e.logIn("alice")
	e.b.waitFor("clicking Log out", "#logged-out", chromedp.Click("#logout", chromedp.ByID))
	if got, want := e.b.location(), e.app.URL+"?logged_out=1"; got != want {
		t.Fatalf("after logout the browser is at %s, want %s", got, want)
	}
	if got := e.b.text("#logged-out"); got != "You have been logged out." {
		t.Fatalf("the logged-out message is %q", got)
	}
	e.wantSignedOut()
}

// TestExampleAppIdPInitiatedLogout: the development IdP's "Log out of the
// IdP and every SP" button, clicked in Chromium, ends the app's session.
// Chromium applies the page's CSP form-action to the redirects that follow
// the button's POST (to the app's SLS): with form-action 'self' it blocked
// the first one, the IdP's session ended and the app's did not.
func TestExampleAppIdPInitiatedLogout(t *testing.T) {
	e := newExampleEnv(t, ExampleAppOptions{})
	e.logIn("alice")
	e.b.waitFor("opening the development IdP", devLogoutButton, chromedp.Navigate(e.app.DevIdPURL))
	e.b.waitForText("clicking Log out of the IdP and every SP", devLoggedOut, chromedp.Click(devLogoutButton, chromedp.ByQuery))
	if loc := e.b.location(); !strings.HasPrefix(loc, e.app.DevIdPURL) {
		t.Fatalf("the logout ended at %s, want the development IdP's page", loc)
	}
	e.wantSignedOut()
}

// TestExampleAppIdPMetadataLater: an IdP whose metadata URL fails at
// first, and which needs the SP's metadata before it answers (as
// SimpleSAMLphp does), does not stop the app: it starts, its home page says
// why login is unavailable, it serves its SP metadata meanwhile, and once
// the IdP answers, the Log in button appears and works.
func TestExampleAppIdPMetadataLater(t *testing.T) {
	idp := StartLateIdP(t)
	// -sign-requests: the IdP requires signed requests without saying so
	// in its metadata.
	e := newExampleEnv(t, ExampleAppOptions{Args: []string{"-idp-metadata-url", idp.MetadataURL(), "-sign-requests"}})
	e.reloadUntil("the failed fetch", "#sso-error")
	if got := e.b.text("#sso-error"); !strings.Contains(got, "503") || !strings.Contains(got, "the IdP cannot load the SP metadata yet") {
		t.Fatalf("the home page shows the error %q, want the IdP's answer", got)
	}
	if got := e.b.text("#sso-unavailable"); !strings.Contains(got, "Login is unavailable") || !strings.Contains(got, idp.MetadataURL()) {
		t.Fatalf("the home page says %q", got)
	}
	var n int
	e.b.run("counting Log in buttons", chromedp.Evaluate(`document.querySelectorAll("#login").length`, &n))
	if n != 0 {
		t.Fatal("a Log in button shows while login cannot work")
	}

	idp.Open(e.app.URL + "saml/metadata")
	e.reloadUntil("the Log in button", "#login")
	e.logIn("alice")
}

// reloadUntil reloads the app's home page until it shows sel (the app
// fetches the IdP metadata in the background, with growing waits).
func (e *exampleEnv) reloadUntil(what, sel string) {
	e.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var n int
		e.b.run("reloading the home page for "+what, chromedp.Navigate(e.app.URL),
			chromedp.WaitVisible("#app", chromedp.ByID), chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n))
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the home page never showed %s\n%s", what, e.b.describe())
		}
	}
}

// TestExampleAppConnectionTest: an admin (alice) opens the SSO settings
// from the home page, presses "Test SSO connection", signs in at the IdP
// as someone else (bob: the IdP asks again, ForceAuthn), and sees the
// report of bob's Response in the app, while staying signed in as alice.
// A user who is not an admin (bob) gets no settings.
func TestExampleAppConnectionTest(t *testing.T) {
	e := newExampleEnv(t, ExampleAppOptions{})
	e.logIn("alice")
	e.b.openAndWaitForApp(e.app.URL)
	e.b.waitFor("clicking SSO settings", "#test-sso", chromedp.Click("#admin", chromedp.ByID))
	if got, want := e.b.text("#idp-entity-id"), e.app.DevIdPURL+"metadata"; got != want {
		t.Fatalf("the settings show IdP %q, want %q", got, want)
	}
	if got := e.b.texts(".idp-cert .fingerprint"); len(got) != 1 || len(got[0]) != 95 {
		t.Fatalf("the settings show certificate fingerprints %q, want one SHA-256", got)
	}
	e.b.waitFor("clicking Test SSO connection", devSignIn, chromedp.Click("#test-sso", chromedp.ByID))
	if !strings.Contains(e.b.text("body"), "ForceAuthn") {
		t.Fatalf("the IdP was not asked for a fresh sign-in\n%s", e.b.describe())
	}
	e.b.waitFor("signing in as bob for the test", "#test-result",
		chromedp.Click(`button[name="username"][value="bob"]`, chromedp.ByQuery))
	if got := e.b.text("#test-result"); !strings.HasPrefix(got, "Passed") {
		t.Fatalf("the test says %q\n%s", got, e.b.describe())
	}
	if got := e.b.text("#test-email"); got != "bob@example.com" {
		t.Fatalf("the report reads email %q, want bob's", got)
	}
	e.b.waitFor("going back to the settings", "#test-sso", chromedp.Click("#back-to-admin", chromedp.ByID))
	e.b.openAndWaitForApp(e.app.URL)
	if got := e.b.text("#status"); !strings.HasPrefix(got, "Signed in as alice ") {
		t.Fatalf("after the test the home page says %q, want alice still signed in", got)
	}

	other := newExampleEnv(t, ExampleAppOptions{})
	other.logIn("bob")
	other.b.openAndWaitForApp(other.app.URL + "admin/saml")
	if got := other.b.text("h1"); got != "Admins only" {
		t.Fatalf("bob sees %q on the settings page", got)
	}
}
