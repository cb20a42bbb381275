package otelsaml2sp

import (
	"context"
	"fmt"
	"strconv"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/saml2sp/saml2sp"
)

// ScopeName is the instrumentation scope of the Observer's tracer and
// meter.
const ScopeName = "github.com/saml2sp/saml2sp/otelsaml2sp"

// Attribute keys of the spans and metrics (see the package doc).
const (
	// KindKey is the Event's kind (saml2sp.EventKind).
	KindKey attribute.Key = "saml2sp.kind"
	// OutcomeKey is the Event's outcome (saml2sp.Outcome).
	OutcomeKey attribute.Key = "saml2sp.outcome"
	// ErrorClassKey is the Event's error class (saml2sp.ErrorClass),
	// absent when the outcome is ok.
	ErrorClassKey attribute.Key = "saml2sp.error_class"
	// TenantKey is the tenant of a TenantHandler, absent when there is
	// none. On metrics only WithTenantMetrics.
	TenantKey attribute.Key = "saml2sp.tenant"
	// IdPKey is the entity ID of the IdP the SP trusts. On metrics only
	// WithTenantMetrics.
	IdPKey attribute.Key = "saml2sp.idp"
	// SPKey is the SP's entity ID (spans only).
	SPKey attribute.Key = "saml2sp.sp"
)

// Metric names.
const (
	// MessagesMetric counts Events ({message}).
	MessagesMetric = "saml2sp.messages"
	// DurationMetric is the histogram of Event.Duration, in seconds.
	DurationMetric = "saml2sp.message.duration"
)

// SpanName is the name of the Middleware's spans before the handler has
// handled a message; after, it is SpanName + " " + the Event's kind.
const SpanName = "saml2sp"

// durationBuckets are the histogram's bounds in seconds: a message takes
// about a millisecond to verify; a slow shared store (its timeout is 2 s
// by default) or an app hook can take seconds.
var durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Observer turns saml2sp Events into spans and metrics. Build it with New;
// it is safe for concurrent use.
type Observer struct {
	tracer        trace.Tracer
	messages      metric.Int64Counter
	duration      metric.Float64Histogram
	tenantMetrics bool
}

// config is what the Options set.
type config struct {
	tp            trace.TracerProvider
	mp            metric.MeterProvider
	tenantMetrics bool
}

// Option configures New.
type Option func(*config)

// WithTracerProvider makes the Observer's spans with tp. Without it (or
// with nil), the global provider (otel.GetTracerProvider), which follows
// one set later with otel.SetTracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider records the Observer's metrics with mp. Without it (or
// with nil), the global provider (otel.GetMeterProvider), which follows one
// set later with otel.SetMeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithTenantMetrics adds saml2sp.tenant and saml2sp.idp to the metrics'
// attributes. Off by default: each tenant multiplies the metrics' series,
// and a multi-tenant app may have many (see the package doc). Spans carry
// both either way.
func WithTenantMetrics() Option {
	return func(c *config) { c.tenantMetrics = true }
}

// New returns an Observer. Its error comes from the meter provider, when
// it cannot create the instruments.
func New(opts ...Option) (*Observer, error) {
	var c config
	for _, opt := range opts {
		opt(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	meter := c.mp.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	messages, err := meter.Int64Counter(MessagesMetric, metric.WithUnit("{message}"),
		metric.WithDescription("SAML messages the service provider's handlers handled."))
	if err != nil {
		return nil, fmt.Errorf("otelsaml2sp: creating %s: %w", MessagesMetric, err)
	}
	duration, err := meter.Float64Histogram(DurationMetric, metric.WithUnit("s"),
		metric.WithDescription("How long the service provider's handlers took to handle a SAML message."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, fmt.Errorf("otelsaml2sp: creating %s: %w", DurationMetric, err)
	}
	return &Observer{
		tracer:        c.tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		messages:      messages,
		duration:      duration,
		tenantMetrics: c.tenantMetrics,
	}, nil
}

// OnEvent records ev: put it in saml2sp.Config.OnEvent. It counts the
// message and its duration, and annotates the request's span: the
// Middleware's when there is one (which it also renames after the kind),
// else the span in ctx, if any (otelhttp's, say), which keeps its name.
func (o *Observer) OnEvent(ctx context.Context, ev saml2sp.Event) {
	o.record(ctx, ev)
	span := trace.SpanFromContext(ctx)
	if st, ok := ctx.Value(requestKey{}).(*requestState); ok {
		st.handled = true
		span = st.span
		span.SetName(SpanName + " " + string(ev.Kind))
	}
	if span.IsRecording() {
		annotate(span, ev)
	}
}

// record adds ev to the metrics. ctx carries the span, which links the
// measurements to the trace (exemplars).
func (o *Observer) record(ctx context.Context, ev saml2sp.Event) {
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, KindKey.String(string(ev.Kind)), OutcomeKey.String(string(ev.Outcome)))
	if ev.ErrorClass != "" {
		attrs = append(attrs, ErrorClassKey.String(ev.ErrorClass))
	}
	if o.tenantMetrics {
		if ev.Tenant != "" {
			attrs = append(attrs, TenantKey.String(ev.Tenant))
		}
		attrs = append(attrs, IdPKey.String(ev.IdP))
	}
	set := metric.WithAttributeSet(attribute.NewSet(attrs...))
	o.messages.Add(ctx, 1, set)
	o.duration.Record(ctx, ev.Duration.Seconds(), set)
}

// annotate adds ev's attributes to span and sets its status.
func annotate(span trace.Span, ev saml2sp.Event) {
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs,
		KindKey.String(string(ev.Kind)),
		OutcomeKey.String(string(ev.Outcome)),
		IdPKey.String(ev.IdP),
		SPKey.String(ev.SP),
		semconv.HTTPResponseStatusCodeKey.Int(ev.Status),
	)
	if ev.ErrorClass != "" {
		attrs = append(attrs, ErrorClassKey.String(ev.ErrorClass))
	}
	if ev.Tenant != "" {
		attrs = append(attrs, TenantKey.String(ev.Tenant))
	}
	span.SetAttributes(attrs...)
	switch ev.Outcome {
	case saml2sp.OutcomeError, saml2sp.OutcomeUnavailable:
		// The server failed. A refusal is the SP doing its job: unset,
		// like a 4xx (see the package doc).
		class := ev.ErrorClass
		if class == "" {
			class = strconv.Itoa(ev.Status)
		}
		span.SetAttributes(semconv.ErrorTypeKey.String(class))
		span.SetStatus(codes.Error, class)
	}
}
