package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// nameIDText finds the text of the (first) NameID element.
var nameIDText = regexp.MustCompile(`(<(?:[A-Za-z_][\w.-]*:)?NameID\b[^>]*>)([^<]*)<`)

// intercept records each POST to the ACS (with the names of the cookies it
// carried) and, when TamperNameID is set, changes the Response's NameID.
func (a *App) intercept(next http.Handler) http.Handler {
	acsPath := mustPath(a.Endpoints.ACSURL)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != acsPath {
			next.ServeHTTP(w, r)
			return
		}
		var names []string
		for _, c := range r.Cookies() {
			names = append(names, c.Name)
		}
		post := ACSPost{Cookies: names}
		r = countAssertions(r, &post)
		a.mu.Lock()
		a.acsPosts = append(a.acsPosts, post)
		a.mu.Unlock()
		if a.TamperNameID.Load() {
			r = a.tamper(r)
		}
		next.ServeHTTP(w, r)
	})
}

// nsAssertion is the SAML 2.0 assertion namespace.
const nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"

// countAssertions decodes r's SAMLResponse and counts its EncryptedAssertion
// and Assertion elements into p. It returns r with its body intact for the
// next handler. Counts stay 0 when there is no decodable Response.
func countAssertions(r *http.Request, p *ACSPost) *http.Request {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return r
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return r
	}
	raw, err := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	if err != nil {
		return r
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			return r
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Space == nsAssertion {
			switch se.Name.Local {
			case "EncryptedAssertion":
				p.EncryptedAssertions++
			case "Assertion":
				p.Assertions++
			}
		}
	}
}

// tamper returns r with the first letter of the SAMLResponse's NameID in
// upper case, re-encoded exactly as the browser sent it otherwise.
func (a *App) tamper(r *http.Request) *http.Request {
	if err := r.ParseForm(); err != nil {
		return r
	}
	form := r.PostForm
	raw, err := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	if err != nil {
		return r
	}
	changed := false
	out := nameIDText.ReplaceAllFunc(raw, func(m []byte) []byte {
		sub := nameIDText.FindSubmatch(m)
		text := sub[2]
		if changed || len(text) == 0 || text[0] < 'a' || text[0] > 'z' {
			return m
		}
		changed = true
		flipped := append([]byte{text[0] - 'a' + 'A'}, text[1:]...)
		return append(append(slices.Clone(sub[1]), flipped...), '<')
	})
	if changed {
		a.mu.Lock()
		a.tampered++
		a.mu.Unlock()
		form.Set("SAMLResponse", base64.StdEncoding.EncodeToString(out))
	}
	body := form.Encode()
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(strings.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r2.Form, r2.PostForm = nil, nil
	return r2
}
