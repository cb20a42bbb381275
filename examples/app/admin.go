package main

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/saml2sp/saml2sp"
)

// The admin page (/admin/saml): what the app trusts of its IdP (entity ID,
// endpoints, signing certificates and their expiry, where the metadata
// came from and when it was last refreshed), what it tells the IdP (its
// SP metadata), and the "Test SSO connection" button. The test logs the
// admin in at the IdP again and shows every check of the Response, the
// attributes and how the app's mapping reads them, without starting a
// session or touching an account.
//
// Admins are named by email (-admin-emails): whoever the IdP says has
// that email. The IdP is this app's only way in, so it is trusted for
// that as for everything else.

// devIdPAdmin is the admin when the development IdP runs and
// -admin-emails is not set: its user alice.
const devIdPAdmin = "alice@example.com"

// certExpiryWarning is how long before a certificate expires the page
// warns.
const certExpiryWarning = 30 * 24 * time.Hour

// adminSet parses -admin-emails.
func adminSet(list string) map[string]bool {
	set := map[string]bool{}
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			set[saml2sp.EmailKey(e)] = true
		}
	}
	return set
}

// isAdmin reports whether the request's session belongs to an admin. It
// is also the connection test's Authorize.
func (a *App) isAdmin(r *http.Request) bool {
	s := saml2sp.SessionFrom(r.Context())
	if s == nil {
		var err error
		if s, err = a.Sessions.Current(r); err != nil || s == nil {
			return false
		}
	}
	p, err := a.Store.Profile(r.Context(), s.UserID)
	return err == nil && a.admins[saml2sp.EmailKey(p.Email)]
}

// adminView is what the admin page shows.
type adminView struct {
	SSO gateStatus
	// SP: what the IdP's admin registers.
	SPEntityID, ACSURL, SLOURL, MetadataURL, TestURL string
	SPCert                                           *certView
	// IdP: what the app trusts; nil until the metadata is loaded.
	IdP *idpView
}

type idpView struct {
	EntityID   string
	SSO, SLO   []saml2sp.Endpoint
	Certs      []certView
	ValidUntil time.Time
	// Loaded is when the app first read the metadata; Refresh, for a
	// metadata URL, the refresher's state.
	Loaded  time.Time
	Refresh *refreshView
}

type refreshView struct {
	Checked, Next time.Time
	Err           string
}

type certView struct {
	Subject, Fingerprint string
	NotAfter             time.Time
	DaysLeft             int
	Expired, Soon        bool
}

func newCertView(c *x509.Certificate, now time.Time) certView {
	sum := sha256.Sum256(c.Raw)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	left := c.NotAfter.Sub(now)
	return certView{
		Subject: c.Subject.String(), Fingerprint: strings.Join(hex, ":"), NotAfter: c.NotAfter,
		DaysLeft: int(left.Hours() / 24), Expired: left <= 0, Soon: left > 0 && left < certExpiryWarning,
	}
}

// adminSAML serves /admin/saml (behind RequireLogin).
func (a *App) adminSAML(w http.ResponseWriter, r *http.Request) {
	if !a.isAdmin(r) {
		a.render(w, http.StatusForbidden, "error", pageData{Title: "Admins only",
			Message: "The SSO settings are for the app's admins (-admin-emails)."})
		return
	}
	now := time.Now()
	v := &adminView{
		SSO:        a.Gate.Status(),
		SPEntityID: a.Endpoints.EntityID, ACSURL: a.Endpoints.ACSURL, SLOURL: a.Endpoints.SLOURL,
		MetadataURL: a.Endpoints.MetadataURL, TestURL: a.Endpoints.TestURL,
	}
	if ready := a.Gate.ready.Load(); ready != nil {
		cfg := ready.sp.Config()
		if cfg.Certificate != nil {
			c := newCertView(cfg.Certificate, now)
			v.SPCert = &c
		}
		idp := ready.sp.IdentityProvider()
		iv := &idpView{EntityID: idp.EntityID, SSO: idp.SingleSignOnServices, SLO: idp.SingleLogoutServices,
			ValidUntil: idp.ValidUntil, Loaded: ready.loaded}
		for _, c := range idp.Certificates {
			iv.Certs = append(iv.Certs, newCertView(c, now))
		}
		if st, ok := idp.MetadataStatus(); ok {
			iv.Refresh = &refreshView{Checked: st.Checked, Next: st.NextRefresh}
			if st.Err != nil {
				iv.Refresh.Err = st.Err.Error()
			}
		}
		v.IdP = iv
	}
	a.render(w, http.StatusOK, "admin", pageData{Title: "SSO settings", Admin: v})
}

// connectionTestReport renders the connection test's result in the app's
// pages (Hooks.ConnectionTest.Render). The admin stays signed in as
// before, whoever logged in at the IdP for the test.
func (a *App) connectionTestReport(w http.ResponseWriter, r *http.Request, res *saml2sp.ConnectionTestResult) {
	a.render(w, http.StatusOK, "test-report", pageData{Title: "SSO connection test", Test: res})
}
