package saml2sp

import (
	"fmt"
	"net/url"
	"strings"
)

// Endpoints are the absolute URLs of one SP's endpoints. The IdP must be
// told the EntityID, ACSURL and SLOURL exactly: scheme, host, port and path
// must match what the browser uses (behind a proxy, use the public URL).
//
// The trailing-slash rule: paths are matched exactly. "/saml/acs" and
// "/saml/acs/" are different endpoints, and the handlers never redirect
// between them (a redirect would drop the POSTed Response), so register
// with the IdP exactly the URL this struct holds.
type Endpoints struct {
	EntityID    string // the SP's entity ID: its metadata URL
	MetadataURL string // serves the SP metadata (the same URL as EntityID)
	ACSURL      string // the Assertion Consumer Service: the IdP posts Responses here
	SLOURL      string // the Single Logout Service: logout requests and responses from the IdP
	LoginURL    string // starts an SP-initiated login (?return_to=/path)
	LogoutURL   string // starts an SP-initiated logout (?return_to=/path)
	TestURL     string // starts an admin's connection test (Hooks.ConnectionTest)
}

// EndpointsAt lays out a single SP under base, which must be an absolute
// http(s) URL ending in "/": base+"metadata", base+"acs", base+"sls",
// base+"login", base+"logout", base+"test".
func EndpointsAt(base string) (Endpoints, error) {
	if err := checkBase(base); err != nil {
		return Endpoints{}, err
	}
	return Endpoints{
		EntityID:    base + "metadata",
		MetadataURL: base + "metadata",
		ACSURL:      base + "acs",
		SLOURL:      base + "sls",
		LoginURL:    base + "login",
		LogoutURL:   base + "logout",
		TestURL:     base + "test",
	}, nil
}

// TenantEndpoints lays out the SP of one tenant (organization) of a
// multi-tenant app the way Sentry does: base+"acs/"+tenant+"/" and so on,
// with a trailing slash. Each tenant thus has its own entity ID and ACS
// URL, which is what keeps a Response for one tenant from being accepted
// by another. tenant must be a non-empty URL path segment of letters,
// digits, '-', '_' or '.'.
func TenantEndpoints(base, tenant string) (Endpoints, error) {
	if err := checkBase(base); err != nil {
		return Endpoints{}, err
	}
	if !validTenant(tenant) {
		return Endpoints{}, fmt.Errorf("%w: tenant %q must be letters, digits, '-', '_' or '.'", ErrConfig, tenant)
	}
	at := func(endpoint string) string { return base + endpoint + "/" + tenant + "/" }
	return Endpoints{
		EntityID:    at("metadata"),
		MetadataURL: at("metadata"),
		ACSURL:      at("acs"),
		SLOURL:      at("sls"),
		LoginURL:    at("login"),
		LogoutURL:   at("logout"),
		TestURL:     at("test"),
	}, nil
}

// Apply copies the endpoints into the empty URL fields of cfg.
func (e Endpoints) Apply(cfg *Config) {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&cfg.EntityID, e.EntityID)
	set(&cfg.MetadataURL, e.MetadataURL)
	set(&cfg.ACSURL, e.ACSURL)
	set(&cfg.SLOURL, e.SLOURL)
	set(&cfg.LoginURL, e.LoginURL)
	set(&cfg.LogoutURL, e.LogoutURL)
	set(&cfg.TestURL, e.TestURL)
}

func checkBase(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.HasSuffix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: base URL %q must be an absolute http(s) URL whose path ends with \"/\"", ErrConfig, base)
	}
	return nil
}

func validTenant(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// urlPath returns the path of an absolute URL already checked by New.
func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Path
}
