package saml2sp_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
	"github.com/saml2sp/saml2sp/saml2sptest"
)

// Look-alike characters of the identity tests.
const (
	nbsp       = "\u00a0" // no-break space: unicode.IsSpace
	figSpace   = "\u2007" // figure space: unicode.IsSpace
	zeroWidth  = "\u200b" // zero-width space: a format character, not a space
	ideoSpace  = "\u3000" // ideographic space: unicode.IsSpace
	kelvin     = "\u212a" // Kelvin sign: strings.EqualFold and ToLower make it "k"
	dottedI    = "\u0130" // Turkish capital dotted I: ToLower makes it "i" + U+0307
	longS      = "\u017f" // long s: strings.EqualFold makes it "s"
	rtlOverlay = "\u202e" // right-to-left override
)

// TestMessageValuesKeepUnicodeSpaces: only XML white space is trimmed from
// what a message says, so a value that ends in a no-break space is not the
// value without it.
func TestMessageValuesKeepUnicodeSpaces(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		want  string
	}{
		{name: "XML white space is trimmed", value: " \t\n admin \n", want: "admin"},
		{name: "U+00A0 is kept", value: "admin" + nbsp, want: "admin" + nbsp},
		{name: "U+2007 is kept", value: figSpace + "admin", want: figSpace + "admin"},
		{name: "U+3000 is kept", value: "admin" + ideoSpace, want: "admin" + ideoSpace},
		{name: "U+200B is kept", value: "admin" + zeroWidth, want: "admin" + zeroWidth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			a, err := e.parse(e.mint(e.response(func(r *saml2sptest.Response) {
				r.NameID = tc.value
				r.Attributes = []saml2sp.Attribute{idmAttr("uid", tc.value)}
			})))
			require.NoError(t, err)
			assert.Equal(t, tc.want, a.NameID)
			assert.Equal(t, []string{tc.want}, a.Attribute("uid"))
		})
	}
	for _, tc := range []struct {
		name string
		edit func(*saml2sptest.Response)
		want error
	}{
		{name: "Issuer with a trailing U+00A0 is another IdP",
			edit: func(r *saml2sptest.Response) { r.Issuer = testIdPEntityID + nbsp },
			want: saml2sp.ErrIssuer},
		{name: "Audience with a trailing U+3000 is another SP",
			edit: func(r *saml2sptest.Response) { r.Audience = testSPEntityID + ideoSpace },
			want: saml2sp.ErrAudience},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			_, err := e.parse(e.mint(e.response(tc.edit)))
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// TestUserIDLookalikesRefused: a user ID with a control, invisible or
// non-ASCII white space character is refused rather than trimmed or
// accepted; visible non-ASCII letters are kept exactly as sent.
func TestUserIDLookalikesRefused(t *testing.T) {
	m := saml2sp.AttributeMapping{UserID: []string{"uid"}, Email: []string{"mail"}, UserIDFromNameID: true}
	for _, tc := range []struct {
		name    string
		uid     string // "" : none, the persistent NameID is the user ID
		nameID  string
		want    string // "" : refused
		wantErr string // the attribute named as invalid
	}{
		{name: "trailing U+00A0", uid: "admin" + nbsp, wantErr: "uid"},
		{name: "leading U+2007", uid: figSpace + "admin", wantErr: "uid"},
		{name: "trailing U+3000", uid: "admin" + ideoSpace, wantErr: "uid"},
		{name: "U+200B inside", uid: "ad" + zeroWidth + "min", wantErr: "uid"},
		{name: "U+202E override", uid: rtlOverlay + "nimda", wantErr: "uid"},
		{name: "byte order mark", uid: "\ufeffadmin", wantErr: "uid"},
		{name: "NEL U+0085", uid: "admin\u0085", wantErr: "uid"},
		{name: "tab inside", uid: "ad\tmin", wantErr: "uid"},
		{name: "invalid UTF-8", uid: "admin\xff", wantErr: "uid"},
		{name: "persistent NameID with U+00A0", nameID: "admin" + nbsp, wantErr: "NameID"},
		{name: "ASCII white space around is trimmed", uid: " \tadmin\n ", want: "admin"},
		{name: "persistent NameID, XML white space trimmed", nameID: "\n pid-1 \n", want: "pid-1"},
		{name: "ASCII space inside is kept", uid: "CN=Alice Smith,O=Example", want: "CN=Alice Smith,O=Example"},
		{name: "fullwidth letters are kept, not folded", uid: "\uff41\uff44\uff4d\uff49\uff4e", want: "\uff41\uff44\uff4d\uff49\uff4e"},
		{name: "Kelvin sign is kept, not folded", uid: kelvin + "ate", want: kelvin + "ate"},
		{name: "Turkish dotted I is kept", uid: dottedI + "stanbul", want: dottedI + "stanbul"},
		{name: "other scripts are kept", uid: "\u30e6\u30fc\u30b6\u30fc", want: "\u30e6\u30fc\u30b6\u30fc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &saml2sp.Assertion{Issuer: testIdPEntityID, NameID: tc.nameID, NameIDFormat: idmPersistent,
				Attributes: []saml2sp.Attribute{idmAttr("mail", "alice@example.com")}}
			if tc.uid != "" {
				a.Attributes = append(a.Attributes, idmAttr("uid", tc.uid))
			}
			id, err := m.Identity(a)
			if tc.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, id.UserID)
				return
			}
			var ierr *saml2sp.IdentityError
			require.ErrorAs(t, err, &ierr)
			assert.Nil(t, id)
			assert.Empty(t, ierr.Missing)
			assert.Equal(t, map[string]string{"user ID": tc.wantErr}, ierr.Invalid)
			assert.Contains(t, err.Error(), `Invalid: user ID (the value of "`+tc.wantErr+`" holds a control, invisible or non-ASCII white space character).`)
			assert.NotContains(t, err.Error(), "admin", "the value stays out of the message")
		})
	}
	t.Run("a FriendlyName matches ignoring ASCII case only", func(t *testing.T) {
		a := &saml2sp.Assertion{Attributes: []saml2sp.Attribute{
			idmFriendly("urn:attacker", longS+"ub", "attacker"), // EqualFold("ſub", "sub") is true
			idmFriendly("urn:oid:1", "SUB", "real"),
			idmAttr("mail", "alice@example.com"),
		}}
		id, err := saml2sp.AttributeMapping{UserID: []string{"sub"}, Email: []string{"mail"}}.Identity(a)
		require.NoError(t, err)
		assert.Equal(t, "real", id.UserID)
	})
}

// TestEmailLookalikes: emails keep every non-ASCII character as sent, only
// the ASCII letters of the domain are lowercased, and white space or
// invisible characters make the email invalid.
func TestEmailLookalikes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		want  string // "" : refused
	}{
		{name: "ASCII domain lowercased, local part kept", value: "Bob@EXAMPLE.com", want: "Bob@example.com"},
		{name: "Kelvin sign in the domain is not folded to k", value: "bob@" + kelvin + "elvin.example", want: "bob@" + kelvin + "elvin.example"},
		{name: "Turkish dotted I is not lowered to i plus a dot", value: "bob@" + dottedI + "NFO.example", want: "bob@" + dottedI + "nfo.example"},
		{name: "fullwidth letters are kept", value: "\uff41dmin@example.com", want: "\uff41dmin@example.com"},
		{name: "XML white space around is trimmed", value: "\n bob@example.com\t", want: "bob@example.com"},
		{name: "trailing U+00A0", value: "admin@example.com" + nbsp},
		{name: "U+2007 in the local part", value: "admin" + figSpace + "@example.com"},
		{name: "leading U+3000", value: ideoSpace + "admin@example.com"},
		{name: "U+200B in the domain", value: "admin@exa" + zeroWidth + "mple.com"},
		{name: "U+202E override", value: "admin@" + rtlOverlay + "moc.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &saml2sp.Assertion{Attributes: []saml2sp.Attribute{idmAttr("uid", "u1"), idmAttr("mail", tc.value)}}
			id, err := saml2sp.AttributeMapping{UserID: []string{"uid"}, Email: []string{"mail"}}.Identity(a)
			if tc.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, id.Email)
				return
			}
			var ierr *saml2sp.IdentityError
			require.ErrorAs(t, err, &ierr)
			assert.Equal(t, map[string]string{"email": "mail"}, ierr.Invalid)
		})
	}
}

func TestEmailKey(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{name: "ASCII letters lowercased", in: "Bob@Example.COM", want: "bob@example.com"},
		{name: "Kelvin sign kept", in: kelvin + "ATE@example.com", want: kelvin + "ate@example.com"},
		{name: "Turkish dotted I kept", in: dottedI + "NFO@example.com", want: dottedI + "nfo@example.com"},
		{name: "fullwidth capitals kept", in: "\uff21dmin@example.com", want: "\uff21dmin@example.com"},
		{name: "already lowercase", in: "bob@example.com", want: "bob@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, saml2sp.EmailKey(tc.in)) })
	}
}

// TestProvisionerEmailLookalikes: an asserted email that only Unicode case
// folding would match to an existing account is another account: the
// Provisioner neither links it nor lets a verified domain admit it.
func TestProvisionerEmailLookalikes(t *testing.T) {
	always := saml2sp.Policy{EmailLinking: saml2sp.LinkAlways}
	for _, tc := range []struct {
		name     string
		policy   saml2sp.Policy
		existing string
		asserted string
		want     string // "linked", "new account" or "exists"
	}{
		{name: "ASCII case still matches", policy: always, existing: "kate@example.com", asserted: "KATE@Example.com", want: "linked"},
		{name: "Kelvin sign in the local part", policy: always, existing: "kate@example.com", asserted: kelvin + "ate@example.com", want: "new account"},
		{name: "Kelvin sign in the domain", policy: always, existing: "bob@kelvin.example", asserted: "bob@" + kelvin + "elvin.example", want: "new account"},
		{name: "Turkish dotted I", policy: always, existing: "info@example.com", asserted: dottedI + "NFO@example.com", want: "new account"},
		{name: "fullwidth letter", policy: always, existing: "admin@example.com", asserted: "\uff41dmin@example.com", want: "new account"},
		{name: "long s", policy: always, existing: "sam@example.com", asserted: longS + "am@example.com", want: "new account"},
		{name: "verified domain does not admit its Kelvin-sign look-alike",
			policy:   saml2sp.Policy{EmailLinking: saml2sp.LinkVerifiedDomains, VerifiedDomains: []string{"kelvin.example"}},
			existing: "bob@" + kelvin + "elvin.example", asserted: "bob@" + kelvin + "elvin.example", want: "exists"},
		{name: "verified domain, ASCII case differs",
			policy:   saml2sp.Policy{EmailLinking: saml2sp.LinkVerifiedDomains, VerifiedDomains: []string{"Kelvin.EXAMPLE"}},
			existing: "bob@kelvin.example", asserted: "bob@KELVIN.example", want: "linked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &saml2sp.MemoryUserStore{}
			victim := s.Add(saml2sp.User{ID: "acct-victim", Username: "victim", Email: tc.existing, Role: "owner"})
			p := &saml2sp.Provisioner{Mapping: jitMapping, Policy: tc.policy, Store: s}
			u, _, err := p.Login(context.Background(), jitAssertion("idp-user-9", tc.asserted))
			switch tc.want {
			case "linked":
				require.NoError(t, err)
				assert.Equal(t, victim.ID, u.ID)
			case "new account":
				require.NoError(t, err)
				assert.NotEqual(t, victim.ID, u.ID, "a look-alike email must not reach the existing account")
				assert.Len(t, s.Users(), 2)
			case "exists":
				require.ErrorIs(t, err, saml2sp.ErrAccountExists)
				linked, ferr := s.FindByLink(context.Background(), testIdPEntityID, "idp-user-9")
				require.NoError(t, ferr)
				assert.Nil(t, linked)
			}
		})
	}
}

func TestMemoryUserStoreEmailRule(t *testing.T) {
	s := &saml2sp.MemoryUserStore{}
	s.Add(saml2sp.User{ID: "kate", Email: "kate@example.com"})
	for _, tc := range []struct {
		name  string
		email string
		found bool
	}{
		{name: "exact", email: "kate@example.com", found: true},
		{name: "ASCII case", email: "Kate@EXAMPLE.com", found: true},
		{name: "Kelvin sign", email: kelvin + "ate@example.com"},
		{name: "trailing U+00A0", email: "kate@example.com" + nbsp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := s.FindByEmail(context.Background(), tc.email)
			require.NoError(t, err)
			assert.Equal(t, tc.found, u != nil)
		})
	}
}

// TestGroupsKeepUnicodeSpaces: a group named "admins" plus a no-break
// space is not "admins" to Policy.AllowGroups.
func TestGroupsKeepUnicodeSpaces(t *testing.T) {
	for _, tc := range []struct {
		name   string
		group  string
		denied bool
	}{
		{name: "XML white space around is trimmed", group: "\n admins\t", denied: false},
		{name: "trailing U+00A0", group: "admins" + nbsp, denied: true},
		{name: "leading U+3000", group: ideoSpace + "admins", denied: true},
		{name: "trailing U+2007", group: "admins" + figSpace, denied: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &saml2sp.Provisioner{Mapping: jitMapping, Policy: saml2sp.Policy{AllowGroups: []string{"admins"}}, Store: &saml2sp.MemoryUserStore{}}
			_, _, err := p.Login(context.Background(), jitAssertion("u1", "u1@example.com", idmAttr("groups", tc.group)))
			if tc.denied {
				require.ErrorIs(t, err, saml2sp.ErrAccessDenied)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestMappingPresetIgnoresASCIICaseOnly(t *testing.T) {
	_, ok := saml2sp.MappingPreset(" OKTA ")
	assert.True(t, ok)
	_, ok = saml2sp.MappingPreset("o" + kelvin + "ta")
	assert.False(t, ok, "the Kelvin sign is not k")
}
