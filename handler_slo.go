package saml2sp

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/saml2sp/saml2sp/internal/state"
)

// SLSHandler is the Single Logout Service. It takes, by HTTP-Redirect
// (GET) or HTTP-POST:
//   - a LogoutRequest from the IdP (IdP-initiated logout): verified, handed
//     to Hooks.OnLogout, and answered with a LogoutResponse to the IdP,
//     Success if the hook succeeded and Responder if it failed;
//   - the IdP's LogoutResponse to our own LogoutRequest: verified against
//     the request we sent (tracked like logins), then the browser goes to
//     the return path.
//
// SLSHandler panics when Hooks.OnLogout is nil (see Handler).
func (sp *SP) SLSHandler(h Hooks) http.Handler {
	h.check("SLSHandler", false, true, false)
	return sp.observe(EventLogoutRequest, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		var isRequest bool
		if r.Method == http.MethodGet {
			q := r.URL.Query()
			isRequest = q.Has("SAMLRequest")
			if !isRequest && !q.Has("SAMLResponse") {
				sp.fail(w, r, h, FlowLogout, http.StatusBadRequest, failf(ErrMalformed, "neither SAMLRequest nor SAMLResponse in the query"))
				return
			}
		} else {
			form, status, err := sp.parseBoundedForm(w, r)
			if err != nil {
				sp.fail(w, r, h, FlowLogout, status, err)
				return
			}
			isRequest = form.Has("SAMLRequest")
			if isRequest == form.Has("SAMLResponse") {
				sp.fail(w, r, h, FlowLogout, http.StatusBadRequest, failf(ErrMalformed, "the POST must carry exactly one of SAMLRequest and SAMLResponse"))
				return
			}
		}
		if isRequest {
			sp.serveLogoutRequest(w, r, h)
			return
		}
		setEventKind(r, EventLogoutResponse)
		sp.serveLogoutResponse(w, r, h)
	}))
}

func (sp *SP) serveLogoutRequest(w http.ResponseWriter, r *http.Request, h Hooks) {
	req, err := sp.ParseLogoutRequest(r.Context(), r)
	if err != nil {
		sp.fail(w, r, h, FlowLogout, statusFor(err), err)
		return
	}
	status := ""
	if err := h.OnLogout(w, r, &Logout{
		Initiator: InitiatorIdP, Tenant: tenantFrom(r.Context()), IdP: req.Issuer,
		NameID: req.NameID, NameIDFormat: req.NameIDFormat, NameQualifier: req.NameQualifier,
		SPNameQualifier: req.SPNameQualifier, SessionIndexes: req.SessionIndexes,
	}); err != nil {
		status = statusResponder
		sp.cfg.Logger.ErrorContext(r.Context(), "saml2sp: ending sessions for an IdP logout failed", "error", err.Error(), "sp", sp.cfg.EntityID)
	}
	out, err := sp.NewLogoutResponse(req, status)
	if err != nil {
		sp.fail(w, r, h, FlowLogout, http.StatusInternalServerError, err)
		return
	}
	out.Write(w, r)
}

func (sp *SP) serveLogoutResponse(w http.ResponseWriter, r *http.Request, h Hooks) {
	relayState := r.FormValue("RelayState")
	st, err := sp.readState(r, "logout", relayState)
	if err != nil {
		sp.fail(w, r, h, FlowLogout, http.StatusForbidden, err)
		return
	}
	if st == nil && r.Method == http.MethodPost && isHandle(relayState) && r.PostForm.Get(repostField) == "" {
		sp.repost(w, sp.cfg.SLOURL, r.PostForm)
		return
	}
	var ids []string
	returnTo := "/"
	if st != nil {
		ids, returnTo = []string{st.RequestID}, st.ReturnTo
		sp.clearState(w, relayState)
	}
	if _, err := sp.ParseLogoutResponse(r.Context(), r, ids); err != nil {
		// The local session already ended when the logout started; the
		// IdP's session may live on, which the user must be told.
		sp.fail(w, r, h, FlowLogout, statusFor(err), err)
		return
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// LogoutHandler starts an SP-initiated logout (GET or POST): it ends the
// app session through Hooks.OnLogout first (so the user is logged out here
// whatever the IdP does), then sends a LogoutRequest for the session's
// subject to the IdP. return_to is honoured like at login. Without an IdP
// SLO endpoint, or without a current session, it just redirects.
//
// LogoutHandler panics when Hooks.OnLogout or CurrentSubject is nil (see
// Handler).
func (sp *SP) LogoutHandler(h Hooks) http.Handler {
	h.check("LogoutHandler", false, true, true)
	return sp.observe(EventLogoutStart, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		sp := sp.current()
		if crossSite(r) {
			// Logging a user out is a state change another site must not
			// trigger with a link or an image (logout CSRF).
			sp.fail(w, r, h, FlowLogout, http.StatusForbidden, errors.New("saml2sp: logout was requested by another site; ignored"))
			return
		}
		returnTo := returnToParam(w, r)
		subject, ok := h.CurrentSubject(r)
		if !ok {
			http.Redirect(w, r, returnTo, http.StatusSeeOther)
			return
		}
		err := h.OnLogout(w, r, &Logout{
			Initiator: InitiatorSP, Tenant: tenantFrom(r.Context()), IdP: sp.cfg.IdP.EntityID,
			NameID: subject.NameID, NameIDFormat: subject.NameIDFormat, NameQualifier: subject.NameQualifier,
			SPNameQualifier: subject.SPNameQualifier, SessionIndexes: nonEmpty(subject.SessionIndex),
		})
		if err != nil {
			sp.fail(w, r, h, FlowLogout, http.StatusInternalServerError, err)
			return
		}
		if len(sp.cfg.IdP.SingleLogoutServices) == 0 || sp.cfg.SLOURL == "" {
			http.Redirect(w, r, returnTo, http.StatusSeeOther)
			return
		}
		handle := newHandle()
		out, err := sp.NewLogoutRequest(subject, handle)
		if err != nil {
			sp.fail(w, r, h, FlowLogout, http.StatusInternalServerError, err)
			return
		}
		if len(returnTo) > maxStateReturnTo {
			returnTo = "/"
		}
		sp.setState(w, r, state.State{Kind: "logout", Handle: handle, RequestID: out.ID, ReturnTo: returnTo})
		out.Write(w, r)
	}))
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// crossSite reports a request that another site made the browser send:
// Sec-Fetch-Site says so, or a POST's Origin is not this request's host.
// Browsers that send neither header are let through.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return true
	}
	if o := r.Header.Get("Origin"); o != "" && r.Method == http.MethodPost {
		u, err := url.Parse(o)
		return err != nil || u.Host != r.Host
	}
	return false
}
