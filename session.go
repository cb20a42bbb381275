package saml2sp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The session layer: optional, small, beside Hooks. Sessions implements
// Hooks (a session for each login, logout in both directions, revocation
// of sessions kept only in cookies) and RequireLogin, a middleware that
// protects the app's routes. The default SessionStore is an encrypted
// cookie (CookieStore); an app that has sessions already plugs its own
// library in through SessionStore's three methods.

// Session is one signed-in browser, as the session layer keeps it.
type Session struct {
	// UserID is the app's ID of the user (what Sessions' account step
	// returned).
	UserID string `json:"u"`
	// Subject names the IdP, the user and the IdP session, for single
	// logout and revocation.
	Subject LogoutSubject `json:"s"`
	// Tenant the login was for ("" for single-tenant apps).
	Tenant string `json:"t,omitempty"`
	// Created is when the login happened; Expires when the session ends at
	// the latest.
	Created time.Time `json:"c"`
	Expires time.Time `json:"e"`
}

// MarshalText encodes the session as one string, for session libraries
// that store strings (gorilla/sessions' Values, scs).
func (s *Session) MarshalText() ([]byte, error) { return json.Marshal((*sessionJSON)(s)) }

// UnmarshalText decodes what MarshalText wrote.
func (s *Session) UnmarshalText(b []byte) error { return json.Unmarshal(b, (*sessionJSON)(s)) }

// sessionJSON is Session without its methods, so that encoding/json does
// not call MarshalText on it again.
type sessionJSON Session

// SessionStore keeps one Session per browser. CookieStore is the default;
// to use the app's own session library, implement these three methods over
// it (store the session with Session.MarshalText, say). Save must start a
// new session (a new session ID where the library has them: it is a login,
// and reusing the ID would allow session fixation).
type SessionStore interface {
	// Save starts the browser's session s.
	Save(w http.ResponseWriter, r *http.Request, s *Session) error
	// Load returns the browser's session, or nil and no error when there
	// is none.
	Load(r *http.Request) (*Session, error)
	// Delete ends the browser's session.
	Delete(w http.ResponseWriter, r *http.Request) error
}

// DefaultSessionMaxAge bounds a session when Sessions.MaxAge is zero.
const DefaultSessionMaxAge = 12 * time.Hour

// Sessions is the session layer. Set Store, Revocations, one of
// Provisioner or UserID, and LoginURL (or LoginURLFor), then use Hooks
// with the SP's Handler (or a TenantHandler) and RequireLogin on the
// app's routes.
type Sessions struct {
	// Store keeps the sessions. Required.
	Store SessionStore
	// Revocations records the sessions the IdP ends (single logout), so
	// that a session kept only in a cookie ends on every replica, whatever
	// browser the IdP's LogoutRequest came through. Required: use
	// NewMemoryRevocationStore with a single replica, and a shared store
	// (saml2sp/redisstore, saml2sp/pgstore) with several.
	Revocations RevocationStore
	// Provisioner turns a verified login into the app's account (just in
	// time, with its policy); the session keeps the account's ID.
	Provisioner *Provisioner
	// UserID, instead of Provisioner, returns the app's user ID for a
	// login (for a multi-tenant app, with each tenant's Provisioner). An
	// error refuses the login and shows the failure page.
	UserID func(ctx context.Context, l *Login) (string, error)
	// LoginURL is where RequireLogin sends a browser without a session,
	// with the page it wanted as return_to: the SP's Config.LoginURL.
	LoginURL string
	// LoginURLFor, instead of LoginURL, returns the login URL for a
	// request (for a multi-tenant app: the tenant's).
	LoginURLFor func(r *http.Request) string
	// MaxAge bounds a session; the IdP's SessionNotOnOrAfter, when
	// sooner, bounds it too. Zero means DefaultSessionMaxAge.
	MaxAge time.Duration
	// Clock returns the current time. Nil means time.Now.
	Clock func() time.Time
	// Logger receives revocation-store failures. Nil means
	// slog.Default().
	Logger *slog.Logger
}

type sessionKey struct{}

// SessionFrom returns the session RequireLogin found for the request, or
// nil outside RequireLogin.
func SessionFrom(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// check panics when the layer is misconfigured: a programming error,
// found when the hooks or the middleware are built.
func (s *Sessions) check() {
	switch {
	case s.Store == nil:
		panic("saml2sp: Sessions.Store is required")
	case s.Revocations == nil:
		panic("saml2sp: Sessions.Revocations is required (NewMemoryRevocationStore for a single replica, a shared store for several)")
	case (s.Provisioner == nil) == (s.UserID == nil):
		panic("saml2sp: Sessions needs exactly one of Provisioner and UserID")
	case (s.LoginURL == "") == (s.LoginURLFor == nil):
		panic("saml2sp: Sessions needs exactly one of LoginURL and LoginURLFor")
	}
}

func (s *Sessions) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

func (s *Sessions) maxAge() time.Duration {
	if s.MaxAge > 0 {
		return s.MaxAge
	}
	return DefaultSessionMaxAge
}

func (s *Sessions) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Hooks returns the Hooks that implement the session layer: OnLogin
// starts a session, OnLogout ends and revokes sessions, CurrentSubject
// reads the session. OnFailure and LoginBinding are the app's to set on
// the result. It panics when s is misconfigured.
func (s *Sessions) Hooks() Hooks {
	s.check()
	return Hooks{OnLogin: s.onLogin, OnLogout: s.onLogout, CurrentSubject: s.currentSubject}
}

func (s *Sessions) onLogin(w http.ResponseWriter, r *http.Request, l *Login) error {
	var userID string
	var err error
	if s.Provisioner != nil {
		var u *User
		if u, _, err = s.Provisioner.Login(r.Context(), l.Assertion); err == nil {
			userID = u.ID
		}
	} else {
		userID, err = s.UserID(r.Context(), l)
	}
	if err != nil {
		return err
	}
	if userID == "" {
		return errors.New("saml2sp: the account step returned an empty user ID")
	}
	now := s.now()
	sess := &Session{UserID: userID, Subject: l.Assertion.LogoutSubject(), Tenant: l.Tenant, Created: now, Expires: now.Add(s.maxAge())}
	if end := l.Assertion.SessionNotOnOrAfter; !end.IsZero() && end.Before(sess.Expires) {
		sess.Expires = end
	}
	if err := s.Store.Save(w, r, sess); err != nil {
		return fmt.Errorf("saml2sp: saving the session: %w", err)
	}
	http.Redirect(w, r, l.ReturnTo, http.StatusSeeOther)
	return nil
}

// onLogout ends sessions. An IdP's logout is recorded in Revocations, so
// that every session it names ends wherever it lives; the browser at hand
// loses its session too when it is one of them. A logout started here
// ends this browser's session and revokes its IdP session, so that a copy
// of the cookie is worthless too.
func (s *Sessions) onLogout(w http.ResponseWriter, r *http.Request, l *Logout) error {
	ctx := r.Context()
	now := s.now()
	cur, _ := s.Store.Load(r)
	if l.Initiator == InitiatorIdP {
		for _, rev := range l.Revocations() {
			if err := s.Revocations.Revoke(ctx, rev, now, now.Add(s.maxAge())); err != nil {
				return fmt.Errorf("saml2sp: recording the IdP's logout: %w", err)
			}
		}
		if cur != nil && l.Matches(cur.Subject) {
			return s.Store.Delete(w, r)
		}
		return nil
	}
	if cur != nil {
		if err := s.Revocations.Revoke(ctx, RevocationOf(cur.Subject), now, cur.Expires); err != nil {
			s.logger().WarnContext(ctx, "saml2sp: revoking the session at logout failed; the cookie is deleted all the same", "error", err.Error())
		}
	}
	return s.Store.Delete(w, r)
}

func (s *Sessions) currentSubject(r *http.Request) (LogoutSubject, bool) {
	cur, err := s.Current(r)
	if err != nil || cur == nil {
		return LogoutSubject{}, false
	}
	return cur.Subject, true
}

// Current returns the request's session when it is live: unexpired and
// not revoked by the IdP. It returns nil and no error when there is none,
// and an error (matching ErrUnavailable) when the revocation store could
// not answer, so that callers fail closed.
func (s *Sessions) Current(r *http.Request) (*Session, error) {
	cur, err := s.Store.Load(r)
	if err != nil || cur == nil {
		return nil, nil // a cookie that does not open is no session
	}
	if !s.now().Before(cur.Expires) {
		return nil, nil
	}
	revoked, err := s.Revocations.Revoked(r.Context(), RevocationOf(cur.Subject), cur.Created)
	if err != nil {
		return nil, wrapf(ErrUnavailable, err, "checking the session against the revocation store")
	}
	if revoked {
		return nil, nil
	}
	return cur, nil
}

// RequireLogin protects next: a request with a live session reaches it,
// with the session in its context (SessionFrom); a browser without one is
// sent to the login URL with the page it asked for as return_to; an API
// client (a request that is not a browser navigation) gets 401. When the
// revocation store cannot answer, it fails closed with 503. It panics
// when s is misconfigured.
func (s *Sessions) RequireLogin(next http.Handler) http.Handler {
	s.check()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur, err := s.Current(r)
		if err != nil {
			s.logger().ErrorContext(r.Context(), "saml2sp: session check failed", "error", err.Error())
			w.Header().Set("Retry-After", "5")
			http.Error(w, "sessions are unavailable, try again shortly", http.StatusServiceUnavailable)
			return
		}
		if cur == nil {
			if !browserNavigation(r) {
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, "login required", http.StatusUnauthorized)
				return
			}
			login := s.LoginURL
			if s.LoginURLFor != nil {
				login = s.LoginURLFor(r)
			}
			sep := "?"
			if strings.Contains(login, "?") {
				sep = "&"
			}
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, login+sep+"return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		// A page behind a login must not outlive the session in the
		// browser's caches: without no-store, Back after a logout shows
		// it again from the back/forward cache, without asking the app.
		// The page may set its own Cache-Control.
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, cur)))
	})
}

// browserNavigation reports a request a person's browser makes to show a
// page: a GET or HEAD that the browser marks as a navigation, or (from
// browsers that do not send Sec-Fetch-Mode) that accepts HTML.
func browserNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
