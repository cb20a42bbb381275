package main

import (
	"flag"
	"fmt"
	"io"
	"time"
)

const notVerifiedBanner = `NOT VERIFIED: decode only shows what the messages say. Nothing was checked:
not a signature, not a time, not an audience. To check a Response the way
the SP does, use "saml2sp verify".`

type decodeOptions struct {
	now   string
	noXML bool
}

func (o *decodeOptions) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.now, "now", "", "show times relative to this RFC 3339 time (default: the current time)")
	fs.BoolVar(&o.noXML, "no-xml", false, "print only the summaries, not the XML")
}

func decodeCommand() *command {
	c := &command{
		name:    "decode",
		summary: "show captured SAML messages: the XML and a summary (nothing verified)",
		usage: `
Usage: saml2sp decode [flags] [FILE|-]

Decode finds every SAML message (SAMLResponse, SAMLRequest) in FILE, or
standard input when FILE is "-" or missing, and prints it as indented XML
with a summary: issuer, destination, NameID, attributes, conditions and
times (relative to now), where the signatures are and their algorithms,
the encryption algorithms. It accepts the message in any form a user may
have captured:

  - the base64 value of SAMLResponse or SAMLRequest;
  - that value URL-encoded, as it appears in a form body or URL;
  - a whole HTTP-Redirect URL, or its query string (the message is
    inflated, up to 2 MiB);
  - a raw POST body (SAMLResponse=...&RelayState=...);
  - a HAR file exported from the browser's developer tools (Network tab,
    "Save all as HAR"): every message in its requests' URLs and POST
    bodies and in its redirects' Location headers;
  - the XML document itself.

Decoding only displays: nothing is verified, and the output says so.
Everything runs on this machine.
`,
	}
	c.flags = func(fs *flag.FlagSet) { new(decodeOptions).bind(fs) }
	c.run = func(e *env, args []string) int {
		var o decodeOptions
		fs := flag.NewFlagSet("saml2sp decode", flag.ContinueOnError)
		o.bind(fs)
		pos, status, ok := parseFlagSet(c, fs, e, args)
		if !ok {
			return status
		}
		if len(pos) > 1 {
			return usageError(c, e, "one input at most, got %d", len(pos))
		}
		now := time.Now()
		if o.now != "" {
			t, err := time.Parse(time.RFC3339, o.now)
			if err != nil {
				return usageError(c, e, "--now %q is not an RFC 3339 time (2026-01-15T10:01:00Z)", o.now)
			}
			now = t
		}
		msgs, name, kind, err := readMessages(pos, e.stdin)
		if err != nil {
			return failure(c, e, exitUnusable, "%v", err)
		}
		if len(msgs) == 0 {
			return failure(c, e, exitUnusable, "%s (%s) holds no SAML message", name, kind)
		}
		return decodeMessages(e.stdout, msgs, fmt.Sprintf("%s (%s)", name, kind), now, !o.noXML)
	}
	return c
}

// decodeMessages prints every message and returns the exit status: 2 when
// one of them could not be decoded.
func decodeMessages(w io.Writer, msgs []*message, from string, now time.Time, showXML bool) int {
	status := exitOK
	fmt.Fprintf(w, "%s in %s.\n\n%s\n", plural(len(msgs), "SAML message"), safe(from), notVerifiedBanner)
	for i, m := range msgs {
		fmt.Fprintf(w, "\n=== %d/%d: %s from %s\n", i+1, len(msgs), m.label(), safe(m.Source))
		f := newFields(w, "  ")
		f.add("Encoding", m.Encoding)
		if m.HasRelayState {
			f.add("RelayState", fmt.Sprintf("%q", m.RelayState))
		}
		if m.HasSignature {
			f.add("Query signature", "present, SigAlg "+shortAlg(m.SigAlg)+" (not verified)")
		}
		for _, n := range m.Notes {
			f.add("Note", safe(n))
		}
		f.flush()
		if m.Err != nil {
			fmt.Fprintf(w, "  CANNOT DECODE: %s\n", safe(m.Err.Error()))
			status = exitUnusable
			continue
		}
		doc, err := parseTree(m.XML, messageLimits())
		if err != nil {
			fmt.Fprintf(w, "  NOT WELL-FORMED XML: %s\n  The decoded bytes (%d):\n%s\n", safe(err.Error()), len(m.XML), safe(string(m.XML)))
			status = exitUnusable
			continue
		}
		if showXML {
			fmt.Fprintln(w, "\n  XML (indented for reading; no signature verifies over this form):")
			writePretty(w, doc, "    ")
		}
		fmt.Fprintln(w, "\n  Summary (NOT VERIFIED: what the message claims):")
		warn := summarize(w, doc, now)
		if len(warn) > 0 {
			fmt.Fprintln(w, "\n  Warnings:")
			for _, s := range warn {
				fmt.Fprintf(w, "    - %s\n", s)
			}
		}
	}
	fmt.Fprintf(w, "\nTimes are relative to %s. Nothing above was verified.\n", stamp(now))
	return status
}
