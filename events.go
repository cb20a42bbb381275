package saml2sp

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Observability: one structured Event for each SAML message the handlers
// handle, for counters, traces and audit logs (see saml2sp/otelsaml2sp for
// OpenTelemetry). An Event never carries the message's content: no
// assertion, NameID, attribute or error text, only its class.

// EventKind names what a handler handled.
type EventKind string

// Event kinds.
const (
	// EventLoginStart: the login endpoint sent an AuthnRequest.
	EventLoginStart EventKind = "login_start"
	// EventResponse: the ACS received a Response.
	EventResponse EventKind = "response"
	// EventLogoutRequest: the SLS received the IdP's LogoutRequest.
	EventLogoutRequest EventKind = "logout_request"
	// EventLogoutResponse: the SLS received the IdP's LogoutResponse.
	EventLogoutResponse EventKind = "logout_response"
	// EventLogoutStart: the logout endpoint ended a session here.
	EventLogoutStart EventKind = "logout_start"
	// EventMetadata: the metadata endpoint served the SP metadata.
	EventMetadata EventKind = "metadata"
)

// Outcome says how a message fared.
type Outcome string

// Outcomes.
const (
	// OutcomeOK: handled (a login, a logout, a request sent).
	OutcomeOK Outcome = "ok"
	// OutcomeRefused: the message was refused (ErrorClass says why).
	OutcomeRefused Outcome = "refused"
	// OutcomeUnavailable: the SP could not take it now (overload, a
	// store outage); the client may retry.
	OutcomeUnavailable Outcome = "unavailable"
	// OutcomeError: the SP or the app failed (configuration, a hook).
	OutcomeError Outcome = "error"
)

// Event is one SAML message a handler handled.
type Event struct {
	// Kind of message.
	Kind EventKind
	// Tenant the message was for ("" for single-tenant apps).
	Tenant string
	// IdP is the entity ID of the IdP this SP trusts.
	IdP string
	// SP is this SP's entity ID.
	SP string
	// Outcome and, unless it is OutcomeOK, ErrorClass (see ErrorClass).
	Outcome    Outcome
	ErrorClass string
	// Status is the HTTP status the handler answered.
	Status int
	// Duration is how long the handler took.
	Duration time.Duration
}

// errorClasses names each failure class for metrics and logs.
var errorClasses = []struct {
	err  error
	name string
}{
	{ErrUnavailable, "unavailable"}, {ErrTooLarge, "too_large"}, {ErrDecryption, "decryption"},
	{ErrSignature, "signature"}, {ErrMalformed, "malformed"}, {ErrIssuer, "issuer"},
	{ErrAudience, "audience"}, {ErrDestination, "destination"}, {ErrRecipient, "recipient"},
	{ErrExpired, "expired"}, {ErrNotYetValid, "not_yet_valid"}, {ErrInResponseTo, "in_response_to"},
	{ErrUnsolicited, "unsolicited"}, {ErrReplay, "replay"}, {ErrStatus, "idp_status"},
	{ErrSubject, "subject"}, {ErrUnsupported, "unsupported"}, {ErrMetadata, "metadata"},
	{ErrState, "state"}, {ErrConfig, "config"},
}

// ErrorClass returns a short, stable name for err's failure class
// ("signature", "replay", "expired"...), "" for nil, and "other" for an
// error of no class (an app hook's, say). It is what Event.ErrorClass
// holds, safe as a metric label: it never contains the message's content.
func ErrorClass(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range errorClasses {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "other"
}

// eventKey is the request-context key of the record an observed handler
// keeps while it runs.
type eventKey struct{}

// eventRecord is what a handler learns about its message while it runs.
type eventRecord struct {
	kind EventKind
	err  error
}

// setEventKind changes the kind of the message being handled (the SLS
// learns it late), when the request is observed.
func setEventKind(r *http.Request, kind EventKind) {
	if rec, ok := r.Context().Value(eventKey{}).(*eventRecord); ok {
		rec.kind = kind
	}
}

// noteEventError records the failure of the message being handled, when
// the request is observed.
func noteEventError(r *http.Request, err error) {
	if rec, ok := r.Context().Value(eventKey{}).(*eventRecord); ok {
		rec.err = err
	}
}

// observe wraps h so that each request emits an Event through
// Config.OnEvent. Without OnEvent it returns h itself: nothing is added to
// the request path.
func (sp *SP) observe(kind EventKind, h http.Handler) http.Handler {
	onEvent := sp.cfg.OnEvent
	if onEvent == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &eventRecord{kind: kind}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), eventKey{}, rec)))
		ev := Event{
			Kind: rec.kind, Tenant: tenantFrom(r.Context()), IdP: sp.IdentityProvider().EntityID, SP: sp.cfg.EntityID,
			Outcome: OutcomeOK, ErrorClass: ErrorClass(rec.err), Status: sw.status, Duration: time.Since(start),
		}
		switch {
		case rec.err == nil && sw.status < 400:
		case errors.Is(rec.err, ErrUnavailable) || sw.status == http.StatusServiceUnavailable:
			ev.Outcome = OutcomeUnavailable
		case sw.status >= 500 || errors.Is(rec.err, ErrConfig):
			ev.Outcome = OutcomeError
		default:
			ev.Outcome = OutcomeRefused
		}
		onEvent(r.Context(), ev)
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
