package saml2sp

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// ErrIdentity: the verified assertion does not carry the user ID and email
// the AttributeMapping requires. The error is an *IdentityError that says
// what was missing and what the IdP sent instead.
var ErrIdentity = errors.New("saml2sp: the provider did not return a valid user identity")

// Identity is the user as the IdP describes them, read from a verified
// Assertion by an AttributeMapping. Every string is plain text, trimmed.
type Identity struct {
	// IdP is the entity ID of the IdP that asserted the identity
	// (Assertion.Issuer). Together with UserID it names the user.
	IdP string
	// UserID is the IdP's stable identifier of the user. Never empty.
	UserID string
	// Email is a single address with its domain lowercased (the local part
	// is kept as sent). Never empty. The IdP asserts it; nothing here
	// proves the user controls the mailbox (see EmailLinking).
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
// or whose FriendlyName equals it ignoring case (FriendlyNames are human
// labels such as "mail" or "givenName" that IdPs capitalize differently).
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
	// address, or the mapping fails (rather than trying the next name).
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
// or the email is missing, or the email is not one address, it returns an
// *IdentityError (errors.Is(err, ErrIdentity)) that lists what was tried
// and the attribute names the IdP sent, never their values.
func (m AttributeMapping) Identity(a *Assertion) (*Identity, error) {
	if a == nil {
		return nil, failf(ErrConfig, "AttributeMapping.Identity needs the Assertion from ParseResponse")
	}
	id := &Identity{IdP: a.Issuer}
	var ierr IdentityError
	id.UserID, _ = mapFirst(a, m.UserID)
	if id.UserID == "" && m.UserIDFromNameID && a.NameIDFormat == nameIDFormatPersist {
		id.UserID = strings.TrimSpace(a.NameID)
	}
	if id.UserID == "" {
		ierr.missing("user ID", m.UserID)
		ierr.nameIDFallback = m.UserIDFromNameID
	}
	email, from := mapFirst(a, m.Email)
	switch {
	case email == "":
		ierr.missing("email", m.Email)
	default:
		var ok bool
		if id.Email, ok = cleanEmail(email); !ok {
			if ierr.Invalid == nil {
				ierr.Invalid = map[string]string{}
			}
			ierr.Invalid["email"] = from
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
		id.DisplayName = strings.TrimSpace(id.FirstName + " " + id.LastName)
	}
	id.Username, _ = mapFirst(a, m.Username)
	id.Groups = mapAll(a, m.Groups)
	return id, nil
}

// mapMatches reports whether attribute at answers to candidate name c.
func mapMatches(at *Attribute, c string) bool {
	return at.Name == c || (at.FriendlyName != "" && strings.EqualFold(at.FriendlyName, c))
}

// mapFirst returns the first non-empty trimmed value of the first
// candidate that has one, and the Name of the attribute it came from.
func mapFirst(a *Assertion, candidates []string) (value, from string) {
	for _, c := range candidates {
		for i := range a.Attributes {
			at := &a.Attributes[i]
			if !mapMatches(at, c) {
				continue
			}
			for _, v := range at.Values {
				if v = strings.TrimSpace(v); v != "" {
					return v, at.Name
				}
			}
		}
	}
	return "", ""
}

// mapAll returns the values of every attribute matching the first
// candidate that has a non-empty value: trimmed, without empties, without
// duplicates, in document order.
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
				if v = strings.TrimSpace(v); v != "" && !seen[v] {
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
// side, no spaces or control characters) and lowercases its domain. It
// does not try to implement RFC 5322: the IdP is trusted to send an
// address, this only catches a wrong attribute (a list, a name).
func cleanEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 254 || strings.Count(s, "@") != 1 {
		return "", false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", false
		}
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" || domain == "" || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", false
	}
	return local + "@" + strings.ToLower(domain), true
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
	// Invalid maps a field whose value was unusable ("email") to the Name
	// of the attribute that held it.
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
			fmt.Fprintf(&b, "%s (the value of %q is not one email address)", f, e.Invalid[f])
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
