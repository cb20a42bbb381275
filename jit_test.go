package saml2sp_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
)

// jitMapping is the mapping of the provisioning tests.
var jitMapping = saml2sp.AttributeMapping{
	UserID:   []string{"uid"},
	Email:    []string{"mail"},
	Username: []string{"username"},
	Groups:   []string{"groups"},
}

// jitAssertion is a verified login of IdP user uid with this email.
func jitAssertion(uid, email string, attrs ...saml2sp.Attribute) *saml2sp.Assertion {
	return &saml2sp.Assertion{
		Issuer:       testIdPEntityID,
		NameID:       "_transient",
		NameIDFormat: idmTransient,
		Attributes:   append([]saml2sp.Attribute{idmAttr("uid", uid), idmAttr("mail", email)}, attrs...),
	}
}

// spyStore records the UserStore calls and fails the one named by fail.
type spyStore struct {
	saml2sp.MemoryUserStore
	mu        sync.Mutex
	calls     []string
	fail      string
	allTaken  bool
	createNil bool
}

var errBoom = errors.New("database is down")

func (s *spyStore) call(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, name)
	if s.fail == name {
		return errBoom
	}
	return nil
}

func (s *spyStore) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *spyStore) FindByLink(ctx context.Context, idp, userID string) (*saml2sp.User, error) {
	if err := s.call("FindByLink"); err != nil {
		return nil, err
	}
	return s.MemoryUserStore.FindByLink(ctx, idp, userID)
}

func (s *spyStore) FindByEmail(ctx context.Context, email string) (*saml2sp.User, error) {
	if err := s.call("FindByEmail"); err != nil {
		return nil, err
	}
	return s.MemoryUserStore.FindByEmail(ctx, email)
}

func (s *spyStore) Create(ctx context.Context, id *saml2sp.Identity, username, role string) (*saml2sp.User, error) {
	if err := s.call("Create"); err != nil {
		return nil, err
	}
	if s.createNil {
		return nil, nil
	}
	return s.MemoryUserStore.Create(ctx, id, username, role)
}

func (s *spyStore) Link(ctx context.Context, user *saml2sp.User, idp, userID string) error {
	if err := s.call("Link"); err != nil {
		return err
	}
	return s.MemoryUserStore.Link(ctx, user, idp, userID)
}

func (s *spyStore) UsernameTaken(ctx context.Context, username string) (bool, error) {
	if err := s.call("UsernameTaken"); err != nil {
		return false, err
	}
	if s.allTaken {
		return true, nil
	}
	return s.MemoryUserStore.UsernameTaken(ctx, username)
}

func (s *spyStore) UpdateProfile(ctx context.Context, user *saml2sp.User, id *saml2sp.Identity) error {
	if err := s.call("UpdateProfile"); err != nil {
		return err
	}
	return s.MemoryUserStore.UpdateProfile(ctx, user, id)
}

// linkedAccount adds an account linked to IdP user uid.
func linkedAccount(t *testing.T, s *spyStore, uid string, u saml2sp.User) saml2sp.User {
	t.Helper()
	u = s.Add(u)
	require.NoError(t, s.MemoryUserStore.Link(context.Background(), &u, testIdPEntityID, uid))
	return u
}

func TestProvisionerSignup(t *testing.T) {
	tests := []struct {
		name      string
		policy    saml2sp.Policy
		setup     func(t *testing.T, s *spyStore)
		assertion *saml2sp.Assertion
		wantErr   error
		wantUser  *saml2sp.User
		wantCalls []string
	}{
		{
			name:      "signup allowed: a new member, linked",
			assertion: jitAssertion("u1", "alice@example.com"),
			wantUser:  &saml2sp.User{ID: "u1", Username: "alice", Email: "alice@example.com", Role: "member"},
			wantCalls: []string{"FindByLink", "FindByEmail", "UsernameTaken", "Create", "Link"},
		},
		{
			name:      "default role from the policy",
			policy:    saml2sp.Policy{DefaultRole: "viewer"},
			assertion: jitAssertion("u1", "alice@example.com"),
			wantUser:  &saml2sp.User{ID: "u1", Username: "alice", Email: "alice@example.com", Role: "viewer"},
			wantCalls: []string{"FindByLink", "FindByEmail", "UsernameTaken", "Create", "Link"},
		},
		{
			name:      "signup disabled: a new user is refused",
			policy:    saml2sp.Policy{DisableSignup: true},
			assertion: jitAssertion("u1", "alice@example.com"),
			wantErr:   saml2sp.ErrSignupDisabled,
			wantCalls: []string{"FindByLink", "FindByEmail"},
		},
		{
			name:   "signup disabled: a linked user logs in",
			policy: saml2sp.Policy{DisableSignup: true},
			setup: func(t *testing.T, s *spyStore) {
				linkedAccount(t, s, "u1", saml2sp.User{ID: "acct-1", Username: "alice", Email: "alice@example.com", Role: "admin"})
			},
			assertion: jitAssertion("u1", "alice@example.com"),
			wantUser:  &saml2sp.User{ID: "acct-1", Username: "alice", Email: "alice@example.com", Role: "admin"},
			wantCalls: []string{"FindByLink"},
		},
		{
			name:   "signup disabled: an existing account is linked when email linking allows",
			policy: saml2sp.Policy{DisableSignup: true, EmailLinking: saml2sp.LinkAlways},
			setup: func(t *testing.T, s *spyStore) {
				s.Add(saml2sp.User{ID: "acct-1", Username: "alice", Email: "alice@example.com", Role: "admin"})
			},
			assertion: jitAssertion("u1", "alice@example.com"),
			wantUser:  &saml2sp.User{ID: "acct-1", Username: "alice", Email: "alice@example.com", Role: "admin"},
			wantCalls: []string{"FindByLink", "FindByEmail", "Link"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &spyStore{}
			if tc.setup != nil {
				tc.setup(t, s)
			}
			p := &saml2sp.Provisioner{Mapping: jitMapping, Policy: tc.policy, Store: s}
			u, id, err := p.Login(context.Background(), tc.assertion)
			assert.Equal(t, tc.wantCalls, s.Calls())
			require.NotNil(t, id, "the identity comes back even on policy errors")
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, u)
				assert.Empty(t, s.Users(), "no account created")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantUser, u)
			linked, err := s.MemoryUserStore.FindByLink(context.Background(), testIdPEntityID, "u1")
			require.NoError(t, err)
			assert.Equal(t, tc.wantUser, linked, "the account is linked to (IdP, user ID)")

			again, _, err := p.Login(context.Background(), tc.assertion)
			require.NoError(t, err)
			assert.Equal(t, u.ID, again.ID, "the next login finds the same account")
			assert.Len(t, s.Users(), 1)
		})
	}
}

func TestProvisionerGroups(t *testing.T) {
	groups := func(v ...string) saml2sp.Attribute { return idmAttr("groups", v...) }
	tests := []struct {
		name    string
		mapping *saml2sp.AttributeMapping
		policy  saml2sp.Policy
		attrs   []saml2sp.Attribute
		denied  bool
	}{
		{name: "nil admits everyone", policy: saml2sp.Policy{AllowGroups: nil}},
		{name: "nil admits users without groups too", policy: saml2sp.Policy{}, attrs: []saml2sp.Attribute{groups("eng")}},
		{name: "empty admits no one", policy: saml2sp.Policy{AllowGroups: []string{}}, attrs: []saml2sp.Attribute{groups("eng")}, denied: true},
		{name: "membership admits", policy: saml2sp.Policy{AllowGroups: []string{"ops", "eng"}}, attrs: []saml2sp.Attribute{groups("sales", "eng")}},
		{name: "no membership denies", policy: saml2sp.Policy{AllowGroups: []string{"eng"}}, attrs: []saml2sp.Attribute{groups("sales")}, denied: true},
		{name: "no groups sent denies", policy: saml2sp.Policy{AllowGroups: []string{"eng"}}, denied: true},
		{name: "case-sensitive", policy: saml2sp.Policy{AllowGroups: []string{"eng"}}, attrs: []saml2sp.Attribute{groups("Eng", "ENG")}, denied: true},
		{name: "exact, not a prefix", policy: saml2sp.Policy{AllowGroups: []string{"eng"}}, attrs: []saml2sp.Attribute{groups("engineering")}, denied: true},
		{
			name:   "GroupsAttributeName overrides the mapping: admitted",
			policy: saml2sp.Policy{AllowGroups: []string{"admin"}, GroupsAttributeName: "roles"},
			attrs:  []saml2sp.Attribute{groups("eng"), idmAttr("roles", "admin")},
		},
		{
			name:   "GroupsAttributeName overrides the mapping: denied",
			policy: saml2sp.Policy{AllowGroups: []string{"eng"}, GroupsAttributeName: "roles"},
			attrs:  []saml2sp.Attribute{groups("eng"), idmAttr("roles", "admin")},
			denied: true,
		},
		{
			name:    "default attribute \"groups\" when the mapping has no Groups",
			mapping: &saml2sp.AttributeMapping{UserID: []string{"uid"}, Email: []string{"mail"}},
			policy:  saml2sp.Policy{AllowGroups: []string{"eng"}},
			attrs:   []saml2sp.Attribute{groups("eng")},
		},
		{
			name:    "the mapping's Groups candidates when it has some",
			mapping: &saml2sp.AttributeMapping{UserID: []string{"uid"}, Email: []string{"mail"}, Groups: []string{"memberOf"}},
			policy:  saml2sp.Policy{AllowGroups: []string{"eng"}},
			attrs:   []saml2sp.Attribute{groups("eng"), idmAttr("memberOf", "sales")},
			denied:  true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := jitMapping
			if tc.mapping != nil {
				m = *tc.mapping
			}
			s := &spyStore{}
			p := &saml2sp.Provisioner{Mapping: m, Policy: tc.policy, Store: s}
			u, id, err := p.Login(context.Background(), jitAssertion("u1", "alice@example.com", tc.attrs...))
			if !tc.denied {
				require.NoError(t, err)
				assert.NotNil(t, u)
				return
			}
			require.ErrorIs(t, err, saml2sp.ErrAccessDenied)
			assert.Nil(t, u)
			assert.NotNil(t, id)
			assert.Empty(t, s.Calls(), "denied before the store is asked")
			for _, a := range tc.attrs {
				for _, v := range a.Values {
					if !slices.Contains(tc.policy.AllowGroups, v) {
						assert.NotContains(t, err.Error(), `"`+v+`"`, "the user's groups are counted, not listed")
					}
				}
			}
		})
	}

	t.Run("a linked user leaving the group is denied", func(t *testing.T) {
		s := &spyStore{}
		linkedAccount(t, s, "u1", saml2sp.User{Username: "alice", Email: "alice@example.com"})
		p := &saml2sp.Provisioner{Mapping: jitMapping, Policy: saml2sp.Policy{AllowGroups: []string{"eng"}}, Store: s}
		_, _, err := p.Login(context.Background(), jitAssertion("u1", "alice@example.com", groups("sales")))
		require.ErrorIs(t, err, saml2sp.ErrAccessDenied)
		_, _, err = p.Login(context.Background(), jitAssertion("u1", "alice@example.com", groups("eng")))
		require.NoError(t, err)
	})
}

func TestProvisionerUsernames(t *testing.T) {
	tests := []struct {
		name     string
		policy   saml2sp.Policy
		existing []string
		email    string
		uid      string
		attrs    []saml2sp.Attribute
		want     string
	}{
		{name: "email local part", email: "alice@example.com", want: "alice"},
		{name: "collision: second", existing: []string{"alice"}, email: "alice@example.com", want: "alice-2"},
		{name: "collision: third", existing: []string{"alice", "alice-2"}, email: "alice@example.com", want: "alice-3"},
		{name: "collision: first free, not count+1", existing: []string{"alice", "alice-3"}, email: "alice@example.com", want: "alice-2"},
		{name: "mapped username wins over email", attrs: []saml2sp.Attribute{idmAttr("username", "asmith")}, want: "asmith"},
		{name: "lowercase, spaces to dashes", attrs: []saml2sp.Attribute{idmAttr("username", "Alice  Smith")}, want: "alice-smith"},
		{name: "accented Latin folded", attrs: []saml2sp.Attribute{idmAttr("username", "José García-Ñúñez")}, want: "jose-garcia-nunez"},
		{name: "runs of other characters collapse", attrs: []saml2sp.Attribute{idmAttr("username", "a!!b -- c")}, want: "a-b-c"},
		{name: "dots and underscores kept inside, trimmed outside", attrs: []saml2sp.Attribute{idmAttr("username", "._a.b_c._")}, want: "a.b_c"},
		{name: "Windows domain dropped", attrs: []saml2sp.Attribute{idmAttr("username", `CORP\JSmith`)}, want: "jsmith"},
		{name: "email-like username: local part", attrs: []saml2sp.Attribute{idmAttr("username", "Bob.Jones@corp.example.com")}, want: "bob.jones"},
		{name: "non-Latin username falls back to the email", email: "xiao.long@example.com", attrs: []saml2sp.Attribute{idmAttr("username", "李小龙")}, want: "xiao.long"},
		{name: "then to the user ID", email: "李@example.com", uid: "U-1234", attrs: []saml2sp.Attribute{idmAttr("username", "   ")}, want: "u-1234"},
		{name: "never empty", email: "李@example.com", uid: "小龙", want: "user"},
		{name: "at most 32 characters", attrs: []saml2sp.Attribute{idmAttr("username", strings.Repeat("abcdefghij", 4))}, want: "abcdefghijabcdefghijabcdefghijab"},
		{
			name:     "suffix keeps 32 characters",
			existing: []string{"abcdefghijabcdefghijabcdefghijab"},
			attrs:    []saml2sp.Attribute{idmAttr("username", strings.Repeat("abcdefghij", 4))},
			want:     "abcdefghijabcdefghijabcdefghij-2",
		},
		{
			name:   "policy attribute names, in order",
			policy: saml2sp.Policy{UsernameAttributeNames: []string{"nickname", "login"}},
			attrs:  []saml2sp.Attribute{idmAttr("login", "asmith"), idmAttr("nickname", "ally"), idmAttr("username", "mapped")},
			want:   "ally",
		},
		{
			name:   "policy attribute names replace the mapping's",
			policy: saml2sp.Policy{UsernameAttributeNames: []string{"nickname"}},
			attrs:  []saml2sp.Attribute{idmAttr("username", "mapped")},
			want:   "alice",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &spyStore{}
			for _, name := range tc.existing {
				s.Add(saml2sp.User{Username: name, Email: name + "@other.example"})
			}
			email, uid := tc.email, tc.uid
			if email == "" {
				email = "alice@example.com"
			}
			if uid == "" {
				uid = "u1"
			}
			p := &saml2sp.Provisioner{Mapping: jitMapping, Policy: tc.policy, Store: s}
			u, _, err := p.Login(context.Background(), jitAssertion(uid, email, tc.attrs...))
			require.NoError(t, err)
			assert.Equal(t, tc.want, u.Username)
			assert.LessOrEqual(t, len(u.Username), 32)
		})
	}

	t.Run("gives up after 100 tries", func(t *testing.T) {
		s := &spyStore{allTaken: true}
		p := &saml2sp.Provisioner{Mapping: jitMapping, Store: s}
		u, _, err := p.Login(context.Background(), jitAssertion("u1", "alice@example.com"))
		require.Error(t, err)
		assert.Nil(t, u)
		assert.Contains(t, err.Error(), `no free username: "alice" and "alice"-2 to "alice"-100 are all taken`)
		tries := 0
		for _, c := range s.Calls() {
			if c == "UsernameTaken" {
				tries++
			}
		}
		assert.Equal(t, 100, tries)
		assert.NotContains(t, s.Calls(), "Create")
	})
}

func TestProvisionerEmailLinking(t *testing.T) {
	tests := []struct {
		name     string
		policy   saml2sp.Policy
		existing string // email of the unlinked account
		asserted string // email the IdP asserts
		linked   bool
	}{
		{name: "never (the default)", existing: "bob@example.com", asserted: "bob@example.com"},
		{name: "never, whatever the domains", policy: saml2sp.Policy{VerifiedDomains: []string{"example.com"}}, existing: "bob@example.com", asserted: "bob@example.com"},
		{name: "always", policy: saml2sp.Policy{EmailLinking: saml2sp.LinkAlways}, existing: "bob@example.com", asserted: "bob@example.com", linked: true},
		{name: "always, email case differs", policy: saml2sp.Policy{EmailLinking: saml2sp.LinkAlways}, existing: "Bob@Example.com", asserted: "bob@example.com", linked: true},
		{
			name:     "verified domain",
			policy:   saml2sp.Policy{EmailLinking: saml2sp.LinkVerifiedDomains, VerifiedDomains: []string{"example.com"}},
			existing: "bob@example.com", asserted: "bob@example.com", linked: true,
		},
		{
			name:     "verified domain, case differs",
			policy:   saml2sp.Policy{EmailLinking: saml2sp.LinkVerifiedDomains, VerifiedDomains: []string{"Example.COM"}},
			existing: "bob@example.com", asserted: "bob@EXAMPLE.com", linked: true,
		},
		{
			name:     "unverified domain",
			policy:   saml2sp.Policy{EmailLinking: saml2sp.LinkVerifiedDomains, VerifiedDomains: []string{"example.org"}},
			existing: "bob@example.com", asserted: "bob@example.com",
		},
		{
			name:     "subdomain of a verified domain",
			policy:   saml2sp.Policy{EmailLinking: saml2sp.LinkVerifiedDomains, VerifiedDomains: []string{"example.com"}},
			existing: "bob@eng.example.com", asserted: "bob@eng.example.com",
		},
		{
			name:     "parent of a verified domain",
			policy:   saml2sp.Policy{EmailLinking: saml2sp.LinkVerifiedDomains, VerifiedDomains: []string{"eng.example.com"}},
			existing: "bob@example.com", asserted: "bob@example.com",
		},
		{
			name:     "suffix look-alike",
			policy:   saml2sp.Policy{EmailLinking: saml2sp.LinkVerifiedDomains, VerifiedDomains: []string{"example.com"}},
			existing: "bob@evilexample.com", asserted: "bob@evilexample.com",
		},
		{
			name:     "no verified domains",
			policy:   saml2sp.Policy{EmailLinking: saml2sp.LinkVerifiedDomains},
			existing: "bob@example.com", asserted: "bob@example.com",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &spyStore{}
			victim := s.Add(saml2sp.User{ID: "acct-bob", Username: "bob", Email: tc.existing, Role: "owner"})
			p := &saml2sp.Provisioner{Mapping: jitMapping, Policy: tc.policy, Store: s}
			u, _, err := p.Login(context.Background(), jitAssertion("idp-user-9", tc.asserted))
			linked, ferr := s.MemoryUserStore.FindByLink(context.Background(), testIdPEntityID, "idp-user-9")
			require.NoError(t, ferr)
			if tc.linked {
				require.NoError(t, err)
				assert.Equal(t, victim.ID, u.ID)
				require.NotNil(t, linked)
				assert.Equal(t, victim.ID, linked.ID)
				return
			}
			require.ErrorIs(t, err, saml2sp.ErrAccountExists)
			var aerr *saml2sp.AccountExistsError
			require.ErrorAs(t, err, &aerr)
			assert.Equal(t, saml2sp.AccountExistsError{IdP: testIdPEntityID, UserID: "idp-user-9", Email: strings.ToLower(tc.asserted), Linking: tc.policy.EmailLinking}, *aerr)
			assert.Nil(t, u)
			assert.Nil(t, linked, "no link made")
			assert.Len(t, s.Users(), 1, "no duplicate account either")
			assert.NotContains(t, err.Error(), tc.asserted, "the email stays out of the message")
			assert.Contains(t, err.Error(), "an admin can link the account")
		})
	}

	t.Run("LinkNever is the zero value", func(t *testing.T) {
		assert.Equal(t, saml2sp.LinkNever, saml2sp.Policy{}.EmailLinking)
		assert.Equal(t, "LinkVerifiedDomains", saml2sp.LinkVerifiedDomains.String())
		assert.Equal(t, "EmailLinking(7)", saml2sp.EmailLinking(7).String())
	})
}

func TestProvisionerProfileUpdates(t *testing.T) {
	tests := []struct {
		name          string
		updateProfile bool
		wantEmail     string
		wantCalls     []string
	}{
		{name: "changed email at the IdP updates the profile", updateProfile: true, wantEmail: "alice.new@example.com", wantCalls: []string{"FindByLink", "UpdateProfile"}},
		{name: "UpdateProfile off keeps the profile", updateProfile: false, wantEmail: "alice@example.com", wantCalls: []string{"FindByLink"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &spyStore{}
			p := &saml2sp.Provisioner{Mapping: jitMapping, Policy: saml2sp.Policy{UpdateProfile: tc.updateProfile}, Store: s}
			first, _, err := p.Login(context.Background(), jitAssertion("u1", "alice@example.com"))
			require.NoError(t, err)
			// Someone else now owns the old address; the link still wins.
			s.Add(saml2sp.User{ID: "acct-other", Username: "other", Email: "alice.new@example.com"})

			s.calls = nil
			again, _, err := p.Login(context.Background(), jitAssertion("u1", "alice.new@example.com"))
			require.NoError(t, err)
			assert.Equal(t, first.ID, again.ID, "same account, not a duplicate")
			assert.Equal(t, tc.wantEmail, again.Email)
			assert.Equal(t, tc.wantCalls, s.Calls())
			assert.Len(t, s.Users(), 2)
		})
	}

	t.Run("an email-linked login updates the profile too", func(t *testing.T) {
		s := &spyStore{}
		s.Add(saml2sp.User{ID: "acct-1", Username: "alice", Email: "Alice@Example.com"})
		p := &saml2sp.Provisioner{Mapping: jitMapping, Policy: saml2sp.Policy{EmailLinking: saml2sp.LinkAlways, UpdateProfile: true}, Store: s}
		u, _, err := p.Login(context.Background(), jitAssertion("u1", "alice@example.com"))
		require.NoError(t, err)
		assert.Equal(t, "alice@example.com", u.Email)
		assert.Equal(t, []string{"FindByLink", "FindByEmail", "Link", "UpdateProfile"}, s.Calls())
	})
}

func TestProvisionerStoreErrorsAbort(t *testing.T) {
	tests := []struct {
		fail      string
		setup     func(t *testing.T, s *spyStore)
		policy    saml2sp.Policy
		wantCalls []string
	}{
		{fail: "FindByLink", wantCalls: []string{"FindByLink"}},
		{fail: "FindByEmail", wantCalls: []string{"FindByLink", "FindByEmail"}},
		{fail: "UsernameTaken", wantCalls: []string{"FindByLink", "FindByEmail", "UsernameTaken"}},
		{fail: "Create", wantCalls: []string{"FindByLink", "FindByEmail", "UsernameTaken", "Create"}},
		{fail: "Link", wantCalls: []string{"FindByLink", "FindByEmail", "UsernameTaken", "Create", "Link"}},
		{
			fail:      "Link",
			policy:    saml2sp.Policy{EmailLinking: saml2sp.LinkAlways, UpdateProfile: true},
			setup:     func(t *testing.T, s *spyStore) { s.Add(saml2sp.User{Username: "alice", Email: "alice@example.com"}) },
			wantCalls: []string{"FindByLink", "FindByEmail", "Link"},
		},
		{
			fail:      "UpdateProfile",
			policy:    saml2sp.Policy{UpdateProfile: true},
			setup:     func(t *testing.T, s *spyStore) { linkedAccount(t, s, "u1", saml2sp.User{Username: "alice"}) },
			wantCalls: []string{"FindByLink", "UpdateProfile"},
		},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %v", tc.fail, tc.wantCalls), func(t *testing.T) {
			s := &spyStore{}
			if tc.setup != nil {
				tc.setup(t, s)
			}
			s.fail = tc.fail
			p := &saml2sp.Provisioner{Mapping: jitMapping, Policy: tc.policy, Store: s}
			u, _, err := p.Login(context.Background(), jitAssertion("u1", "alice@example.com"))
			require.ErrorIs(t, err, errBoom)
			assert.Nil(t, u, "no user on a store error")
			assert.True(t, strings.HasPrefix(err.Error(), "saml2sp: user store "+tc.fail+": "), err.Error())
			assert.Equal(t, tc.wantCalls, s.Calls(), "nothing runs after the failure")
		})
	}

	t.Run("Create returning no user", func(t *testing.T) {
		s := &spyStore{createNil: true}
		p := &saml2sp.Provisioner{Mapping: jitMapping, Store: s}
		u, _, err := p.Login(context.Background(), jitAssertion("u1", "alice@example.com"))
		require.Error(t, err)
		assert.Nil(t, u)
		assert.NotContains(t, s.Calls(), "Link")
	})
}

func TestProvisionerRefusesBadInput(t *testing.T) {
	t.Run("identity error, store untouched", func(t *testing.T) {
		s := &spyStore{}
		p := &saml2sp.Provisioner{Mapping: jitMapping, Store: s}
		u, id, err := p.Login(context.Background(), &saml2sp.Assertion{Issuer: testIdPEntityID, NameID: "x", NameIDFormat: idmTransient})
		require.ErrorIs(t, err, saml2sp.ErrIdentity)
		assert.Nil(t, u)
		assert.Nil(t, id)
		assert.Empty(t, s.Calls())
	})
	t.Run("no store", func(t *testing.T) {
		_, _, err := (&saml2sp.Provisioner{Mapping: jitMapping}).Login(context.Background(), jitAssertion("u1", "a@example.com"))
		require.ErrorIs(t, err, saml2sp.ErrConfig)
	})
	t.Run("no assertion", func(t *testing.T) {
		_, _, err := (&saml2sp.Provisioner{Mapping: jitMapping, Store: &spyStore{}}).Login(context.Background(), nil)
		require.ErrorIs(t, err, saml2sp.ErrConfig)
	})
}

func TestMemoryUserStoreConcurrentLogins(t *testing.T) {
	s := &saml2sp.MemoryUserStore{}
	p := &saml2sp.Provisioner{Mapping: jitMapping, Store: s}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, _, err := p.Login(context.Background(), jitAssertion(fmt.Sprintf("u%d", i), fmt.Sprintf("user%d@example.com", i)))
			assert.NoError(t, err)
		}(i)
	}
	wg.Wait()
	users := s.Users()
	assert.Len(t, users, 20)
	seen := map[string]bool{}
	for _, u := range users {
		assert.False(t, seen[u.ID], "unique IDs")
		seen[u.ID] = true
	}
}

func TestMemoryUserStoreLinkRules(t *testing.T) {
	ctx := context.Background()
	s := &saml2sp.MemoryUserStore{}
	a := s.Add(saml2sp.User{Username: "a"})
	b := s.Add(saml2sp.User{Username: "b"})
	require.NoError(t, s.Link(ctx, &a, "idp", "x"))
	require.NoError(t, s.Link(ctx, &a, "idp", "x"), "linking again is fine")
	require.Error(t, s.Link(ctx, &b, "idp", "x"), "one IdP user, one account")
	require.Error(t, s.Link(ctx, &saml2sp.User{ID: "ghost"}, "idp", "y"))
	_, err := s.Create(ctx, &saml2sp.Identity{Email: "a@example.com"}, "a", "member")
	require.Error(t, err, "Create enforces unique usernames")
}
