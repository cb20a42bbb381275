package saml2sp

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
)

// ErrUnknownTenant is what a TenantResolver returns (wrapped or not) for a
// tenant that does not exist or has no SSO configured.
var ErrUnknownTenant = errors.New("saml2sp: unknown tenant")

// TenantResolver finds the SP of one tenant of a multi-tenant app, usually
// from a database; it may build a new SP on every call. Each tenant's SP
// should be built with TenantEndpoints, so that it has its own entity ID,
// ACS URL and trusted IdP, and should leave Config.StateKey, ReplayCache
// and Limiter unset: the TenantHandler supplies the ones every tenant
// shares.
type TenantResolver interface {
	// ServiceProvider returns the SP of tenant, the path segment the
	// request names: an error wrapping ErrUnknownTenant (or a nil SP) is
	// a 404, any other error a 503 whose cause is only logged.
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
//
// The handler owns the state every tenant must share: StateKey,
// ReplayCache and Limiter. Whatever the resolver returns (an SP built
// once, or a new one on every request from a database row), the SP serves
// with the handler's three: leave them unset in tenant SPs. A tenant SP
// that brings a different one of its own is refused (500, and an error in
// the log that names the field), never silently overridden or kept,
// because a private replay cache means no replay protection and a private
// StateKey breaks every login that crosses replicas.
type TenantHandler struct {
	// BaseURL is the base given to TenantEndpoints (its path is matched).
	BaseURL string
	// Tenants finds the SP of a tenant.
	Tenants TenantResolver
	// Hooks are the app's, for every tenant; Login.Tenant and Logout.Tenant
	// say which tenant a call is for.
	Hooks Hooks
	// StateKey authenticates the state cookies of every tenant's logins
	// and logouts (at least 32 random bytes). Every replica must have the
	// same. Nil means a random key made on first use, which only works
	// with a single replica; the handler then logs a warning once.
	StateKey []byte
	// ReplayCache is shared by every tenant: one cache for the whole app,
	// shared with the other replicas (saml2sp/redisstore, saml2sp/pgstore).
	// Nil means one in-memory cache for all tenants, which only protects a
	// single replica; the handler then logs a warning once.
	ReplayCache ReplayCache
	// Limiter caps the messages all tenants verify at once. Nil means
	// NewLimiter(0, 0), shared by every tenant.
	Limiter *Limiter
	// Logger receives resolver failures. Nil means slog.Default().
	Logger *slog.Logger

	sharedOnce sync.Once
	shared     sharedState
	sharedErr  error
}

// sharedState is what every tenant's SP uses.
type sharedState struct {
	stateKey    []byte
	replayCache ReplayCache
	limiter     *Limiter
}

// Validate reports what is missing from the handler's configuration: its
// BaseURL, Tenants, or a hook every tenant's endpoints need (OnLogin,
// OnLogout, CurrentSubject). Call it at start-up: ServeHTTP runs it once
// and, when it fails, answers every request with 500 and logs why.
func (th *TenantHandler) Validate() error {
	switch {
	case th.BaseURL == "" || urlPath(th.BaseURL) == "":
		return fmt.Errorf("%w: TenantHandler.BaseURL is required", ErrConfig)
	case th.Tenants == nil:
		return fmt.Errorf("%w: TenantHandler.Tenants is required", ErrConfig)
	}
	if name := th.Hooks.missing(true, true, true); name != "" {
		return fmt.Errorf("%w: TenantHandler.Hooks.%s is required", ErrConfig, name)
	}
	return nil
}

// init checks the handler and fills its unset shared state on first use.
func (th *TenantHandler) init() error {
	th.sharedOnce.Do(func() {
		if th.sharedErr = th.Validate(); th.sharedErr != nil {
			return
		}
		logger := th.logger()
		sh := sharedState{stateKey: th.StateKey, replayCache: th.ReplayCache, limiter: th.Limiter}
		switch {
		case sh.stateKey == nil:
			sh.stateKey = make([]byte, 32)
			if _, err := rand.Read(sh.stateKey); err != nil {
				th.sharedErr = fmt.Errorf("saml2sp: generating the tenants' state key: %w", err)
				return
			}
			logger.Warn("saml2sp: TenantHandler.StateKey is not set; using a random key, so a login started on one replica fails on another. Set it when running several replicas")
		case len(sh.stateKey) < 32:
			th.sharedErr = fmt.Errorf("%w: TenantHandler.StateKey must be at least 32 bytes", ErrConfig)
			return
		}
		if sh.replayCache == nil {
			sh.replayCache = NewMemoryReplayCache(0, nil)
			logger.Warn("saml2sp: TenantHandler.ReplayCache is not set; using one in-memory cache for every tenant, which protects this replica only. Share one (redisstore, pgstore) when running several replicas")
		}
		if sh.limiter == nil {
			sh.limiter = NewLimiter(0, 0)
		}
		th.shared = sh
	})
	return th.sharedErr
}

func (th *TenantHandler) logger() *slog.Logger {
	if th.Logger != nil {
		return th.Logger
	}
	return slog.Default()
}

// forTenant returns sp serving with the handler's shared state, or an error
// when sp set a different one of its own.
func (sp *SP) forTenant(sh sharedState) (*SP, error) {
	var clash []string
	if sp.explicit.stateKey && !bytes.Equal(sp.cfg.StateKey, sh.stateKey) {
		clash = append(clash, "StateKey")
	}
	if sp.explicit.replayCache && !sameValue(sp.cfg.ReplayCache, sh.replayCache) {
		clash = append(clash, "ReplayCache")
	}
	if sp.explicit.limiter && sp.cfg.Limiter != sh.limiter {
		clash = append(clash, "Limiter")
	}
	if len(clash) > 0 {
		return nil, fmt.Errorf("%w: the tenant SP sets its own Config.%s; leave it unset in tenant SPs (the TenantHandler's is shared by every tenant) or set it to the TenantHandler's", ErrConfig, strings.Join(clash, ", Config."))
	}
	c := *sp
	c.cfg.StateKey, c.cfg.ReplayCache, c.cfg.Limiter = sh.stateKey, sh.replayCache, sh.limiter
	return &c, nil
}

// sameValue reports whether a and b are the same value, without panicking
// on types that cannot be compared (they are never the same).
func sameValue(a, b any) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	if ta != tb || ta == nil || !ta.Comparable() {
		return a == nil && b == nil
	}
	return a == b
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
	if err := th.init(); err != nil {
		th.logger().ErrorContext(r.Context(), "saml2sp: TenantHandler is misconfigured", "error", err.Error())
		http.Error(w, "single sign-on is unavailable", http.StatusInternalServerError)
		return
	}
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
	if sp, err = sp.forTenant(th.shared); err != nil {
		th.logger().ErrorContext(r.Context(), "saml2sp: tenant SP refused", "tenant", tenant, "error", err.Error())
		http.Error(w, "single sign-on is misconfigured", http.StatusInternalServerError)
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
	case "test":
		if th.Hooks.ConnectionTest != nil {
			handler, want = sp.ConnectionTestHandler(th.Hooks), sp.cfg.TestURL
		}
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
