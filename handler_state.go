package saml2sp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/saml2sp/saml2sp/internal/state"
)

const (
	// stateLifetime bounds how long a login or logout may take at the IdP.
	stateLifetime = 10 * time.Minute
	// repostField marks the ACS's own same-site re-POST.
	repostField = "saml2sp_repost"
	// handleLen is the length of a RelayState handle: 16 random bytes,
	// base64url without padding.
	handleLen = 22
	// formOverhead is what a form may carry besides the SAML message.
	formOverhead = 64 << 10
)

// newHandle returns a fresh random RelayState handle.
func newHandle() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// isHandle reports whether s has the shape of our RelayState handles.
func isHandle(s string) bool {
	if len(s) != handleLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// Cookies of the login and logout state. One per pending flow, named
// after its RelayState handle, so that logins started in several tabs do
// not overwrite each other.
//
// Over HTTPS the name has the __Host- prefix: browsers accept such a cookie
// only with Secure, Path=/ and no Domain, from this very host, so a sibling
// subdomain cannot plant one for the parent domain (cookie tossing). Plain
// HTTP has no such protection: any host that may set cookies for a parent
// domain can plant state there, which is why production needs HTTPS.
//
// Path=/ (which __Host- requires anyway) lets the login and logout starts
// see the pending states whatever the endpoints' layout, so that
// expireOldStates can keep their number down. The price is that the
// browser sends pending states with every request to the app, so they are
// small (internal/state) and few (maxPendingStates).
const (
	stateCookiePrefix       = "saml2sp-"
	secureStateCookiePrefix = "__Host-saml2sp-"
	// maxStateReturnTo bounds the return path kept in a state cookie; a
	// longer one falls back to "/". With maxBinding it bounds a state
	// cookie to about 900 bytes, and the three a browser may hold to under
	// 3 KB on every request.
	maxStateReturnTo = 512
	// maxBinding bounds what Hooks.LoginBinding may return.
	maxBinding = 64
)

// secureState reports whether the state cookies are the HTTPS ones.
func (sp *SP) secureState() bool { return strings.HasPrefix(sp.cfg.ACSURL, "https://") }

func (sp *SP) stateCookieName(handle string) string {
	if sp.secureState() {
		return secureStateCookiePrefix + handle
	}
	return stateCookiePrefix + handle
}

// maxPendingStates is how many logins (or logouts) a browser may have under
// way at once, e.g. in several tabs. Older state cookies are expired, so a
// hostile page that starts logins in a loop cannot pile up cookies until
// requests are too large or the app's own cookies are evicted.
const maxPendingStates = 3

// setState stores the sealed state for handle in a cookie, expiring all
// but the newest of the browser's other pending states.
func (sp *SP) setState(w http.ResponseWriter, r *http.Request, st state.State) {
	sp.expireOldStates(w, r)
	st.Audience = sp.cfg.EntityID
	st.Expires = sp.cfg.Clock().Add(stateLifetime).Unix()
	c := &http.Cookie{
		Name:     sp.stateCookieName(st.Handle),
		Value:    state.Seal(sp.cfg.StateKey, st),
		Path:     "/",
		MaxAge:   int(stateLifetime / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if sp.secureState() {
		// Over HTTPS the cookie can ride along on the IdP's cross-site POST
		// directly; the re-POST is only the fallback.
		c.Secure = true
		c.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
}

// expireOldStates keeps the newest maxPendingStates-1 state cookies of the
// request and expires the others, making room for one more. Every state
// cookie on this origin counts, whatever SP or tenant set it: the point is
// to bound what the browser sends. Their age comes from the expiry they
// claim, unverified (another tenant's MAC cannot be checked here); it only
// decides which to drop first, and unreadable ones go first. Expiries have
// second precision, so ties go by the order of the Cookie header, where
// browsers put older cookies first (RFC 6265 5.4).
func (sp *SP) expireOldStates(w http.ResponseWriter, r *http.Request) {
	prefix := sp.stateCookieName("")
	type pending struct {
		handle  string
		expires int64
		order   int
	}
	var states []pending
	for i, c := range r.Cookies() {
		handle, ok := strings.CutPrefix(c.Name, prefix)
		if !ok {
			continue
		}
		exp, _ := state.PeekExpires(c.Value)
		states = append(states, pending{handle: handle, expires: exp, order: i})
	}
	if len(states) < maxPendingStates {
		return
	}
	sort.Slice(states, func(i, j int) bool {
		if states[i].expires != states[j].expires {
			return states[i].expires > states[j].expires
		}
		return states[i].order > states[j].order
	})
	for _, p := range states[maxPendingStates-1:] {
		sp.clearState(w, p.handle)
	}
}

// readState returns the verified state for handle, or nil.
func (sp *SP) readState(r *http.Request, kind, handle string) (*state.State, error) {
	st, _, err := sp.readStateOf(r, handle, kind)
	return st, err
}

// readStateOf is readState for a state that may be of any of kinds (the
// kind is bound into the MAC): it returns the state and its kind.
func (sp *SP) readStateOf(r *http.Request, handle string, kinds ...string) (*state.State, string, error) {
	if !isHandle(handle) {
		return nil, "", nil
	}
	c, err := r.Cookie(sp.stateCookieName(handle))
	if err != nil {
		return nil, "", nil
	}
	kind := kinds[0]
	for _, k := range kinds {
		var st *state.State
		if st, err = state.Open(sp.cfg.StateKey, c.Value, sp.cfg.Clock(), k, sp.cfg.EntityID, handle); !errors.Is(err, state.ErrUnauthenticated) {
			kind = k
			if err == nil {
				return st, k, nil
			}
			break
		}
	}
	switch {
	case errors.Is(err, state.ErrExpired):
		return nil, "", failf(ErrState, "the %s state cookie for RelayState %q has expired: the %s took more than %s at the IdP; start again", kind, handle, kind, stateLifetime)
	case errors.Is(err, state.ErrUnauthenticated):
		return nil, "", failf(ErrState, "the %s state cookie for RelayState %q does not authenticate with this SP's StateKey: it was sealed by another replica or tenant with another key, or altered. Do all replicas and tenants share Config.StateKey (TenantHandler.StateKey)?", kind, handle)
	default:
		return nil, "", failf(ErrState, "the %s state cookie for RelayState %q is malformed", kind, handle)
	}
}

// clearState expires the state cookie of handle. The deletion must carry
// the attributes of the cookie (for __Host-: Secure, Path=/, no Domain), or
// browsers ignore it.
func (sp *SP) clearState(w http.ResponseWriter, handle string) {
	http.SetCookie(w, &http.Cookie{
		Name:     sp.stateCookieName(handle),
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   sp.secureState(),
	})
}

// readPostForm parses a POSTed form with the body bounded, and requires
// exactly one value of the field named messageField.
func (sp *SP) readPostForm(w http.ResponseWriter, r *http.Request, messageField string) (url.Values, int, error) {
	form, status, err := sp.parseBoundedForm(w, r)
	if err != nil {
		return nil, status, err
	}
	switch n := len(form[messageField]); {
	case n == 0:
		return nil, http.StatusBadRequest, failf(ErrMalformed, "no %s in the POST", messageField)
	case n > 1:
		return nil, http.StatusBadRequest, failf(ErrMalformed, "%s appears %d times", messageField, n)
	}
	return form, 0, nil
}

// parseBoundedForm parses a POSTed form, refusing bodies larger than a
// SAML message plus a little.
func (sp *SP) parseBoundedForm(w http.ResponseWriter, r *http.Request) (url.Values, int, error) {
	r.Body = http.MaxBytesReader(w, r.Body, int64(sp.cfg.MaxResponseSize)+formOverhead)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, failf(ErrTooLarge, "request body exceeds %d bytes", tooBig.Limit)
		}
		return nil, http.StatusBadRequest, failf(ErrMalformed, "unreadable form")
	}
	if len(r.PostForm["RelayState"]) > 1 {
		return nil, http.StatusBadRequest, failf(ErrMalformed, "RelayState appears more than once")
	}
	return r.PostForm, 0, nil
}

// repost answers with a page that POSTs the same SAML form to endpoint
// from our own origin, so that SameSite=Lax state cookies are sent.
func (sp *SP) repost(w http.ResponseWriter, endpoint string, form url.Values) {
	fields := url.Values{repostField: {"1"}}
	for _, k := range []string{"SAMLResponse", "SAMLRequest", "RelayState"} {
		if v, ok := form[k]; ok {
			fields[k] = v
		}
	}
	writePostForm(w, endpoint, fields)
}

type tenantKey struct{}

// withTenant records the tenant a request was routed to.
func withTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

func tenantFrom(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey{}).(string)
	return t
}
