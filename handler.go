package saml2sp

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/saml2sp/saml2sp/internal/state"
)

// Handler returns an http.Handler serving every endpoint configured in
// sp's Config (MetadataURL, LoginURL, ACSURL, SLOURL, LogoutURL), each on
// the exact path of its URL. Apps with their own router can mount the
// individual handlers instead (MetadataHandler, LoginHandler, ACSHandler,
// SLSHandler, LogoutHandler).
//
// Handler panics when a hook the configured endpoints need is missing
// (OnLogin always; OnLogout with an SLOURL or LogoutURL; CurrentSubject
// with a LogoutURL), the way http.Handle panics on a nil handler: a
// programming error shows at start-up, not at a user's first login.
func (sp *SP) Handler(h Hooks) http.Handler {
	h.check("Handler", true, sp.cfg.SLOURL != "" || sp.cfg.LogoutURL != "", sp.cfg.LogoutURL != "")
	mux := http.NewServeMux()
	add := func(raw string, handler func(Hooks) http.Handler) {
		if raw != "" {
			mux.Handle(urlPath(raw), handler(h))
		}
	}
	add(sp.cfg.MetadataURL, func(Hooks) http.Handler { return sp.MetadataHandler() })
	add(sp.cfg.LoginURL, sp.LoginHandler)
	add(sp.cfg.ACSURL, sp.ACSHandler)
	add(sp.cfg.SLOURL, sp.SLSHandler)
	add(sp.cfg.LogoutURL, sp.LogoutHandler)
	if h.ConnectionTest != nil {
		add(sp.cfg.TestURL, sp.ConnectionTestHandler)
	}
	return mux
}

// MetadataHandler serves the SP metadata (GET and HEAD).
func (sp *SP) MetadataHandler() http.Handler {
	return sp.observe(EventMetadata, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if r.Method == http.MethodGet {
			_, _ = w.Write(sp.Metadata())
		}
	}))
}

// LoginHandler starts an SP-initiated login (GET or POST). The optional
// return_to parameter is where the user goes afterwards; only same-origin
// paths are honoured, anything else becomes "/".
func (sp *SP) LoginHandler(h Hooks) http.Handler {
	return sp.observe(EventLoginStart, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		returnTo := returnToParam(w, r)
		if len(returnTo) > maxStateReturnTo {
			returnTo = "/"
		}
		var binding string
		if h.LoginBinding != nil {
			if binding = h.LoginBinding(r); len(binding) > maxBinding {
				sp.fail(w, r, h, FlowLogin, http.StatusInternalServerError,
					fmt.Errorf("%w: Hooks.LoginBinding returned %d bytes, more than %d: return a digest of the session ID", ErrConfig, len(binding), maxBinding))
				return
			}
		}
		handle := newHandle()
		out, err := sp.NewAuthnRequest(handle, nil)
		if err != nil {
			sp.fail(w, r, h, FlowLogin, http.StatusInternalServerError, err)
			return
		}
		sp.setState(w, r, state.State{Kind: "login", Handle: handle, RequestID: out.ID, ReturnTo: returnTo, Binding: binding})
		out.Write(w, r)
	}))
}

// ACSHandler is the Assertion Consumer Service: it verifies the POSTed
// Response and hands the login to Hooks.OnLogin.
//
// Request tracking: the login start stores the AuthnRequest ID, the return
// path and the app's binding (Hooks.LoginBinding) in an HMAC-sealed cookie
// named after a random RelayState handle, valid for a few minutes (over
// HTTPS a __Host- cookie, which sibling subdomains cannot plant). The IdP's
// POST to the ACS is a cross-site request, so browsers drop SameSite=Lax
// cookies from it (and plain-HTTP origins cannot use SameSite=None). When
// the cookie is missing but the RelayState is shaped like one of our
// handles, the ACS answers with a page that re-POSTs the same form to
// itself: that POST is same-site, so the cookie comes along. Any site can
// use that page, so a login without a state carries no Binding. The server
// keeps no session store; the request ID is single-use through the replay
// cache, and the assertion ID too.
//
// ACSHandler panics when Hooks.OnLogin is nil (see Handler).
func (sp *SP) ACSHandler(h Hooks) http.Handler {
	h.check("ACSHandler", true, false, false)
	return sp.observe(EventResponse, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethods(w, r, http.MethodPost) {
			return
		}
		form, status, err := sp.readPostForm(w, r, "SAMLResponse")
		if err != nil {
			sp.fail(w, r, h, FlowLogin, status, err)
			return
		}
		relayState := form.Get("RelayState")
		st, kind, err := sp.readStateOf(r, relayState, "login", stateKindTest)
		if err != nil {
			sp.fail(w, r, h, FlowLogin, http.StatusForbidden, err)
			return
		}
		if kind == stateKindTest && st != nil {
			// An admin's connection test: a report, never a login.
			sp.clearState(w, relayState)
			sp.serveConnectionTest(w, r, h, st, form.Get("SAMLResponse"))
			return
		}
		if st == nil && isHandle(relayState) && form.Get(repostField) == "" {
			sp.repost(w, sp.cfg.ACSURL, form)
			return
		}
		var requestIDs []string
		returnTo := "/"
		if st != nil {
			requestIDs = []string{st.RequestID}
			returnTo = st.ReturnTo
		} else if p := safeReturnTo(relayState, maxRelayState); p != "" {
			// IdP-initiated: the RelayState is the IdP's (untrusted) choice.
			returnTo = p
		}
		a, err := sp.ParseResponse(r.Context(), form.Get("SAMLResponse"), requestIDs)
		if st != nil && !errors.Is(err, ErrUnavailable) {
			// The state is spent, unless the SP could not take the
			// message now (overload, a store outage): then the browser
			// keeps it, and posting the same form again can succeed.
			sp.clearState(w, relayState)
		}
		if err != nil {
			sp.fail(w, r, h, FlowLogin, statusFor(err), err)
			return
		}
		l := &Login{Assertion: a, ReturnTo: returnTo, Tenant: tenantFrom(r.Context()), IdPInitiated: a.InResponseTo == ""}
		if st != nil && !l.IdPInitiated {
			// Only a Response to the request the state names (ParseResponse
			// checked InResponseTo against it) inherits its binding.
			l.Binding = st.Binding
		}
		if err := h.OnLogin(w, r, l); err != nil {
			sp.fail(w, r, h, FlowLogin, statusFor(err), err)
		}
	}))
}

// statusFor maps an error class to an HTTP status.
func statusFor(err error) int {
	switch {
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrMalformed):
		return http.StatusBadRequest
	default:
		return http.StatusForbidden
	}
}

// allowMethods answers 405 unless r uses one of methods.
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	allow := methods[0]
	for _, m := range methods[1:] {
		allow += ", " + m
	}
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// fail logs the detail and shows the user a safe page.
func (sp *SP) fail(w http.ResponseWriter, r *http.Request, h Hooks, flow Flow, status int, err error) {
	ref := make([]byte, 6)
	_, _ = rand.Read(ref)
	noteEventError(r, err)
	f := &Failure{Err: err, Status: status, Reference: hex.EncodeToString(ref), Flow: flow}
	sp.cfg.Logger.WarnContext(r.Context(), "saml2sp: "+string(flow)+" failed", "error", err.Error(), "reference", f.Reference,
		"sp", sp.cfg.EntityID, "tenant", tenantFrom(r.Context()))
	if status == http.StatusServiceUnavailable {
		// Overload or an outage, not the user's fault: worth a retry soon.
		w.Header().Set("Retry-After", "5")
	}
	if h.OnFailure != nil {
		h.OnFailure(w, r, f)
		return
	}
	writeFailurePage(w, f)
}

// failurePage is the default failure page: what failed, what to do, and
// the reference code; never the error, which names what the IdP sent.
var failurePage = template.Must(template.New("failure").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Advice}}</p>
<p>If it keeps failing, give your administrator this reference: <code>{{.Reference}}</code></p>
</body></html>
`))

// writeFailurePage answers with the default failure page for f.
func writeFailurePage(w http.ResponseWriter, f *Failure) {
	title, advice := "Single sign-on failed", "Please try again."
	switch f.Flow {
	case FlowLogout:
		title, advice = "Single logout failed", "You may still be signed in at your identity provider; sign out there too, or try again."
	case FlowMetadata:
		title, advice = "Service provider metadata unavailable", "Please try again later."
	}
	if f.Status == http.StatusServiceUnavailable {
		advice = "The service is busy or briefly unavailable. Please try again in a moment."
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.WriteHeader(f.Status)
	_ = failurePage.Execute(w, struct{ Title, Advice, Reference string }{title, advice, f.Reference})
}
