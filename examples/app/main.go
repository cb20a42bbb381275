// Command app is the saml2sp example: a small web app with "Log in with
// SSO", a profile page, single logout, and users in SQLite.
//
// Run from the repository root:
//
//	go run -C examples/app .
//
// The first run compiles SQLite (modernc.org/sqlite, pure Go, no cgo) and
// prints nothing for a minute or a few, depending on the machine; Go's build
// cache makes later runs start at once (or "go build" once and run the
// binary).
//
// With no IdP configured it also starts a development IdP (saml2sptest,
// clearly labelled, never for production) on another origin, so the whole
// flow works on a fresh machine. Point it at a real IdP with one of:
//
//	-idp-metadata-url https://idp.example.org/metadata
//	-idp-metadata-file idp.xml
//	-idp-entity-id ... -idp-sso-url ... -idp-cert-file idp.pem [-idp-slo-url ...]
//
// An IdP metadata URL that does not answer yet does not stop the app: it
// starts, serves its own SP metadata (the IdP may be waiting for it), and
// fetches the IdP's in the background until it comes, showing why login
// is unavailable meanwhile; then it refreshes it (key rotations).
//
// Every flag can also be set by the environment variable in brackets in
// -help (SAML2SP_...).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	o, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	// The first line as soon as the binary runs: key generation and the
	// IdP come after it.
	fmt.Fprintln(os.Stdout, "saml2sp example app: starting")
	logger := newLogger(os.Stderr, o.trace)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, logger); err != nil {
		logger.Error("app stopped", "error", err.Error())
		os.Exit(1)
	}
}

// newLogger logs at info level, or at debug level with -insecure-trace:
// the library traces SAML messages at debug level.
func newLogger(w io.Writer, trace bool) *slog.Logger {
	level := slog.LevelInfo
	if trace {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// run starts the app (and the development IdP when no IdP is configured)
// and serves until ctx ends. It prints the app's URLs to out once it
// listens; the IdP metadata may still be on its way.
func run(ctx context.Context, o *options, out io.Writer, logger *slog.Logger) error {
	app, err := build(o, logger)
	if err != nil {
		return err
	}
	defer app.Close()

	servers := []*http.Server{newServer(o.addr, app.Handler())}
	if app.DevIdP != nil {
		servers = append(servers, newServer(o.devIdPAddr, app.DevIdP.Handler()))
	}
	var listeners []net.Listener
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return err
		}
		listeners = append(listeners, ln)
	}
	errs := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errs <- s.Serve(listeners[i]) }()
	}
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	app.Start(bg)

	fmt.Fprintf(out, "\n  saml2sp example app:  %s\n", o.baseURL)
	if app.DevIdP != nil {
		fmt.Fprintf(out, "  development IdP:      %s   (for development only, never for production)\n", o.devIdPURL)
	} else {
		fmt.Fprintf(out, "  IdP metadata:         %s\n", app.Gate.source)
	}
	fmt.Fprintf(out, "  SP metadata:          %s\n  data:                 %s\n\n", app.Endpoints.MetadataURL, o.dataDir)

	select {
	case <-ctx.Done():
	case err := <-errs:
		return err
	}
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	for _, s := range servers {
		_ = s.Shutdown(shutdown)
	}
	return nil
}

// newServer bounds what one client can hold: a slow client cannot keep a
// connection (and the memory of its half-sent body) for long, and headers
// are small. The SAML endpoints bound bodies themselves (MaxResponseSize).
// The app or its proxy must still limit connections and requests per
// client (see the README's "On the open internet").
func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}
