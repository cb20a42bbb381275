package saml2sp_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// A multi-tenant app builds each tenant's SP for each request, from its
// database, and takes the tenant's IdP from one MetadataCache: after the
// first fetch a lookup is a map read, Run keeps the metadata fresh in the
// background, and a login signed with a key the tenant's IdP metadata
// does not list (a key rollover) makes the cache fetch it again at once.
func ExampleMetadataCache() {
	// A tenant's IdP publishes its metadata (a test server here).
	idp, err := saml2sptest.NewIdP("https://idp.tenant-a.example/metadata")
	if err != nil {
		fmt.Println(err)
		return
	}
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_, _ = w.Write(idp.Metadata())
	}))
	defer srv.Close()

	// One cache for the app. Leave Client nil in production: the default
	// client refuses internal addresses, since tenants supply their own
	// URLs. The test server is on 127.0.0.1, hence its own client here.
	cache := &saml2sp.MetadataCache{Client: srv.Client()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cache.Run(ctx)

	// What the app's database holds for each tenant, and what its
	// replicas share.
	tenants := map[string]saml2sp.MetadataSource{
		"tenant-a": {URL: srv.URL + "/metadata"},
		// A university from a federation's signed aggregate would be:
		// {URL: "https://mds.example.org/aggregate.xml", EntityID: "https://idp.uni.example/idp/shibboleth",
		//  Signers: []*x509.Certificate{federationCert}, MaxSize: 100 << 20},
	}
	stateKey := make([]byte, 32)
	_, _ = rand.Read(stateKey)
	replay := saml2sp.NewMemoryReplayCache(saml2sp.DefaultReplayCacheSize, nil)
	limiter := saml2sp.NewLimiter(0, 0)

	resolver := saml2sp.TenantResolverFunc(func(ctx context.Context, tenant string) (*saml2sp.SP, error) {
		src, ok := tenants[tenant]
		if !ok {
			return nil, saml2sp.ErrUnknownTenant
		}
		idp, err := cache.IdentityProvider(ctx, src)
		if err != nil {
			return nil, err
		}
		ep, err := saml2sp.TenantEndpoints("https://app.example.com/saml/", tenant)
		if err != nil {
			return nil, err
		}
		cfg := saml2sp.Config{IdP: idp, StateKey: stateKey, ReplayCache: replay, Limiter: limiter}
		ep.Apply(&cfg)
		return saml2sp.New(cfg)
	})
	// The app serves every tenant with one handler:
	_ = &saml2sp.TenantHandler{BaseURL: "https://app.example.com/saml/", Tenants: resolver}

	for range 3 { // three requests
		sp, err := resolver.ServiceProvider(ctx, "tenant-a")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("tenant-a trusts", sp.IdentityProvider().EntityID)
	}
	fmt.Println("metadata fetches:", fetches.Load())
	// Output:
	// tenant-a trusts https://idp.tenant-a.example/metadata
	// tenant-a trusts https://idp.tenant-a.example/metadata
	// tenant-a trusts https://idp.tenant-a.example/metadata
	// metadata fetches: 1
}

// An app with one SP and one IdP fetches the IdP's metadata once to build
// the SP, then lets a MetadataRefresher keep it fresh: on a timer, and at
// once when a login is signed with a key the metadata does not list.
func ExampleMetadataRefresher() {
	idp, err := saml2sptest.NewIdP("https://idp.example.org/metadata")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(idp.Metadata())
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Plain http is fetched from this machine only; real IdPs use https.
	md, err := saml2sp.FetchMetadata(ctx, nil, srv.URL+"/metadata")
	if err != nil {
		fmt.Println(err)
		return
	}
	ep, _ := saml2sp.EndpointsAt("https://app.example.com/saml/")
	cfg := saml2sp.Config{IdP: md}
	ep.Apply(&cfg)
	sp, err := saml2sp.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	go (&saml2sp.MetadataRefresher{URL: srv.URL + "/metadata"}).Run(ctx, sp)

	fmt.Println("trusting", sp.IdentityProvider().EntityID)
	// Output:
	// trusting https://idp.example.org/metadata
}

// A client for metadata URLs that tenants supply: it refuses to connect
// to this machine, the internal network or the cloud metadata service,
// whatever name resolves to them. (MetadataCache uses one by default.)
func ExampleRefuseInternalAddress() {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: saml2sp.RefuseInternalAddress}
	client := &http.Client{
		Timeout:   saml2sp.DefaultMetadataTimeout,
		Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext},
	}
	_, err := saml2sp.FetchMetadata(context.Background(), client, "https://169.254.169.254/latest/meta-data/")
	fmt.Println(errors.Is(err, saml2sp.ErrInternalAddress))
	// Output:
	// true
}
