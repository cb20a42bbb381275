package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOtelStdout: with -otel-stdout, one request to a SAML endpoint prints
// its span when it ends and the metrics when the app stops; without it,
// nothing.
func TestOtelStdout(t *testing.T) {
	tests := []struct {
		name string
		on   bool
	}{
		{name: "off"},
		{name: "on", on: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t)
			o.otelStdout = tc.on
			telemetry := &syncBuffer{}
			o.otelOut = telemetry
			a := startApp(t, o)

			resp, err := http.Get(a.base + "saml/metadata")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			if !tc.on {
				a.stop()
				assert.Empty(t, telemetry.String())
				return
			}
			// The span is printed as the request ends, which may be just
			// after the client has its answer.
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(telemetry.String(), `"Name":"saml2sp metadata"`); {
				require.True(t, time.Now().Before(deadline), "no span printed:\n%s", telemetry.String())
				time.Sleep(10 * time.Millisecond)
			}
			out := telemetry.String()
			assert.Contains(t, out, `{"Key":"saml2sp.outcome","Value":{"Type":"STRING","Value":"ok"}}`)
			assert.NotContains(t, out, "saml2sp.messages", "metrics wait for the interval or the end")

			a.stop() // flushes the metrics
			out = telemetry.String()
			assert.Contains(t, out, `"Name":"saml2sp.messages"`)
			assert.Contains(t, out, `"Name":"saml2sp.message.duration"`)
			assert.Contains(t, out, `{"Key":"saml2sp.kind","Value":{"Type":"STRING","Value":"metadata"}}`)
		})
	}
}

// TestOtelStdoutFlag: -otel-stdout and SAML2SP_OTEL_STDOUT set the option.
func TestOtelStdoutFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want bool
	}{
		{name: "default off"},
		{name: "flag", args: []string{"-otel-stdout"}, want: true},
		{name: "environment", env: map[string]string{"SAML2SP_OTEL_STDOUT": "true"}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, func(k string) string { return tc.env[k] }, &strings.Builder{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, o.otelStdout)
		})
	}
}
