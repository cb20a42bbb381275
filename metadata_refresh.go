package saml2sp

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// MetadataRefresher keeps an SP's IdP metadata fresh from the IdP's
// metadata URL, the way IdPs expect when they rotate signing keys: it
// fetches the metadata again every Interval and hands it to
// SP.SetIdentityProvider. A failed fetch keeps the metadata in force (and
// its validUntil, which the SP enforces, still applies) and is retried
// sooner.
type MetadataRefresher struct {
	// URL of the IdP metadata. Required.
	URL string
	// Client fetches it; nil means FetchMetadata's default client.
	Client *http.Client
	// Interval between refreshes. Zero means the metadata's cacheDuration,
	// or one hour; it is never below one minute.
	Interval time.Duration
	// Logger receives refresh failures (metadata the SP refuses, such as
	// a weak key with Config.RejectWeakIdPKeys, is one). Nil means
	// slog.Default(). Warnings about metadata the SP accepts go to its
	// Config.Logger.
	Logger *slog.Logger
	// InsecureAllowHTTP fetches a plain http URL on any host (see
	// FetchMetadata and its InsecureAllowHTTP option): anyone on the
	// network path could then swap in their own signing key. http on
	// localhost and loopback addresses needs no opt-in.
	InsecureAllowHTTP bool
}

// minRefresh bounds how often an IdP's metadata URL is fetched.
const minRefresh = time.Minute

// Refresh fetches the metadata once and installs it in sp.
func (m *MetadataRefresher) Refresh(ctx context.Context, sp *SP) error {
	var opts []FetchMetadataOption
	if m.InsecureAllowHTTP {
		opts = append(opts, InsecureAllowHTTP())
	}
	idp, err := FetchMetadata(ctx, m.Client, m.URL, opts...)
	if err != nil {
		return err
	}
	return sp.SetIdentityProvider(idp)
}

// Run refreshes sp's metadata until ctx ends. Start it in its own
// goroutine after New.
func (m *MetadataRefresher) Run(ctx context.Context, sp *SP) {
	logger := m.Logger
	if logger == nil {
		logger = slog.Default()
	}
	wait := m.interval(sp.IdentityProvider())
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err := m.Refresh(ctx, sp); err != nil {
			logger.WarnContext(ctx, "saml2sp: refreshing IdP metadata failed; keeping the current metadata", "url", m.URL, "error", err.Error())
			wait = minRefresh
			continue
		}
		wait = m.interval(sp.IdentityProvider())
	}
}

func (m *MetadataRefresher) interval(idp *IdentityProvider) time.Duration {
	d := m.Interval
	if d == 0 {
		d = idp.CacheDuration
	}
	if d == 0 {
		d = time.Hour
	}
	return max(d, minRefresh)
}
