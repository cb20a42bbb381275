package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
// carried, each OnLogout call, each OnFailure call.
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

	mu       sync.Mutex
	sessions map[string]*Session
	acsPosts []ACSPost
	logins   []LoginEvent
	logouts  []LogoutEvent
	failures []FailureEvent
	tampered int
}

// Session is one logged-in browser.
type Session struct {
	NameID  string
	Groups  []string
	Subject saml2sp.LogoutSubject
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
	NameID       string
	ReturnTo     string
	IdPInitiated bool
}

// LogoutEvent is one call of Hooks.OnLogout.
type LogoutEvent struct {
	Initiator      string
	NameID         string
	SessionIndexes []string
	Ended          int // app sessions it ended
}

// FailureEvent is one call of Hooks.OnFailure.
type FailureEvent struct {
	Err       error
	Status    int
	Reference string
}

// AppConfig configures App.Start.
type AppConfig struct {
	// IdPMetadataURL is fetched with saml2sp.FetchMetadata.
	IdPMetadataURL string
	// AllowIdPInitiated is copied to saml2sp.Config.
	AllowIdPInitiated bool
}

// NewApp reserves the app's address on 127.0.0.1 and generates the SP's key
// and certificate, so that the IdP can be configured before the SP exists
// (the SP needs the IdP's metadata). Serve it with Start.
func NewApp(t testing.TB) *App {
	t.Helper()
	a := &App{sessions: map[string]*Session{}}
	a.srv = httptest.NewUnstartedServer(http.NotFoundHandler())
	t.Cleanup(a.srv.Close)
	a.URL = "http://" + a.srv.Listener.Addr().String()
	ep, err := saml2sp.EndpointsAt(a.URL + "/saml/")
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
func (a *App) Host() string { return strings.TrimPrefix(a.URL, "http://") }

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
	hooks := saml2sp.Hooks{
		OnLogin:        a.onLogin,
		OnFailure:      a.onFailure,
		OnLogout:       a.onLogout,
		CurrentSubject: a.currentSubject,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /private/", a.private)
	mux.Handle("/saml/", a.intercept(a.SP.Handler(hooks)))
	a.srv.Config.Handler = mux
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

func (a *App) onLogin(w http.ResponseWriter, r *http.Request, l *saml2sp.Login) {
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		http.Error(w, "no randomness", http.StatusInternalServerError)
		return
	}
	sid := hex.EncodeToString(id)
	s := &Session{
		NameID:  l.Assertion.NameID,
		Groups:  l.Assertion.Attribute("groups"),
		Subject: l.Assertion.LogoutSubject(),
	}
	a.mu.Lock()
	if old, err := r.Cookie(SessionCookie); err == nil {
		delete(a.sessions, old.Value) // a new login never reuses a session ID
	}
	a.sessions[sid] = s
	a.logins = append(a.logins, LoginEvent{NameID: s.NameID, ReturnTo: l.ReturnTo, IdPInitiated: l.IdPInitiated})
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	to := l.ReturnTo
	if to == "" {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
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

func (a *App) onLogout(ctx context.Context, l *saml2sp.Logout) error {
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
		Initiator: l.Initiator, NameID: l.NameID, SessionIndexes: slices.Clone(l.SessionIndexes), Ended: ended,
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
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
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
{{with .Session}}<p id="status">logged in as {{.NameID}}</p>
<ul id="groups">{{range .Groups}}<li>{{.}}</li>{{end}}</ul>
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

// nameIDText finds the text of the (first) NameID element.
var nameIDText = regexp.MustCompile(`(<(?:[A-Za-z_][\w.-]*:)?NameID\b[^>]*>)([^<]*)<`)

// intercept records each POST to the ACS (with the names of the cookies it
// carried) and, when TamperNameID is set, changes the Response's NameID.
func (a *App) intercept(next http.Handler) http.Handler {
	acsPath := mustPath(a.Endpoints.ACSURL)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != acsPath {
			next.ServeHTTP(w, r)
			return
		}
		var names []string
		for _, c := range r.Cookies() {
			names = append(names, c.Name)
		}
		post := ACSPost{Cookies: names}
		r = countAssertions(r, &post)
		a.mu.Lock()
		a.acsPosts = append(a.acsPosts, post)
		a.mu.Unlock()
		if a.TamperNameID.Load() {
			r = a.tamper(r)
		}
		next.ServeHTTP(w, r)
	})
}

// nsAssertion is the SAML 2.0 assertion namespace.
const nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"

// countAssertions decodes r's SAMLResponse and counts its EncryptedAssertion
// and Assertion elements into p. It returns r with its body intact for the
// next handler. Counts stay 0 when there is no decodable Response.
func countAssertions(r *http.Request, p *ACSPost) *http.Request {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return r
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return r
	}
	raw, err := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	if err != nil {
		return r
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			return r
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Space == nsAssertion {
			switch se.Name.Local {
			case "EncryptedAssertion":
				p.EncryptedAssertions++
			case "Assertion":
				p.Assertions++
			}
		}
	}
}

// tamper returns r with the first letter of the SAMLResponse's NameID in
// upper case, re-encoded exactly as the browser sent it otherwise.
func (a *App) tamper(r *http.Request) *http.Request {
	if err := r.ParseForm(); err != nil {
		return r
	}
	form := r.PostForm
	raw, err := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	if err != nil {
		return r
	}
	changed := false
	out := nameIDText.ReplaceAllFunc(raw, func(m []byte) []byte {
		sub := nameIDText.FindSubmatch(m)
		text := sub[2]
		if changed || len(text) == 0 || text[0] < 'a' || text[0] > 'z' {
			return m
		}
		changed = true
		flipped := append([]byte{text[0] - 'a' + 'A'}, text[1:]...)
		return append(append(slices.Clone(sub[1]), flipped...), '<')
	})
	if changed {
		a.mu.Lock()
		a.tampered++
		a.mu.Unlock()
		form.Set("SAMLResponse", base64.StdEncoding.EncodeToString(out))
	}
	body := form.Encode()
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(strings.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r2.Form, r2.PostForm = nil, nil
	return r2
}

func mustPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u.Path
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
