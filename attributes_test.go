package saml2sp_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

const (
	idmPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	idmTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	idmEmailFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	idmUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

func idmAttr(name string, values ...string) saml2sp.Attribute {
	return saml2sp.Attribute{Name: name, Values: values}
}

func idmFriendly(name, friendlyName string, values ...string) saml2sp.Attribute {
	return saml2sp.Attribute{Name: name, FriendlyName: friendlyName, Values: values}
}

// idmRuleMapping is the mapping the rule tests use.
var idmRuleMapping = saml2sp.AttributeMapping{
	UserID:      []string{"uid", "employeeID"},
	Email:       []string{"mail", "email"},
	FirstName:   []string{"givenName"},
	LastName:    []string{"sn"},
	DisplayName: []string{"displayName"},
	Username:    []string{"login"},
	Groups:      []string{"groups", "roles"},
}

func TestAttributeMappingRules(t *testing.T) {
	base := []saml2sp.Attribute{idmAttr("uid", "u1"), idmAttr("mail", "alice@example.com")}
	tests := []struct {
		name    string
		mapping *saml2sp.AttributeMapping // nil: idmRuleMapping
		nameID  string
		format  string
		attrs   []saml2sp.Attribute // appended to base unless replace
		replace bool
		check   func(t *testing.T, id *saml2sp.Identity)
	}{
		{
			name:    "first candidate wins even when a later one comes first in the document",
			attrs:   []saml2sp.Attribute{idmAttr("employeeID", "e9"), idmAttr("uid", "u1"), idmAttr("mail", "alice@example.com")},
			replace: true,
			check:   func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "u1", id.UserID) },
		},
		{
			name:    "an empty value falls through to the next candidate",
			attrs:   []saml2sp.Attribute{idmAttr("uid", "", "  "), idmAttr("employeeID", "e9"), idmAttr("mail", "alice@example.com")},
			replace: true,
			check:   func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "e9", id.UserID) },
		},
		{
			name:    "the first non-empty value of a multi-valued attribute, trimmed",
			attrs:   []saml2sp.Attribute{idmAttr("uid", "", " u7 ", "u8"), idmAttr("mail", "alice@example.com")},
			replace: true,
			check:   func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "u7", id.UserID) },
		},
		{
			name:  "FriendlyName matches ignoring case",
			attrs: []saml2sp.Attribute{idmFriendly("urn:oid:2.5.4.42", "GIVENNAME", "Alice")},
			check: func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "Alice", id.FirstName) },
		},
		{
			name:  "Name matches case-sensitively",
			attrs: []saml2sp.Attribute{idmAttr("GivenName", "Alice"), idmAttr("SN", "Smith")},
			check: func(t *testing.T, id *saml2sp.Identity) {
				assert.Empty(t, id.FirstName)
				assert.Empty(t, id.LastName)
			},
		},
		{
			name: "groups: every value of the first candidate with values, trimmed, deduplicated, in order",
			attrs: []saml2sp.Attribute{
				idmAttr("roles", "admin"),
				idmAttr("groups", " eng ", "", "ops", "eng"),
				idmAttr("groups", "ops", "sales"),
			},
			check: func(t *testing.T, id *saml2sp.Identity) {
				assert.Equal(t, []string{"eng", "ops", "sales"}, id.Groups)
			},
		},
		{
			name:  "groups: an empty first candidate falls through",
			attrs: []saml2sp.Attribute{idmAttr("groups", " ", ""), idmAttr("roles", "admin")},
			check: func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, []string{"admin"}, id.Groups) },
		},
		{
			name:  "groups: none sent is nil",
			check: func(t *testing.T, id *saml2sp.Identity) { assert.Nil(t, id.Groups) },
		},
		{
			name:  "display name defaults to first and last name",
			attrs: []saml2sp.Attribute{idmAttr("givenName", "Alice"), idmAttr("sn", "Smith")},
			check: func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "Alice Smith", id.DisplayName) },
		},
		{
			name:  "display name from first name alone",
			attrs: []saml2sp.Attribute{idmAttr("givenName", "Alice")},
			check: func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "Alice", id.DisplayName) },
		},
		{
			name:  "a sent display name wins",
			attrs: []saml2sp.Attribute{idmAttr("givenName", "Alice"), idmAttr("sn", "Smith"), idmAttr("displayName", "Dr. A. Smith")},
			check: func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "Dr. A. Smith", id.DisplayName) },
		},
		{
			name:  "username is the raw value",
			attrs: []saml2sp.Attribute{idmAttr("login", "CORP\\Alice")},
			check: func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "CORP\\Alice", id.Username) },
		},
		{
			name:    "email: domain lowercased, local part kept, trimmed",
			attrs:   []saml2sp.Attribute{idmAttr("uid", "u1"), idmAttr("mail", "  Alice.Smith@Example.COM ")},
			replace: true,
			check:   func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "Alice.Smith@example.com", id.Email) },
		},
		{
			name:    "email: the second candidate when the first is absent",
			attrs:   []saml2sp.Attribute{idmAttr("uid", "u1"), idmAttr("email", "bob@example.com")},
			replace: true,
			check:   func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "bob@example.com", id.Email) },
		},
		{
			name:    "persistent NameID as user ID fallback",
			mapping: &saml2sp.AttributeMapping{UserID: []string{"uid"}, Email: []string{"mail"}, UserIDFromNameID: true},
			nameID:  " pid-1 ",
			format:  idmPersistent,
			attrs:   []saml2sp.Attribute{idmAttr("mail", "alice@example.com")},
			replace: true,
			check:   func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "pid-1", id.UserID) },
		},
		{
			name:    "an attribute wins over a persistent NameID",
			mapping: &saml2sp.AttributeMapping{UserID: []string{"uid"}, Email: []string{"mail"}, UserIDFromNameID: true},
			nameID:  "pid-1",
			format:  idmPersistent,
			check:   func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, "u1", id.UserID) },
		},
		{
			name:    "IdP is the assertion's issuer",
			mapping: &idmRuleMapping,
			check:   func(t *testing.T, id *saml2sp.Identity) { assert.Equal(t, testIdPEntityID, id.IdP) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attrs := tc.attrs
			if !tc.replace {
				attrs = append(append([]saml2sp.Attribute(nil), base...), tc.attrs...)
			}
			m := idmRuleMapping
			if tc.mapping != nil {
				m = *tc.mapping
			}
			a := &saml2sp.Assertion{Issuer: testIdPEntityID, NameID: tc.nameID, NameIDFormat: tc.format, Attributes: attrs}
			id, err := m.Identity(a)
			require.NoError(t, err)
			tc.check(t, id)
		})
	}
}

func TestUserIDFromNameIDOnlyWhenPersistent(t *testing.T) {
	tests := []struct {
		name     string
		format   string
		fallback bool
		want     string
	}{
		{name: "persistent", format: idmPersistent, fallback: true, want: "subject"},
		{name: "persistent but fallback off", format: idmPersistent, fallback: false},
		{name: "transient changes every login", format: idmTransient, fallback: true},
		{name: "emailAddress can be reassigned", format: idmEmailFormat, fallback: true},
		{name: "unspecified", format: idmUnspecified, fallback: true},
		{name: "no format", format: "", fallback: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := saml2sp.AttributeMapping{UserID: []string{"uid"}, Email: []string{"mail"}, UserIDFromNameID: tc.fallback}
			a := &saml2sp.Assertion{NameID: "subject", NameIDFormat: tc.format, Attributes: []saml2sp.Attribute{idmAttr("mail", "a@example.com")}}
			id, err := m.Identity(a)
			if tc.want == "" {
				var ierr *saml2sp.IdentityError
				require.ErrorAs(t, err, &ierr)
				assert.Equal(t, []string{"user ID"}, ierr.Missing)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, id.UserID)
		})
	}
}

func TestInvalidEmail(t *testing.T) {
	tests := []struct {
		name  string
		value string
	}{
		{name: "two at signs", value: "alice@example.com@evil.example"},
		{name: "no at sign", value: "Alice Smith"},
		{name: "a list", value: "alice@example.com, bob@example.com"},
		{name: "space inside", value: "alice smith@example.com"},
		{name: "control character", value: "alice\x00@example.com"},
		{name: "newline", value: "alice@example.com\nX-Injected: 1"},
		{name: "empty local part", value: "@example.com"},
		{name: "empty domain", value: "alice@"},
		{name: "domain starts with a dot", value: "alice@.example.com"},
		{name: "domain ends with a dot", value: "alice@example.com."},
		{name: "too long", value: strings.Repeat("a", 250) + "@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &saml2sp.Assertion{NameID: "x", NameIDFormat: idmTransient, Attributes: []saml2sp.Attribute{
				idmAttr("uid", "u1"), idmAttr("mail", tc.value), idmAttr("email", "fallback@example.com"),
			}}
			_, err := idmRuleMapping.Identity(a)
			var ierr *saml2sp.IdentityError
			require.ErrorAs(t, err, &ierr)
			assert.ErrorIs(t, err, saml2sp.ErrIdentity)
			assert.Empty(t, ierr.Missing)
			assert.Equal(t, map[string]string{"email": "mail"}, ierr.Invalid, "an unusable first candidate is an error, not a reason to try the next")
			assert.Contains(t, err.Error(), `Invalid: email (the value of "mail" is not one email address).`)
			assert.NotContains(t, err.Error(), tc.value)
		})
	}
}

func TestIdentityErrorText(t *testing.T) {
	t.Run("missing email, exact text", func(t *testing.T) {
		m := saml2sp.AttributeMapping{
			UserID: []string{"uid"},
			Email:  []string{"email", "mail", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"},
		}
		a := &saml2sp.Assertion{NameID: "_t1", NameIDFormat: idmTransient, Attributes: []saml2sp.Attribute{
			idmAttr("uid", "secret-uid-value"), idmAttr("groups", "secret-group"), idmAttr("firstName", "Secretname"),
		}}
		_, err := m.Identity(a)
		require.Error(t, err)
		assert.Equal(t, `The provider did not return a valid user identity. Missing: email (tried "email", "mail", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"). The IdP sent: "firstName", "groups", "uid" (NameID format urn:oasis:names:tc:SAML:2.0:nameid-format:transient).`, err.Error())
		assert.True(t, strings.HasPrefix(err.Error(), "The provider did not return a valid user identity."), "Sentry's sentence")
		assert.ErrorIs(t, err, saml2sp.ErrIdentity)

		var ierr *saml2sp.IdentityError
		require.ErrorAs(t, err, &ierr)
		assert.Equal(t, []string{"email"}, ierr.Missing)
		assert.Equal(t, map[string][]string{"email": m.Email}, ierr.Tried)
		assert.Equal(t, []string{"firstName", "groups", "uid"}, ierr.Received)
		assert.Equal(t, idmTransient, ierr.NameIDFormat)
		for _, v := range []string{"secret-uid-value", "secret-group", "Secretname", "_t1"} {
			assert.NotContains(t, err.Error(), v, "values never appear")
		}
	})

	t.Run("both missing, no attributes, exact text", func(t *testing.T) {
		m := saml2sp.AttributeMapping{UserID: []string{"uid"}, Email: []string{"mail"}, UserIDFromNameID: true}
		_, err := m.Identity(&saml2sp.Assertion{NameID: "someone"})
		require.Error(t, err)
		assert.Equal(t, `The provider did not return a valid user identity. Missing: user ID (tried "uid", then a persistent NameID), email (tried "mail"). The IdP sent no attributes (NameID without a Format).`, err.Error())
	})

	t.Run("empty mapping says so", func(t *testing.T) {
		_, err := saml2sp.AttributeMapping{}.Identity(&saml2sp.Assertion{NameID: "someone", NameIDFormat: idmPersistent})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Missing: user ID (no attribute names configured), email (no attribute names configured).")
	})

	t.Run("friendly names shown, duplicates once, sorted", func(t *testing.T) {
		_, err := idmRuleMapping.Identity(&saml2sp.Assertion{NameIDFormat: idmTransient, Attributes: []saml2sp.Attribute{
			idmFriendly("urn:oid:2.5.4.42", "givenName", "A"),
			idmAttr("Role", "a"), idmAttr("Role", "b"),
			idmFriendly("urn:oid:0.9.2342.19200300.100.1.1", "uid", "u1"),
		}})
		require.Error(t, err)
		var ierr *saml2sp.IdentityError
		require.ErrorAs(t, err, &ierr)
		assert.Equal(t, []string{"Role", "urn:oid:0.9.2342.19200300.100.1.1", "urn:oid:2.5.4.42"}, ierr.Received)
		assert.Contains(t, err.Error(), `The IdP sent: "Role", "urn:oid:0.9.2342.19200300.100.1.1" ("uid"), "urn:oid:2.5.4.42" ("givenName") (NameID format`)
	})

	t.Run("names are quoted, so they cannot forge log lines", func(t *testing.T) {
		_, err := idmRuleMapping.Identity(&saml2sp.Assertion{NameIDFormat: "evil\nformat", Attributes: []saml2sp.Attribute{idmAttr("evil\nname", "x")}})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "\n")
		assert.Contains(t, err.Error(), `"evil\nname"`)
	})

	t.Run("long lists are cut", func(t *testing.T) {
		var attrs []saml2sp.Attribute
		for i := 0; i < 80; i++ {
			attrs = append(attrs, idmAttr(fmt.Sprintf("attribute-%03d", i), "v"))
		}
		_, err := idmRuleMapping.Identity(&saml2sp.Assertion{NameIDFormat: idmTransient, Attributes: attrs})
		var ierr *saml2sp.IdentityError
		require.ErrorAs(t, err, &ierr)
		assert.Len(t, ierr.Received, 80)
		assert.Contains(t, err.Error(), `"attribute-049" and 30 more (NameID format`)
		assert.NotContains(t, err.Error(), "attribute-050")
	})

	t.Run("errors.Is only ErrIdentity", func(t *testing.T) {
		_, err := idmRuleMapping.Identity(&saml2sp.Assertion{})
		assert.True(t, errors.Is(err, saml2sp.ErrIdentity))
		assert.False(t, errors.Is(err, saml2sp.ErrSubject))
	})
}

// Values reach the mapping as plain text: the XML escaping of "&" is
// undone by the parser, once.
func TestAttributeValuesArePlainText(t *testing.T) {
	env := newTestEnv(t)
	r := env.response(func(r *saml2sptest.Response) {
		r.NameID = "pid-1"
		r.NameIDFormat = idmPersistent
		r.Attributes = []saml2sp.Attribute{
			idmAttr("mail", "alice@example.com"),
			idmAttr("groups", "Dogs & cats", "a &lt; b", "<admin>"),
			idmAttr("displayName", "O'Brien & \"Sons\""),
		}
	})
	xml, err := env.mintXML(r).WriteToString()
	require.NoError(t, err)
	require.Contains(t, xml, "Dogs &amp; cats", "the XML carries the entity")
	require.Contains(t, xml, "a &amp;lt; b")

	a, err := env.parse(env.mint(r))
	require.NoError(t, err)
	id, err := saml2sp.AttributeMapping{
		UserIDFromNameID: true, Email: []string{"mail"}, Groups: []string{"groups"}, DisplayName: []string{"displayName"},
	}.Identity(a)
	require.NoError(t, err)
	assert.Equal(t, []string{"Dogs & cats", "a &lt; b", "<admin>"}, id.Groups)
	assert.Equal(t, "O'Brien & \"Sons\"", id.DisplayName)
}
