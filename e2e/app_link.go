package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"

	"github.com/saml2sp/saml2sp"
)

// LinkEvent is one attempt to link an SSO identity to the account of the
// browser's session (AppConfig.LinkAccounts).
type LinkEvent struct {
	Account  string // the NameID of the session's account
	Identity string // the NameID of the login
	Linked   bool   // false: refused, the login was not bound to the session
}

// Links returns the link attempts so far.
func (a *App) Links() []LinkEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.links)
}

// bindingOf is the app's Hooks.LoginBinding value for a session: a digest
// of its ID, so the ID itself never goes into the state cookie.
func bindingOf(sid string) string {
	sum := sha256.Sum256([]byte("saml2sp e2e login binding\x00" + sid))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// loginBinding is Hooks.LoginBinding: the binding of the request's live
// session, "" without one.
func (a *App) loginBinding(r *http.Request) string {
	if _, sid := a.sessionAndID(r); sid != "" {
		return bindingOf(sid)
	}
	return ""
}

// link links the login's identity to the current session's account, as an
// app's "link this SSO identity to my account" does, if and only if that
// session started the login. Anything else (an IdP-initiated login, or a
// Response that another site posted, which the ACS's re-POST page turns
// into a same-site request that carries our SameSite=Lax session cookie)
// is refused, and the session is left as it was.
func (a *App) link(w http.ResponseWriter, r *http.Request, l *saml2sp.Login, current *Session, bound bool) {
	ev := LinkEvent{Account: current.NameID, Identity: l.Assertion.NameID, Linked: bound}
	a.mu.Lock()
	a.links = append(a.links, ev)
	if bound {
		current.Linked = append(current.Linked, ev.Identity)
	}
	a.mu.Unlock()
	if !bound {
		a.render(w, r, http.StatusForbidden, page{Title: "Link refused", Link: "refused: this login was not started by your session"})
		return
	}
	a.render(w, r, http.StatusOK, page{Title: "Account linked", Link: "linked " + ev.Identity})
}
