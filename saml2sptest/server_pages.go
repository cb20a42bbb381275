package saml2sptest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// banner is the warning every page of the development Server carries.
const banner = "Development IdP — for development only, never for production"

// pageTemplates are the development Server's pages: no external
// resources, one inline style sheet and at most one inline script, both
// allowed by a per-response CSP nonce.
var pageTemplates = template.Must(template.New("pages").Parse(`
{{define "top"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · ` + banner + `</title>
<style nonce="{{.Nonce}}">
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#111;background:#fff}
.banner{margin:0;padding:1rem 1.5rem;background:#b00020;color:#fff;font-size:1.3rem;font-weight:bold;border-bottom:.4rem solid #5c0011}
.banner span{display:block;font-size:1rem;font-weight:normal}
main{max-width:44rem;margin:2rem auto;padding:0 1rem}
ul.plain{list-style:none;padding:0}
ul.plain li{margin:.5rem 0}
button{font:inherit;padding:.6rem 1rem;width:100%;text-align:left;cursor:pointer}
button:focus,a:focus{outline:3px solid #1a5fb4;outline-offset:2px}
code{background:#f2f2f2;padding:0 .2em;word-break:break-all}
</style></head>
<body>
<header><p class="banner">` + banner + `
<span>Anyone can sign in here as any user, without a password. Its signing key lives in memory.</span></p></header>
<main>{{end}}

{{define "bottom"}}</main></body></html>
{{end}}

{{define "message"}}{{template "top" .}}<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{range .Details}}<p>{{.}}</p>
{{end}}<p><a href="{{.Home}}">Development IdP home</a></p>
{{template "bottom" .}}{{end}}

{{define "login"}}{{template "top" .}}<h1 id="signin">Sign in</h1>
<p><code>{{.SP}}</code> asks you to sign in.{{if .Force}} It asked for a fresh sign-in (ForceAuthn).{{end}}
Pick a user: this development IdP has no passwords.</p>
<form method="post" action="{{.Action}}" aria-labelledby="signin">
<input type="hidden" name="request" value="{{.Token}}">
<ul class="plain">
{{range .Users}}<li><button type="submit" name="username" value="{{.Username}}">Sign in as {{.DisplayName}} ({{.NameID}})</button></li>
{{end}}</ul>
</form>
{{template "bottom" .}}{{end}}

{{define "post"}}{{template "top" .}}<h1>{{.Title}}</h1>
<form method="post" action="{{.Action}}" id="saml2sptest-form">
{{range $name, $values := .Fields}}{{range $values}}<input type="hidden" name="{{$name}}" value="{{.}}">
{{end}}{{end}}<noscript><p>JavaScript is off: press the button to continue.</p><button type="submit">Continue to {{.Action}}</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.getElementById("saml2sptest-form").submit();</script>
{{template "bottom" .}}{{end}}

{{define "index"}}{{template "top" .}}<h1>Development IdP</h1>
<p>Metadata: <a href="{{.Home}}metadata"><code>{{.Metadata}}</code></a></p>
{{if .SignedInAs}}<p>You are signed in as {{.SignedInAs}}.</p>
<form method="post" action="{{.Action}}"><button type="submit">Log out of the IdP and every SP (IdP-initiated logout)</button></form>
{{else}}<p>You are not signed in.</p>
{{end}}<h2>IdP-initiated login</h2>
{{range .SPs}}<h3><code>{{.EntityID}}</code></h3>
<ul>{{range .Links}}<li><a href="{{.URL}}">{{.Text}}</a></li>{{end}}</ul>
{{else}}<p>No SP is registered.</p>
{{end}}{{template "bottom" .}}{{end}}
`))

// page is the data of every template.
type page struct {
	Title, Nonce, Home string
	// message
	Message string
	Details []string
	// login and post
	SP, Action, Token string
	Force             bool
	Users             []DevUser
	Fields            url.Values
	// index
	Metadata, SignedInAs string
	SPs                  []indexSP
}

type indexSP struct {
	EntityID string
	Links    []indexLink
}

type indexLink struct{ Text, URL string }

// render writes the named page with security headers. formAction is the
// CSP form-action source list.
func (s *Server) render(w http.ResponseWriter, status int, name, formAction string, p page) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	p.Nonce = base64.RawURLEncoding.EncodeToString(b)
	p.Home = s.basePath
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, p); err != nil {
		http.Error(w, banner+": rendering the page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+p.Nonce+"'; script-src 'nonce-"+p.Nonce+
		"'; form-action "+formAction+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows a plain error page.
func (s *Server) fail(w http.ResponseWriter, status int, title, message string) {
	s.render(w, status, "message", "'none'", page{Title: title, Message: message})
}

// refused shows the page of a refused message.
func (s *Server) refused(w http.ResponseWriter, e *httpError) {
	s.fail(w, e.status, "Request refused", e.msg)
}

// writeLogin shows the login page: one button per user.
func (s *Server) writeLogin(w http.ResponseWriter, sp DevSP, token string, force bool) {
	s.render(w, http.StatusOK, "login", "'self'", page{
		Title: "Sign in", SP: sp.EntityID, Force: force, Token: token, Users: s.users(),
		Action: s.basePath + "sso/login",
	})
}

// writePost answers with a form that posts fields to action as soon as it
// loads (a button without JavaScript).
func (s *Server) writePost(w http.ResponseWriter, action string, fields url.Values) {
	formAction := origin(action)
	if formAction == "" {
		formAction = "'none'"
	}
	s.render(w, http.StatusOK, "post", formAction, page{Title: "Signing you in…", Action: action, Fields: fields})
}

// writeLoggedOut shows the end of an IdP-initiated logout.
func (s *Server) writeLoggedOut(w http.ResponseWriter, failed []string, ignored string) {
	p := page{Title: "You are logged out", Message: "You are logged out of the development IdP."}
	for _, sp := range failed {
		p.Details = append(p.Details, "SP "+quote(sp)+" did not confirm the logout: you may still be logged in there.")
	}
	if ignored != "" {
		p.Details = append(p.Details, "RelayState "+quote(ignored)+" was not followed: it is not a URL on the origin of a registered SP.")
	}
	s.render(w, http.StatusOK, "message", "'none'", p)
}

// serveIndex shows the server's home page: the metadata URL, the session,
// and IdP-initiated login links.
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Home", Metadata: s.MetadataURL(), Action: s.basePath + "slo/start"}
	if sess := s.currentSession(r); sess != nil {
		p.SignedInAs = sess.user.DisplayName + " (" + sess.user.NameID + ")"
	}
	for _, sp := range s.SPs {
		isp := indexSP{EntityID: sp.EntityID}
		for _, u := range s.users() {
			q := url.Values{"sp": {sp.EntityID}, "user": {u.Username}}
			isp.Links = append(isp.Links, indexLink{Text: "Sign in as " + u.DisplayName, URL: s.basePath + "sso/start?" + q.Encode()})
		}
		p.SPs = append(p.SPs, isp)
	}
	s.render(w, http.StatusOK, "index", s.logoutFormAction(), p)
}

// logoutFormAction is the CSP form-action of the home page, whose button
// POSTs to slo/start. Browsers apply form-action to every redirect of the
// navigation a form submission starts (Chromium does), and the IdP-initiated
// logout answers that POST by redirecting to each SP's SLO URL in turn: with
// 'self' alone the browser stops at the first SP, whose session lives on
// while the IdP's has ended. So the page allows its own origin and the
// registered SPs' origins (where the chain and its RelayState may lead),
// and nothing else.
func (s *Server) logoutFormAction() string {
	sources := []string{"'self'"}
	for _, sp := range s.SPs {
		for _, u := range []string{sp.SLOURL, sp.ACSURL} {
			if o := cspSource(origin(u)); o != "" && !slices.Contains(sources, o) {
				sources = append(sources, o)
			}
		}
	}
	return strings.Join(sources, " ")
}

// cspSource returns origin when it can stand in a CSP source list as it
// is (letters, digits and . - : [ ] after the scheme), and "" otherwise: a
// host with other characters could end the directive or add a source.
func cspSource(origin string) string {
	scheme, host, ok := strings.Cut(origin, "://")
	if !ok || (scheme != "http" && scheme != "https") || host == "" {
		return ""
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return ""
		}
	}
	return origin
}

func quote(s string) string { return strconv.Quote(s) }
