package saml2sptest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/beevik/etree"

	"github.com/saml2sp/saml2sp/internal/redirect"
)

// Browser is a browser for an app's tests, without a network or a real
// IdP page: it sends each request straight to the app's handler, keeps
// the cookies the app sets, and marks every request as a top-level
// navigation on the app's own site (Sec-Fetch-Mode and Sec-Fetch-Site),
// as a browser does when a user clicks through the app. Login plays the
// IdP's part of an SP-initiated login with an IdP of this package.
//
// Cookies are kept by name alone and sent with every request, whatever
// their Path, Domain or SameSite: enough for one app on one host, not a
// test of cookie attributes (those need a real browser). Use another
// Browser for another user.
type Browser struct {
	// App is the app under test.
	App http.Handler

	cookies []*http.Cookie
}

// Do sends a request to the app and returns its answer. A non-nil form is
// sent as the body, URL-encoded. Redirects are not followed.
func (b *Browser) Do(method, target string, form url.Values) *httptest.ResponseRecorder {
	return b.do(method, target, form, "same-origin")
}

// do sends a request marked as a navigation from site (Sec-Fetch-Site).
func (b *Browser) do(method, target string, form url.Values, site string) *httptest.ResponseRecorder {
	body := ""
	if form != nil {
		body = form.Encode()
	}
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	r.Header.Set("Sec-Fetch-Site", site)
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.App.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		b.setCookie(c)
	}
	return w
}

// setCookie keeps c in place of the cookie of the same name, or drops
// that cookie when c deletes it.
func (b *Browser) setCookie(c *http.Cookie) {
	kept := b.cookies[:0]
	for _, old := range b.cookies {
		if old.Name != c.Name {
			kept = append(kept, old)
		}
	}
	b.cookies = kept
	if c.MaxAge >= 0 {
		b.cookies = append(b.cookies, c)
	}
}

// Login runs an SP-initiated login through idp: it requests start (a
// page behind the app's login, or its login URL), follows the app's
// redirects until one goes to idp's SSO URL with an HTTP-Redirect
// AuthnRequest, has idp answer that request with resp, and posts the
// Response to the app's ACS with the request's RelayState, as the IdP's
// page would. resp's InResponseTo is the request's ID; its Destination and
// Audience, when empty, are the request's AssertionConsumerServiceURL and
// Issuer. Login returns the ACS's answer: on success, a redirect to the
// page the user wanted.
func (b *Browser) Login(idp *IdP, start string, resp Response) (*httptest.ResponseRecorder, error) {
	target := start
	for range 10 {
		w := b.Do(http.MethodGet, target, nil)
		loc := w.Header().Get("Location")
		if w.Code < 300 || w.Code > 399 || loc == "" {
			return w, fmt.Errorf("saml2sptest: %s answered %d without reaching the IdP's SSO URL %s", target, w.Code, idp.SSOURL)
		}
		next, err := url.Parse(target)
		if err != nil {
			return nil, err
		}
		if next, err = next.Parse(loc); err != nil {
			return nil, err
		}
		if strings.HasPrefix(next.String(), idp.SSOURL) {
			return b.answer(idp, next, resp)
		}
		target = next.String()
	}
	return nil, errors.New("saml2sptest: more than 10 redirects from " + start)
}

// answer has idp answer the AuthnRequest in sso's query and posts the
// Response to the app.
func (b *Browser) answer(idp *IdP, sso *url.URL, resp Response) (*httptest.ResponseRecorder, error) {
	msg, err := redirect.Decode(sso.RawQuery, 0)
	if err != nil {
		return nil, fmt.Errorf("saml2sptest: the app's AuthnRequest: %w", err)
	}
	if msg.Param != "SAMLRequest" {
		return nil, fmt.Errorf("saml2sptest: the app sent %s to the IdP's SSO URL, not a SAMLRequest", msg.Param)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg.XML); err != nil || doc.Root() == nil || doc.Root().Tag != "AuthnRequest" {
		return nil, fmt.Errorf("saml2sptest: the app's SAMLRequest is not an AuthnRequest: %v", err)
	}
	req := doc.Root()
	resp.InResponseTo = req.SelectAttrValue("ID", "")
	if resp.Destination == "" {
		resp.Destination = req.SelectAttrValue("AssertionConsumerServiceURL", "")
	}
	if resp.Audience == "" && len(resp.Audiences) == 0 {
		if iss := req.SelectElement("Issuer"); iss != nil {
			resp.Audience = strings.TrimSpace(iss.Text())
		}
	}
	if resp.Destination == "" {
		return nil, errors.New("saml2sptest: the AuthnRequest names no AssertionConsumerServiceURL: set Response.Destination")
	}
	v, err := idp.Response(resp)
	if err != nil {
		return nil, err
	}
	form := url.Values{"SAMLResponse": {v}}
	if msg.RelayState != "" {
		form.Set("RelayState", msg.RelayState)
	}
	// The IdP's page posts the form from the IdP's site.
	return b.do(http.MethodPost, resp.Destination, form, "cross-site"), nil
}
