// Command app is the saml2sp example: a small web app with "Log in with
// SSO", a profile page, single logout, and users in SQLite.
//
// Run from the repository root:
//
//	go run -C examples/app .
//
// With no IdP configured it also starts a development IdP (saml2sptest,
// clearly labelled, never for production) on another origin, so the whole
// flow works on a fresh machine. Point it at a real IdP with one of:
//
//	-idp-metadata-url https://idp.example.org/metadata
//	-idp-metadata-file idp.xml
//	-idp-entity-id ... -idp-sso-url ... -idp-cert-file idp.pem [-idp-slo-url ...]
//
// Every flag can also be set by the environment variable in brackets in
// -help (SAML2SP_...).
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

type options struct {
	addr, baseURL, dataDir, mapping string
	devIdPAddr, devIdPURL           string
	idpMetadataURL, idpMetadataFile string
	idpEntityID, idpSSOURL          string
	idpSLOURL, idpCertFile          string
	allowIdPInitiated               bool
	signRequests                    bool
	trace                           bool
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	str := func(p *string, name, env, def, usage string) {
		if v := os.Getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" ["+env+"]")
	}
	str(&o.addr, "addr", "SAML2SP_ADDR", "127.0.0.1:8080", "listen address")
	str(&o.baseURL, "base-url", "SAML2SP_BASE_URL", "http://127.0.0.1:8080/", "public URL of the app (what the browser and the IdP use)")
	str(&o.dataDir, "data-dir", "SAML2SP_DATA_DIR", "data", "directory for the SQLite database and the SP key")
	str(&o.mapping, "mapping", "SAML2SP_MAPPING", "generic", "attribute mapping preset: okta, entra, adfs, google, onelogin, jumpcloud, ping, auth0, keycloak, simplesamlphp, shibboleth, generic")
	str(&o.devIdPAddr, "dev-idp-addr", "SAML2SP_DEV_IDP_ADDR", "127.0.0.1:8180", "listen address of the development IdP (used when no IdP is configured)")
	str(&o.devIdPURL, "dev-idp-url", "SAML2SP_DEV_IDP_URL", "http://localhost:8180/dev-idp/", "public base URL of the development IdP (another site than the app on purpose)")
	str(&o.idpMetadataURL, "idp-metadata-url", "SAML2SP_IDP_METADATA_URL", "", "IdP metadata URL")
	str(&o.idpMetadataFile, "idp-metadata-file", "SAML2SP_IDP_METADATA_FILE", "", "IdP metadata XML file")
	str(&o.idpEntityID, "idp-entity-id", "SAML2SP_IDP_ENTITY_ID", "", "manual IdP: entity ID")
	str(&o.idpSSOURL, "idp-sso-url", "SAML2SP_IDP_SSO_URL", "", "manual IdP: SSO URL (HTTP-Redirect)")
	str(&o.idpSLOURL, "idp-slo-url", "SAML2SP_IDP_SLO_URL", "", "manual IdP: SLO URL (optional)")
	str(&o.idpCertFile, "idp-cert-file", "SAML2SP_IDP_CERT_FILE", "", "manual IdP: signing certificate (PEM or base64)")
	fs.BoolVar(&o.allowIdPInitiated, "allow-idp-initiated", os.Getenv("SAML2SP_ALLOW_IDP_INITIATED") != "false", "accept IdP-initiated logins [SAML2SP_ALLOW_IDP_INITIATED]")
	fs.BoolVar(&o.signRequests, "sign-requests", os.Getenv("SAML2SP_SIGN_REQUESTS") == "true", "sign AuthnRequests even when the IdP's metadata does not ask for it (always on with the development IdP) [SAML2SP_SIGN_REQUESTS]")
	fs.BoolVar(&o.trace, "insecure-trace", os.Getenv("SAML2SP_INSECURE_TRACE") == "true", "log every SAML message (contains personal data) [SAML2SP_INSECURE_TRACE]")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(o.baseURL, "/") {
		o.baseURL += "/"
	}
	return o, nil
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, logger); err != nil {
		logger.Error("app stopped", "error", err.Error())
		os.Exit(1)
	}
}

// run starts the app (and the development IdP when no IdP is configured)
// and serves until ctx ends.
func run(ctx context.Context, o *options, logger *slog.Logger) error {
	app, devIdP, err := build(ctx, o, logger)
	if err != nil {
		return err
	}
	defer app.Store.Close()
	if o.idpMetadataURL != "" {
		// Follow the IdP's key rotations.
		go (&saml2sp.MetadataRefresher{URL: o.idpMetadataURL, Logger: logger}).Run(ctx, app.SP)
	}

	servers := []*http.Server{newServer(o.addr, app.Handler())}
	if devIdP != nil {
		servers = append(servers, newServer(o.devIdPAddr, devIdP.Handler()))
	}
	errs := make(chan error, len(servers))
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			return err
		}
		go func() { errs <- s.Serve(ln) }()
	}
	fmt.Printf("\n  saml2sp example app:  %s\n", o.baseURL)
	if devIdP != nil {
		fmt.Printf("  development IdP:      %s   (for development only, never for production)\n", o.devIdPURL)
	}
	fmt.Printf("  SP metadata:          %s\n  data:                 %s\n\n", app.Endpoints.MetadataURL, o.dataDir)

	select {
	case <-ctx.Done():
	case err := <-errs:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
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

// build wires the app: SP endpoints and key, the IdP (configured or the
// development one), the SQLite store and the provisioner.
func build(ctx context.Context, o *options, logger *slog.Logger) (*App, *saml2sptest.Server, error) {
	ep, err := saml2sp.EndpointsAt(o.baseURL + "saml/")
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return nil, nil, err
	}
	key, cert, err := loadOrCreateSPKey(filepath.Join(o.dataDir, "sp-key.pem"), filepath.Join(o.dataDir, "sp-cert.pem"), ep.EntityID)
	if err != nil {
		return nil, nil, err
	}
	idp, devIdP, err := identityProvider(ctx, o, ep, cert)
	if err != nil {
		return nil, nil, err
	}
	cfg := saml2sp.Config{
		IdP:                   idp,
		Key:                   key,
		Certificate:           cert,
		AllowIdPInitiated:     o.allowIdPInitiated,
		Logger:                logger,
		InsecureTraceMessages: o.trace,
		// The development IdP checks the signatures of SPs whose
		// certificate it knows, without saying so in its metadata.
		AuthnRequest: saml2sp.AuthnRequestOptions{Sign: o.signRequests || devIdP != nil},
	}
	ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	mapping, ok := saml2sp.MappingPreset(o.mapping)
	if !ok {
		return nil, nil, fmt.Errorf("unknown mapping preset %q", o.mapping)
	}
	store, err := OpenStore(filepath.Join(o.dataDir, "app.db"))
	if err != nil {
		return nil, nil, err
	}
	app := &App{
		SP:        sp,
		Endpoints: ep,
		Provisioner: &saml2sp.Provisioner{
			Mapping: mapping,
			Policy:  saml2sp.Policy{UpdateProfile: true},
			Store:   store,
		},
		Store:  store,
		Logger: logger,
	}
	if devIdP != nil {
		app.DevIdPURL = o.devIdPURL
	}
	return app, devIdP, nil
}

// identityProvider returns the configured IdP, or starts the development
// IdP and trusts it.
func identityProvider(ctx context.Context, o *options, ep saml2sp.Endpoints, spCert *x509.Certificate) (*saml2sp.IdentityProvider, *saml2sptest.Server, error) {
	switch {
	case o.idpMetadataURL != "":
		return fetched(saml2sp.FetchMetadata(ctx, nil, o.idpMetadataURL))
	case o.idpMetadataFile != "":
		data, err := os.ReadFile(o.idpMetadataFile)
		if err != nil {
			return nil, nil, err
		}
		return fetched(saml2sp.ParseMetadata(data))
	case o.idpEntityID != "" || o.idpSSOURL != "" || o.idpCertFile != "":
		pem, err := os.ReadFile(o.idpCertFile)
		if err != nil {
			return nil, nil, fmt.Errorf("manual IdP needs -idp-cert-file: %w", err)
		}
		return fetched(saml2sp.IdentityProviderConfig{
			EntityID: o.idpEntityID, SSOURL: o.idpSSOURL, SLOURL: o.idpSLOURL, Certificates: []string{string(pem)},
		}.IdentityProvider())
	}
	dev, err := saml2sptest.NewServer(o.devIdPURL, nil, saml2sptest.DevSP{EntityID: ep.EntityID, ACSURL: ep.ACSURL, SLOURL: ep.SLOURL, Certificate: spCert})
	if err != nil {
		return nil, nil, err
	}
	// Trust it the way an admin would: from its metadata.
	idp, err := saml2sp.ParseMetadata(dev.IdP.Metadata())
	return idp, dev, err
}

func fetched(idp *saml2sp.IdentityProvider, err error) (*saml2sp.IdentityProvider, *saml2sptest.Server, error) {
	return idp, nil, err
}
