package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// SessionApp is an app on saml2sp's session layer, wired as the README's
// "Add SSO to a web app" (examples/minimal) is: a CookieStore without
// Insecure, a memory RevocationStore, a Provisioner, sp.Handler(
// sessions.Hooks()) at /saml/, and a page behind sessions.RequireLogin.
// It is served over HTTPS at https://app.saml2sp.test:<port>, where the
// session cookie is __Host-saml2sp_session:
//
//	/               public: "signed in as <user ID>" or "not signed in" (Sessions.Current)
//	/private/page   RequireLogin: the user and a "Log out" link
//	/saml/...       saml2sp's Handler
//
// It records every request it gets (but /favicon.ico), with the cookies
// the browser sent.
type SessionApp struct {
	// URL is the app's origin, "https://app.saml2sp.test:<port>" (no slash).
	URL string
	// Endpoints are the SP's URLs, all under URL+"/saml/".
	Endpoints saml2sp.Endpoints
	// Key and Certificate sign the SP's AuthnRequests and logout messages.
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate

	srv  *httptest.Server
	logs syncBuffer

	mu   sync.Mutex
	hits []Hit
}

// SessionCookieName is the CookieStore's cookie over HTTPS.
const SessionCookieName = "__Host-saml2sp_session"

// Hit is one request the SessionApp got.
type Hit struct {
	Method, Path string
	Cookies      []string // the names of the cookies it carried
	FetchSite    string   // its Sec-Fetch-Site header
}

// NewSessionApp reserves the app's address and makes the SP's key, so
// that the IdP can know the SP before it starts; cfg is TLSConfig's.
func NewSessionApp(t testing.TB, cfg *tls.Config) *SessionApp {
	t.Helper()
	a := &SessionApp{srv: httptest.NewUnstartedServer(http.NotFoundHandler())}
	t.Cleanup(a.srv.Close)
	a.srv.TLS = cfg
	_, port, _ := net.SplitHostPort(a.srv.Listener.Addr().String())
	a.URL = "https://" + net.JoinHostPort("app."+TestDomain, port)
	var err error
	if a.Endpoints, err = saml2sp.EndpointsAt(a.URL + "/saml/"); err != nil {
		t.Fatal(err)
	}
	if a.Key, a.Certificate, err = NewKeyPair("saml2sp e2e session app"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("session app at %s: requests %+v\nsaml2sp log (InsecureTraceMessages on: test data only):\n%s", a.URL, a.Hits(), a.logs.String())
		}
	})
	return a
}

// DevSP is how the development IdP must know the app.
func (a *SessionApp) DevSP() saml2sptest.DevSP {
	return saml2sptest.DevSP{
		EntityID: a.Endpoints.EntityID, ACSURL: a.Endpoints.ACSURL, SLOURL: a.Endpoints.SLOURL, Certificate: a.Certificate,
	}
}

// Start fetches the IdP's metadata (over HTTPS, trusting roots), builds
// the SP and the session layer, and serves.
func (a *SessionApp) Start(t testing.TB, idpMetadataURL string, roots *x509.CertPool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	idp, err := saml2sp.FetchMetadata(ctx, client, idpMetadataURL)
	if err != nil {
		t.Fatal(err)
	}
	stateKey, sessionKey := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(stateKey)
	_, _ = rand.Read(sessionKey)
	cfg := saml2sp.Config{
		IdP: idp, Key: a.Key, Certificate: a.Certificate, StateKey: stateKey,
		Logger:                slog.New(slog.NewTextHandler(&a.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		InsecureTraceMessages: true, // test data only; the log is shown only when a test fails
		// The development IdP wants signed AuthnRequests from an SP whose
		// certificate it knows, without saying so in its metadata.
		AuthnRequest: saml2sp.AuthnRequestOptions{Sign: true},
	}
	a.Endpoints.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sessions := &saml2sp.Sessions{
		Store:       &saml2sp.CookieStore{Key: sessionKey},
		Revocations: saml2sp.NewMemoryRevocationStore(0, nil),
		Provisioner: &saml2sp.Provisioner{Mapping: saml2sp.SimpleSAMLphpMapping(), Store: &saml2sp.MemoryUserStore{}},
		LoginURL:    sp.Config().LoginURL,
		Logger:      cfg.Logger,
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp.Handler(sessions.Hooks()))
	mux.Handle("GET /private/page", sessions.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := saml2sp.SessionFrom(r.Context())
		sessionPage.Execute(w, map[string]string{"Private": s.UserID + " " + s.Subject.NameID, "Logout": sp.Config().LogoutURL + "?return_to=/"})
	})))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		status := "not signed in"
		if s, err := sessions.Current(r); err != nil {
			status = "error: " + err.Error()
		} else if s != nil {
			status = "signed in as " + s.UserID
		}
		sessionPage.Execute(w, map[string]string{"Status": status})
	})
	a.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := Hit{Method: r.Method, Path: r.URL.Path, FetchSite: r.Header.Get("Sec-Fetch-Site")}
		for _, c := range r.Cookies() {
			h.Cookies = append(h.Cookies, c.Name)
		}
		if r.URL.Path != "/favicon.ico" { // Chromium's own, whenever it likes
			a.mu.Lock()
			a.hits = append(a.hits, h)
			a.mu.Unlock()
		}
		mux.ServeHTTP(w, r)
	})
	a.srv.StartTLS()
}

// Hits returns the requests the app got so far.
func (a *SessionApp) Hits() []Hit {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.hits)
}

var sessionPage = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Session app</title></head>
<body><main id="app">
{{with .Status}}<p id="status">{{.}}</p>{{end}}
{{with .Private}}<p id="private">{{.}}</p>{{end}}
{{with .Logout}}<p><a id="logout" href="{{.}}">Log out</a></p>{{end}}
</main></body></html>
`))
