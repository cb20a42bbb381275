package saml2sp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// ErrUnknownTenant is what a TenantResolver returns (wrapped or not) for a
// tenant that does not exist or has no SSO configured.
var ErrUnknownTenant = errors.New("saml2sp: unknown tenant")

// TenantResolver finds the SP of one tenant of a multi-tenant app, usually
// from a database. Each tenant's SP should be built with TenantEndpoints,
// so that it has its own entity ID, ACS URL and trusted IdP.
type TenantResolver interface {
	ServiceProvider(ctx context.Context, tenant string) (*SP, error)
}

// TenantResolverFunc adapts a function to TenantResolver.
type TenantResolverFunc func(ctx context.Context, tenant string) (*SP, error)

// ServiceProvider implements TenantResolver.
func (f TenantResolverFunc) ServiceProvider(ctx context.Context, tenant string) (*SP, error) {
	return f(ctx, tenant)
}

// TenantHandler serves the SAML endpoints of every tenant under one base
// URL, in the layout of TenantEndpoints: base+"acs/{tenant}/" and so on.
// An unknown tenant gets the same 404 as an unknown path, so the endpoint
// does not reveal which tenants exist.
type TenantHandler struct {
	// BaseURL is the base given to TenantEndpoints (its path is matched).
	BaseURL string
	Tenants TenantResolver
	Hooks   Hooks
	// Logger receives resolver failures. Nil means slog.Default().
	Logger *slog.Logger
}

// ServeHTTP implements http.Handler.
func (th *TenantHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	base := urlPath(th.BaseURL)
	rest, ok := strings.CutPrefix(r.URL.Path, base)
	if !ok || base == "" {
		http.NotFound(w, r)
		return
	}
	endpoint, tenant, ok := strings.Cut(rest, "/")
	if !ok || !strings.HasSuffix(tenant, "/") || !validTenant(strings.TrimSuffix(tenant, "/")) {
		http.NotFound(w, r)
		return
	}
	tenant = strings.TrimSuffix(tenant, "/")
	sp, err := th.Tenants.ServiceProvider(r.Context(), tenant)
	if errors.Is(err, ErrUnknownTenant) || (err == nil && sp == nil) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		// Not the user's fault; the detail stays in the log.
		logger := th.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.ErrorContext(r.Context(), "saml2sp: resolving tenant failed", "tenant", tenant, "error", err.Error())
		http.Error(w, "single sign-on is unavailable, try again later", http.StatusServiceUnavailable)
		return
	}
	var handler http.Handler
	var want string
	switch endpoint {
	case "metadata":
		handler, want = sp.MetadataHandler(), sp.cfg.MetadataURL
	case "login":
		handler, want = sp.LoginHandler(th.Hooks), sp.cfg.LoginURL
	case "acs":
		handler, want = sp.ACSHandler(th.Hooks), sp.cfg.ACSURL
	case "sls":
		handler, want = sp.SLSHandler(th.Hooks), sp.cfg.SLOURL
	case "logout":
		handler, want = sp.LogoutHandler(th.Hooks), sp.cfg.LogoutURL
	}
	// The tenant's SP must live at exactly this URL; anything else is a
	// resolver bug that would make its checks compare against other URLs.
	if handler == nil || urlPath(want) != r.URL.Path {
		if handler != nil {
			sp.cfg.Logger.ErrorContext(r.Context(), "saml2sp: tenant SP is not configured for this URL; build it with TenantEndpoints",
				"tenant", tenant, "path", r.URL.Path, "configured", want)
		}
		http.NotFound(w, r)
		return
	}
	handler.ServeHTTP(w, r.WithContext(withTenant(r.Context(), tenant)))
}
