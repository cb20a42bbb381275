package saml2sp

// What a metadata refresh changed, for the logs.

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"log/slog"
	"slices"
	"strings"
)

// mdFingerprint is a certificate's SHA-256 fingerprint in lowercase hex,
// the form admin consoles and openssl x509 -fingerprint -sha256 show
// (without colons).
func mdFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// mdFingerprints lists the fingerprints of certs for a message.
func mdFingerprints(certs []*x509.Certificate) string {
	fps := make([]string, len(certs))
	for i, c := range certs {
		fps[i] = "SHA-256 " + mdFingerprint(c)
	}
	return strings.Join(fps, ", ")
}

// logChanges logs what a refresh of the document at url changed, for the
// entities SPs use: at Info each IdP whose signing certificates (by
// SHA-256 fingerprint), endpoints or WantAuthnRequestsSigned changed, at
// Warn each that disappeared, and at Debug a summary when none changed.
// The first fetch (old nil) is logged at Debug.
func logChanges(logger *slog.Logger, url string, old, next *mdSnapshot) {
	if old == nil {
		logger.Debug("saml2sp: fetched IdP metadata", "url", url, "idps", next.idps.n)
		return
	}
	changed, unchanged := 0, 0
	for id, o := range old.entities {
		if !o.used.Load() || o.idp == nil {
			continue
		}
		n, ok := next.entities[id]
		if !ok || n.idp == nil {
			logger.Warn("saml2sp: IdP removed from its metadata: its SPs no longer trust it", "url", url, "idp", id)
			changed++
			continue
		}
		if attrs := idpChanges(o.idp, n.idp); len(attrs) > 0 {
			logger.LogAttrs(context.Background(), slog.LevelInfo, "saml2sp: IdP metadata changed",
				append([]slog.Attr{slog.String("url", url), slog.String("idp", id)}, attrs...)...)
			changed++
			continue
		}
		unchanged++
	}
	if changed == 0 {
		logger.Debug("saml2sp: IdP metadata refreshed, unchanged", "url", url, "idps", next.idps.n, "in_use", unchanged)
	}
}

// idpChanges lists, as log attributes, how next differs from old in what
// decides trust and routing: signing certificates, endpoints and
// WantAuthnRequestsSigned. None means no change.
func idpChanges(old, next *IdentityProvider) []slog.Attr {
	var attrs []slog.Attr
	diff := func(added, removed string, before, after []string) {
		gone, came := minus(before, after), minus(after, before)
		if len(came) > 0 {
			attrs = append(attrs, slog.Any(added, came))
		}
		if len(gone) > 0 {
			attrs = append(attrs, slog.Any(removed, gone))
		}
	}
	diff("certificates_added", "certificates_removed", certFingerprints(old), certFingerprints(next))
	diff("endpoints_added", "endpoints_removed", endpointNames(old), endpointNames(next))
	if old.WantAuthnRequestsSigned != next.WantAuthnRequestsSigned {
		attrs = append(attrs, slog.Bool("want_authn_requests_signed", next.WantAuthnRequestsSigned))
	}
	return attrs
}

func certFingerprints(idp *IdentityProvider) []string {
	out := make([]string, len(idp.Certificates))
	for i, c := range idp.Certificates {
		out[i] = "SHA-256 " + mdFingerprint(c)
	}
	return out
}

// endpointNames writes each endpoint as "SingleSignOnService HTTP-POST
// https://...", with " response=..." for a ResponseLocation.
func endpointNames(idp *IdentityProvider) []string {
	var out []string
	for _, list := range []struct {
		kind string
		eps  []Endpoint
	}{{"SingleSignOnService", idp.SingleSignOnServices}, {"SingleLogoutService", idp.SingleLogoutServices}} {
		for _, ep := range list.eps {
			s := list.kind + " " + strings.TrimPrefix(ep.Binding, "urn:oasis:names:tc:SAML:2.0:bindings:") + " " + ep.Location
			if ep.ResponseLocation != "" {
				s += " response=" + ep.ResponseLocation
			}
			out = append(out, s)
		}
	}
	return out
}

// minus returns the elements of a that are not in b, in a's order.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
