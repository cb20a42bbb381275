package saml2sp

import (
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
)

// Outbound is a SAML message ready to leave through the browser: an
// AuthnRequest, a LogoutRequest or a LogoutResponse.
type Outbound struct {
	// ID of the message (track it to check the answer's InResponseTo).
	ID string
	// Binding is BindingHTTPRedirect or BindingHTTPPost.
	Binding string
	// URL is, for the Redirect binding, the complete URL to redirect to;
	// for the POST binding, the form's action.
	URL string
	// Form holds the POST binding's fields (SAMLRequest or SAMLResponse, and
	// RelayState); nil for the Redirect binding.
	Form url.Values
}

// Write sends the message: a 302 redirect, or an auto-submitting HTML form
// for the POST binding.
func (m *Outbound) Write(w http.ResponseWriter, r *http.Request) {
	if m.Binding == BindingHTTPRedirect {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, m.URL, http.StatusFound)
		return
	}
	writePostForm(w, m.URL, m.Form)
}

var postFormTemplate = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Continue</title></head>
<body>
<form method="post" action="{{.Action}}" id="saml2sp-form">
{{range $name, $values := .Fields}}{{range $values}}<input type="hidden" name="{{$name}}" value="{{.}}">
{{end}}{{end}}<noscript><p>JavaScript is off: press the button to continue.</p><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.getElementById("saml2sp-form").submit();</script>
</body></html>
`))

// writePostForm renders an auto-submitting form. A per-response nonce lets
// the one inline script run under a strict Content-Security-Policy.
func writePostForm(w http.ResponseWriter, action string, fields url.Values) {
	nonceBytes := make([]byte, 16)
	_, _ = rand.Read(nonceBytes)
	nonce := base64.RawURLEncoding.EncodeToString(nonceBytes)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; form-action "+formActionSource(action)+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_ = postFormTemplate.Execute(w, struct {
		Action string
		Fields url.Values
		Nonce  string
	}{action, fields, nonce})
}

// formActionSource is the CSP source for the form's target origin.
func formActionSource(action string) string {
	u, err := url.Parse(action)
	if err != nil || u.Host == "" {
		return "'self'"
	}
	return u.Scheme + "://" + u.Host
}
