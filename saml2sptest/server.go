package saml2sptest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/internal/redirect"
)

// Lifetimes and limits of the development server.
const (
	// sessionLifetime is how long an IdP session lasts (the
	// SessionNotOnOrAfter of its assertions).
	sessionLifetime = 8 * time.Hour
	// pendingLifetime bounds how long a login page or a logout chain may
	// wait for the browser.
	pendingLifetime = 10 * time.Minute
	// maxMessage bounds a decoded SAML message, and maxBody a POSTed form.
	maxMessage = 1 << 20
	maxBody    = 2*maxMessage + 64<<10
	// maxRelayState is the RelayState limit of SAML bindings 3.4.3/3.5.3.
	maxRelayState = 80
	// sessionCookie names the IdP session cookie.
	sessionCookie = "saml2sptest_idp_session"
)

// DevUser is a user of the development Server. Its login page lists each
// user as a button; there are no passwords.
type DevUser struct {
	// Username names the user on the login form and in sso/start?user=.
	// Required and unique.
	Username string
	// DisplayName is shown on the login page. Default: Username.
	DisplayName string
	// NameID is the Subject's NameID: of the emailAddress format when it
	// holds an '@', else persistent. Default: Username.
	NameID string
	// Attributes go into every assertion for the user.
	Attributes []saml2sp.Attribute
}

// DevSP is a service provider the development Server answers. It answers
// no other.
type DevSP struct {
	// EntityID is the SP's entity ID: the Issuer of its requests and the
	// Audience of its assertions. Required and unique.
	EntityID string
	// ACSURL is where Responses are posted. An AuthnRequest that names
	// another AssertionConsumerServiceURL is refused. Required.
	ACSURL string
	// SLOURL is the SP's single logout service (HTTP-Redirect). Without it
	// the SP takes no part in single logout.
	SLOURL string
	// Certificate, when set, is the SP's signing certificate: its requests
	// must then be signed with its key (a query-string signature for
	// HTTP-Redirect, an enveloped XML signature for HTTP-POST; never SHA-1)
	// and unsigned ones are refused. Without it, signatures are ignored.
	Certificate *x509.Certificate
}

// Server is a development identity provider served over HTTP, in the
// spirit of net/http/httptest: a newcomer can click through SP-initiated
// and IdP-initiated login and single logout against a real saml2sp SP
// without an external IdP. Anyone can sign in as any user without a
// password, so it is for development and tests only, never for
// production; every page it serves says so.
//
// Routes, relative to the path of the base URL given to NewServer:
//
//	GET  metadata          the IdP metadata (SSO and SLO, HTTP-Redirect and HTTP-POST)
//	GET  (the base itself) an index with IdP-initiated login links
//	GET|POST sso           an AuthnRequest (SAMLRequest) from a registered SP
//	POST sso/login         the login page's form
//	GET  sso/start         IdP-initiated login: ?sp=<entity ID>[&user=<username>][&RelayState=...]
//	GET|POST slo           a LogoutRequest from an SP, or an SP's LogoutResponse
//	GET|POST slo/start     IdP-initiated logout: ?RelayState=<URL on a registered SP's origin>
//
// Set the fields before calling Handler and leave them alone afterwards;
// the handler is safe for concurrent use.
type Server struct {
	// IdP signs the Responses and logout messages. Handler sets its
	// SSOURL and SLOURL to the server's URLs.
	IdP *IdP
	// Users are shown on the login page.
	Users []DevUser
	// SPs are the only service providers the server answers.
	SPs []DevSP

	baseURL  string
	basePath string
	sealKey  []byte

	mu sync.Mutex
	// sessions maps session cookie values to IdP sessions.
	sessions map[string]*session
	// logouts maps the IDs of outstanding LogoutRequests to the logout
	// they belong to.
	logouts map[string]*logoutChain
}

// session is one browser's IdP session.
type session struct {
	user    DevUser
	expires time.Time
	// sps lists the SPs the session logged into, in order.
	sps []spSession
}

// spSession is the part of an IdP session at one SP.
type spSession struct {
	entityID     string
	sessionIndex string
}

// NewServer returns a development IdP served under baseURL, an absolute
// http(s) URL whose path ends in "/". Its IdP has a fresh RSA-2048 key and
// the entity ID baseURL+"metadata", with SSO at baseURL+"sso" and SLO at
// baseURL+"slo". users nil means DefaultUsers. sps may be empty and filled
// in later (before Handler), once the SPs know the IdP's metadata.
func NewServer(baseURL string, users []DevUser, sps ...DevSP) (*Server, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("saml2sptest: base URL %q must be an absolute http(s) URL whose path ends with \"/\"", baseURL)
	}
	if users == nil {
		users = DefaultUsers()
	}
	idp, err := NewIdP(baseURL + "metadata")
	if err != nil {
		return nil, err
	}
	s := &Server{
		IdP:      idp,
		baseURL:  baseURL,
		basePath: u.Path,
		sealKey:  make([]byte, 32),
		sessions: map[string]*session{},
		logouts:  map[string]*logoutChain{},
	}
	if _, err := rand.Read(s.sealKey); err != nil {
		return nil, fmt.Errorf("saml2sptest: generating seal key: %w", err)
	}
	seen := map[string]bool{}
	for _, user := range users {
		if user.Username == "" || seen[user.Username] {
			return nil, fmt.Errorf("saml2sptest: username %q is empty or not unique", user.Username)
		}
		seen[user.Username] = true
		def(&user.DisplayName, user.Username)
		def(&user.NameID, user.Username)
		s.Users = append(s.Users, user)
	}
	seen = map[string]bool{}
	for _, sp := range sps {
		if sp.EntityID == "" || seen[sp.EntityID] {
			return nil, fmt.Errorf("saml2sptest: SP entity ID %q is empty or not unique", sp.EntityID)
		}
		seen[sp.EntityID] = true
		if !absoluteHTTP(sp.ACSURL) {
			return nil, fmt.Errorf("saml2sptest: SP %q: ACSURL %q is not an absolute http(s) URL", sp.EntityID, sp.ACSURL)
		}
		if sp.SLOURL != "" && !absoluteHTTP(sp.SLOURL) {
			return nil, fmt.Errorf("saml2sptest: SP %q: SLOURL %q is not an absolute http(s) URL", sp.EntityID, sp.SLOURL)
		}
		s.SPs = append(s.SPs, sp)
	}
	idp.SSOURL, idp.SLOURL = s.ssoURL(), s.sloURL()
	return s, nil
}

// DefaultUsers returns three users with the attribute names most IdP
// presets try (groups, mail, givenName, sn, uid): alice, in the groups
// "engineering" and "Dogs & cats"; bob, in "sales"; carol, in no group.
func DefaultUsers() []DevUser {
	user := func(username, given, family string, groups ...string) DevUser {
		email := username + "@example.com"
		attrs := []saml2sp.Attribute{
			{Name: "uid", Values: []string{username}},
			{Name: "mail", Values: []string{email}},
			{Name: "givenName", Values: []string{given}},
			{Name: "sn", Values: []string{family}},
		}
		if len(groups) > 0 {
			attrs = append(attrs, saml2sp.Attribute{Name: "groups", Values: groups})
		}
		return DevUser{Username: username, DisplayName: given, NameID: email, Attributes: attrs}
	}
	return []DevUser{
		user("alice", "Alice", "Anderson", "engineering", "Dogs & cats"),
		user("bob", "Bob", "Brown", "sales"),
		user("carol", "Carol", "Clark"),
	}
}

// MetadataURL returns the URL of the IdP metadata, for
// saml2sp.FetchMetadata.
func (s *Server) MetadataURL() string { return s.baseURL + "metadata" }

func (s *Server) ssoURL() string { return s.baseURL + "sso" }
func (s *Server) sloURL() string { return s.baseURL + "slo" }

// Handler sets the IdP's SSOURL and SLOURL to the server's URLs and
// returns the handler of every route. Mount it so that it sees the full
// request path (no http.StripPrefix).
func (s *Server) Handler() http.Handler {
	s.IdP.SSOURL, s.IdP.SLOURL = s.ssoURL(), s.sloURL()
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	route, ok := strings.CutPrefix(r.URL.Path, s.basePath)
	if !ok {
		s.fail(w, http.StatusNotFound, "Not found", "This development IdP serves nothing at this path.")
		return
	}
	switch route {
	case "":
		if allow(w, r, http.MethodGet, http.MethodHead) {
			s.serveIndex(w, r)
		}
	case "metadata":
		if allow(w, r, http.MethodGet, http.MethodHead) {
			w.Header().Set("Content-Type", "application/samlmetadata+xml")
			w.Header().Set("Cache-Control", "no-store")
			if r.Method == http.MethodGet {
				_, _ = w.Write(s.IdP.Metadata())
			}
		}
	case "sso":
		if allow(w, r, http.MethodGet, http.MethodPost) {
			s.serveSSO(w, r)
		}
	case "sso/login":
		if allow(w, r, http.MethodPost) {
			s.serveLogin(w, r)
		}
	case "sso/start":
		if allow(w, r, http.MethodGet) {
			s.serveSSOStart(w, r)
		}
	case "slo":
		if allow(w, r, http.MethodGet, http.MethodPost) {
			s.serveSLO(w, r)
		}
	case "slo/start":
		if allow(w, r, http.MethodGet, http.MethodPost) {
			s.serveSLOStart(w, r)
		}
	default:
		s.fail(w, http.StatusNotFound, "Not found", "This development IdP serves nothing at this path.")
	}
}

// allow answers 405 unless r uses one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// sp returns the registered SP with entityID.
func (s *Server) sp(entityID string) (DevSP, bool) {
	for _, sp := range s.SPs {
		if sp.EntityID == entityID && entityID != "" {
			return sp, true
		}
	}
	return DevSP{}, false
}

// users returns the users with defaults filled in.
func (s *Server) users() []DevUser {
	out := make([]DevUser, 0, len(s.Users))
	for _, u := range s.Users {
		def(&u.DisplayName, u.Username)
		def(&u.NameID, u.Username)
		out = append(out, u)
	}
	return out
}

// user returns the user named username.
func (s *Server) user(username string) (DevUser, bool) {
	for _, u := range s.users() {
		if u.Username == username && username != "" {
			return u, true
		}
	}
	return DevUser{}, false
}

// nameIDFormat is the format of a user's NameID.
func nameIDFormat(u DevUser) string {
	if strings.Contains(u.NameID, "@") {
		return nameIDFormatEmail
	}
	return nameIDFormatPersistent
}

// currentSession returns the browser's live IdP session, if any.
func (s *Server) currentSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[c.Value]
	if sess == nil || !s.IdP.now().Before(sess.expires) {
		delete(s.sessions, c.Value)
		return nil
	}
	if _, ok := s.user(sess.user.Username); !ok {
		return nil // the user was removed
	}
	return sess
}

// signIn returns the browser's session for user: its current one if it
// belongs to user, else a new one (the old one is dropped).
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, user DevUser) *session {
	if sess := s.currentSession(r); sess != nil && sess.user.Username == user.Username {
		return sess
	}
	s.endCurrentSession(w, r)
	id := newToken()
	sess := &session{user: user, expires: s.IdP.now().Add(sessionLifetime)}
	s.mu.Lock()
	s.pruneLocked()
	s.sessions[id] = sess
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: s.basePath, MaxAge: int(sessionLifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.baseURL, "https://"),
	})
	return sess
}

// endCurrentSession removes and returns the browser's session (nil if
// none) and clears its cookie.
func (s *Server) endCurrentSession(w http.ResponseWriter, r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	sess := s.sessions[c.Value]
	delete(s.sessions, c.Value)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: s.basePath, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.baseURL, "https://"),
	})
	return sess
}

// sessionIndexAt returns the SessionIndex of sess at the SP, recording
// the SP in the session on first use.
func (s *Server) sessionIndexAt(sess *session, entityID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range sess.sps {
		if x.entityID == entityID {
			return x.sessionIndex
		}
	}
	idx := newID("_sess")
	sess.sps = append(sess.sps, spSession{entityID: entityID, sessionIndex: idx})
	return idx
}

// spsOf returns a copy of the SPs sess logged into.
func (s *Server) spsOf(sess *session) []spSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(sess.sps)
}

// pruneLocked drops expired sessions and logouts. s.mu must be held.
func (s *Server) pruneLocked() {
	now := s.IdP.now()
	for id, sess := range s.sessions {
		if !now.Before(sess.expires) {
			delete(s.sessions, id)
		}
	}
	for id, c := range s.logouts {
		if !now.Before(c.expires) {
			delete(s.logouts, id)
		}
	}
}

// newToken returns 32 random bytes, base64url.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// httpError is a refused request: the status and the page's message.
type httpError struct {
	status int
	msg    string
}

func refuse(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// inbound is a SAML message that arrived at sso or slo from a registered
// SP, verified when the SP has a Certificate.
type inbound struct {
	// param is SAMLRequest or SAMLResponse.
	param string
	// root is the message element: when the SP has a Certificate, the
	// element the signature covers, which every value is read from.
	root       *etree.Element
	sp         DevSP
	id         string
	relayState string
}

// receive reads the SAML message of r: from the query (HTTP-Redirect)
// for GET, from the form (HTTP-POST) for POST. kinds maps each accepted
// parameter to the element it must hold. The Issuer must be a registered
// SP, the signature must verify when that SP has a Certificate, and a
// Destination, when present, must be destination.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, kinds map[string]string, destination string) (*inbound, *httpError) {
	in := &inbound{}
	var (
		raw []byte
		msg *redirect.Message
	)
	if r.Method == http.MethodGet {
		var err error
		if msg, err = redirect.Decode(r.URL.RawQuery, maxMessage); err != nil {
			return nil, refuse(http.StatusBadRequest, "The query does not hold a valid HTTP-Redirect message: %v.", err)
		}
		in.param, raw, in.relayState = msg.Param, msg.XML, msg.RelayState
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			return nil, refuse(http.StatusBadRequest, "The form could not be read: %v.", err)
		}
		f := r.PostForm
		for param := range kinds {
			if f.Has(param) {
				if in.param != "" {
					return nil, refuse(http.StatusBadRequest, "The form carries both %s and %s.", in.param, param)
				}
				in.param = param
			}
		}
		switch {
		case in.param == "":
			return nil, refuse(http.StatusBadRequest, "The form carries no SAML message.")
		case len(f[in.param]) != 1:
			return nil, refuse(http.StatusBadRequest, "%s appears %d times in the form.", in.param, len(f[in.param]))
		case len(f["RelayState"]) > 1:
			return nil, refuse(http.StatusBadRequest, "RelayState appears more than once in the form.")
		case len(f.Get("RelayState")) > maxRelayState:
			return nil, refuse(http.StatusBadRequest, "RelayState is longer than %d bytes (SAML bindings 3.5.3).", maxRelayState)
		}
		in.relayState = f.Get("RelayState")
		var err error
		raw, err = base64.StdEncoding.DecodeString(strings.Map(dropSpace, f.Get(in.param)))
		if err != nil {
			return nil, refuse(http.StatusBadRequest, "%s is not base64: %v.", in.param, err)
		}
		if len(raw) > maxMessage {
			return nil, refuse(http.StatusRequestEntityTooLarge, "%s is larger than %d bytes.", in.param, maxMessage)
		}
	}
	kind, ok := kinds[in.param]
	if !ok {
		return nil, refuse(http.StatusBadRequest, "This endpoint takes no %s.", in.param)
	}

	root, err := parseXML(raw)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%s is not a well-formed XML document: %v.", in.param, err)
	}
	issuer, herr := checkRoot(root, kind)
	if herr != nil {
		return nil, herr
	}
	sp, ok := s.sp(issuer)
	if !ok {
		return nil, refuse(http.StatusForbidden, "The %s comes from %q, which is not an SP registered with this development IdP.", kind, issuer)
	}
	if sp.Certificate != nil {
		if msg != nil {
			err = msg.Verify([]*x509.Certificate{sp.Certificate}, false)
		} else {
			root, err = verifyXML(root, sp.Certificate, s.IdP.now())
		}
		if err != nil {
			return nil, refuse(http.StatusForbidden, "SP %q has a registered certificate, so its %s must carry a valid signature by that key: %v.", sp.EntityID, kind, err)
		}
		// Read everything again from what the signature covers.
		if signed, herr := checkRoot(root, kind); herr != nil {
			return nil, herr
		} else if signed != issuer {
			return nil, refuse(http.StatusForbidden, "The signed %s names another Issuer.", kind)
		}
	}
	in.root, in.sp = root, sp
	if in.id = root.SelectAttrValue("ID", ""); in.id == "" {
		return nil, refuse(http.StatusBadRequest, "The %s has no ID.", kind)
	}
	if d := root.SelectAttr("Destination"); d != nil && d.Value != destination {
		return nil, refuse(http.StatusBadRequest, "The %s is addressed to %q, not to this endpoint %q.", kind, d.Value, destination)
	}
	return in, nil
}

// checkRoot checks that root is a samlp:<kind> of SAML 2.0 with one
// Issuer, and returns the Issuer.
func checkRoot(root *etree.Element, kind string) (string, *httpError) {
	if root.NamespaceURI() != nsProtocol || root.Tag != kind {
		return "", refuse(http.StatusBadRequest, "Expected a samlp:%s, got {%s}%s.", kind, root.NamespaceURI(), root.Tag)
	}
	if v := root.SelectAttrValue("Version", ""); v != "2.0" {
		return "", refuse(http.StatusBadRequest, "The %s has Version %q, not 2.0.", kind, v)
	}
	issuer, err := onlyChild(root, nsAssertion, "Issuer")
	if err != nil {
		return "", refuse(http.StatusBadRequest, "The %s %v.", kind, err)
	}
	return strings.TrimSpace(issuer.Text()), nil
}

// onlyChild returns the one child element of el named {ns}local.
func onlyChild(el *etree.Element, ns, local string) (*etree.Element, error) {
	var found *etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			if found != nil {
				return nil, fmt.Errorf("has more than one %s", local)
			}
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("has no %s", local)
	}
	return found, nil
}

// parseXML parses a message, refusing DTDs and other directives.
func parseXML(b []byte) (*etree.Element, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, err
	}
	if hasDirective(doc.Child) {
		return nil, errors.New("DTDs and other directives are not allowed")
	}
	root := doc.Root()
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

func hasDirective(tokens []etree.Token) bool {
	for _, t := range tokens {
		switch t := t.(type) {
		case *etree.Directive:
			return true
		case *etree.Element:
			if hasDirective(t.Child) {
				return true
			}
		}
	}
	return false
}

// verifyXML checks the enveloped XML signature of root with cert's key
// and returns the element it covers. SHA-1 is refused.
func verifyXML(root *etree.Element, cert *x509.Certificate, now time.Time) (*etree.Element, error) {
	el := root.Copy()
	sig, err := onlyChild(el, nsDSig, "Signature")
	if err != nil {
		return nil, fmt.Errorf("the message %v", err)
	}
	for _, path := range []string{".//SignatureMethod", ".//DigestMethod"} {
		for _, m := range sig.FindElements(path) {
			if alg := m.SelectAttrValue("Algorithm", ""); strings.HasSuffix(strings.ToLower(alg), "sha1") {
				return nil, fmt.Errorf("SHA-1 (%s) is not accepted", alg)
			}
		}
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); ok {
		derECDSASignature(sig, pub)
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	ctx.Clock = dsig.NewFakeClockAt(now)
	return ctx.Validate(el)
}

// derECDSASignature rewrites a raw r||s ECDSA SignatureValue (the form
// XML-DSig prescribes, which saml2sp writes) into the ASN.1 form goxmldsig
// verifies. Anything else is left alone for the verifier to refuse.
func derECDSASignature(sig *etree.Element, pub *ecdsa.PublicKey) {
	sv := sig.SelectElement("SignatureValue")
	if sv == nil {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, sv.Text()))
	size := (pub.Curve.Params().BitSize + 7) / 8
	if err != nil || len(raw) != 2*size {
		return
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:size]), new(big.Int).SetBytes(raw[size:])})
	if err == nil {
		sv.SetText(base64.StdEncoding.EncodeToString(der))
	}
}

// dropSpace removes the whitespace base64 may be wrapped with.
func dropSpace(r rune) rune {
	switch r {
	case ' ', '\t', '\r', '\n':
		return -1
	}
	return r
}

// redirectTo sends the browser to u.
func redirectTo(w http.ResponseWriter, r *http.Request, u string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}
