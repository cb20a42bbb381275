package saml2sp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/saml2sp/saml2sp/internal/state"
)

// Hooks connect the SAML endpoints to the app. The library never creates
// sessions itself: the app decides what a login means.
type Hooks struct {
	// OnLogin is called after a verified login. It creates the app's
	// session and redirects, normally to l.ReturnTo. Required.
	OnLogin func(w http.ResponseWriter, r *http.Request, l *Login)
	// OnFailure renders a failed login or logout. Nil means a plain page
	// that shows the user only a reference code; the detail goes to the
	// log with the same code.
	OnFailure func(w http.ResponseWriter, r *http.Request, f *Failure)
	// OnLogout ends the app's sessions of a user: when the IdP asks
	// (single logout), and when the user starts a logout here, before the
	// browser leaves for the IdP. Required to serve the SLO endpoints.
	OnLogout func(ctx context.Context, l *Logout) error
	// CurrentSubject returns the SAML subject of the request's session
	// (keep Assertion.LogoutSubject() in the session), for SP-initiated
	// logout. Required to serve the logout endpoint.
	CurrentSubject func(r *http.Request) (LogoutSubject, bool)
	// LoginBinding, when set, returns a value that ties a login to the
	// session that starts it (at most 64 bytes; "" for none). Return a
	// digest of the app's session ID, such as base64 of its SHA-256, not
	// the ID itself: the value is sealed into the login-state cookie,
	// which is signed but not encrypted. It comes back as Login.Binding.
	// An app whose OnLogin acts on the current session (linking the SSO
	// identity to the signed-in account) needs it; see Login.Binding.
	LoginBinding func(r *http.Request) string
}

// Login is a verified login handed to Hooks.OnLogin.
type Login struct {
	Assertion *Assertion
	// ReturnTo is a same-origin path ("/" by default): where the user was
	// going when the login started, or a safe RelayState of an
	// IdP-initiated login.
	ReturnTo string
	// Tenant is the tenant the login is for ("" for single-tenant apps).
	Tenant string
	// IdPInitiated is true when the login answered no request of ours.
	IdPInitiated bool
	// Binding is what Hooks.LoginBinding returned when this login started,
	// for the session that started it. It is "" when the login answers no
	// request started here: IdP-initiated logins, and Responses that
	// another site made the browser POST to the ACS. The ACS turns such a
	// cross-site POST into a same-site one (its re-POST page), so OnLogin
	// sees the app's SameSite=Lax session cookie even then. Before acting
	// on the current session, e.g. linking this identity to the signed-in
	// account, check with BoundTo that this very session asked for the
	// login; an unbound login may only start a new session.
	Binding string
}

// BoundTo reports whether the login was started by the session whose
// binding (what Hooks.LoginBinding returns for it) is current. An empty
// binding matches nothing.
func (l *Login) BoundTo(current string) bool {
	return l.Binding != "" && current != "" && subtle.ConstantTimeCompare([]byte(l.Binding), []byte(current)) == 1
}

// Logout asks the app to end sessions.
type Logout struct {
	// Initiator is "idp" (a LogoutRequest from the IdP) or "sp" (the user
	// pressed log out here).
	Initiator string
	Tenant    string
	// IdP is the entity ID of the IdP the sessions came from.
	IdP          string
	NameID       string
	NameIDFormat string
	// SessionIndexes name the IdP sessions to end; empty means every
	// session of NameID at that IdP.
	SessionIndexes []string
}

// Failure describes a failed flow for Hooks.OnFailure.
type Failure struct {
	// Err is the full error (errors.Is works). It is for logs and admins,
	// not for the user: it names what the IdP sent.
	Err error
	// Status is the HTTP status the library suggests.
	Status int
	// Reference is a random code shown to the user and written to the log
	// with Err, so support can find the detail.
	Reference string
	// Flow is "login", "logout" or "metadata".
	Flow string
}

// Handler returns an http.Handler serving every endpoint configured in
// sp's Config (MetadataURL, LoginURL, ACSURL, SLOURL, LogoutURL), each on
// the exact path of its URL. Apps with their own router can mount the
// individual handlers instead (MetadataHandler, LoginHandler, ACSHandler,
// SLSHandler, LogoutHandler).
func (sp *SP) Handler(h Hooks) http.Handler {
	mux := http.NewServeMux()
	add := func(raw string, handler http.Handler) {
		if raw != "" {
			mux.Handle(urlPath(raw), handler)
		}
	}
	add(sp.cfg.MetadataURL, sp.MetadataHandler())
	add(sp.cfg.LoginURL, sp.LoginHandler(h))
	add(sp.cfg.ACSURL, sp.ACSHandler(h))
	add(sp.cfg.SLOURL, sp.SLSHandler(h))
	add(sp.cfg.LogoutURL, sp.LogoutHandler(h))
	return mux
}

// MetadataHandler serves the SP metadata (GET and HEAD).
func (sp *SP) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if r.Method == http.MethodGet {
			_, _ = w.Write(sp.Metadata())
		}
	})
}

// LoginHandler starts an SP-initiated login (GET or POST). The optional
// return_to parameter is where the user goes afterwards; only same-origin
// paths are honoured, anything else becomes "/".
func (sp *SP) LoginHandler(h Hooks) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
				sp.fail(w, r, h, "login", http.StatusInternalServerError,
					fmt.Errorf("%w: Hooks.LoginBinding returned %d bytes, more than %d: return a digest of the session ID", ErrConfig, len(binding), maxBinding))
				return
			}
		}
		handle := newHandle()
		out, err := sp.NewAuthnRequest(handle, nil)
		if err != nil {
			sp.fail(w, r, h, "login", http.StatusInternalServerError, err)
			return
		}
		sp.setState(w, r, state.State{Kind: "login", Handle: handle, RequestID: out.ID, ReturnTo: returnTo, Binding: binding})
		out.Write(w, r)
	})
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
func (sp *SP) ACSHandler(h Hooks) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethods(w, r, http.MethodPost) {
			return
		}
		form, status, err := sp.readPostForm(w, r, "SAMLResponse")
		if err != nil {
			sp.fail(w, r, h, "login", status, err)
			return
		}
		relayState := form.Get("RelayState")
		st, err := sp.readState(r, "login", relayState)
		if err != nil {
			sp.fail(w, r, h, "login", http.StatusForbidden, err)
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
			sp.fail(w, r, h, "login", statusFor(err), err)
			return
		}
		if h.OnLogin == nil {
			sp.fail(w, r, h, "login", http.StatusInternalServerError, errors.New("saml2sp: Hooks.OnLogin is not set"))
			return
		}
		l := &Login{Assertion: a, ReturnTo: returnTo, Tenant: tenantFrom(r.Context()), IdPInitiated: a.InResponseTo == ""}
		if st != nil && !l.IdPInitiated {
			// Only a Response to the request the state names (ParseResponse
			// checked InResponseTo against it) inherits its binding.
			l.Binding = st.Binding
		}
		h.OnLogin(w, r, l)
	})
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
func (sp *SP) fail(w http.ResponseWriter, r *http.Request, h Hooks, flow string, status int, err error) {
	ref := make([]byte, 6)
	_, _ = rand.Read(ref)
	f := &Failure{Err: err, Status: status, Reference: hex.EncodeToString(ref), Flow: flow}
	sp.cfg.Logger.WarnContext(r.Context(), "saml2sp: "+flow+" failed", "error", err.Error(), "reference", f.Reference,
		"sp", sp.cfg.EntityID, "tenant", tenantFrom(r.Context()))
	if status == http.StatusServiceUnavailable {
		// Overload or an outage, not the user's fault: worth a retry soon.
		w.Header().Set("Retry-After", "5")
	}
	if h.OnFailure != nil {
		h.OnFailure(w, r, f)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("Single sign-on failed. Please try again; if it keeps failing, give your administrator this reference: " + f.Reference + "\n"))
}
