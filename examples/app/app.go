package main

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// App is the example web app: a home page, a profile page behind login,
// and the SAML endpoints under /saml/ behind a gate that opens once the
// IdP is known (see samlGate).
type App struct {
	Endpoints saml2sp.Endpoints
	Sessions  *saml2sp.Sessions
	Store     *Store
	Gate      *samlGate
	Logger    *slog.Logger
	// DevIdP is the development IdP, when no IdP is configured.
	DevIdP *saml2sptest.Server
	// DevIdPURL, when set, is the development IdP's home page (for the
	// IdP-initiated login and logout links).
	DevIdPURL string

	// admins are the EmailKeys of the app's admins (-admin-emails).
	admins map[string]bool

	// start, when set, brings the IdP in the background (Start).
	start func(ctx context.Context)
	// stopTelemetry flushes and stops -otel-stdout's exporters.
	stopTelemetry func(ctx context.Context) error
}

// build wires the app: data directory, keys, store, session layer, and
// the SP, at once when the IdP is local (the development IdP, a metadata
// file, a manual configuration), else by Start. Nothing here uses the
// network.
func build(o *options, logger *slog.Logger) (*App, error) {
	ep, err := saml2sp.EndpointsAt(o.baseURL + "saml/")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return nil, err
	}
	kp, err := loadOrCreateKeyPair(o.dataDir, ep.EntityID, logger)
	if err != nil {
		return nil, err
	}
	sessionKey, err := loadOrCreateSecret(filepath.Join(o.dataDir, sessionKeyFile), logger)
	if err != nil {
		return nil, err
	}
	stateKey, err := loadOrCreateSecret(filepath.Join(o.dataDir, stateKeyFile), logger)
	if err != nil {
		return nil, err
	}
	mapping, _ := saml2sp.MappingPreset(o.mapping) // parseFlags checked it
	store, err := OpenStore(filepath.Join(o.dataDir, "app.db"))
	if err != nil {
		return nil, err
	}

	app := &App{
		Endpoints: ep,
		Store:     store,
		Logger:    logger,
		Sessions: &saml2sp.Sessions{
			// Over plain http (development) the cookie cannot be Secure
			// nor carry the __Host- prefix.
			Store: &saml2sp.CookieStore{Key: sessionKey, Insecure: strings.HasPrefix(o.baseURL, "http://")},
			// In memory: this app runs as one process. With several
			// replicas, single logout must reach all of them: use
			// redisstore or pgstore.
			Revocations: saml2sp.NewMemoryRevocationStore(0, nil),
			Provisioner: &saml2sp.Provisioner{
				Mapping: mapping,
				Policy:  saml2sp.Policy{UpdateProfile: true},
				Store:   store,
			},
			LoginURL: ep.LoginURL,
			Logger:   logger,
		},
	}
	cfg := saml2sp.Config{
		Key:                   kp.Key,
		Certificate:           kp.Certificate,
		StateKey:              stateKey,
		NameIDFormat:          o.nameIDFormat,
		AllowIdPInitiated:     o.allowIdPInitiated,
		InsecureAllowSHA1:     o.insecureAllowSHA1,
		Logger:                logger,
		InsecureTraceMessages: o.trace,
		AuthnRequest: saml2sp.AuthnRequestOptions{
			// The development IdP checks the signatures of SPs whose
			// certificate it knows, without saying so in its metadata.
			Sign:    o.signRequests || o.devIdP(),
			Binding: o.authnBinding,
		},
	}
	ep.Apply(&cfg)
	metadataURL, err := url.Parse(ep.MetadataURL)
	if err != nil {
		return nil, err
	}
	wrap, stopTelemetry, err := instrument(o, &cfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	app.stopTelemetry = stopTelemetry
	app.Gate = &samlGate{metadataPath: metadataURL.Path}
	hooks := app.Sessions.Hooks()
	hooks.OnFailure = app.onFailure
	hooks.ConnectionTest = &saml2sp.ConnectionTest{Authorize: app.isAdmin, Mapping: mapping, Render: app.connectionTestReport}
	app.admins = adminSet(o.adminEmails)
	newSP := func(idp *saml2sp.IdentityProvider) (*readySP, error) {
		c := cfg
		c.IdP = idp
		sp, err := saml2sp.New(c)
		if err != nil {
			return nil, err
		}
		return &readySP{sp: sp, handler: wrap(sp.Handler(hooks)), loaded: time.Now()}, nil
	}

	idp, err := app.localIdP(o, ep, kp)
	if err != nil {
		app.Close()
		return nil, err
	}
	if idp != nil {
		ready, err := newSP(idp)
		if err != nil {
			app.Close()
			return nil, err
		}
		app.Gate.install(ready)
		return app, nil
	}

	// The IdP comes from its metadata URL, in the background.
	app.Gate.source = o.idpMetadataURL
	if app.Gate.metadata, err = standInMetadata(cfg); err != nil {
		app.Close()
		return nil, err
	}
	app.start = func(ctx context.Context) {
		fetch := func(ctx context.Context) (*saml2sp.IdentityProvider, error) {
			return saml2sp.FetchMetadata(ctx, nil, o.idpMetadataURL)
		}
		go func() {
			if sp := app.Gate.fetchAndInstall(ctx, fetch, newSP, o.retry, logger); sp != nil {
				// Follow the IdP's key rotations.
				(&saml2sp.MetadataRefresher{URL: o.idpMetadataURL, Logger: logger}).Run(ctx, sp)
			}
		}()
	}
	return app, nil
}

// localIdP returns the IdP when it needs no network: the development IdP
// (started here and trusted from its metadata, the way an admin would), a
// metadata file, or a manual configuration. It returns nil for a metadata
// URL.
func (a *App) localIdP(o *options, ep saml2sp.Endpoints, kp *saml2sp.KeyPair) (*saml2sp.IdentityProvider, error) {
	switch {
	case o.idpMetadataURL != "":
		return nil, nil
	case o.idpMetadataFile != "":
		a.Gate.source = o.idpMetadataFile
		data, err := os.ReadFile(o.idpMetadataFile)
		if err != nil {
			return nil, err
		}
		return saml2sp.ParseMetadata(data)
	case !o.devIdP():
		a.Gate.source = "the -idp-* flags"
		pem, err := os.ReadFile(o.idpCertFile)
		if err != nil {
			return nil, fmt.Errorf("a manual IdP needs -idp-cert-file: %w", err)
		}
		return saml2sp.IdentityProviderConfig{
			EntityID: o.idpEntityID, SSOURL: o.idpSSOURL, SLOURL: o.idpSLOURL, Certificates: []string{string(pem)},
		}.IdentityProvider()
	}
	dev, err := saml2sptest.NewServer(o.devIdPURL, nil, saml2sptest.DevSP{
		EntityID: ep.EntityID, ACSURL: ep.ACSURL, SLOURL: ep.SLOURL, Certificate: kp.Certificate,
	})
	if err != nil {
		return nil, err
	}
	a.DevIdP, a.DevIdPURL = dev, o.devIdPURL
	a.Gate.source = "the development IdP, " + dev.MetadataURL()
	return saml2sp.ParseMetadata(dev.IdP.Metadata())
}

// standInMetadata renders the SP metadata before the IdP is known, for an
// IdP that fetches it before publishing its own. The metadata describes
// the SP alone, but saml2sp.New needs an IdP: this SP gets a stand-in that
// names no real IdP and trusts only the SP's own certificate, renders its
// metadata, and is dropped at once, having served nothing. The real SP is
// built from the IdP's metadata when it comes.
func standInMetadata(cfg saml2sp.Config) ([]byte, error) {
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cfg.Certificate.Raw})
	idp, err := saml2sp.IdentityProviderConfig{
		EntityID:     "urn:saml2sp-example:idp-not-loaded-yet",
		SSOURL:       cfg.LoginURL,
		Certificates: []string{string(certPEM)},
	}.IdentityProvider()
	if err != nil {
		return nil, err
	}
	cfg.IdP = idp
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) // its warnings are the real SP's to give
	cfg.InsecureTraceMessages = false
	sp, err := saml2sp.New(cfg)
	if err != nil {
		return nil, err
	}
	return sp.Metadata(), nil
}

// Start brings the IdP in the background when it comes from a metadata
// URL: fetched with retries until it answers, then refreshed. It returns
// at once.
func (a *App) Start(ctx context.Context) {
	if a.start != nil {
		a.start(ctx)
	}
}

// Close closes the database and flushes -otel-stdout's last metrics.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(a.Store.Close(), a.stopTelemetry(ctx))
}
