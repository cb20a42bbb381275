package bench

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/redirect"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// The SP of the worst-case suite. Its URLs are those of the fixtures plus
// the SLO and login endpoints; it is checked at the fixed time now.
const (
	sloURL   = "https://sp.example.com/saml/slo"
	loginURL = "https://sp.example.com/saml/login"
	// trustedIdPCerts and spKeys are the configuration the targets are
	// set for: an SP that trusts up to 4 IdP certificates (rollover
	// across several keys) and holds 3 SP keys (Key, NextKey and one
	// PreviousKeys).
	trustedIdPCerts = 4
	spKeys          = 3
)

// world is the SP under attack and the test IdP it trusts, built once.
type world struct {
	lim worstLimits
	idp *saml2sptest.IdP
	// certs are the trusted IdP certificates: three of other keys, then
	// the test IdP's (last, so that without a KeyInfo hint every one is
	// tried before it).
	certs []*x509.Certificate
	// untrusted is a certificate the SP does not trust, named in the
	// KeyInfo of some hostile inputs.
	untrusted *x509.Certificate
	// spKeys and spCerts: Config.Key, NextKey, PreviousKeys[0].
	spKeys  []*rsa.PrivateKey
	spCerts []*x509.Certificate
	sp      *saml2sp.SP
	// cfg is sp's Config, for variants (BenchmarkWorstCaseFlood).
	cfg saml2sp.Config

	// A login started at the SP: the AuthnRequest ID, the RelayState
	// handle and the state cookie (name=value), so that ACS inputs answer
	// a request of ours as in an SP-initiated login.
	requestID, relayState, stateCookie string
}

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
)

// getWorld builds the world once (RSA key generation takes a second).
func getWorld(tb testing.TB) *world {
	tb.Helper()
	worldOnce.Do(func() { theWorld, worldErr = newWorld() })
	if worldErr != nil {
		tb.Fatal(worldErr)
	}
	return theWorld
}

func newWorld() (*world, error) {
	w := &world{lim: currentLimits()}
	idp, err := saml2sptest.NewIdP(idpEntityID)
	if err != nil {
		return nil, err
	}
	idp.Clock = func() time.Time { return now }
	w.idp = idp
	newCert := func() (*rsa.PrivateKey, *x509.Certificate, error) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, err
		}
		cert, err := saml2sptest.NewCertificate(key, now.AddDate(-1, 0, 0), now.AddDate(5, 0, 0))
		return key, cert, err
	}
	for range trustedIdPCerts - 1 {
		_, c, err := newCert()
		if err != nil {
			return nil, err
		}
		w.certs = append(w.certs, c)
	}
	w.certs = append(w.certs, idp.Certificate)
	if _, w.untrusted, err = newCert(); err != nil {
		return nil, err
	}
	for range spKeys {
		k, c, err := newCert()
		if err != nil {
			return nil, err
		}
		w.spKeys, w.spCerts = append(w.spKeys, k), append(w.spCerts, c)
	}
	meta := idp.IdentityProvider()
	meta.Certificates = w.certs
	stateKey := make([]byte, 32)
	if _, err := rand.Read(stateKey); err != nil {
		return nil, err
	}
	w.cfg = saml2sp.Config{
		EntityID:     spEntityID,
		ACSURL:       acsURL,
		SLOURL:       sloURL,
		LoginURL:     loginURL,
		IdP:          meta,
		Key:          w.spKeys[0],
		Certificate:  w.spCerts[0],
		NextKey:      &saml2sp.KeyPair{Key: w.spKeys[1], Certificate: w.spCerts[1]},
		PreviousKeys: []crypto.Decrypter{w.spKeys[2]},
		Clock:        func() time.Time { return now },
		ReplayCache:  acceptAllReplayCache{},
		Logger:       slog.New(slog.DiscardHandler),
		StateKey:     stateKey,
	}
	if w.sp, err = saml2sp.New(w.cfg); err != nil {
		return nil, err
	}
	if err := w.startLogin(); err != nil {
		return nil, fmt.Errorf("starting a login: %w", err)
	}
	return w, nil
}

var idAttr = regexp.MustCompile(`\sID="([^"]+)"`)

// startLogin runs the login start once, as a browser would, and keeps the
// AuthnRequest ID, RelayState and state cookie it hands out.
func (w *world) startLogin() error {
	rec := httptest.NewRecorder()
	w.sp.LoginHandler(saml2sp.Hooks{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, loginURL, nil))
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || loc.RawQuery == "" {
		return fmt.Errorf("login start answered %d without a redirect (%v)", rec.Code, err)
	}
	msg, err := redirect.Decode(loc.RawQuery, 0)
	if err != nil {
		return err
	}
	m := idAttr.FindSubmatch(msg.XML)
	if m == nil {
		return errors.New("AuthnRequest has no ID")
	}
	w.requestID, w.relayState = string(m[1]), msg.RelayState
	for _, c := range rec.Result().Cookies() {
		if strings.HasSuffix(c.Name, w.relayState) {
			w.stateCookie = c.Name + "=" + c.Value
		}
	}
	if w.stateCookie == "" {
		return errors.New("no state cookie")
	}
	return nil
}

// outcome is what one request to an endpoint came to.
type outcome struct {
	status int
	// ok is set by OnLogin (ACS) or OnLogout (SLS): the message was
	// accepted.
	ok  bool
	err error // from OnFailure
	// location is the Location header of the answer (the login start
	// redirects to the IdP).
	location string
}

// handlers returns the SP's ACS, SLS and login handlers with hooks that
// record into o. OnLogin redirects, OnLogout succeeds.
func (w *world) handlers(o *outcome) (acs, sls, login http.Handler) {
	h := saml2sp.Hooks{
		OnLogin: func(rw http.ResponseWriter, r *http.Request, l *saml2sp.Login) error {
			o.ok = true
			http.Redirect(rw, r, l.ReturnTo, http.StatusSeeOther)
			return nil
		},
		OnFailure: func(rw http.ResponseWriter, r *http.Request, f *saml2sp.Failure) {
			o.err = f.Err
			rw.WriteHeader(f.Status)
		},
		OnLogout: func(http.ResponseWriter, *http.Request, *saml2sp.Logout) error {
			o.ok = true
			return nil
		},
	}
	return w.sp.ACSHandler(h), w.sp.SLSHandler(h), w.sp.LoginHandler(h)
}

// serve parses raw as a server would read it off the wire and runs h.
func serve(h http.Handler, raw []byte, o *outcome) error {
	*o = outcome{}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return err
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	o.status = rec.Code
	o.location = rec.Header().Get("Location")
	return nil
}

// rawPost is a form POST to path with the given cookie header ("" for
// none).
func rawPost(path, body, cookie string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: sp.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n", path, len(body))
	if cookie != "" {
		fmt.Fprintf(&b, "Cookie: %s\r\n", cookie)
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.Bytes()
}

// rawGet is a GET of pathQuery with the given cookie header.
func rawGet(pathQuery, cookie string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: sp.example.com\r\n", pathQuery)
	if cookie != "" {
		fmt.Fprintf(&b, "Cookie: %s\r\n", cookie)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}
