package saml2sp_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// idpPresetNames are the names MappingPreset accepts.
var idpPresetNames = []string{
	"okta", "entra", "adfs", "google", "onelogin", "jumpcloud", "ping",
	"auth0", "keycloak", "simplesamlphp", "shibboleth", "generic",
}

// idpFixture is one file of testdata/idp-attributes (see its README).
type idpFixture struct {
	file           string
	Preset         string
	Source         string
	NameID         string
	NameIDFormat   string
	Attributes     []saml2sp.Attribute
	Want           saml2sp.Identity
	Generic        *saml2sp.Identity
	GenericMissing []string
}

func loadIdPFixtures(t *testing.T) []idpFixture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "idp-attributes", "*.json"))
	require.NoError(t, err)
	var out []idpFixture
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var fx idpFixture
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&fx), f)
		fx.file = filepath.Base(f)
		require.NotEmpty(t, fx.Source, "%s: say where the attribute names come from", f)
		out = append(out, fx)
	}
	return out
}

// verifiedAssertion mints a signed Response carrying the fixture's NameID
// and attributes and returns what ParseResponse makes of it.
func (fx idpFixture) verifiedAssertion(t *testing.T) *saml2sp.Assertion {
	t.Helper()
	env := newTestEnv(t)
	a, err := env.parse(env.mint(env.response(func(r *saml2sptest.Response) {
		r.NameID = fx.NameID
		r.NameIDFormat = fx.NameIDFormat
		r.Attributes = fx.Attributes
	})))
	require.NoError(t, err)
	return a
}

func TestPresetFixturesCoverEveryPreset(t *testing.T) {
	var got []string
	for _, fx := range loadIdPFixtures(t) {
		assert.Equal(t, fx.Preset+".json", fx.file)
		got = append(got, fx.Preset)
	}
	var want []string
	for _, n := range idpPresetNames {
		if n != "generic" {
			want = append(want, n)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	assert.Equal(t, want, got)
}

func TestPresetsMapTheirIdP(t *testing.T) {
	for _, fx := range loadIdPFixtures(t) {
		t.Run(fx.Preset, func(t *testing.T) {
			a := fx.verifiedAssertion(t)
			m, ok := saml2sp.MappingPreset(fx.Preset)
			require.True(t, ok)
			id, err := m.Identity(a)
			require.NoError(t, err)
			want := fx.Want
			want.IdP = testIdPEntityID
			assert.Equal(t, &want, id)
		})
	}
}

func TestGenericMappingMapsEveryIdP(t *testing.T) {
	for _, fx := range loadIdPFixtures(t) {
		t.Run(fx.Preset, func(t *testing.T) {
			a := fx.verifiedAssertion(t)
			id, err := saml2sp.GenericMapping().Identity(a)
			if len(fx.GenericMissing) > 0 {
				var ierr *saml2sp.IdentityError
				require.True(t, errors.As(err, &ierr), "%v", err)
				assert.Equal(t, fx.GenericMissing, ierr.Missing)
				return
			}
			require.NoError(t, err)
			want := fx.Want
			if fx.Generic != nil {
				want = *fx.Generic
			}
			want.IdP = testIdPEntityID
			assert.Equal(t, &want, id)
		})
	}
}

func TestMappingPreset(t *testing.T) {
	for _, name := range idpPresetNames {
		t.Run(name, func(t *testing.T) {
			m, ok := saml2sp.MappingPreset(name)
			require.True(t, ok)
			assert.NotEmpty(t, m.UserID, "user ID candidates")
			assert.NotEmpty(t, m.Email, "email candidates")
			assert.NotEmpty(t, m.Groups, "groups candidates")
			assert.True(t, m.UserIDFromNameID, "a persistent NameID is a good user ID for every IdP")

			again, ok := saml2sp.MappingPreset(" " + strings.ToUpper(name) + " ")
			require.True(t, ok, "names are case-insensitive")
			assert.Equal(t, m, again)

			m.Email[0] = "changed"
			fresh, _ := saml2sp.MappingPreset(name)
			assert.NotEqual(t, "changed", fresh.Email[0], "each call returns its own slices")
		})
	}
	for _, name := range []string{"", "azure", "okta2", "generic-mapping"} {
		_, ok := saml2sp.MappingPreset(name)
		assert.False(t, ok, name)
	}
}

func TestPresetFunctionsMatchNames(t *testing.T) {
	funcs := map[string]func() saml2sp.AttributeMapping{
		"okta":          saml2sp.OktaMapping,
		"entra":         saml2sp.EntraIDMapping,
		"adfs":          saml2sp.ADFSMapping,
		"google":        saml2sp.GoogleWorkspaceMapping,
		"onelogin":      saml2sp.OneLoginMapping,
		"jumpcloud":     saml2sp.JumpCloudMapping,
		"ping":          saml2sp.PingMapping,
		"auth0":         saml2sp.Auth0Mapping,
		"keycloak":      saml2sp.KeycloakMapping,
		"simplesamlphp": saml2sp.SimpleSAMLphpMapping,
		"shibboleth":    saml2sp.ShibbolethMapping,
		"generic":       saml2sp.GenericMapping,
	}
	require.Len(t, funcs, len(idpPresetNames))
	for name, f := range funcs {
		m, ok := saml2sp.MappingPreset(name)
		require.True(t, ok, name)
		assert.Equal(t, f(), m, name)
	}
}

// The generic mapping prefers stable IDs to account names, and never
// takes an email as the user ID.
func TestGenericMappingOrder(t *testing.T) {
	tests := []struct {
		name   string
		attrs  []saml2sp.Attribute
		format string
		want   string
	}{
		{
			name: "object ID before account name",
			attrs: []saml2sp.Attribute{
				{Name: "uid", Values: []string{"alice"}},
				{Name: "http://schemas.microsoft.com/identity/claims/objectidentifier", Values: []string{"oid-1"}},
			},
			want: "oid-1",
		},
		{
			name: "pairwise-id before eduPersonPrincipalName",
			attrs: []saml2sp.Attribute{
				{Name: "urn:oid:1.3.6.1.4.1.5923.1.1.1.6", Values: []string{"alice@example.edu"}},
				{Name: "urn:oasis:names:tc:SAML:attribute:pairwise-id", Values: []string{"PW@example.edu"}},
			},
			want: "PW@example.edu",
		},
		{
			name:   "account name before a persistent NameID",
			attrs:  []saml2sp.Attribute{{Name: "uid", Values: []string{"alice"}}},
			format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
			want:   "alice",
		},
		{
			name:   "persistent NameID as the last resort",
			format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
			want:   "name-id",
		},
		{
			name:   "email never becomes the user ID",
			format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
			want:   "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attrs := append([]saml2sp.Attribute{{Name: "email", Values: []string{"alice@example.com"}}}, tc.attrs...)
			a := &saml2sp.Assertion{NameID: "name-id", NameIDFormat: tc.format, Attributes: attrs}
			id, err := saml2sp.GenericMapping().Identity(a)
			if tc.want == "" {
				require.ErrorIs(t, err, saml2sp.ErrIdentity)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, id.UserID)
		})
	}
}
