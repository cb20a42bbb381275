package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/saml2sp/saml2sp"
)

// verifySetup is what every Response of one verify run is checked with.
type verifySetup struct {
	opts                 *verifyOptions
	now                  time.Time
	nowGiven             bool
	idp                  *saml2sp.IdentityProvider
	inputName, inputKind string
	keys, total          int
}

// verifyResult is the report on one Response, as --json prints it.
type verifyResult struct {
	// Message is the Response's number among the input's messages.
	Message int `json:"message"`
	// Input names the input and its form; Source where in it the
	// Response was.
	Input  string `json:"input"`
	Source string `json:"source"`
	// Now is the time the Response was checked at.
	Now time.Time `json:"now"`
	// Accepted, Error and ErrorClass are ParseResponse's verdict.
	Accepted   bool            `json:"accepted"`
	Error      string          `json:"error,omitempty"`
	ErrorClass string          `json:"error_class,omitempty"`
	Checks     []saml2sp.Check `json:"checks"`
	// Claims are what the Response says; claims.verified tells whether a
	// trusted signature covered them.
	Claims   saml2sp.Claims  `json:"claims"`
	Identity *identityResult `json:"identity,omitempty"`
	// Hints suggest what to try next; Log holds the library's warnings.
	Hints []string `json:"hints,omitempty"`
	Log   []string `json:"log,omitempty"`
}

// identityResult is what the --mapping preset makes of the assertion.
type identityResult struct {
	Mapping string `json:"mapping"`
	// Verified is false when no trusted signature covered the assertion
	// it was read from. For a refused Response, the identity is what the
	// app would get if the Response passed: it gets none.
	Verified bool          `json:"verified"`
	Identity *identityJSON `json:"identity,omitempty"`
	// Error is the mapping's error (an IdentityError names what was
	// missing and what the IdP sent), or why there is no assertion.
	Error string `json:"error,omitempty"`
}

type identityJSON struct {
	IdP         string   `json:"idp"`
	UserID      string   `json:"user_id"`
	Email       string   `json:"email"`
	FirstName   string   `json:"first_name,omitempty"`
	LastName    string   `json:"last_name,omitempty"`
	DisplayName string   `json:"display_name,omitempty"`
	Username    string   `json:"username,omitempty"`
	Groups      []string `json:"groups,omitempty"`
}

func newVerifyResult(s *verifySetup, cd candidate, r *saml2sp.Report, mapping *saml2sp.AttributeMapping) *verifyResult {
	res := &verifyResult{
		Message:  cd.n,
		Input:    fmt.Sprintf("%s (%s)", s.inputName, s.inputKind),
		Source:   cd.m.Source,
		Now:      s.now,
		Accepted: r.Accepted,
		Checks:   r.Checks,
		Claims:   r.Claims,
	}
	if r.Err != nil {
		res.Error, res.ErrorClass = r.Err.Error(), saml2sp.ErrorClass(r.Err)
	}
	if mapping != nil {
		res.Identity = mapIdentity(s.opts.mapping, *mapping, r)
	}
	res.Hints = hints(s, cd, r)
	return res
}

// mapIdentity runs the mapping on the verified assertion or, for a refused
// Response, on what it claims (marked unverified).
func mapIdentity(name string, m saml2sp.AttributeMapping, r *saml2sp.Report) *identityResult {
	out := &identityResult{Mapping: name, Verified: r.Claims.Verified}
	a := r.Assertion
	if !r.Accepted {
		a = r.Claims.Assertion
	}
	if a == nil {
		out.Error = "no assertion could be read from the Response"
		return out
	}
	id, err := m.Identity(a)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Identity = &identityJSON{
		IdP: id.IdP, UserID: id.UserID, Email: id.Email, FirstName: id.FirstName, LastName: id.LastName,
		DisplayName: id.DisplayName, Username: id.Username, Groups: id.Groups,
	}
	return out
}

// hints suggest the next step for the failures a captured Response
// typically meets offline.
func hints(s *verifySetup, cd candidate, r *saml2sp.Report) []string {
	var out []string
	if cd.m.Encoding == encXML {
		out = append(out, "the input was XML, re-encoded in base64 as a browser would post it: signatures verify only if it is byte for byte what the IdP sent")
	}
	switch {
	case r.Accepted:
		out = append(out, "replay: only the Responses of this run are remembered; the app's replay cache may already hold this assertion")
	case (errors.Is(r.Err, saml2sp.ErrExpired) || errors.Is(r.Err, saml2sp.ErrNotYetValid)) && !s.nowGiven:
		h := "a captured Response is valid for a few minutes only: add --now with the time it was posted"
		if !r.Claims.IssueInstant.IsZero() {
			h += fmt.Sprintf(" (it claims IssueInstant %s)", stamp(r.Claims.IssueInstant))
		}
		out = append(out, h)
	case errors.Is(r.Err, saml2sp.ErrInResponseTo) && len(s.opts.requestIDs) == 0 && r.Claims.InResponseTo != "":
		out = append(out, fmt.Sprintf("the Response answers request %q: pass --request-id with the ID of the AuthnRequest the SP sent (decode shows it in a HAR file)", r.Claims.InResponseTo))
	case errors.Is(r.Err, saml2sp.ErrUnsolicited) && !s.opts.allowIdPInitiated:
		out = append(out, "the Response answers no request (an IdP-initiated login): the app accepts those only with AllowIdPInitiated (--allow-idp-initiated)")
	case r.Claims.Encrypted && s.keys == 0:
		out = append(out, "the assertion is encrypted: pass the SP's private key with --sp-key (and its certificate with --sp-cert)")
	}
	return out
}

// printVerify prints one report for people.
func printVerify(w io.Writer, s *verifySetup, res *verifyResult, i, n int) {
	fmt.Fprintf(w, "Response %d of %d: message %d of %d in %s (%s), from %s\n",
		i, n, res.Message, s.total, safe(s.inputName), s.inputKind, safe(res.Source))
	f := newFields(w, "  ")
	f.add("SP", fmt.Sprintf("%s, ACS %s", safe(s.opts.spEntityID), safe(s.opts.acsURL)))
	f.add("IdP", fmt.Sprintf("%s (%s; metadata %s)", safe(s.idp.EntityID), plural(len(s.idp.Certificates), "signing certificate"), safe(s.opts.idpMetadata)))
	at := "now"
	if s.nowGiven {
		at = "--now"
	}
	f.add("Checked at", fmt.Sprintf("%s (%s)", stamp(s.now), at))
	requests := "none"
	if len(s.opts.requestIDs) > 0 {
		requests = safe(strings.Join(s.opts.requestIDs, ", "))
	}
	f.add("Request IDs", requests)
	f.add("IdP-initiated", map[bool]string{true: "allowed", false: "refused"}[s.opts.allowIdPInitiated])
	f.add("SP keys", fmt.Sprint(s.keys))
	f.flush()

	fmt.Fprintln(w, "\nChecks, in the order ParseResponse makes them:")
	t := newFields(w, "  ")
	for _, ck := range res.Checks {
		status := string(ck.Status)
		if ck.Status == saml2sp.CheckFailed {
			status = "FAILED"
		}
		fmt.Fprintf(t.tw, "  %s\t%s\t%s\n", status, ck.Name, safe(ck.Detail))
	}
	t.flush()

	switch {
	case res.Accepted && res.Identity != nil && res.Identity.Error != "":
		fmt.Fprintf(w, "\nResult: ACCEPTED by ParseResponse, but the %q mapping finds NO IDENTITY in it: the app's login fails (see Identity below).\n", res.Identity.Mapping)
	case res.Accepted:
		fmt.Fprintln(w, "\nResult: ACCEPTED: ParseResponse returns the assertion.")
	default:
		fmt.Fprintf(w, "\nResult: REFUSED (error class %q)\n  %s\n", res.ErrorClass, safe(res.Error))
	}

	if res.Claims.Verified {
		fmt.Fprintln(w, "\nWhat the Response says: VERIFIED (read from the element the IdP's signature covers)")
	} else {
		fmt.Fprintln(w, "\nWhat the Response says: NOT VERIFIED (no trusted signature covered it: anyone could have written it)")
	}
	printClaims(w, &res.Claims, s.now)

	if id := res.Identity; id != nil {
		var from string
		switch {
		case res.Accepted:
			from = "the verified assertion"
		case id.Verified:
			from = "the assertion (signature verified, but the Response was refused: the app gets no identity; this is what it would get if the Response passed)"
		default:
			from = "the UNVERIFIED assertion (what the app would get if the Response passed)"
		}
		fmt.Fprintf(w, "\nIdentity with the %q mapping, from %s:\n", id.Mapping, from)
		if id.Error != "" {
			fmt.Fprintf(w, "  NONE: %s\n", safe(id.Error))
		} else {
			g := newFields(w, "  ")
			g.add("IdP", safe(id.Identity.IdP))
			g.add("UserID", safe(id.Identity.UserID))
			g.add("Email", safe(id.Identity.Email))
			g.add("FirstName", safe(id.Identity.FirstName))
			g.add("LastName", safe(id.Identity.LastName))
			g.add("DisplayName", safe(id.Identity.DisplayName))
			g.add("Username", safe(id.Identity.Username))
			if len(id.Identity.Groups) > 0 {
				g.add("Groups", showValues(id.Identity.Groups))
			}
			g.flush()
		}
	}
	printList(w, "Hints", res.Hints)
	printList(w, "Library log", res.Log)
}

func printList(w io.Writer, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, it := range items {
		fmt.Fprintf(w, "  - %s\n", safe(it))
	}
}

// printClaims shows what the Response says.
func printClaims(w io.Writer, c *saml2sp.Claims, now time.Time) {
	f := newFields(w, "  ")
	f.add("Issuer", safe(c.Issuer))
	f.add("Destination", safe(c.Destination))
	f.add("InResponseTo", safe(c.InResponseTo))
	if !c.IssueInstant.IsZero() {
		f.add("IssueInstant", when(c.IssueInstant, now))
	}
	assertionSigned := yesNo(c.AssertionSigned)
	if c.Encrypted && c.Assertion == nil {
		assertionSigned = "not known (encrypted)"
	}
	f.add("Signed", fmt.Sprintf("Response: %s, Assertion: %s", yesNo(c.ResponseSigned), assertionSigned))
	f.add("Encrypted", yesNo(c.Encrypted))
	f.add("Signature algorithms", algList(c.SignatureAlgorithms))
	f.add("Encryption algorithms", algList(c.EncryptionAlgorithms))
	if a := c.Assertion; a != nil {
		f.add("Assertion ID", safe(a.ID))
		nameID := safe(a.NameID)
		if a.NameIDFormat != "" {
			nameID += " (format " + shortURN(a.NameIDFormat) + ")"
		}
		f.add("NameID", nameID)
		f.add("SessionIndex", safe(a.SessionIndex))
		if !a.AuthnInstant.IsZero() {
			f.add("AuthnInstant", when(a.AuthnInstant, now))
		}
		f.add("AuthnContext", shortURN(a.AuthnContextClassRef))
		if !a.SessionNotOnOrAfter.IsZero() {
			f.add("SessionNotOnOrAfter", until(a.SessionNotOnOrAfter, now))
		}
	}
	for _, aud := range c.Audiences {
		f.add("Audience", safe(strings.Join(aud, " or ")))
	}
	if !c.NotBefore.IsZero() {
		f.add("NotBefore", since(c.NotBefore, now))
	}
	if !c.NotOnOrAfter.IsZero() {
		f.add("NotOnOrAfter", until(c.NotOnOrAfter, now))
	}
	f.flush()
	if c.Assertion == nil {
		if c.Encrypted {
			fmt.Fprintln(w, "  (the assertion is encrypted and was not decrypted)")
		}
		return
	}
	if attrs := c.Assertion.Attributes; len(attrs) > 0 {
		fmt.Fprintf(w, "  Attributes (%d):\n", len(attrs))
		af := newFields(w, "    ")
		for _, at := range attrs {
			name := safe(at.Name)
			if at.FriendlyName != "" {
				name += " (" + safe(at.FriendlyName) + ")"
			}
			af.add(name, showValues(at.Values))
		}
		af.flush()
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// algList names algorithms, each once.
func algList(algs []string) string {
	var s []string
	seen := map[string]bool{}
	for _, a := range algs {
		if !seen[a] {
			seen[a] = true
			s = append(s, shortAlg(a))
		}
	}
	return strings.Join(s, ", ")
}

// writeJSON prints v indented, one object after another for several
// Responses (as "go list -json" does).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// logCollector is the SP's slog.Handler: it keeps the library's warnings
// for the report instead of mixing them into the output.
type logCollector struct {
	mu    *sync.Mutex
	lines *[]string
	attrs []slog.Attr
}

func (h *logCollector) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn
}

func (h *logCollector) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	sb.WriteString(r.Level.String() + " " + r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&sb, " %s=%q", a.Key, a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.lines = append(*h.lines, sb.String())
	return nil
}

func (h *logCollector) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

func (h *logCollector) WithGroup(string) slog.Handler { return h }

func newLogCollector() *logCollector {
	return &logCollector{mu: new(sync.Mutex), lines: new([]string)}
}

// take returns the lines logged since the last call.
func (h *logCollector) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := *h.lines
	*h.lines = nil
	return out
}
