package saml2sp

import (
	"crypto/subtle"
	"net/http"
	"slices"
)

// Hooks connect the SAML endpoints to the app. The library never creates
// sessions itself: the app decides what a login means, in these hooks or
// through the session layer (Sessions), which implements them.
//
// Each hook runs inside the request that triggered it: r.Context() is the
// request's context (canceled when the browser goes away), and w is that
// browser's response.
type Hooks struct {
	// OnLogin is called after a verified login. It creates the app's
	// session and answers the browser, normally with a redirect to
	// l.ReturnTo. When it returns an error instead, it must not have
	// written anything: the library logs the error and shows the login
	// failure page, as for any refused login (an account policy refusing
	// the user, say). Required.
	OnLogin func(w http.ResponseWriter, r *http.Request, l *Login) error
	// OnFailure renders a failed login or logout. Nil means an HTML page
	// that names the flow that failed and shows the user only a reference
	// code; the detail goes to the log with the same code.
	OnFailure func(w http.ResponseWriter, r *http.Request, f *Failure)
	// OnLogout ends the app's sessions that l names.
	//
	// When the IdP asks (l.Initiator is InitiatorIdP: single logout), it
	// ends every session l.Matches, in every browser: sessions kept on the
	// server can be deleted; sessions kept only in cookies must be revoked
	// (see RevocationStore), since this browser may not be the one that
	// holds them. w may carry headers (a cookie deletion for this
	// browser's session) but not a body: the library answers the IdP.
	//
	// When the user logs out here (InitiatorSP), it ends this browser's
	// session, before the browser leaves for the IdP, so the user is logged
	// out here whatever the IdP does.
	//
	// An error fails the logout: the IdP is told (status Responder), or
	// the user sees the logout failure page. Required to serve the SLS and
	// logout endpoints.
	OnLogout func(w http.ResponseWriter, r *http.Request, l *Logout) error
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
	// ConnectionTest, when set, lets an admin test the IdP connection
	// (see ConnectionTestHandler): Handler serves its start at
	// Config.TestURL, and the ACS answers its Response with a report
	// instead of a login.
	ConnectionTest *ConnectionTest
}

// check panics when a hook that the endpoints need is missing: a
// programming error, found when the handler is built rather than at the
// first request, the way http.Handle refuses a nil handler.
func (h Hooks) check(what string, onLogin, onLogout, currentSubject bool) {
	if name := h.missing(onLogin, onLogout, currentSubject); name != "" {
		panic("saml2sp: " + what + " needs Hooks." + name)
	}
}

// missing names the first required hook that is nil, or returns "".
func (h Hooks) missing(onLogin, onLogout, currentSubject bool) string {
	switch {
	case onLogin && h.OnLogin == nil:
		return "OnLogin"
	case onLogout && h.OnLogout == nil:
		return "OnLogout"
	case currentSubject && h.CurrentSubject == nil:
		return "CurrentSubject"
	}
	return ""
}

// Login is a verified login handed to Hooks.OnLogin.
type Login struct {
	// Assertion is the verified assertion: who logged in, at which IdP,
	// with which attributes.
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

// Initiator says who started a logout.
type Initiator string

// Logout initiators.
const (
	// InitiatorIdP: the IdP sent a LogoutRequest (single logout started at
	// the IdP or at another SP).
	InitiatorIdP Initiator = "idp"
	// InitiatorSP: the user asked to log out here (the logout endpoint).
	InitiatorSP Initiator = "sp"
)

// Logout asks the app to end sessions: those of one user (a NameID at an
// IdP), or only the IdP sessions SessionIndexes names.
type Logout struct {
	// Initiator says who asked.
	Initiator Initiator
	// Tenant is the tenant the logout is for ("" for single-tenant apps).
	Tenant string
	// IdP is the entity ID of the IdP the sessions came from.
	IdP string
	// NameID, NameIDFormat, NameQualifier and SPNameQualifier name the
	// user exactly as the IdP does.
	NameID          string
	NameIDFormat    string
	NameQualifier   string
	SPNameQualifier string
	// SessionIndexes name the IdP sessions to end; empty means every
	// session of the NameID at that IdP.
	SessionIndexes []string
}

// Matches reports whether l covers a session opened with subject (keep
// Assertion.LogoutSubject() with each session): the same IdP, NameID
// format (absent counts as unspecified), qualifiers and value, and, when l
// lists sessions, one of them. It never matches on the NameID alone: one
// tenant's IdP cannot log out another tenant's user of the same name.
func (l *Logout) Matches(subject LogoutSubject) bool {
	if l.IdP == "" || l.IdP != subject.IdP {
		return false
	}
	if formatOrUnspecified(l.NameIDFormat) != formatOrUnspecified(subject.NameIDFormat) ||
		l.NameID != subject.NameID || l.NameQualifier != subject.NameQualifier || l.SPNameQualifier != subject.SPNameQualifier {
		return false
	}
	return len(l.SessionIndexes) == 0 || slices.Contains(l.SessionIndexes, subject.SessionIndex)
}

// Revocations returns what a RevocationStore must record so that every
// session l covers ends: one Revocation per session index, or one for
// every session of the NameID.
func (l *Logout) Revocations() []Revocation {
	r := Revocation{IdP: l.IdP, NameIDFormat: l.NameIDFormat, NameQualifier: l.NameQualifier,
		SPNameQualifier: l.SPNameQualifier, NameID: l.NameID}
	if len(l.SessionIndexes) == 0 {
		return []Revocation{r}
	}
	out := make([]Revocation, len(l.SessionIndexes))
	for i, si := range l.SessionIndexes {
		out[i] = r
		out[i].SessionIndex = si
	}
	return out
}

func formatOrUnspecified(f string) string {
	if f == "" {
		return nameIDFormatUnspec
	}
	return f
}

// Flow names what failed.
type Flow string

// Flows a Failure can be about.
const (
	FlowLogin    Flow = "login"
	FlowLogout   Flow = "logout"
	FlowMetadata Flow = "metadata"
)

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
	// Flow is what failed.
	Flow Flow
}
