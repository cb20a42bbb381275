package saml2sp_test

// Login CSRF through the ACS re-POST page: another site POSTs an
// attacker's Response with a handle-shaped RelayState; the re-POST makes
// it same-site, so it reaches OnLogin with the victim's SameSite=Lax
// session cookie. Login.Binding tells the app that this session never
// asked for the login (e2e/state_test.go runs it in Chromium).

import (
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
)

// hiddenField matches the fields of saml2sp's auto-submitting forms.
var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// submitRepost checks that w is the ACS's re-POST page and returns its form.
func submitRepost(t *testing.T, w interface{ Result() *http.Response }, body string) url.Values {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Result().StatusCode, body)
	require.Contains(t, body, `id="saml2sp-form"`, "the re-POST page")
	form := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		form.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	require.Equal(t, "1", form.Get("saml2sp_repost"))
	return form
}

// victimBrowser is a browser signed in to the app (a SameSite=Lax session
// cookie, as apps set them).
func victimBrowser(t *testing.T, s *stateSite) *jarBrowser {
	b := newJarBrowser(t, s.handler)
	b.set(mustParse(t, s.eps[0].LoginURL), &http.Cookie{Name: "app_session", Value: "victim", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return b
}

func TestLoginBinding(t *testing.T) {
	allowIdPInitiated := func(c *saml2sp.Config) { c.AllowIdPInitiated = true }
	for _, site := range []struct{ name, base string }{
		{"plain HTTP", "http://127.0.0.1:8080/saml/"},
		{"HTTPS", "https://app.example.com/saml/"},
	} {
		t.Run(site.name, func(t *testing.T) {
			tests := []struct {
				name string
				run  func(t *testing.T, s *stateSite, b *jarBrowser)
				// binding is the Login.Binding OnLogin must see.
				binding string
			}{
				{
					name: "genuine login carries the session's binding", binding: "bound-to-victim",
					run: func(t *testing.T, s *stateSite, b *jarBrowser) {
						ep := s.eps[0]
						id, handle := s.startLogin(t, b, ep, "/account")
						form := s.response(t, ep, id, handle, "alice@example.com")
						w := b.crossSitePost(ep.ACSURL, form) // the IdP's POST
						if strings.HasPrefix(ep.ACSURL, "http://") {
							// The Lax state cookie stayed behind; over HTTPS
							// it is SameSite=None and came along.
							w = b.do(http.MethodPost, ep.ACSURL, submitRepost(t, w, w.Body.String()))
						}
						require.Equal(t, http.StatusSeeOther, w.Code, "%+v", s.fails)
					},
				},
				{
					name: "forged cross-site POST reaches OnLogin unbound", binding: "",
					run: func(t *testing.T, s *stateSite, b *jarBrowser) {
						ep := s.eps[0]
						// The attacker's own IdP-initiated Response, under a
						// RelayState of the shape of the SP's handles.
						form := s.response(t, ep, "", "AAAAAAAAAAAAAAAAAAAAAA", "mallory@example.com")
						w := b.crossSitePost(ep.ACSURL, form)
						assert.Empty(t, s.logins, "nothing is decided on the cross-site POST")
						w = b.do(http.MethodPost, ep.ACSURL, submitRepost(t, w, w.Body.String()))
						require.Equal(t, http.StatusSeeOther, w.Code, "%+v", s.fails)
						require.Equal(t, []string{"victim"}, s.sessions, "the re-POST is same-site: OnLogin sees the victim's session")
					},
				},
				{
					name: "unsolicited Response under a pending login's handle is unbound", binding: "",
					run: func(t *testing.T, s *stateSite, b *jarBrowser) {
						ep := s.eps[0]
						_, handle := s.startLogin(t, b, ep, "/account")
						w := b.do(http.MethodPost, ep.ACSURL, s.response(t, ep, "", handle, "mallory@example.com"))
						require.Equal(t, http.StatusSeeOther, w.Code, "%+v", s.fails)
					},
				},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					s := newStateSite(t, site.base, nil, allowIdPInitiated)
					tc.run(t, s, victimBrowser(t, s))
					require.Len(t, s.logins, 1)
					l := s.logins[0]
					assert.Equal(t, tc.binding, l.Binding)
					assert.Equal(t, tc.binding != "", l.BoundTo("bound-to-victim"), "BoundTo the victim's session")
					assert.False(t, l.BoundTo("bound-to-someone-else"))
					assert.Equal(t, tc.binding == "", l.IdPInitiated, "only a Response to our request is bound")
				})
			}
		})
	}
}

func TestLoginBindingWithoutHook(t *testing.T) {
	app := newWebApp(t, "https://sp.example.com/saml/") // Hooks.LoginBinding is nil
	id, handle, cookie := app.startLogin("/")
	require.Equal(t, http.StatusSeeOther, app.do(http.MethodPost, app.ep.ACSURL, app.responseForm(id, handle), cookie).Code)
	require.Len(t, app.logins, 1)
	assert.Empty(t, app.logins[0].Binding)
	assert.False(t, app.logins[0].BoundTo(""), "an empty binding matches nothing, not even empty")
}

func TestLoginBindingTooLong(t *testing.T) {
	s := newStateSite(t, "https://sp.example.com/saml/", nil)
	b := newJarBrowser(t, s.handler)
	ep := s.eps[0]
	b.set(mustParse(t, ep.LoginURL), &http.Cookie{Name: "app_session", Value: strings.Repeat("s", 64), Path: "/"})
	w := b.do(http.MethodGet, ep.LoginURL, nil)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Empty(t, b.stateCookies(ep.ACSURL), "no login starts")
	require.Len(t, s.fails, 1)
	assert.True(t, errors.Is(s.fails[0].Err, saml2sp.ErrConfig), "%v", s.fails[0].Err)
}

func TestLoginBoundTo(t *testing.T) {
	tests := []struct {
		name             string
		binding, current string
		want             bool
	}{
		{"same value", "abc", "abc", true},
		{"other value", "abc", "abd", false},
		{"prefix", "abc", "ab", false},
		{"no binding, no session", "", "", false},
		{"no binding", "", "abc", false},
		{"no current session", "abc", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, (&saml2sp.Login{Binding: tc.binding}).BoundTo(tc.current))
		})
	}
}
