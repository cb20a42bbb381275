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

// stateCookieName is per handle, so that logins started in several tabs
// do not overwrite each other. The __Secure- prefix makes browsers refuse
// the cookie from plain HTTP.
func (sp *SP) stateCookieName(endpoint, handle string) string {
	if strings.HasPrefix(endpoint, "https://") {
		return "__Secure-saml2sp-" + handle
	}
	return "saml2sp-" + handle
}

// maxPendingStates is how many logins (or logouts) a browser may have under
// way at once, e.g. in several tabs. Older state cookies are expired, so a
// hostile page that starts logins in a loop cannot pile up cookies until
// requests to the ACS are too large or the app's own cookies are evicted.
const maxPendingStates = 3

// setState stores the sealed state for handle in a cookie that the browser
// sends only to endpoint's path, expiring all but the newest of the
// browser's other pending states for that endpoint.
func (sp *SP) setState(w http.ResponseWriter, r *http.Request, endpoint, kind, handle, requestID, returnTo string) {
	sp.expireOldStates(w, r, endpoint)
	exp := sp.cfg.Clock().Add(stateLifetime)
	token := state.Seal(sp.cfg.StateKey, state.State{
		Kind: kind, Audience: sp.cfg.EntityID, Handle: handle,
		RequestID: requestID, ReturnTo: returnTo, Expires: exp.Unix(),
	})
	c := &http.Cookie{
		Name:     sp.stateCookieName(endpoint, handle),
		Value:    token,
		Path:     urlPath(endpoint),
		MaxAge:   int(stateLifetime / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if strings.HasPrefix(endpoint, "https://") {
		// Over HTTPS the cookie can ride along on the IdP's cross-site POST
		// directly; the re-POST is only the fallback.
		c.Secure = true
		c.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
}

// expireOldStates keeps the newest maxPendingStates-1 state cookies of the
// request (by their sealed expiry; unreadable ones count as oldest) and
// expires the others, making room for one more.
func (sp *SP) expireOldStates(w http.ResponseWriter, r *http.Request, endpoint string) {
	prefix := sp.stateCookieName(endpoint, "")
	type pending struct {
		handle  string
		expires int64
	}
	var states []pending
	for _, c := range r.Cookies() {
		handle, ok := strings.CutPrefix(c.Name, prefix)
		if !ok {
			continue
		}
		p := pending{handle: handle}
		if isHandle(handle) {
			for _, kind := range []string{"login", "logout"} {
				if st, err := state.Open(sp.cfg.StateKey, c.Value, sp.cfg.Clock(), kind, sp.cfg.EntityID, handle); err == nil {
					p.expires = st.Expires
				}
			}
		}
		states = append(states, p)
	}
	if len(states) < maxPendingStates {
		return
	}
	sort.Slice(states, func(i, j int) bool { return states[i].expires > states[j].expires })
	for _, p := range states[maxPendingStates-1:] {
		sp.clearState(w, endpoint, p.handle)
	}
}

// readState returns the verified state for handle, or nil.
func (sp *SP) readState(r *http.Request, endpoint, kind, handle string) *state.State {
	if !isHandle(handle) {
		return nil
	}
	c, err := r.Cookie(sp.stateCookieName(endpoint, handle))
	if err != nil {
		return nil
	}
	st, err := state.Open(sp.cfg.StateKey, c.Value, sp.cfg.Clock(), kind, sp.cfg.EntityID, handle)
	if err != nil {
		return nil
	}
	return st
}

func (sp *SP) clearState(w http.ResponseWriter, endpoint, handle string) {
	http.SetCookie(w, &http.Cookie{
		Name:     sp.stateCookieName(endpoint, handle),
		Value:    "",
		Path:     urlPath(endpoint),
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   strings.HasPrefix(endpoint, "https://"),
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
