package saml2sp

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// ErrIdentity means the verified assertion does not carry the user ID and
// email the AttributeMapping requires. The error is an *IdentityError that says
// what was missing and what the IdP sent instead.
var ErrIdentity = errors.New("saml2sp: the provider did not return a valid user identity")

// Identity is the user as the IdP describes them, read from a verified
// Assertion by an AttributeMapping. Every string is plain text with
// surrounding XML white space (space, tab, CR, LF) trimmed, and nothing
// else: other Unicode white space such as a no-break space is kept (and
// refused in UserID and Email), so that "admin" followed by U+00A0 never
// reads as "admin", nor a group as another group.
//
// The rule for comparing identities, which a UserStore must follow too:
// IdP and UserID are equal only byte for byte; emails are equal when
// EmailKey says so (ASCII letters ignoring case, everything else exactly).
// Unicode case folding or normalization (strings.EqualFold, PostgreSQL's
// lower() or citext, a case-insensitive MySQL collation) would give
// kate@example.com's account to "Kate@example.com" spelled with the Kelvin
// sign U+212A.
type Identity struct {
	// IdP is the entity ID of the IdP that asserted the identity
	// (Assertion.Issuer). Together with UserID it names the user.
	IdP string
	// UserID is the IdP's stable identifier of the user. Never empty. It
	// holds no control character, no invisible (format) character such as
	// a zero-width space or a direction mark, and no white space other than
	// the ASCII space: an IdP value with one is refused (*IdentityError),
	// since it would show as another user's ID in logs and admin pages.
	UserID string
	// Email is a single address with the ASCII letters of its domain
	// lowercased (the local part is kept as sent). Never empty. Like
	// UserID it holds no control or invisible character, and no white
	// space at all. Compare emails with EmailKey. The IdP asserts it;
	// nothing here proves the user controls the mailbox (see
	// EmailLinking).
	Email string
	// FirstName, LastName, DisplayName and Username are optional.
	// DisplayName defaults to "FirstName LastName". Username is the raw
	// value; Provisioner turns it into a safe username.
	FirstName, LastName, DisplayName, Username string
	// Groups the IdP says the user belongs to, in the IdP's order, without
	// empties or duplicates. Nil when the IdP sent none.
	Groups []string
}

// AttributeMapping says which attributes of an Assertion hold which
// Identity field. Each field is an ordered list of candidate attribute
// names; the first candidate that carries a non-empty value wins.
//
// A candidate matches an attribute whose Name equals it exactly
// (case-sensitive: Names are URIs or identifiers chosen by the IdP admin)
// or whose FriendlyName equals it ignoring ASCII case (FriendlyNames are
// human labels such as "mail" or "givenName" that IdPs capitalize
// differently).
// All attributes matching a candidate count, in document order, so an IdP
// that repeats an attribute once per value (Keycloak's roles) works.
//
// Start from a preset (OktaMapping, EntraIDMapping... or MappingPreset) and
// adjust it; the zero value maps nothing.
type AttributeMapping struct {
	// UserID candidates: a stable, never reassigned identifier is best
	// (an object ID, a pairwise ID); an email or a username is a last
	// resort, since renaming the user at the IdP then looks like a new user.
	UserID []string
	// Email candidates. The first non-empty value must be one email
	// address, or the mapping fails (rather than trying the next name);
	// so must the first user ID be a usable one (see Identity.UserID).
	Email []string
	// FirstName, LastName, DisplayName and Username candidates: optional.
	FirstName, LastName, DisplayName, Username []string
	// Groups candidates: every value of the first candidate that has any.
	Groups []string
	// UserIDFromNameID uses the NameID as the user ID when no UserID
	// candidate matched and the NameID's Format is persistent
	// (urn:oasis:names:tc:SAML:2.0:nameid-format:persistent). Other
	// formats are never used: a transient NameID changes at every login,
	// and emailAddress or unspecified ones are names that can be
	// reassigned to another person.
	UserIDFromNameID bool
}

// Identity reads the Identity from a verified Assertion. When the user ID
// or the email is missing, the user ID holds a character Identity.UserID
// excludes, or the email is not one address, it returns an *IdentityError
// (errors.Is(err, ErrIdentity)) that lists what was tried and the attribute
// names the IdP sent, never their values.
func (m AttributeMapping) Identity(a *Assertion) (*Identity, error) {
	if a == nil {
		return nil, failf(ErrConfig, "AttributeMapping.Identity needs the Assertion from ParseResponse")
	}
	id := &Identity{IdP: a.Issuer}
	var ierr IdentityError
	userID, from := mapFirst(a, m.UserID)
	if userID == "" && m.UserIDFromNameID && a.NameIDFormat == nameIDFormatPersist {
		userID, from = trimXMLSpace(a.NameID), "NameID"
	}
	switch {
	case userID == "":
		ierr.missing("user ID", m.UserID)
		ierr.nameIDFallback = m.UserIDFromNameID
	case !plainIdentityText(userID, true):
		ierr.invalid("user ID", from)
	default:
		id.UserID = userID
	}
	email, from := mapFirst(a, m.Email)
	switch {
	case email == "":
		ierr.missing("email", m.Email)
	default:
		var ok bool
		if id.Email, ok = cleanEmail(email); !ok {
			ierr.invalid("email", from)
		}
	}
	if len(ierr.Missing) > 0 || len(ierr.Invalid) > 0 {
		ierr.NameIDFormat = a.NameIDFormat
		ierr.received(a.Attributes)
		return nil, &ierr
	}
	id.FirstName, _ = mapFirst(a, m.FirstName)
	id.LastName, _ = mapFirst(a, m.LastName)
	id.DisplayName, _ = mapFirst(a, m.DisplayName)
	if id.DisplayName == "" {
		id.DisplayName = trimXMLSpace(id.FirstName + " " + id.LastName)
	}
	id.Username, _ = mapFirst(a, m.Username)
	id.Groups = mapAll(a, m.Groups)
	return id, nil
}

// mapMatches reports whether attribute at answers to candidate name c.
func mapMatches(at *Attribute, c string) bool {
	return at.Name == c || (at.FriendlyName != "" && equalFoldASCII(at.FriendlyName, c))
}

// mapFirst returns the first non-empty value (XML white space trimmed) of
// the first candidate that has one, and the Name of the attribute it came
// from.
func mapFirst(a *Assertion, candidates []string) (value, from string) {
	for _, c := range candidates {
		for i := range a.Attributes {
			at := &a.Attributes[i]
			if !mapMatches(at, c) {
				continue
			}
			for _, v := range at.Values {
				if v = trimXMLSpace(v); v != "" {
					return v, at.Name
				}
			}
		}
	}
	return "", ""
}

// mapAll returns the values of every attribute matching the first
// candidate that has a non-empty value: XML white space trimmed, without
// empties, without duplicates, in document order.
func mapAll(a *Assertion, candidates []string) []string {
	for _, c := range candidates {
		var out []string
		seen := map[string]bool{}
		for i := range a.Attributes {
			at := &a.Attributes[i]
			if !mapMatches(at, c) {
				continue
			}
			for _, v := range at.Values {
				if v = trimXMLSpace(v); v != "" && !seen[v] {
					seen[v] = true
					out = append(out, v)
				}
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// cleanEmail checks that s is one address (one "@", something on each
// side, no white space, control or invisible characters) and lowercases
// the ASCII letters of its domain: strings.ToLower would also turn the
// Kelvin sign U+212A into "k" and U+0130 into "i" plus a combining dot.
// It does not try to implement RFC 5322: the IdP is trusted to send an
// address, this only catches a wrong attribute (a list, a name).
func cleanEmail(s string) (string, bool) {
	s = trimXMLSpace(s)
	if len(s) > 254 || strings.Count(s, "@") != 1 || !plainIdentityText(s, false) {
		return "", false
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" || domain == "" || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", false
	}
	return local + "@" + asciiLower(domain), true
}

// plainIdentityText reports whether s is valid UTF-8 without U+FFFD, control
// characters, format characters (zero-width spaces and joiners, direction
// marks and overrides, the byte order mark, soft hyphens) or white space
// other than, when asciiSpace, the ASCII space. Such characters are
// invisible or look like another: an ID that holds one would show as
// someone else's in a log or an admin page, and an app that trims or
// normalizes it would merge it with theirs.
func plainIdentityText(s string, asciiSpace bool) bool {
	for _, r := range s { // invalid UTF-8 ranges as U+FFFD
		switch {
		case r == ' ':
			if !asciiSpace {
				return false
			}
		case unicode.IsSpace(r), unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == unicode.ReplacementChar:
			return false
		}
	}
	return true
}

// EmailKey returns email with its ASCII letters lowercased, and nothing
// else changed: two emails are the same when their keys are equal. This is
// the rule Provisioner and MemoryUserStore compare emails by, and the one
// a UserStore's FindByEmail must follow (store the key in a unique,
// indexed column, say). It is not strings.ToLower or strings.EqualFold,
// which fold the Kelvin sign U+212A into "k", nor SQL lower() outside
// SQLite, which folds Unicode case too.
func EmailKey(email string) string { return asciiLower(email) }

// asciiLower lowercases ASCII letters only.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// equalFoldASCII reports whether a and b are equal ignoring the case of
// ASCII letters only.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// IdentityError is returned when an Assertion lacks the user ID or email
// an AttributeMapping requires. It names the fields, the candidate
// attribute names tried and the attribute names the IdP sent, so an admin
// can fix the mapping (or the IdP) in one try. It never holds attribute
// values. It matches ErrIdentity with errors.Is.
type IdentityError struct {
	// Missing lists the required fields without a value: "user ID",
	// "email".
	Missing []string
	// Tried maps each missing field to the candidate names tried, in order.
	Tried map[string][]string
	// Invalid maps a field whose value was unusable ("user ID", "email")
	// to the Name of the attribute that held it ("NameID" for a user ID
	// taken from a persistent NameID).
	Invalid map[string]string
	// Received lists the Names of the attributes the IdP sent, sorted,
	// without duplicates.
	Received []string
	// NameIDFormat is the Format of the NameID the IdP sent ("" when it
	// had none).
	NameIDFormat string

	nameIDFallback bool              // the user ID could have come from a persistent NameID
	friendly       map[string]string // Name -> FriendlyName, for the message
}

func (e *IdentityError) missing(field string, tried []string) {
	e.Missing = append(e.Missing, field)
	if e.Tried == nil {
		e.Tried = map[string][]string{}
	}
	e.Tried[field] = append([]string(nil), tried...)
}

func (e *IdentityError) invalid(field, from string) {
	if e.Invalid == nil {
		e.Invalid = map[string]string{}
	}
	e.Invalid[field] = from
}

func (e *IdentityError) received(attrs []Attribute) {
	e.friendly = map[string]string{}
	for _, at := range attrs {
		if _, dup := e.friendly[at.Name]; !dup {
			e.Received = append(e.Received, at.Name)
			e.friendly[at.Name] = ""
		}
		if at.FriendlyName != "" && at.FriendlyName != at.Name {
			e.friendly[at.Name] = at.FriendlyName
		}
	}
	sort.Strings(e.Received)
}

// maxListedAttributes bounds the names quoted in an IdentityError message.
const maxListedAttributes = 50

// Error starts with Sentry's sentence, then lists the missing fields with
// the names tried, the invalid fields, and the names the IdP sent, e.g.
//
//	The provider did not return a valid user identity. Missing: email (tried "email", "mail"). The IdP sent: "firstName", "uid" (NameID format urn:oasis:names:tc:SAML:2.0:nameid-format:transient).
func (e *IdentityError) Error() string {
	var b strings.Builder
	b.WriteString("The provider did not return a valid user identity.")
	if len(e.Missing) > 0 {
		b.WriteString(" Missing: ")
		for i, f := range e.Missing {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f + " (" + e.triedText(f) + ")")
		}
		b.WriteString(".")
	}
	if len(e.Invalid) > 0 {
		fields := make([]string, 0, len(e.Invalid))
		for f := range e.Invalid {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		b.WriteString(" Invalid: ")
		for i, f := range fields {
			if i > 0 {
				b.WriteString(", ")
			}
			what := "is not one email address"
			if f == "user ID" {
				what = "holds a control, invisible or non-ASCII white space character"
			}
			fmt.Fprintf(&b, "%s (the value of %q %s)", f, e.Invalid[f], what)
		}
		b.WriteString(".")
	}
	if len(e.Received) == 0 {
		b.WriteString(" The IdP sent no attributes")
	} else {
		b.WriteString(" The IdP sent: ")
		for i, name := range e.Received {
			if i == maxListedAttributes {
				fmt.Fprintf(&b, " and %d more", len(e.Received)-i)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(name))
			if fn := e.friendly[name]; fn != "" {
				fmt.Fprintf(&b, " (%q)", fn)
			}
		}
	}
	if e.NameIDFormat == "" {
		b.WriteString(" (NameID without a Format).")
	} else {
		b.WriteString(" (NameID format " + quoteUnlessPlain(e.NameIDFormat) + ").")
	}
	return b.String()
}

func (e *IdentityError) triedText(field string) string {
	var parts []string
	for _, c := range e.Tried[field] {
		parts = append(parts, strconv.Quote(c))
	}
	if field == "user ID" && e.nameIDFallback {
		if len(parts) == 0 {
			return "tried a persistent NameID"
		}
		return "tried " + strings.Join(parts, ", ") + ", then a persistent NameID"
	}
	if len(parts) == 0 {
		return "no attribute names configured"
	}
	return "tried " + strings.Join(parts, ", ")
}

// Is makes errors.Is(err, ErrIdentity) true.
func (e *IdentityError) Is(target error) bool { return target == ErrIdentity }

// quoteUnlessPlain quotes s unless it is printable ASCII without spaces.
func quoteUnlessPlain(s string) string {
	for _, r := range s {
		if r <= ' ' || r > '~' || r == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}
