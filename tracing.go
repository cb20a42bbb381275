package saml2sp

import (
	"context"
	"log/slog"
)

// trace logs a decoded SAML message when Config.InsecureTraceMessages is
// on. It is the only place where message content may reach a log.
func (sp *SP) trace(ctx context.Context, direction, kind string, xml []byte) {
	if !sp.cfg.InsecureTraceMessages {
		return
	}
	sp.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "saml2sp: INSECURE trace of a SAML message",
		slog.String("direction", direction), slog.String("kind", kind),
		slog.String("sp", sp.cfg.EntityID), slog.String("xml", string(xml)))
}
