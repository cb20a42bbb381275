package saml2sptest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/saml2sp/saml2sp"
)

// Status codes of a Response to a passive request the IdP cannot honour.
const (
	statusResponder = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	statusNoPassive = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
)

// serveSSO takes an AuthnRequest by HTTP-Redirect (GET) or HTTP-POST.
func (s *Server) serveSSO(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && !r.URL.Query().Has("SAMLRequest") {
		s.fail(w, http.StatusBadRequest, "No login request",
			"This URL takes an AuthnRequest from an SP. Start the login at your app, or use an IdP-initiated login link on this IdP's home page.")
		return
	}
	in, herr := s.receive(w, r, map[string]string{"SAMLRequest": "AuthnRequest"}, s.ssoURL())
	if herr != nil {
		s.refused(w, herr)
		return
	}
	root := in.root
	if acs := root.SelectAttr("AssertionConsumerServiceURL"); acs != nil && acs.Value != in.sp.ACSURL {
		s.fail(w, http.StatusForbidden, "Login refused",
			"The AuthnRequest of SP "+quote(in.sp.EntityID)+" asks for the Response at "+quote(acs.Value)+
				", but the ACS URL registered for it is "+quote(in.sp.ACSURL)+". This IdP never posts to an unregistered URL.")
		return
	}
	if b := root.SelectAttrValue("ProtocolBinding", ""); b != "" && b != saml2sp.BindingHTTPPost {
		s.fail(w, http.StatusBadRequest, "Login refused",
			"The AuthnRequest asks for the Response by "+quote(b)+"; this IdP sends Responses by HTTP-POST only.")
		return
	}
	p := pendingLogin{
		SP: in.sp.EntityID, RequestID: in.id, RelayState: in.relayState,
		Expires: s.IdP.now().Add(pendingLifetime).Unix(),
	}
	s.startLogin(w, r, in.sp, p, xsTrue(root.SelectAttrValue("ForceAuthn", "")), xsTrue(root.SelectAttrValue("IsPassive", "")))
}

// serveSSOStart starts an IdP-initiated login: ?sp=<entity ID>, optional
// user=<username> (signs that user in at once) and RelayState.
func (s *Server) serveSSOStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sp, ok := s.sp(q.Get("sp"))
	if !ok {
		s.fail(w, http.StatusForbidden, "Login refused",
			"The sp parameter "+quote(q.Get("sp"))+" is not the entity ID of an SP registered with this development IdP.")
		return
	}
	relayState := q.Get("RelayState")
	if len(relayState) > maxRelayState {
		s.fail(w, http.StatusBadRequest, "Login refused", "RelayState is longer than 80 bytes (SAML bindings 3.5.3).")
		return
	}
	p := pendingLogin{SP: sp.EntityID, RelayState: relayState, Expires: s.IdP.now().Add(pendingLifetime).Unix()}
	if name := q.Get("user"); name != "" {
		user, ok := s.user(name)
		if !ok {
			s.fail(w, http.StatusBadRequest, "Login refused", "There is no user "+quote(name)+" here.")
			return
		}
		s.answer(w, r, s.signIn(w, r, user), sp, p)
		return
	}
	s.startLogin(w, r, sp, p, false, false)
}

// startLogin answers at once from the browser's IdP session, or shows the
// login page.
func (s *Server) startLogin(w http.ResponseWriter, r *http.Request, sp DevSP, p pendingLogin, force, passive bool) {
	if !force {
		if sess := s.currentSession(r); sess != nil {
			s.answer(w, r, sess, sp, p)
			return
		}
	}
	if passive {
		// The SP asked for no interaction, and signing in needs one.
		form, err := s.IdP.Response(Response{
			Destination: sp.ACSURL, Audience: sp.EntityID, InResponseTo: p.RequestID,
			StatusCode: statusResponder, SubStatusCode: statusNoPassive, Sign: SignResponse,
		})
		if err != nil {
			s.fail(w, http.StatusInternalServerError, "Login failed", err.Error())
			return
		}
		s.writePost(w, sp.ACSURL, responseFields(form, p.RelayState))
		return
	}
	s.writeLogin(w, sp, s.seal(p), force)
}

// serveLogin takes the login page's form: the sealed pending login and
// the chosen username.
func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, "Login refused", "The form could not be read.")
		return
	}
	p, err := s.open(r.PostForm.Get("request"))
	if err != nil {
		s.fail(w, http.StatusForbidden, "Login refused",
			"This sign-in form is not valid ("+err.Error()+"). Start the login again at your app.")
		return
	}
	sp, ok := s.sp(p.SP)
	if !ok {
		s.fail(w, http.StatusForbidden, "Login refused", "SP "+quote(p.SP)+" is no longer registered.")
		return
	}
	user, ok := s.user(r.PostForm.Get("username"))
	if !ok {
		s.fail(w, http.StatusBadRequest, "Login refused", "There is no user "+quote(r.PostForm.Get("username"))+" here.")
		return
	}
	s.answer(w, r, s.signIn(w, r, user), sp, *p)
}

// answer posts a signed Response for the session's user to the SP's
// registered ACS URL.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, sess *session, sp DevSP, p pendingLogin) {
	user, ok := s.user(sess.user.Username)
	if !ok {
		user = sess.user
	}
	form, err := s.IdP.Response(Response{
		Destination:         sp.ACSURL,
		Audience:            sp.EntityID,
		InResponseTo:        p.RequestID,
		NameID:              user.NameID,
		NameIDFormat:        nameIDFormat(user),
		SessionIndex:        s.sessionIndexAt(sess, sp.EntityID),
		SessionNotOnOrAfter: sess.expires.Truncate(time.Second),
		Attributes:          user.Attributes,
	})
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "Login failed", err.Error())
		return
	}
	s.writePost(w, sp.ACSURL, responseFields(form, p.RelayState))
}

func responseFields(samlResponse, relayState string) url.Values {
	f := url.Values{"SAMLResponse": {samlResponse}}
	if relayState != "" {
		f.Set("RelayState", relayState)
	}
	return f
}

// xsTrue reads an xs:boolean.
func xsTrue(v string) bool {
	v = strings.TrimSpace(v)
	return v == "true" || v == "1"
}

// pendingLogin is a login waiting on the login page, carried by the
// browser in a sealed token: the IdP keeps no state for it.
type pendingLogin struct {
	SP         string `json:"sp"`
	RequestID  string `json:"id,omitempty"` // "" for IdP-initiated
	RelayState string `json:"rs,omitempty"`
	Expires    int64  `json:"exp"`
}

// sealContext separates the login token's MAC from any other use of the key.
const sealContext = "saml2sptest login v1\x00"

// seal returns p as a token authenticated with the server's random key:
// base64url(JSON) "." base64url(HMAC-SHA256). It is not encrypted: it
// holds nothing secret.
func (s *Server) seal(p pendingLogin) string {
	b, _ := json.Marshal(p) // strings and a number: cannot fail
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(s.mac(b))
}

// open verifies a token from seal and returns its login if unexpired.
func (s *Server) open(token string) (*pendingLogin, error) {
	if len(token) > 8<<10 {
		return nil, errors.New("the token is too long")
	}
	payload, tag, ok := strings.Cut(token, ".")
	if !ok {
		return nil, errors.New("the token is malformed")
	}
	b, err1 := base64.RawURLEncoding.DecodeString(payload)
	sum, err2 := base64.RawURLEncoding.DecodeString(tag)
	if err1 != nil || err2 != nil || !hmac.Equal(sum, s.mac(b)) {
		return nil, errors.New("the token does not verify")
	}
	var p pendingLogin
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, errors.New("the token is malformed")
	}
	if s.IdP.now().Unix() >= p.Expires {
		return nil, errors.New("the token has expired")
	}
	return &p, nil
}

func (s *Server) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.sealKey)
	m.Write([]byte(sealContext))
	m.Write(b)
	return m.Sum(nil)
}
