// Package otelsaml2sp reports what a saml2sp service provider does to
// OpenTelemetry: a span for each request to the SAML endpoints and two
// metrics, from the Events the library emits (saml2sp.Config.OnEvent).
//
//	obs, err := otelsaml2sp.New() // the global providers; or WithTracerProvider, WithMeterProvider
//	cfg := saml2sp.Config{ /* ... */ OnEvent: obs.OnEvent}
//	sp, err := saml2sp.New(cfg)
//	mux.Handle("/saml/", obs.Middleware(sp.Handler(hooks)))
//
// OnEvent alone gives the metrics, and annotates whatever span the request
// carries (otelhttp's, say); Middleware adds a span of its own.
//
// # Spans
//
// Middleware starts one span per request, named "saml2sp" and renamed
// "saml2sp " plus the Event's kind once the handler has handled a message
// ("saml2sp response", "saml2sp logout_request"...). It is a server span,
// and a root: the SAML endpoints face browsers, so trace headers in the
// request are not trusted (anyone can send them). To join a trace that a
// proxy of yours started, wrap the Middleware in a handler that extracts
// them (otelhttp.NewHandler); the Middleware's span is then an internal
// span under that one.
//
// Span attributes:
//
//	saml2sp.kind               login_start, response, logout_request, logout_response, logout_start, metadata
//	saml2sp.outcome            ok, refused, unavailable, error
//	saml2sp.error_class        signature, replay, expired... (saml2sp.ErrorClass); absent when ok
//	saml2sp.tenant             the tenant of a TenantHandler; absent for single-tenant apps
//	saml2sp.idp                the entity ID of the IdP the SP trusts
//	saml2sp.sp                 the SP's entity ID
//	http.request.method        GET, POST... (_OTHER for unknown methods)
//	http.response.status_code  the status the handler answered
//	error.type                 the error class (or the status code), with status Error only
//
// The span's status is Error, with the error class as its description,
// for the outcomes error (the SP or the app failed) and unavailable
// (overload, a store outage): those are the server's failures. A refused
// message leaves it unset, like a 4xx: refusing a forged, expired or
// replayed message is the SP doing its job, and an attacker who can post
// garbage should not be able to page whoever watches error rates. Watch
// refusals on the metrics instead, by error class. A request that reached
// no SAML handler (an unknown path or tenant, a tenant resolver failure)
// keeps the name "saml2sp" and its status code, with status Error for a
// 5xx.
//
// # Metrics
//
//	saml2sp.messages          counter, {message}: one per Event
//	saml2sp.message.duration  histogram, seconds: the handler's time (Event.Duration)
//
// Both carry saml2sp.kind, saml2sp.outcome and, unless ok,
// saml2sp.error_class: a few hundred series at most, whatever the traffic.
// saml2sp.tenant and saml2sp.idp are added only WithTenantMetrics: a
// multi-tenant app can have thousands of tenants, each of which would
// multiply the series (and tenants are created by customers, not by whoever
// sizes the metrics backend); a single-tenant app learns nothing from them.
// Spans always carry both.
//
// # What is never reported
//
// Nothing from a message's content: no NameID, attribute, assertion, URL
// query or error text; error classes only (see saml2sp.Event).
package otelsaml2sp
