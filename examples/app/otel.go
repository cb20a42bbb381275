package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/otelsaml2sp"
)

// otelMetricsInterval is how often -otel-stdout prints the metrics (and
// once more when the app stops).
const otelMetricsInterval = 30 * time.Second

// instrument wires -otel-stdout: an otelsaml2sp.Observer whose spans and
// metrics go to o.otelOut as JSON lines, to see what an OpenTelemetry
// backend would receive (a real deployment gives otelsaml2sp.New its OTLP
// exporters instead). It sets cfg.OnEvent and returns the wrapper of the
// SAML handler and what flushes and stops the exporters. Without the flag
// it changes nothing.
func instrument(o *options, cfg *saml2sp.Config) (wrap func(http.Handler) http.Handler, shutdown func(context.Context) error, err error) {
	if !o.otelStdout {
		return func(h http.Handler) http.Handler { return h }, func(context.Context) error { return nil }, nil
	}
	spans, err := stdouttrace.New(stdouttrace.WithWriter(o.otelOut))
	if err != nil {
		return nil, nil, err
	}
	metrics, err := stdoutmetric.New(stdoutmetric.WithWriter(o.otelOut))
	if err != nil {
		return nil, nil, err
	}
	// Each span printed as it ends: a development aid, not for load (a
	// deployment batches: sdktrace.WithBatcher).
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics, sdkmetric.WithInterval(otelMetricsInterval))))
	shutdown = func(ctx context.Context) error { return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx)) }
	obs, err := otelsaml2sp.New(otelsaml2sp.WithTracerProvider(tp), otelsaml2sp.WithMeterProvider(mp))
	if err != nil {
		return nil, nil, errors.Join(err, shutdown(context.Background()))
	}
	cfg.OnEvent = obs.OnEvent
	return obs.Middleware, shutdown, nil
}
