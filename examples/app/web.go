package main

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/saml2sp/saml2sp"
)

// loggedOutPath is where an SP-initiated logout ends: the home page, which
// then says so.
const loggedOutPath = "/?logged_out=1"

// Handler returns the app's routes.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/saml/", a.Gate)
	mux.HandleFunc("GET /{$}", a.home)
	mux.Handle("GET /profile", a.Sessions.RequireLogin(http.HandlerFunc(a.profile)))
	mux.Handle("GET /admin/saml", a.Sessions.RequireLogin(http.HandlerFunc(a.adminSAML)))
	return securityHeaders(mux)
}

// onFailure shows a failed login or logout. Refusals by the account
// policy (the Provisioner, through the session layer) get their own
// message; everything else a reference for the log.
func (a *App) onFailure(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
	d := pageData{Title: "Single sign-on failed", Reference: f.Reference,
		Message: "Please try again. If it keeps failing, give your administrator the reference below."}
	if f.Flow == saml2sp.FlowLogout {
		d.Title = "Single logout failed"
		d.Message = "You are logged out of this app, but maybe not of your identity provider: log out there too. If it keeps failing, give your administrator the reference below."
	}
	var idErr *saml2sp.IdentityError
	switch {
	case errors.As(f.Err, &idErr):
		d.Title, d.Message = "Sign-in refused", idErr.Error() // names attributes, never values: meant for the admin
	case errors.Is(f.Err, saml2sp.ErrAccessDenied):
		d.Title, d.Message = "Sign-in refused", "Your groups do not give you access to this app."
	case errors.Is(f.Err, saml2sp.ErrAccountExists):
		d.Title, d.Message = "Sign-in refused", "An account with your email already exists. Sign in to it another way, or ask an administrator to link it."
	case errors.Is(f.Err, saml2sp.ErrSignupDisabled):
		d.Title, d.Message = "Sign-in refused", "This app does not create accounts automatically. Ask an administrator for access."
	case errors.Is(f.Err, saml2sp.ErrUnsolicited):
		d.Message = "This app accepts only logins it started (IdP-initiated login is off; start it with -allow-idp-initiated to allow it). Use its Log in button."
	}
	a.render(w, f.Status, "error", d)
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	s, err := a.Sessions.Current(r)
	if err != nil {
		a.Logger.ErrorContext(r.Context(), "checking the session", "error", err.Error())
		a.render(w, http.StatusServiceUnavailable, "error", pageData{Title: "Try again", Message: "Sessions are unavailable for a moment."})
		return
	}
	d := pageData{
		Title:     "saml2sp example",
		SSO:       a.Gate.Status(),
		LoginURL:  a.Endpoints.LoginURL + "?return_to=" + url.QueryEscape("/profile"),
		DevIdPURL: a.DevIdPURL,
	}
	if s != nil {
		if p, err := a.Store.Profile(r.Context(), s.UserID); err == nil {
			d.Profile = p
			d.LogoutURL = a.logoutURL()
			d.IsAdmin = a.admins[saml2sp.EmailKey(p.Email)]
		}
	} else {
		// Said only to a browser without a session: a link to
		// /?logged_out=1 cannot make a signed-in user believe otherwise.
		d.LoggedOut = r.URL.Query().Get("logged_out") == "1"
	}
	a.render(w, http.StatusOK, "home", d)
}

func (a *App) profile(w http.ResponseWriter, r *http.Request) {
	s := saml2sp.SessionFrom(r.Context())
	p, err := a.Store.Profile(r.Context(), s.UserID)
	if err != nil {
		a.Logger.ErrorContext(r.Context(), "loading the profile", "error", err.Error())
		a.render(w, http.StatusInternalServerError, "error", pageData{Title: "Error", Message: "Could not load your profile."})
		return
	}
	a.render(w, http.StatusOK, "profile", pageData{Title: "Your profile", Profile: p, Session: s, LogoutURL: a.logoutURL(), DevIdPURL: a.DevIdPURL})
}

// logoutURL starts an SP-initiated logout that ends on the home page with
// the logged-out message.
func (a *App) logoutURL() string {
	return a.Endpoints.LogoutURL + "?return_to=" + url.QueryEscape(loggedOutPath)
}

type pageData struct {
	Title, Message, Reference string
	LoginURL, LogoutURL       string
	DevIdPURL                 string
	LoggedOut                 bool
	SSO                       gateStatus
	Profile                   *Profile
	Session                   *saml2sp.Session
	IsAdmin                   bool
	Admin                     *adminView                    // the admin page
	Test                      *saml2sp.ConnectionTestResult // the connection test's report
}

func (a *App) render(w http.ResponseWriter, status int, name string, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		a.Logger.Error("rendering page", "page", name, "error", err.Error())
	}
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// pages are the app's templates. Every page has <main id="app">; the
// element IDs are what the tests look for.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"clock": func(t time.Time) string { return t.Format(time.TimeOnly) },
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}).Parse(`
{{define "top"}}<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}
.box{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}.warn{border-color:#b00020;background:#fff4f4}
.ok{border-color:#2a7a2a;background:#f3fbf3}a.button{display:inline-block;padding:.4rem .9rem;border:1px solid #246;border-radius:4px;background:#e8f0fa;color:#124;text-decoration:none}
dt{font-weight:600}code{background:#f4f4f4;padding:0 .2rem;word-break:break-all}</style></head><body><main id="app">
<h1>{{.Title}}</h1>{{end}}
{{define "bottom"}}</main></body></html>{{end}}

{{define "home"}}{{template "top" .}}
{{if .LoggedOut}}<p class="box ok" id="logged-out">You have been logged out.</p>{{end}}
{{if .Profile}}<p id="status">Signed in as <strong>{{.Profile.Username}}</strong> ({{.Profile.Email}}).</p>
<p><a class="button" href="/profile">Your profile</a> {{if .IsAdmin}}<a class="button" id="admin" href="/admin/saml">SSO settings</a> {{end}}<a class="button" id="logout" href="{{.LogoutURL}}">Log out</a></p>
{{else}}<p id="status">You are not signed in.</p>
{{if .SSO.Ready}}<p><a class="button" id="login" href="{{.LoginURL}}">Log in</a></p>
{{else}}<div class="box warn" id="sso-unavailable"><p><strong>Login is unavailable:</strong> the app has not loaded the IdP metadata from <code>{{.SSO.Source}}</code> yet.</p>
{{if .SSO.Err}}<p>Attempt {{.SSO.Attempts}} failed: <code id="sso-error">{{.SSO.Err}}</code></p>
<p>The app keeps trying in the background (next attempt at {{clock .SSO.Next}}); reload this page in a moment.</p>{{else}}<p>The first attempt is under way; reload this page in a moment.</p>{{end}}</div>
{{end}}{{end}}
{{if .DevIdPURL}}<div class="box"><p>This demo runs against a <strong>development IdP (never for production)</strong>.
Its page has IdP-initiated login (refused unless the app runs with <code>-allow-idp-initiated</code>) and
<em>IdP-initiated logout</em> (single logout from the IdP's side): <a id="dev-idp" href="{{.DevIdPURL}}">open the development IdP</a>.</p></div>{{end}}
{{template "bottom" .}}{{end}}

{{define "profile"}}{{template "top" .}}
<dl>
<dt>Username</dt><dd id="username">{{.Profile.Username}}</dd>
<dt>Email</dt><dd id="email">{{.Profile.Email}}</dd>
<dt>Name</dt><dd>{{.Profile.FirstName}} {{.Profile.LastName}}</dd>
<dt>Role</dt><dd>{{.Profile.Role}}</dd>
<dt>Groups</dt><dd>{{range .Profile.Groups}}<code>{{.}}</code> {{else}}none{{end}}</dd>
<dt>Linked SSO identities</dt><dd>{{range .Profile.Links}}{{.}}<br>{{end}}</dd>
<dt>SAML subject</dt><dd>{{.Session.Subject.NameID}} (IdP session {{.Session.Subject.SessionIndex}})</dd>
<dt>Session ends</dt><dd>{{clock .Session.Expires}} at the latest</dd>
</dl>
<p><a class="button" href="/">Home</a> <a class="button" id="logout" href="{{.LogoutURL}}">Log out</a></p>
{{if .DevIdPURL}}<p>Or log out from the IdP's side: <a href="{{.DevIdPURL}}">development IdP</a>.</p>{{end}}
{{template "bottom" .}}{{end}}

{{define "admin"}}{{template "top" .}}{{with .Admin}}
<h2>Identity provider</h2>
{{if .IdP}}{{with .IdP}}<dl>
<dt>Entity ID</dt><dd><code id="idp-entity-id">{{.EntityID}}</code></dd>
<dt>Single sign-on</dt><dd>{{range .SSO}}<code>{{.Location}}</code> ({{.Binding}})<br>{{end}}</dd>
<dt>Single logout</dt><dd>{{range .SLO}}<code>{{.Location}}</code> ({{.Binding}})<br>{{else}}none: logout stays local{{end}}</dd>
<dt>Signing certificates (any may sign)</dt><dd>{{range .Certs}}<div class="box{{if or .Expired .Soon}} warn{{end}} idp-cert">
<code>{{.Subject}}</code><br>SHA-256 <code class="fingerprint">{{.Fingerprint}}</code><br>
{{if .Expired}}<strong>expired</strong> on {{when .NotAfter}}: logins fail until the IdP rolls its key over{{else}}expires {{when .NotAfter}} (in {{.DaysLeft}} days){{if .Soon}}: <strong>ask the IdP admin for the next certificate</strong>{{end}}{{end}}</div>{{end}}</dd>
<dt>Metadata</dt><dd>from <code id="metadata-source">{{$.Admin.SSO.Source}}</code>, loaded {{when .Loaded}}{{if not .ValidUntil.IsZero}}; valid until {{when .ValidUntil}}{{end}}
{{with .Refresh}}<br><span id="metadata-refresh">{{if .Checked.IsZero}}not refreshed since{{else}}last refreshed {{when .Checked}}{{end}}; next refresh {{when .Next}}</span>
{{if .Err}}<br><strong>The last refresh failed</strong> (the metadata above stays in force): <code id="metadata-error">{{.Err}}</code>{{end}}{{end}}</dd>
</dl>{{end}}
<p><a class="button" id="test-sso" href="{{.TestURL}}">Test SSO connection</a></p>
<p>The test sends you to the IdP to log in again and shows what it sent back and how this app reads it. It does not change your session or any account.</p>
{{else}}<p class="box warn" id="idp-not-loaded">The IdP's metadata is not loaded yet{{if .SSO.Err}}: <code>{{.SSO.Err}}</code>{{end}}.</p>{{end}}
<h2>This app (the service provider)</h2>
<p>Give the IdP's admin the <a id="sp-metadata" href="{{.MetadataURL}}">SP metadata</a>, or these values:</p>
<dl>
<dt>Entity ID (audience)</dt><dd><code id="sp-entity-id">{{.SPEntityID}}</code></dd>
<dt>ACS URL (HTTP-POST)</dt><dd><code>{{.ACSURL}}</code></dd>
<dt>Single logout URL</dt><dd><code>{{.SLOURL}}</code></dd>
{{with .SPCert}}<dt>Certificate</dt><dd>SHA-256 <code>{{.Fingerprint}}</code>, expires {{when .NotAfter}}</dd>{{end}}
</dl>{{end}}
<p><a class="button" href="/">Home</a></p>
{{template "bottom" .}}{{end}}

{{define "test-report"}}{{template "top" .}}{{with .Test}}
<p class="box {{if and .Report.Accepted (not .IdentityErr)}}ok{{else}}warn{{end}}" id="test-result">{{if and .Report.Accepted (not .IdentityErr)}}Passed: the IdP's Response is valid and this app can read the user from it.{{else if .Report.Accepted}}The IdP's Response is valid, but this app cannot read a user from it.{{else}}Failed: this app would refuse this login.{{end}}</p>
<p>No session was started and no account was created or changed; this Response is used up.</p>
{{if .Advice}}<h2>What to change</h2><p id="test-advice">{{.Advice}}</p>{{end}}
{{with .Report.Claims.Assertion}}<h2>What the IdP sent {{if $.Test.Report.Claims.Verified}}(signed by the IdP){{else}}(<strong>not verified</strong>: shown as received){{end}}</h2>
<p>NameID <code id="test-nameid">{{.NameID}}</code> {{if .NameIDFormat}}({{.NameIDFormat}}){{end}}</p>
<table id="test-attributes">{{range .Attributes}}<tr><td><code>{{.Name}}</code></td><td>{{range .Values}}<code>{{.}}</code> {{end}}</td></tr>{{end}}</table>{{end}}
{{if .Identity}}<h2>How this app reads it</h2><dl id="test-identity">
<dt>User ID</dt><dd>{{.Identity.UserID}}</dd><dt>Email</dt><dd id="test-email">{{.Identity.Email}}</dd>
<dt>Username</dt><dd>{{.Identity.Username}}</dd><dt>Groups</dt><dd>{{range .Identity.Groups}}<code>{{.}}</code> {{else}}none{{end}}</dd></dl>{{end}}
{{if .IdentityErr}}<h2>How this app reads it</h2><p id="test-identity-error">{{.IdentityErr}}</p>{{end}}
<h2>Checks</h2>
<table id="test-checks">{{range .Report.Checks}}<tr class="check-{{.Status}}"><td>{{.Name}}</td><td>{{.Status}}</td><td>{{.Detail}}</td></tr>{{end}}</table>
{{end}}<p><a class="button" id="back-to-admin" href="/admin/saml">Back to SSO settings</a> <a class="button" href="/">Home</a></p>
{{template "bottom" .}}{{end}}

{{define "error"}}{{template "top" .}}<p id="message">{{.Message}}</p>
{{if .Reference}}<p>Reference: <code id="reference">{{.Reference}}</code></p>{{end}}
<p><a class="button" href="/">Home</a></p>{{template "bottom" .}}{{end}}
`))
