package saml2sp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Provisioning failures. Provisioner.Login returns errors that match one of
// these with errors.Is, or ErrIdentity, or wrap the UserStore's error.
var (
	// ErrAccessDenied: Policy.AllowGroups does not admit the user.
	ErrAccessDenied = errors.New("saml2sp: access denied by the group policy")
	// ErrSignupDisabled: the user has no account and Policy.DisableSignup
	// forbids creating one.
	ErrSignupDisabled = errors.New("saml2sp: signup is disabled")
	// ErrAccountExists: an account with the asserted email exists, is not
	// linked to this identity, and Policy.EmailLinking does not allow
	// linking it. The error is an *AccountExistsError.
	ErrAccountExists = errors.New("saml2sp: an account with this email already exists")
)

// UserStore is the app's user database, as Provisioner needs it. Any error
// aborts the login and is returned wrapped. MemoryUserStore is a small
// implementation for tests and examples.
//
// A store must compare identities the way Identity documents: links byte
// for byte, emails by EmailKey. A looser comparison in the database (a
// case-insensitive collation, Unicode lower(), trimming) lets one IdP user
// reach another's account.
type UserStore interface {
	// FindByLink returns the account linked to the IdP's user ID, or nil,
	// nil when there is none. idp and userID must match exactly, byte for
	// byte: no case folding, trimming or Unicode normalization.
	FindByLink(ctx context.Context, idp, userID string) (*User, error)
	// FindByEmail returns the account with this email, or nil, nil. Emails
	// match when their EmailKey is equal: ASCII letters ignoring case,
	// every other character exactly.
	FindByEmail(ctx context.Context, email string) (*User, error)
	// Create creates an account for a new user with this (already unique)
	// username and role. It should fail if the username was taken in the
	// meantime. Login calls Link right after Create; a store may record
	// the link (id.IdP, id.UserID) in Create already, in the same
	// transaction, so that a failed Link cannot leave an unlinked account.
	Create(ctx context.Context, id *Identity, username, role string) (*User, error)
	// Link records that the IdP's user ID belongs to user. Linking the
	// same pair to the same user again is not an error.
	Link(ctx context.Context, user *User, idp, userID string) error
	// UsernameTaken reports whether a username is in use. A store can
	// also answer true for reserved names ("admin", "root"...).
	UsernameTaken(ctx context.Context, username string) (bool, error)
	// UpdateProfile copies the IdP's current profile (email, names,
	// groups) to the account, and may refresh *user. Login calls it on
	// every login of a linked user when Policy.UpdateProfile is set; it is
	// also the place to record the last login time.
	UpdateProfile(ctx context.Context, user *User, id *Identity) error
}

// User is the app's own account, as much of it as Provisioner needs.
type User struct {
	// ID is the app's primary key of the account.
	ID string
	// Username is unique in the app.
	Username string
	// Email as last known to the app.
	Email string
	// Role in the app ("member", "admin"...).
	Role string
}

// EmailLinking says whether an SSO login may take over an existing account
// that has the same email but is not linked to this IdP's user ID yet.
//
// The threat: the email is whatever the IdP asserts. Anyone who controls
// an IdP that the app trusts (a customer's tenant in a multi-tenant app, a
// misconfigured or compromised IdP, a directory where users or admins can
// set their own mail attribute) can assert the email of someone else's
// account, and with linking that someone's account is theirs. That is why
// LinkNever is the default: the user then signs in another way and the app
// links the account (UserStore.Link), or an admin links it.
type EmailLinking int

const (
	// LinkNever refuses the login with ErrAccountExists. The safe default.
	LinkNever EmailLinking = iota
	// LinkVerifiedDomains links only when the email's domain is one of
	// Policy.VerifiedDomains: domains the app has verified this IdP's
	// owner controls (by a DNS record, say). The comparison ignores ASCII
	// case only and is otherwise exact: example.com does not admit
	// eng.example.com, nor a domain spelled with the Kelvin sign or
	// fullwidth letters.
	LinkVerifiedDomains
	// LinkAlways links whenever the email matches. Only for an IdP that
	// the app's operator runs and that alone asserts these addresses.
	LinkAlways
)

// String returns the constant's name.
func (l EmailLinking) String() string {
	switch l {
	case LinkNever:
		return "LinkNever"
	case LinkVerifiedDomains:
		return "LinkVerifiedDomains"
	case LinkAlways:
		return "LinkAlways"
	}
	return "EmailLinking(" + strconv.Itoa(int(l)) + ")"
}

// Policy decides who may log in and what happens to new users. The zero
// value admits everyone, creates accounts with role "member", and never
// links by email.
type Policy struct {
	// DisableSignup refuses users without an account (ErrSignupDisabled):
	// only linked accounts, and accounts that EmailLinking lets a login
	// link, may log in. Signup is allowed by default.
	DisableSignup bool
	// AllowGroups admits only members of at least one of these groups
	// (exact, case-sensitive match of the group values the IdP sends).
	// Nil admits everyone; an empty non-nil slice admits no one. Linked
	// users are checked at every login too.
	AllowGroups []string
	// GroupsAttributeName names the attribute whose values AllowGroups is
	// checked against. Empty: the mapping's Groups, or the attribute
	// "groups" when the mapping has no Groups candidates.
	GroupsAttributeName string
	// UsernameAttributeNames are candidate attributes (matched like
	// AttributeMapping's) for a new user's username. Empty: the mapping's
	// Username. Then the email's local part, then the user ID.
	UsernameAttributeNames []string
	// DefaultRole of new accounts. Empty means "member".
	DefaultRole string
	// EmailLinking: see its documentation. Default LinkNever.
	EmailLinking EmailLinking
	// VerifiedDomains are the email domains this IdP may assert, for
	// LinkVerifiedDomains.
	VerifiedDomains []string
	// UpdateProfile calls UserStore.UpdateProfile at every login of a
	// linked account, so a name or email changed at the IdP reaches the
	// app.
	UpdateProfile bool
}

// Provisioner turns a verified Assertion into the app's user: it maps the
// identity, applies the Policy, and finds, links or creates the account
// (just-in-time provisioning). Call Login from Hooks.OnLogin:
//
//	user, _, err := prov.Login(r.Context(), l.Assertion)
//	if err != nil { ... show the error, log it ... }
//	... start the app's session for user ...
//
// Accounts are linked by (IdP entity ID, user ID), never by email alone: a
// user whose email or NameID changes at the IdP keeps the account, and with
// Policy.UpdateProfile the new email is written to it.
//
// There is no automatic deprovisioning: SAML only tells the app about
// users who log in. To disable accounts the IdP no longer knows, record the
// last login in UpdateProfile (with Policy.UpdateProfile) and expire
// accounts not seen for a while, or ask the IdP per link (IdP, user ID),
// e.g. through SCIM or its directory API. A session can also be ended
// earlier: Assertion.SessionNotOnOrAfter, and single logout.
//
// Use one Provisioner per IdP (per tenant): VerifiedDomains and
// AllowGroups describe one IdP.
type Provisioner struct {
	// Mapping reads the Identity (start from a preset).
	Mapping AttributeMapping
	// Policy decides who gets in and how accounts are made.
	Policy Policy
	// Store is the app's user database. Required.
	Store UserStore
}

// Login returns the account for the user of a verified Assertion, and the
// Identity read from it. In order:
//
//  1. Mapping.Identity; its *IdentityError is returned as is.
//  2. Policy.AllowGroups: ErrAccessDenied.
//  3. The account linked to (IdP, user ID): updated (Policy.UpdateProfile)
//     and returned.
//  4. An account with the same email: linked if Policy.EmailLinking allows,
//     else *AccountExistsError.
//  5. Otherwise, with signup allowed, a new account with a unique username
//     and Policy.DefaultRole, linked; else ErrSignupDisabled.
//
// After step 1 the Identity is returned even with an error, for logs.
func (p *Provisioner) Login(ctx context.Context, a *Assertion) (*User, *Identity, error) {
	if p.Store == nil {
		return nil, nil, failf(ErrConfig, "Provisioner.Store is nil")
	}
	if a == nil {
		return nil, nil, failf(ErrConfig, "Provisioner.Login needs the Assertion from ParseResponse")
	}
	id, err := p.Mapping.Identity(a)
	if err != nil {
		return nil, nil, err
	}
	if err := p.checkGroups(a, id); err != nil {
		return nil, id, err
	}
	u, err := p.Store.FindByLink(ctx, id.IdP, id.UserID)
	if err != nil {
		return nil, id, storeError("FindByLink", err)
	}
	if u != nil {
		return p.loggedIn(ctx, u, id)
	}
	if u, err = p.Store.FindByEmail(ctx, id.Email); err != nil {
		return nil, id, storeError("FindByEmail", err)
	}
	if u != nil {
		if !p.mayLink(id.Email) {
			return nil, id, &AccountExistsError{IdP: id.IdP, UserID: id.UserID, Email: id.Email, Linking: p.Policy.EmailLinking}
		}
		if err := p.Store.Link(ctx, u, id.IdP, id.UserID); err != nil {
			return nil, id, storeError("Link", err)
		}
		return p.loggedIn(ctx, u, id)
	}
	if p.Policy.DisableSignup {
		return nil, id, failf(ErrSignupDisabled, "IdP %q user %q has no account here, and Policy.DisableSignup is set: an admin must create or link the account first", id.IdP, id.UserID)
	}
	username, err := p.username(ctx, a, id)
	if err != nil {
		return nil, id, err
	}
	role := p.Policy.DefaultRole
	if role == "" {
		role = "member"
	}
	if u, err = p.Store.Create(ctx, id, username, role); err != nil {
		return nil, id, storeError("Create", err)
	}
	if u == nil {
		return nil, id, errors.New("saml2sp: user store Create returned no user and no error")
	}
	if err := p.Store.Link(ctx, u, id.IdP, id.UserID); err != nil {
		return nil, id, storeError("Link", err)
	}
	return u, id, nil
}

func (p *Provisioner) loggedIn(ctx context.Context, u *User, id *Identity) (*User, *Identity, error) {
	if p.Policy.UpdateProfile {
		if err := p.Store.UpdateProfile(ctx, u, id); err != nil {
			return nil, id, storeError("UpdateProfile", err)
		}
	}
	return u, id, nil
}

func storeError(op string, err error) error {
	return fmt.Errorf("saml2sp: user store %s: %w", op, err)
}

// checkGroups applies Policy.AllowGroups. The message names the allowed
// groups (configuration) but not the user's (IdP data), only their count.
func (p *Provisioner) checkGroups(a *Assertion, id *Identity) error {
	allow := p.Policy.AllowGroups
	if allow == nil {
		return nil
	}
	source := p.Mapping.Groups
	groups := id.Groups
	if p.Policy.GroupsAttributeName != "" || len(source) == 0 {
		name := p.Policy.GroupsAttributeName
		if name == "" {
			name = "groups"
		}
		source = []string{name}
		groups = mapAll(a, source)
	}
	for _, g := range groups {
		for _, ok := range allow {
			if g == ok {
				return nil
			}
		}
	}
	if len(allow) == 0 {
		return failf(ErrAccessDenied, "Policy.AllowGroups is empty, so no one may log in")
	}
	return failf(ErrAccessDenied, "IdP %q user %q is in none of the allowed groups %q (the IdP sent %d groups under %q)", id.IdP, id.UserID, allow, len(groups), source)
}

func (p *Provisioner) mayLink(email string) bool {
	switch p.Policy.EmailLinking {
	case LinkAlways:
		return true
	case LinkVerifiedDomains:
		_, domain, _ := strings.Cut(email, "@")
		for _, d := range p.Policy.VerifiedDomains {
			if equalFoldASCII(trimXMLSpace(d), domain) {
				return true
			}
		}
	}
	return false
}

// AccountExistsError is returned when the asserted email belongs to an
// account that is not linked to this IdP user, and Policy.EmailLinking
// does not allow linking it. The app can act on it: ask the user to sign
// in the way they usually do and then call UserStore.Link with IdP and
// UserID. It matches ErrAccountExists with errors.Is.
type AccountExistsError struct {
	// IdP and UserID identify the SSO identity that wants the account.
	IdP, UserID string
	// Email is the asserted email (not in Error(), to keep it out of logs).
	Email string
	// Linking is the policy that refused.
	Linking EmailLinking
}

// Error says which IdP user was refused and what an admin can do; it
// leaves out the email itself (only its domain is named).
func (e *AccountExistsError) Error() string {
	_, domain, _ := strings.Cut(e.Email, "@")
	return fmt.Sprintf("%s: IdP %q user %q asserts the email of an account that is not linked to it, and Policy.EmailLinking is %s (email domain %q); "+
		"an admin can link the account to this IdP user, the user can sign in another way and link it, "+
		"or, if the app has verified that this IdP owns the domain, add it to Policy.VerifiedDomains with LinkVerifiedDomains",
		ErrAccountExists.Error(), e.IdP, e.UserID, e.Linking, domain)
}

// Is makes errors.Is(err, ErrAccountExists) true.
func (e *AccountExistsError) Is(target error) bool { return target == ErrAccountExists }

// Username limits.
const (
	maxUsernameLen   = 32
	maxUsernameTries = 100
)

// username picks a free username for a new account: the first source that
// normalizes to something non-empty, then name, name-2 ... name-100.
func (p *Provisioner) username(ctx context.Context, a *Assertion, id *Identity) (string, error) {
	first := id.Username
	if len(p.Policy.UsernameAttributeNames) > 0 {
		first, _ = mapFirst(a, p.Policy.UsernameAttributeNames)
	}
	local, _, _ := strings.Cut(id.Email, "@")
	base := "user"
	for _, s := range []string{first, local, id.UserID} {
		if n := normalizeUsername(s, maxUsernameLen); n != "" {
			base = n
			break
		}
	}
	for i := 1; i <= maxUsernameTries; i++ {
		name := base
		if i > 1 {
			suffix := "-" + strconv.Itoa(i)
			name = trimUsername(base, maxUsernameLen-len(suffix)) + suffix
		}
		taken, err := p.Store.UsernameTaken(ctx, name)
		if err != nil {
			return "", storeError("UsernameTaken", err)
		}
		if !taken {
			return name, nil
		}
	}
	return "", fmt.Errorf("saml2sp: no free username: %q and %q-2 to %q-%d are all taken", base, base, base, maxUsernameTries)
}

// normalizeUsername makes a safe username of s: the part after a Windows
// domain ("CORP\alice") and before an "@", lowercased, common accented
// Latin letters folded to ASCII, every run of other characters turned into
// one "-", no leading or trailing "-", "." or "_", at most max bytes. The
// result may be empty.
func normalizeUsername(s string, max int) string {
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(s) {
		for _, c := range foldLatin(r) {
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_':
				if sep && b.Len() > 0 {
					b.WriteByte('-')
				}
				sep = false
				b.WriteRune(c)
			default:
				sep = true
			}
		}
	}
	return trimUsername(b.String(), max)
}

func trimUsername(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	return strings.Trim(s, "-._")
}

// foldLatin maps common accented Latin letters to ASCII; other runes are
// returned unchanged.
func foldLatin(r rune) string {
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā', 'ă', 'ą':
		return "a"
	case 'ç', 'ć', 'č':
		return "c"
	case 'ď', 'đ', 'ð':
		return "d"
	case 'è', 'é', 'ê', 'ë', 'ē', 'ė', 'ę', 'ě':
		return "e"
	case 'ğ':
		return "g"
	case 'ì', 'í', 'î', 'ï', 'ī', 'į', 'ı':
		return "i"
	case 'ł', 'ľ', 'ĺ':
		return "l"
	case 'ñ', 'ń', 'ň':
		return "n"
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō', 'ő':
		return "o"
	case 'ŕ', 'ř':
		return "r"
	case 'ś', 'š', 'ş', 'ș':
		return "s"
	case 'ť', 'ţ', 'ț':
		return "t"
	case 'ù', 'ú', 'û', 'ü', 'ū', 'ů', 'ű', 'ų':
		return "u"
	case 'ý', 'ÿ':
		return "y"
	case 'ź', 'ż', 'ž':
		return "z"
	case 'ß':
		return "ss"
	case 'æ':
		return "ae"
	case 'œ':
		return "oe"
	case 'þ':
		return "th"
	}
	return string(r)
}

// MemoryUserStore is a UserStore in memory, for tests and examples. The
// zero value is ready to use and safe for concurrent use. Links are
// compared exactly and emails by EmailKey (see UserStore); UpdateProfile
// updates the email.
type MemoryUserStore struct {
	mu    sync.Mutex
	users []User
	links map[[2]string]string // (IdP, user ID) -> User.ID
	next  int
}

// Add stores an existing account (one made before SSO, say) and returns
// it; an empty ID is assigned.
func (s *MemoryUserStore) Add(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = s.newID()
	}
	s.users = append(s.users, u)
	return u
}

// Users returns a copy of every account, in the order they were added.
func (s *MemoryUserStore) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]User(nil), s.users...)
}

// FindByLink implements UserStore.
func (s *MemoryUserStore) FindByLink(_ context.Context, idp, userID string) (*User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if uid, ok := s.links[[2]string{idp, userID}]; ok {
		return s.find(func(u *User) bool { return u.ID == uid }), nil
	}
	return nil, nil
}

// FindByEmail implements UserStore.
func (s *MemoryUserStore) FindByEmail(_ context.Context, email string) (*User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.find(func(u *User) bool { return equalFoldASCII(u.Email, email) }), nil
}

// Create implements UserStore.
func (s *MemoryUserStore) Create(_ context.Context, id *Identity, username, role string) (*User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find(func(u *User) bool { return u.Username == username }) != nil {
		return nil, fmt.Errorf("username %q is taken", username)
	}
	u := User{ID: s.newID(), Username: username, Email: id.Email, Role: role}
	s.users = append(s.users, u)
	return &u, nil
}

// Link implements UserStore.
func (s *MemoryUserStore) Link(_ context.Context, user *User, idp, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := [2]string{idp, userID}
	if uid, ok := s.links[key]; ok && uid != user.ID {
		return fmt.Errorf("IdP %q user %q is already linked to account %q", idp, userID, uid)
	}
	if s.find(func(u *User) bool { return u.ID == user.ID }) == nil {
		return fmt.Errorf("no account %q", user.ID)
	}
	if s.links == nil {
		s.links = map[[2]string]string{}
	}
	s.links[key] = user.ID
	return nil
}

// UsernameTaken implements UserStore.
func (s *MemoryUserStore) UsernameTaken(_ context.Context, username string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.find(func(u *User) bool { return u.Username == username }) != nil, nil
}

// UpdateProfile implements UserStore: it sets the account's email.
func (s *MemoryUserStore) UpdateProfile(_ context.Context, user *User, id *Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.users {
		if s.users[i].ID == user.ID {
			s.users[i].Email = id.Email
			*user = s.users[i]
			return nil
		}
	}
	return fmt.Errorf("no account %q", user.ID)
}

// find returns a copy of the first account for which match is true.
func (s *MemoryUserStore) find(match func(*User) bool) *User {
	for i := range s.users {
		if match(&s.users[i]) {
			u := s.users[i]
			return &u
		}
	}
	return nil
}

func (s *MemoryUserStore) newID() string {
	for {
		s.next++
		id := "u" + strconv.Itoa(s.next)
		if s.find(func(u *User) bool { return u.ID == id }) == nil {
			return id
		}
	}
}
