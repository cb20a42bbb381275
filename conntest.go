package saml2sp

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/saml2sp/saml2sp/internal/state"
)

// The connection test: an admin of the app (of a tenant, in a multi-tenant
// app) clicks "Test SSO", logs in at the IdP, and comes back to a page
// that shows every check of the Response, the attributes that arrived, how
// the mapping resolved them, and what to change when something failed.
//
// It is a flow of its own, marked as such in the sealed state: its
// Response never reaches OnLogin or a Provisioner, and no session starts.
// The Response is verified by Diagnose, so its assertion ID is spent like
// a login's and the Response cannot be used to log in afterwards. Only an
// admin may start it (ConnectionTest.Authorize): the report shows the
// attributes of the admin's own login.

// ConnectionTest configures the connection test (Hooks.ConnectionTest).
type ConnectionTest struct {
	// Authorize reports whether the request may start a test: an admin of
	// the app, or of the tenant (Login.Tenant is in the request's
	// context: use the tenant in your check). Required.
	Authorize func(r *http.Request) bool
	// Mapping is the attribute mapping the app uses, to show how it
	// resolves the attributes that arrived.
	Mapping AttributeMapping
	// Render, when set, renders the result instead of the default page.
	// It must not start a session from it: the result is a report.
	Render func(w http.ResponseWriter, r *http.Request, res *ConnectionTestResult)
}

// ConnectionTestResult is what a connection test found.
type ConnectionTestResult struct {
	// Report is every check of the Response (see Diagnose). Decryption
	// failures are reported uniformly: an admin's page must not be a
	// padding oracle against the SP's key.
	Report *Report
	// Identity is what Mapping made of the attributes, or IdentityErr why
	// it could not (which attributes were missing and which came).
	Identity    *Identity
	IdentityErr error
	// Advice says what to change for the failure, in words for the IdP's
	// admin ("" when the test passed).
	Advice string
	// Tenant the test was for.
	Tenant string
}

// stateKindTest marks the state of a connection test: the ACS hands its
// Response to the test, never to OnLogin.
const stateKindTest = "test"

// ConnectionTestHandler starts a connection test (GET or POST): when
// Hooks.ConnectionTest.Authorize allows the request, it sends an
// AuthnRequest that forces a fresh login at the IdP, remembered in a
// sealed state of its own kind; otherwise 403. Handler mounts it at
// Config.TestURL when Hooks.ConnectionTest is set. It panics when
// Hooks.ConnectionTest or its Authorize is nil (see Handler).
func (sp *SP) ConnectionTestHandler(h Hooks) http.Handler {
	if h.ConnectionTest == nil || h.ConnectionTest.Authorize == nil {
		panic("saml2sp: ConnectionTestHandler needs Hooks.ConnectionTest with Authorize")
	}
	return sp.observe(EventLoginStart, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		if !h.ConnectionTest.Authorize(r) {
			sp.fail(w, r, h, FlowLogin, http.StatusForbidden, errors.New("saml2sp: a connection test was started by a request ConnectionTest.Authorize refused"))
			return
		}
		handle := newHandle()
		opts := sp.Config().AuthnRequest
		opts.ForceAuthn = true // the admin logs in now, so the test tests the IdP
		out, err := sp.NewAuthnRequest(handle, &opts)
		if err != nil {
			sp.fail(w, r, h, FlowLogin, http.StatusInternalServerError, err)
			return
		}
		sp.setState(w, r, state.State{Kind: stateKindTest, Handle: handle, RequestID: out.ID})
		out.Write(w, r)
	}))
}

// serveConnectionTest is the ACS's answer to the Response of a connection
// test: the report, never a login.
func (sp *SP) serveConnectionTest(w http.ResponseWriter, r *http.Request, h Hooks, st *state.State, samlResponse string) {
	ct := h.ConnectionTest
	if ct == nil {
		sp.fail(w, r, h, FlowLogin, http.StatusForbidden, failf(ErrState, "a connection test's Response arrived, but Hooks.ConnectionTest is not set"))
		return
	}
	rep := sp.Diagnose(r.Context(), samlResponse, []string{st.RequestID}, DiagnoseOptions{})
	res := &ConnectionTestResult{Report: rep, Tenant: tenantFrom(r.Context())}
	if a := rep.Claims.Assertion; a != nil && rep.Claims.Verified {
		res.Identity, res.IdentityErr = ct.Mapping.Identity(a)
	}
	if rep.Err != nil {
		res.Advice = advice(rep.Err, sp.cfg)
		noteEventError(r, rep.Err)
	} else if res.IdentityErr != nil {
		res.Advice = "The IdP's attributes do not give this app a user: " + res.IdentityErr.Error()
	}
	sp.cfg.Logger.InfoContext(r.Context(), "saml2sp: connection test", "sp", sp.cfg.EntityID, "tenant", res.Tenant,
		"accepted", rep.Accepted, "error_class", ErrorClass(rep.Err))
	if ct.Render != nil {
		ct.Render(w, r, res)
		return
	}
	writeConnectionTestPage(w, res)
}

// advice says what an IdP admin (or the app's admin) can change for err.
func advice(err error, cfg Config) string {
	switch ErrorClass(err) {
	case "signature":
		return "The IdP signed with a key this app does not trust, or the message was changed. If the IdP's signing certificate changed, refresh its metadata here (or upload the new certificate); make sure the IdP signs the assertion or the response with RSA-SHA256."
	case "audience":
		return "At the IdP, set the Audience (Entity ID, Audience URI) to " + cfg.EntityID + "."
	case "destination", "recipient":
		return "At the IdP, set the ACS URL (Single sign-on URL, Reply URL, Recipient) to " + cfg.ACSURL + "."
	case "issuer":
		return "The IdP's entity ID (Issuer) is not the one configured here: update the IdP metadata in this app."
	case "expired", "not_yet_valid":
		return "The times in the assertion are out of range: check the clocks of the IdP and of this app (NTP), and that the IdP does not send old responses."
	case "idp_status":
		return "The IdP refused the login (its status is shown above): check that the user is assigned to this application at the IdP."
	case "decryption":
		return "The encrypted assertion could not be decrypted: give the IdP this app's current SP metadata (its encryption certificate), or switch off assertion encryption at the IdP."
	case "unsupported":
		return "The IdP uses something this app refuses (named above): change that setting at the IdP."
	case "malformed", "too_large":
		return "The IdP's message is not one this app can read: check the IdP's SAML settings (SAML 2.0, HTTP-POST binding to the ACS URL)."
	case "in_response_to", "state", "unsolicited":
		return "The IdP's answer does not belong to this test: start the test again from this app, not from the IdP's portal."
	case "replay":
		return "This response was already used: start the test again."
	case "unavailable":
		return "This app could not check the response now; try again in a moment."
	}
	return "See the failed check above."
}

var connectionTestPage = template.Must(template.New("test").Funcs(template.FuncMap{
	"join": strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>SSO connection test</title></head>
<body>
<h1>SSO connection test: {{if .Report.Accepted}}passed{{else}}failed{{end}}</h1>
<p>No session was started and no account was changed. This response has been used up.</p>
{{if .Advice}}<h2>What to change</h2><p>{{.Advice}}</p>{{end}}
<h2>Checks</h2>
<table><tr><th>Check</th><th>Result</th><th>Detail</th></tr>
{{range .Report.Checks}}<tr><td>{{.Name}}</td><td>{{.Status}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>
{{with .Report.Claims}}{{with .Assertion}}
<h2>What the IdP sent {{if $.Report.Claims.Verified}}(signed by the IdP){{else}}(NOT verified: shown as received){{end}}</h2>
<p>NameID: <code>{{.NameID}}</code> ({{.NameIDFormat}})</p>
<table><tr><th>Attribute</th><th>Values</th></tr>
{{range .Attributes}}<tr><td>{{.Name}}{{if .FriendlyName}} ({{.FriendlyName}}){{end}}</td><td>{{join .Values ", "}}</td></tr>
{{end}}</table>{{end}}{{end}}
{{if .Identity}}<h2>How this app reads them</h2>
<table>
<tr><td>User ID</td><td>{{.Identity.UserID}}</td></tr>
<tr><td>Email</td><td>{{.Identity.Email}}</td></tr>
<tr><td>Name</td><td>{{.Identity.DisplayName}}</td></tr>
<tr><td>Username</td><td>{{.Identity.Username}}</td></tr>
<tr><td>Groups</td><td>{{join .Identity.Groups ", "}}</td></tr>
</table>{{end}}
{{if .IdentityErr}}<h2>How this app reads them</h2><p>{{.IdentityErr}}</p>{{end}}
</body></html>
`))

// writeConnectionTestPage answers with the default report page.
func writeConnectionTestPage(w http.ResponseWriter, res *ConnectionTestResult) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	_ = connectionTestPage.Execute(w, res)
}
