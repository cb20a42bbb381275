package saml2sp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
)

func TestEndpointsAt(t *testing.T) {
	e, err := saml2sp.EndpointsAt("https://app.example.com/saml/")
	require.NoError(t, err)
	assert.Equal(t, saml2sp.Endpoints{
		EntityID:    "https://app.example.com/saml/metadata",
		MetadataURL: "https://app.example.com/saml/metadata",
		ACSURL:      "https://app.example.com/saml/acs",
		SLOURL:      "https://app.example.com/saml/sls",
		LoginURL:    "https://app.example.com/saml/login",
		LogoutURL:   "https://app.example.com/saml/logout",
		TestURL:     "https://app.example.com/saml/test",
	}, e)

	for _, bad := range []string{"https://app.example.com/saml", "/saml/", "ftp://x/saml/", "https:///saml/", "https://a/saml/?x=1"} {
		_, err := saml2sp.EndpointsAt(bad)
		assert.ErrorIs(t, err, saml2sp.ErrConfig, bad)
	}
}

func TestTenantEndpoints(t *testing.T) {
	e, err := saml2sp.TenantEndpoints("https://sentry.example.com/saml/", "acme-co")
	require.NoError(t, err)
	assert.Equal(t, "https://sentry.example.com/saml/acs/acme-co/", e.ACSURL)
	assert.Equal(t, "https://sentry.example.com/saml/metadata/acme-co/", e.EntityID)
	assert.Equal(t, "https://sentry.example.com/saml/sls/acme-co/", e.SLOURL)
	assert.Equal(t, "https://sentry.example.com/saml/test/acme-co/", e.TestURL)

	for _, bad := range []string{"", ".", "..", "a/b", "a b", "ä", "a?b"} {
		_, err := saml2sp.TenantEndpoints("https://sentry.example.com/saml/", bad)
		assert.ErrorIs(t, err, saml2sp.ErrConfig, bad)
	}

	cfg := saml2sp.Config{ACSURL: "https://keep.example/acs"}
	e.Apply(&cfg)
	assert.Equal(t, "https://keep.example/acs", cfg.ACSURL, "Apply keeps fields already set")
	assert.Equal(t, e.LoginURL, cfg.LoginURL)
}

func TestConfigBaseURL(t *testing.T) {
	idp := newTestIdP(t)
	sp, err := saml2sp.New(saml2sp.Config{BaseURL: "https://app.example.com/saml/", IdP: idp.IdentityProvider()})
	require.NoError(t, err)
	c := sp.Config()
	assert.Equal(t, "https://app.example.com/saml/metadata", c.EntityID)
	assert.Equal(t, "https://app.example.com/saml/acs", c.ACSURL)
	assert.Equal(t, "https://app.example.com/saml/sls", c.SLOURL)
	assert.Equal(t, "https://app.example.com/saml/login", c.LoginURL)
	assert.Equal(t, "https://app.example.com/saml/logout", c.LogoutURL)
	// Fields set explicitly win.
	sp, err = saml2sp.New(saml2sp.Config{BaseURL: "https://app.example.com/saml/", EntityID: "urn:app", IdP: idp.IdentityProvider()})
	require.NoError(t, err)
	assert.Equal(t, "urn:app", sp.Config().EntityID)
	_, err = saml2sp.New(saml2sp.Config{BaseURL: "https://app.example.com/saml", IdP: idp.IdentityProvider()})
	require.ErrorIs(t, err, saml2sp.ErrConfig, "the path must end with a slash")
}
