package main

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/saml2sp/saml2sp"
)

const (
	sessionCookie = "example_session"
	sessionTTL    = 8 * time.Hour
)

// App is the example web app: a home page, a profile page behind login,
// and the SAML endpoints under /saml/.
type App struct {
	SP          *saml2sp.SP          // verifies the IdP's messages
	Endpoints   saml2sp.Endpoints    // where the SAML endpoints are served
	Provisioner *saml2sp.Provisioner // maps logins to accounts (JIT)
	Store       *Store               // accounts, links and sessions
	Logger      *slog.Logger         // the app's log
	// DevIdPURL, when set, is the development IdP's home page (for the
	// IdP-initiated login and logout links).
	DevIdPURL string
	secure    bool
}

// Handler returns the app's routes.
func (a *App) Handler() http.Handler {
	a.secure = a.Endpoints.ACSURL != "" && a.Endpoints.ACSURL[:5] == "https"
	saml := a.SP.Handler(saml2sp.Hooks{
		OnLogin:        a.onLogin,
		OnFailure:      a.onFailure,
		OnLogout:       a.onLogout,
		CurrentSubject: a.currentSubject,
	})
	mux := http.NewServeMux()
	mux.Handle("/saml/", saml)
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /profile", a.profile)
	return securityHeaders(mux)
}

// onLogin provisions the account (JIT) and starts the app session.
func (a *App) onLogin(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
	user, id, err := a.Provisioner.Login(r.Context(), l.Assertion)
	if err != nil {
		a.Logger.WarnContext(r.Context(), "login refused by policy", "error", err.Error())
		msg := "Your account could not be signed in."
		var idErr *saml2sp.IdentityError
		switch {
		case errors.As(err, &idErr):
			msg = idErr.Error() // names attributes, never values: meant for the admin
		case errors.Is(err, saml2sp.ErrAccessDenied):
			msg = "Your groups do not give you access to this app."
		case errors.Is(err, saml2sp.ErrAccountExists):
			msg = "An account with your email already exists. Sign in to it another way, or ask an administrator to link it."
		case errors.Is(err, saml2sp.ErrSignupDisabled):
			msg = "This app does not create accounts automatically. Ask an administrator for access."
		}
		a.render(w, http.StatusForbidden, "error", pageData{Title: "Sign-in refused", Message: msg})
		return nil
	}
	sid, err := a.Store.CreateSession(r.Context(), user.ID, id.IdP, l.Assertion.LogoutSubject(), a.sessionTTL(l.Assertion))
	if err != nil {
		a.Logger.ErrorContext(r.Context(), "creating session", "error", err.Error())
		a.render(w, http.StatusInternalServerError, "error", pageData{Title: "Error", Message: "Could not start your session."})
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
	return nil
}

// sessionTTL honours the IdP's SessionNotOnOrAfter when it is sooner.
func (a *App) sessionTTL(as *saml2sp.Assertion) time.Duration {
	if !as.SessionNotOnOrAfter.IsZero() {
		if d := time.Until(as.SessionNotOnOrAfter); d < sessionTTL {
			return d
		}
	}
	return sessionTTL
}

func (a *App) onFailure(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
	a.render(w, f.Status, "error", pageData{
		Title:   "Single sign-on failed",
		Message: "Please try again. If it keeps failing, give your administrator this reference: " + f.Reference,
	})
}

func (a *App) onLogout(w http.ResponseWriter, r *http.Request, l *saml2sp.Logout) error {
	ctx := r.Context()
	n, err := a.Store.EndSessions(ctx, l.IdP, l.NameID, l.SessionIndexes)
	a.Logger.InfoContext(ctx, "sessions ended", "initiator", l.Initiator, "count", n)
	return err
}

func (a *App) currentSubject(r *http.Request) (saml2sp.LogoutSubject, bool) {
	s := a.session(r)
	if s == nil {
		return saml2sp.LogoutSubject{}, false
	}
	return s.Subject, true
}

func (a *App) session(r *http.Request) *Session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s, err := a.Store.Session(r.Context(), c.Value)
	if err != nil {
		a.Logger.ErrorContext(r.Context(), "reading session", "error", err.Error())
		return nil
	}
	return s
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "saml2sp example", LoginURL: a.Endpoints.LoginURL + "?return_to=" + url.QueryEscape("/profile"), DevIdPURL: a.DevIdPURL}
	if s := a.session(r); s != nil {
		if p, err := a.Store.Profile(r.Context(), s.AccountID); err == nil {
			d.Profile = p
		}
		d.LogoutURL = a.Endpoints.LogoutURL
	}
	a.render(w, http.StatusOK, "home", d)
}

func (a *App) profile(w http.ResponseWriter, r *http.Request) {
	s := a.session(r)
	if s == nil {
		http.Redirect(w, r, a.Endpoints.LoginURL+"?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	p, err := a.Store.Profile(r.Context(), s.AccountID)
	if err != nil {
		a.render(w, http.StatusInternalServerError, "error", pageData{Title: "Error", Message: "Could not load your profile."})
		return
	}
	a.render(w, http.StatusOK, "profile", pageData{Title: "Your profile", Profile: p, Session: s, LogoutURL: a.Endpoints.LogoutURL, DevIdPURL: a.DevIdPURL})
}

type pageData struct {
	Title, Message      string
	LoginURL, LogoutURL string
	DevIdPURL           string
	Profile             *Profile
	Session             *Session
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
		if hd.Get("Content-Security-Policy") == "" {
			hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		}
		h.ServeHTTP(w, r)
	})
}

var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}
.box{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}a.button,button{display:inline-block;padding:.4rem .9rem;border:1px solid #246;border-radius:4px;background:#e8f0fa;color:#124;text-decoration:none;font:inherit;cursor:pointer}
dt{font-weight:600}code{background:#f4f4f4;padding:0 .2rem}</style></head><body>
<h1>{{.Title}}</h1>{{end}}
{{define "bottom"}}</body></html>{{end}}

{{define "home"}}{{template "top" .}}
{{if .Profile}}<p>Signed in as <strong>{{.Profile.Username}}</strong> ({{.Profile.Email}}).</p>
<p><a class="button" href="/profile">Your profile</a> <a class="button" href="{{.LogoutURL}}">Log out</a></p>
{{else}}<p>You are not signed in.</p>
<p><a class="button" href="{{.LoginURL}}">Log in with SSO</a></p>{{end}}
{{if .DevIdPURL}}<div class="box"><p>This demo runs against a <strong>development IdP (never for production)</strong>.
Its page has IdP-initiated login and <em>IdP-initiated logout</em> (single logout from the IdP's side):
<a href="{{.DevIdPURL}}">open the development IdP</a>.</p></div>{{end}}
{{template "bottom" .}}{{end}}

{{define "profile"}}{{template "top" .}}
<dl>
<dt>Username</dt><dd>{{.Profile.Username}}</dd>
<dt>Email</dt><dd>{{.Profile.Email}}</dd>
<dt>Name</dt><dd>{{.Profile.DisplayName}}</dd>
<dt>Role</dt><dd>{{.Profile.Role}}</dd>
<dt>Groups</dt><dd>{{range .Profile.Groups}}<code>{{.}}</code> {{else}}none{{end}}</dd>
<dt>Linked SSO identities</dt><dd>{{range .Profile.Links}}{{.}}<br>{{end}}</dd>
<dt>SAML subject</dt><dd>{{.Session.Subject.NameID}} (session {{.Session.Subject.SessionIndex}})</dd>
</dl>
<p><a class="button" href="/">Home</a> <a class="button" href="{{.LogoutURL}}">Log out</a></p>
{{if .DevIdPURL}}<p>Or log out from the IdP's side: <a href="{{.DevIdPURL}}">development IdP</a>.</p>{{end}}
{{template "bottom" .}}{{end}}

{{define "error"}}{{template "top" .}}<p>{{.Message}}</p><p><a class="button" href="/">Home</a></p>{{template "bottom" .}}{{end}}
`))
