package otelsaml2sp

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// requestKey is the request-context key of the Middleware's requestState.
type requestKey struct{}

// requestState is what the Middleware and OnEvent share about a request.
type requestState struct {
	span trace.Span
	// handled is set by OnEvent: a SAML handler handled the request.
	handled bool
}

// Middleware returns next with a span around each request: wrap the
// handler of the SAML endpoints with it (sp.Handler, a TenantHandler, or
// each of the SP's handlers), and give the same Observer's OnEvent to the
// SP's Config, which names the span after the message and adds its
// attributes. The span is a server span and a root, unless the request's
// context already carries a span (otelhttp's, say), of which it is then an
// internal child; trace headers in the request are never read, since
// browsers and anyone else can send them (see the package doc).
func (o *Observer) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		kind := trace.SpanKindServer
		if trace.SpanContextFromContext(ctx).IsValid() {
			kind = trace.SpanKindInternal
		}
		ctx, span := o.tracer.Start(ctx, SpanName, trace.WithSpanKind(kind),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method(r.Method))))
		defer span.End()
		st := &requestState{span: span}
		ctx = context.WithValue(ctx, requestKey{}, st)
		if !span.IsRecording() {
			// Sampled out: keep the span in the context (for children
			// and exemplars), but wrap nothing.
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		if st.handled {
			return // OnEvent said everything
		}
		// No SAML handler: an unknown path or tenant, or a TenantHandler
		// that could not resolve the tenant.
		span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(sw.status))
		if sw.status >= 500 {
			class := strconv.Itoa(sw.status)
			span.SetAttributes(semconv.ErrorTypeKey.String(class))
			span.SetStatus(codes.Error, class)
		}
	})
}

// method is the http.request.method of m: the client chooses it, so
// anything but a standard method is "_OTHER", as the semantic conventions
// say.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

// WriteHeader implements http.ResponseWriter.
func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote && status >= 200 { // 1xx are not the answer
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
