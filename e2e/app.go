package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/saml2sp/saml2sp"
)

// SessionCookie is the app's own session cookie.
const SessionCookie = "app_session"

// App is a tiny web app that logs users in with saml2sp, using only the
// library's public API, the way a real app would:
//
//	/                 "logged in as <NameID>" and the groups, or a login link
//	/private/page     requires a login; otherwise redirects to the SAML login
//	                  with return_to set to the page (query included)
//	/saml/...         saml2sp's Handler: metadata, login, acs, sls, logout
//
// Sessions live in memory, keyed by the "app_session" cookie. The App also
// records what the tests assert on: each POST to the ACS and the cookies it
// carried, each OnLogin, OnLogout and OnFailure call, each account link.
// With AppConfig.LinkAccounts, a login in a browser that has a session
// links the identity to that account (app_link.go).
type App struct {
	// URL is the app's origin, e.g. "http://127.0.0.1:41234" (no slash).
	URL string
	// Endpoints are the SP's URLs, all under URL+"/saml/".
	Endpoints saml2sp.Endpoints
	// Key and Certificate sign the SP's AuthnRequests and logout messages.
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate
	// SP is set by Start.
	SP *saml2sp.SP

	// TamperNameID, when true, flips one character of the NameID in every
	// SAMLResponse POSTed to the ACS before saml2sp sees it (the first
	// letter goes to upper case, so doing it twice changes nothing more).
	TamperNameID atomic.Bool

	srv  *httptest.Server
	logs syncBuffer
	// tls serves the app over HTTPS when set; tenant lays it out as one
	// tenant of a multi-tenant app (AppOptions).
	tls          *tls.Config
	tenant       string
	linkAccounts bool

	mu       sync.Mutex
	sessions map[string]*Session
	acsPosts []ACSPost
	logins   []LoginEvent
	logouts  []LogoutEvent
	failures []FailureEvent
	links    []LinkEvent
	tampered int
}

// Session is one logged-in browser.
type Session struct {
	NameID  string                // the Assertion's NameID
	Groups  []string              // its "groups" attribute
	Subject saml2sp.LogoutSubject // who to name in a LogoutRequest
	// Linked are the SSO identities linked to the account (AppConfig.LinkAccounts).
	Linked []string
}

// ACSPost is one POST that reached the ACS URL.
type ACSPost struct {
	Cookies []string // names of the cookies the browser sent with it
	// EncryptedAssertions and Assertions count the saml:EncryptedAssertion
	// and plain saml:Assertion elements in its SAMLResponse, as sent by the
	// browser (before TamperNameID). An assertion inside an
	// EncryptedAssertion is ciphertext, so it is not counted.
	EncryptedAssertions, Assertions int
}

// LoginEvent is one call of Hooks.OnLogin.
type LoginEvent struct {
	NameID       string // the Assertion's NameID
	ReturnTo     string // Login.ReturnTo
	IdPInitiated bool   // Login.IdPInitiated
	// Session is the NameID of the live session the request carried ("" for
	// none), and Bound whether Login.BoundTo says that session started the
	// login. Binding is Login.Binding ("" for none).
	Session string
	Bound   bool
	Binding string
}

// LogoutEvent is one call of Hooks.OnLogout.
type LogoutEvent struct {
	Initiator      string   // Logout.Initiator: "idp" or "sp"
	NameID         string   // Logout.NameID
	SessionIndexes []string // Logout.SessionIndexes
	Ended          int      // app sessions it ended
}

// FailureEvent is one call of Hooks.OnFailure.
type FailureEvent struct {
	Err       error  // Failure.Err
	Status    int    // Failure.Status
	Reference string // Failure.Reference, shown on the failure page
}

// AppConfig configures App.Start.
type AppConfig struct {
	// IdPMetadataURL is fetched with saml2sp.FetchMetadata.
	IdPMetadataURL string
	// AllowIdPInitiated is copied to saml2sp.Config.
	AllowIdPInitiated bool
	// LinkAccounts makes a login in a browser that already has a session
	// link the SSO identity to that session's account instead of starting
	// a new session ("link this identity to my account"), but only when
	// Login.BoundTo shows that this session started the login.
	LinkAccounts bool
}

// AppOptions choose where NewAppWith serves the app.
type AppOptions struct {
	// Host is the host name of the app's URL; "" means 127.0.0.1. It
	// always listens on 127.0.0.1; names under .test resolve there in the
	// tests' Chromium.
	Host string
	// TLS serves the app over HTTPS with TLSConfig's certificate (Host
	// must then be under saml2sp.test).
	TLS *tls.Config
	// Tenant, when set, lays the SP out with TenantEndpoints (base URL+
	// "/saml/", Tenant) and serves it through a saml2sp.TenantHandler.
	Tenant string
}

// NewApp reserves the app's address on 127.0.0.1 and generates the SP's key
// and certificate, so that the IdP can be configured before the SP exists
// (the SP needs the IdP's metadata). Serve it with Start.
func NewApp(t testing.TB) *App { return NewAppWith(t, AppOptions{}) }

// NewAppWith is NewApp with a host name, HTTPS or the multi-tenant layout.
func NewAppWith(t testing.TB, o AppOptions) *App {
	t.Helper()
	a := &App{sessions: map[string]*Session{}, tls: o.TLS, tenant: o.Tenant}
	a.srv = httptest.NewUnstartedServer(http.NotFoundHandler())
	t.Cleanup(a.srv.Close)
	host, port, _ := net.SplitHostPort(a.srv.Listener.Addr().String())
	if o.Host != "" {
		host = o.Host
	}
	scheme := "http://"
	if o.TLS != nil {
		scheme = "https://"
	}
	a.URL = scheme + net.JoinHostPort(host, port)
	var ep saml2sp.Endpoints
	var err error
	if o.Tenant != "" {
		ep, err = saml2sp.TenantEndpoints(a.URL+"/saml/", o.Tenant)
	} else {
		ep, err = saml2sp.EndpointsAt(a.URL + "/saml/")
	}
	if err != nil {
		t.Fatal(err)
	}
	a.Endpoints = ep
	if a.Key, a.Certificate, err = NewKeyPair("saml2sp e2e app"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app at %s: saml2sp log (InsecureTraceMessages on: test data only):\n%s", a.URL, a.logs.String())
		}
	})
	return a
}

// Host is the app's host:port, for the IdP's trusted.url.domains.
func (a *App) Host() string { return mustURL(a.URL).Host }

// RemoteSP is how the IdP must know this app.
func (a *App) RemoteSP() RemoteSP {
	return RemoteSP{
		EntityID:    a.Endpoints.EntityID,
		ACSURL:      a.Endpoints.ACSURL,
		SLSURL:      a.Endpoints.SLOURL,
		Certificate: a.Certificate,
	}
}

// Start fetches the IdP's metadata, builds the SP and starts serving.
func (a *App) Start(t testing.TB, c AppConfig) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(&a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	idp, err := saml2sp.FetchMetadata(ctx, nil, c.IdPMetadataURL)
	if err != nil {
		t.Fatal(err)
	}
	stateKey := make([]byte, 32)
	if _, err := rand.Read(stateKey); err != nil {
		t.Fatal(err)
	}
	cfg := saml2sp.Config{
		IdP:                   idp,
		Key:                   a.Key,
		Certificate:           a.Certificate,
		AllowIdPInitiated:     c.AllowIdPInitiated,
		StateKey:              stateKey,
		Logger:                logger,
		InsecureTraceMessages: true, // test data only; the log is shown only when a test fails
		// SimpleSAMLphp checks AuthnRequest signatures (validate.authnrequest)
		// without saying so in its metadata.
		AuthnRequest: saml2sp.AuthnRequestOptions{Sign: true},
	}
	a.Endpoints.Apply(&cfg)
	if a.SP, err = saml2sp.New(cfg); err != nil {
		t.Fatal(err)
	}
	a.linkAccounts = c.LinkAccounts
	hooks := saml2sp.Hooks{
		OnLogin:        a.onLogin,
		OnFailure:      a.onFailure,
		OnLogout:       a.onLogout,
		CurrentSubject: a.currentSubject,
		LoginBinding:   a.loginBinding,
	}
	var saml http.Handler = a.SP.Handler(hooks)
	if a.tenant != "" {
		saml = &saml2sp.TenantHandler{
			BaseURL: a.URL + "/saml/",
			Tenants: saml2sp.TenantResolverFunc(func(_ context.Context, tenant string) (*saml2sp.SP, error) {
				if tenant != a.tenant {
					return nil, saml2sp.ErrUnknownTenant
				}
				return a.SP, nil
			}),
			Hooks:    hooks,
			StateKey: stateKey, // the SP's: a TenantHandler refuses a tenant SP with another
			Logger:   logger,
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /private/", a.private)
	mux.Handle("/saml/", a.intercept(saml))
	a.srv.Config.Handler = mux
	if a.tls != nil {
		a.srv.TLS = a.tls
		a.srv.StartTLS()
		return
	}
	a.srv.Start()
}

// ACSPosts returns the POSTs that reached the ACS so far.
func (a *App) ACSPosts() []ACSPost {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.acsPosts)
}

// Logins returns the OnLogin calls so far.
func (a *App) Logins() []LoginEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.logins)
}

// Logouts returns the OnLogout calls so far.
func (a *App) Logouts() []LogoutEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.logouts)
}

// Failures returns the OnFailure calls so far.
func (a *App) Failures() []FailureEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.failures)
}

// Sessions returns the number of live sessions.
func (a *App) Sessions() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sessions)
}

// Tampered returns how many Responses TamperNameID changed.
func (a *App) Tampered() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tampered
}

func (a *App) onLogin(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
	current, sid := a.sessionAndID(r)
	event := LoginEvent{
		NameID: l.Assertion.NameID, ReturnTo: l.ReturnTo, IdPInitiated: l.IdPInitiated,
		Bound: current != nil && l.BoundTo(bindingOf(sid)), Binding: l.Binding,
	}
	if current != nil {
		event.Session = current.NameID
	}
	a.mu.Lock()
	a.logins = append(a.logins, event)
	a.mu.Unlock()
	if a.linkAccounts && current != nil {
		a.link(w, r, l, current, event.Bound)
		return nil
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		http.Error(w, "no randomness", http.StatusInternalServerError)
		return nil
	}
	newID := hex.EncodeToString(id)
	s := &Session{
		NameID:  l.Assertion.NameID,
		Groups:  l.Assertion.Attribute("groups"),
		Subject: l.Assertion.LogoutSubject(),
	}
	a.mu.Lock()
	if old, err := r.Cookie(SessionCookie); err == nil {
		delete(a.sessions, old.Value) // a new login never reuses a session ID
	}
	a.sessions[newID] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: newID, Path: "/", HttpOnly: true, Secure: a.tls != nil, SameSite: http.SameSiteLaxMode})
	to := l.ReturnTo
	if to == "" {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (a *App) onFailure(w http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
	a.mu.Lock()
	a.failures = append(a.failures, FailureEvent{Err: f.Err, Status: f.Status, Reference: f.Reference})
	a.mu.Unlock()
	status := f.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	a.render(w, r, status, page{Title: "Login failed", Failure: f.Reference})
}

func (a *App) onLogout(w http.ResponseWriter, r *http.Request, l *saml2sp.Logout) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ended := 0
	for id, s := range a.sessions {
		if s.NameID != l.NameID {
			continue
		}
		if len(l.SessionIndexes) > 0 && !slices.Contains(l.SessionIndexes, s.Subject.SessionIndex) {
			continue
		}
		delete(a.sessions, id)
		ended++
	}
	a.logouts = append(a.logouts, LogoutEvent{
		Initiator: string(l.Initiator), NameID: l.NameID, SessionIndexes: slices.Clone(l.SessionIndexes), Ended: ended,
	})
	return nil
}

func (a *App) currentSubject(r *http.Request) (saml2sp.LogoutSubject, bool) {
	s := a.session(r)
	if s == nil {
		return saml2sp.LogoutSubject{}, false
	}
	return s.Subject, true
}

func (a *App) session(r *http.Request) *Session {
	s, _ := a.sessionAndID(r)
	return s
}

// sessionAndID returns the request's live session and its ID, or nil, "".
func (a *App) sessionAndID(r *http.Request) (*Session, string) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.sessions[c.Value]; s != nil {
		return s, c.Value
	}
	return nil, ""
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, page{Title: "Home"})
}

func (a *App) private(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/private/page" {
		http.NotFound(w, r)
		return
	}
	if a.session(r) == nil {
		http.Redirect(w, r, a.loginURL(r.URL.RequestURI()), http.StatusFound)
		return
	}
	a.render(w, r, http.StatusOK, page{Title: "Private page", Private: "x=" + r.URL.Query().Get("x")})
}

func (a *App) loginURL(returnTo string) string {
	return a.Endpoints.LoginURL + "?" + url.Values{"return_to": {returnTo}}.Encode()
}

type page struct {
	Title    string
	Private  string // set on the private page
	Failure  string // set on the failure page: the failure's reference
	Link     string // set on the account-linking pages: what happened
	Session  *Session
	LoginURL string
	Logout   string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><main id="app">
<h1>{{.Title}}</h1>
{{with .Failure}}<p id="failure">Login failed (reference {{.}}).</p>{{end}}
{{with .Private}}<p id="private">{{.}}</p>{{end}}
{{with .Link}}<p id="link">{{.}}</p>{{end}}
{{with .Session}}<p id="status">logged in as {{.NameID}}</p>
<ul id="groups">{{range .Groups}}<li>{{.}}</li>{{end}}</ul>
<ul id="linked">{{range .Linked}}<li>{{.}}</li>{{end}}</ul>
<p><a id="logout" href="{{$.Logout}}">Log out</a></p>
{{else}}<p id="status">not logged in</p>
<p><a id="login" href="{{.LoginURL}}">Log in</a></p>
{{end}}</main></body></html>
`))

func (a *App) render(w http.ResponseWriter, r *http.Request, status int, p page) {
	p.Session = a.session(r)
	p.LoginURL = a.loginURL("/")
	p.Logout = a.Endpoints.LogoutURL + "?" + url.Values{"return_to": {"/"}}.Encode()
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func mustPath(raw string) string { return mustURL(raw).Path }

func mustURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (the slog
// handler) and readers (the failure dump).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
