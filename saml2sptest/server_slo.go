package saml2sptest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// logoutClockSkew is tolerated on a LogoutRequest's NotOnOrAfter.
const logoutClockSkew = 90 * time.Second

// logoutChain is a single logout under way: the SPs still to be told, one
// LogoutRequest (HTTP-Redirect) at a time, chained through their
// LogoutResponses, and where the browser goes at the end.
type logoutChain struct {
	nameID, nameIDFormat string
	pending              []spSession
	// waitingFor is the SP whose LogoutResponse is awaited.
	waitingFor string
	expires    time.Time
	// failed lists the SPs that did not confirm the logout.
	failed []string

	// initiator, for an SP-initiated logout, is the SP whose
	// LogoutRequest (inResponseTo, with relayState) is answered at the end.
	initiator, inResponseTo, relayState string
	// returnTo, for an IdP-initiated logout, is where the browser goes at
	// the end ("" shows a page); ignored is a RelayState that was refused.
	returnTo, ignored string
}

// serveSLO takes, by HTTP-Redirect (GET) or HTTP-POST, an SP's
// LogoutRequest (SP-initiated logout) or an SP's LogoutResponse to one of
// this IdP's LogoutRequests.
func (s *Server) serveSLO(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); r.Method == http.MethodGet && !q.Has("SAMLRequest") && !q.Has("SAMLResponse") {
		s.fail(w, http.StatusBadRequest, "No logout message",
			"This URL takes LogoutRequests and LogoutResponses from SPs. To log out of this IdP, use the link on its home page.")
		return
	}
	in, herr := s.receive(w, r, map[string]string{"SAMLRequest": "LogoutRequest", "SAMLResponse": "LogoutResponse"}, s.sloURL())
	if herr != nil {
		s.refused(w, herr)
		return
	}
	if in.param == "SAMLRequest" {
		s.serveLogoutRequest(w, r, in)
		return
	}
	s.serveLogoutResponse(w, r, in)
}

// serveLogoutRequest ends the IdP sessions a LogoutRequest names, tells
// the other SPs of those sessions, then answers the SP.
func (s *Server) serveLogoutRequest(w http.ResponseWriter, r *http.Request, in *inbound) {
	nameID, err := onlyChild(in.root, nsAssertion, "NameID")
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Logout refused", "The LogoutRequest "+err.Error()+" (BaseID and EncryptedID are not supported).")
		return
	}
	if in.sp.SLOURL == "" {
		s.fail(w, http.StatusBadRequest, "Logout refused",
			"SP "+quote(in.sp.EntityID)+" has no SLOURL registered, so it cannot receive the LogoutResponse.")
		return
	}
	if v := in.root.SelectAttrValue("NotOnOrAfter", ""); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.fail(w, http.StatusBadRequest, "Logout refused", "NotOnOrAfter "+quote(v)+" is not a date.")
			return
		}
		if now := s.IdP.now(); !now.Before(t.Add(logoutClockSkew)) {
			s.fail(w, http.StatusForbidden, "Logout refused", "The LogoutRequest expired at "+v+".")
			return
		}
	}
	var indexes []string
	for _, c := range in.root.ChildElements() {
		if c.Tag == "SessionIndex" && c.NamespaceURI() == nsProtocol {
			indexes = append(indexes, c.Text())
		}
	}

	c := &logoutChain{
		nameID: nameID.Text(), nameIDFormat: nameID.SelectAttrValue("Format", ""),
		initiator: in.sp.EntityID, inResponseTo: in.id, relayState: in.relayState,
	}
	for _, sess := range s.endSessionsOf(w, r, in.sp.EntityID, c.nameID, indexes) {
		c.nameIDFormat = nameIDFormat(sess.user)
		for _, x := range s.spsOf(sess) {
			if x.entityID != in.sp.EntityID {
				c.pending = append(c.pending, x)
			}
		}
	}
	s.continueLogout(w, r, c)
}

// endSessionsOf ends the sessions of nameID at the SP that hold one of
// indexes (any, when there are none), and the browser's own session if
// it is nameID's.
func (s *Server) endSessionsOf(w http.ResponseWriter, r *http.Request, entityID, nameID string, indexes []string) []*session {
	var ended []*session
	if sess := s.currentSession(r); sess != nil && sess.user.NameID == nameID {
		if sess = s.endCurrentSession(w, r); sess != nil {
			ended = append(ended, sess)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sess := range s.sessions {
		if sess.user.NameID != nameID {
			continue
		}
		for _, x := range sess.sps {
			if x.entityID == entityID && (len(indexes) == 0 || slices.Contains(indexes, x.sessionIndex)) {
				delete(s.sessions, id)
				ended = append(ended, sess)
				break
			}
		}
	}
	return ended
}

// serveLogoutResponse takes an SP's answer to this IdP's LogoutRequest
// and goes on with the logout it belongs to.
func (s *Server) serveLogoutResponse(w http.ResponseWriter, r *http.Request, in *inbound) {
	irt := in.root.SelectAttrValue("InResponseTo", "")
	s.mu.Lock()
	c := s.logouts[irt]
	delete(s.logouts, irt)
	s.mu.Unlock()
	if irt == "" || c == nil || !s.IdP.now().Before(c.expires) {
		s.fail(w, http.StatusBadRequest, "Logout refused",
			"This LogoutResponse answers no logout under way here; it may have expired or been used already.")
		return
	}
	if c.waitingFor != in.sp.EntityID {
		s.fail(w, http.StatusForbidden, "Logout refused",
			"This LogoutResponse comes from "+quote(in.sp.EntityID)+", but the LogoutRequest went to "+quote(c.waitingFor)+".")
		return
	}
	status := ""
	if st, err := onlyChild(in.root, nsProtocol, "Status"); err == nil {
		if code, err := onlyChild(st, nsProtocol, "StatusCode"); err == nil {
			status = code.SelectAttrValue("Value", "")
		}
	}
	if status != statusSuccess {
		c.failed = append(c.failed, in.sp.EntityID)
	}
	s.continueLogout(w, r, c)
}

// serveSLOStart starts an IdP-initiated logout of the browser's session.
// RelayState, when it is a URL on the origin of a registered SP, is where
// the browser goes at the end.
func (s *Server) serveSLOStart(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, "Logout refused", "The form could not be read.")
		return
	}
	c := &logoutChain{}
	if rs := r.Form.Get("RelayState"); rs != "" {
		if c.returnTo = s.safeReturnTo(rs); c.returnTo == "" {
			c.ignored = rs
		}
	}
	if sess := s.endCurrentSession(w, r); sess != nil {
		c.nameID, c.nameIDFormat, c.pending = sess.user.NameID, nameIDFormat(sess.user), s.spsOf(sess)
	}
	s.continueLogout(w, r, c)
}

// continueLogout sends the next pending SP its LogoutRequest, or ends the
// logout: a LogoutResponse to the SP that started it, else the browser
// goes to returnTo or sees the logged-out page.
func (s *Server) continueLogout(w http.ResponseWriter, r *http.Request, c *logoutChain) {
	for len(c.pending) > 0 {
		next := c.pending[0]
		c.pending = c.pending[1:]
		sp, ok := s.sp(next.entityID)
		if !ok || sp.SLOURL == "" {
			continue
		}
		id := newID("_")
		u, err := s.IdP.LogoutRequestURL(LogoutRequest{
			Destination: sp.SLOURL, ID: id, NameID: c.nameID, NameIDFormat: c.nameIDFormat, SessionIndex: next.sessionIndex,
			// The NameID exactly as this IdP's Responses issue it (their
			// SPNameQualifier is the audience).
			SPNameQualifier: sp.EntityID,
		})
		if err != nil {
			c.failed = append(c.failed, sp.EntityID)
			continue
		}
		c.waitingFor, c.expires = sp.EntityID, s.IdP.now().Add(pendingLifetime)
		s.mu.Lock()
		s.pruneLocked()
		s.logouts[id] = c
		s.mu.Unlock()
		redirectTo(w, r, u)
		return
	}

	if c.initiator != "" {
		sp, ok := s.sp(c.initiator)
		if !ok || sp.SLOURL == "" {
			s.fail(w, http.StatusForbidden, "Logout incomplete", "SP "+quote(c.initiator)+" is no longer registered.")
			return
		}
		u, err := s.IdP.LogoutResponseURL(LogoutResponse{Destination: sp.SLOURL, InResponseTo: c.inResponseTo, RelayState: c.relayState})
		if err != nil {
			s.fail(w, http.StatusInternalServerError, "Logout failed", err.Error())
			return
		}
		redirectTo(w, r, u)
		return
	}
	if c.returnTo != "" {
		redirectTo(w, r, c.returnTo)
		return
	}
	s.writeLoggedOut(w, c.failed, c.ignored)
}

// safeReturnTo returns raw if it is an absolute http(s) URL on the origin
// of a registered SP's ACS or SLO URL, and "" otherwise.
func (s *Server) safeReturnTo(raw string) string {
	if len(raw) > 2048 || strings.ContainsAny(raw, "\\") {
		return ""
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x20 || raw[i] == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || (u.Path != "" && !strings.HasPrefix(u.Path, "/")) {
		return ""
	}
	o := origin(raw)
	if o == "" {
		return ""
	}
	for _, sp := range s.SPs {
		if o == origin(sp.ACSURL) || (sp.SLOURL != "" && o == origin(sp.SLOURL)) {
			return raw
		}
	}
	return ""
}

// origin returns scheme://host of an absolute http(s) URL, lowercased.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}
