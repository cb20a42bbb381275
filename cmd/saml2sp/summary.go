package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Namespaces read by the summaries.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXEnc      = "http://www.w3.org/2001/04/xmlenc#"
	nsXEnc11    = "http://www.w3.org/2009/xmlenc11#"
)

// maxShownValues bounds the values listed per attribute.
const maxShownValues = 20

// summarize prints what a decoded message says, read from the XML as
// written: nothing here is verified. It returns warnings about the
// message's shape.
func summarize(w io.Writer, doc *xdoc, now time.Time) []string {
	root := doc.root
	f := newFields(w, "    ")
	var warn []string
	if doc.hasDTD {
		warn = append(warn, "the message has a DOCTYPE: the SP refuses any DTD")
	}
	kind := root.local
	if root.ns() != nsProtocol {
		kind = fmt.Sprintf("%s (namespace %q, not SAML 2.0 protocol)", qname(root.prefix, root.local), root.ns())
	}
	f.add("Message", safe(kind))
	f.add("ID", safe(root.attr("ID")))
	f.add("IssueInstant", xmlWhen(root.attr("IssueInstant"), now, when))
	f.add("Issuer", safe(root.kid(nsAssertion, "Issuer").str()))
	f.add("Destination", safe(root.attr("Destination")))
	f.add("InResponseTo", safe(root.attr("InResponseTo")))
	if st := root.kid(nsProtocol, "Status"); st != nil {
		f.add("Status", status(st))
	}
	switch root.local {
	case "AuthnRequest":
		f.add("AssertionConsumerServiceURL", safe(root.attr("AssertionConsumerServiceURL")))
		f.add("ProtocolBinding", shortURN(root.attr("ProtocolBinding")))
		f.add("ForceAuthn", safe(root.attr("ForceAuthn")))
		f.add("IsPassive", safe(root.attr("IsPassive")))
		if p := root.kid(nsProtocol, "NameIDPolicy"); p != nil {
			f.add("NameIDPolicy", strings.TrimSpace(fmt.Sprintf("%s AllowCreate=%s", shortURN(p.attr("Format")), safe(p.attr("AllowCreate")))))
		}
		if rac := root.kid(nsProtocol, "RequestedAuthnContext"); rac != nil {
			var refs []string
			for _, r := range rac.kids(nsAssertion, "AuthnContextClassRef") {
				refs = append(refs, shortURN(r.str()))
			}
			f.add("RequestedAuthnContext", safe(rac.attr("Comparison"))+" "+strings.Join(refs, ", "))
		}
	case "LogoutRequest":
		f.add("NameID", nameID(root.kid(nsAssertion, "NameID"), &warn))
		for _, si := range root.kids(nsProtocol, "SessionIndex") {
			f.add("SessionIndex", safe(si.str()))
		}
		f.add("NotOnOrAfter", xmlWhen(root.attr("NotOnOrAfter"), now, until))
		f.add("Reason", safe(root.attr("Reason")))
	}
	f.add("XML signature", signatureLine(root.kid(nsDSig, "Signature"), &warn))
	f.flush()

	if root.local == "Response" && root.ns() == nsProtocol {
		warn = append(warn, summarizeAssertions(w, root, now)...)
	}
	return warn
}

// status shows a samlp:Status: the code, a nested code, the message.
func status(st *xnode) string {
	code := st.kid(nsProtocol, "StatusCode")
	s := shortURN(code.attr("Value"))
	if sub := code.kid(nsProtocol, "StatusCode"); sub != nil {
		s += " / " + shortURN(sub.attr("Value"))
	}
	if m := st.kid(nsProtocol, "StatusMessage").str(); m != "" {
		s += fmt.Sprintf(": %q", m)
	}
	return safe(s)
}

// signatureLine describes a ds:Signature: its algorithms.
func signatureLine(sig *xnode, warn *[]string) string {
	if sig == nil {
		return "none"
	}
	si := sig.kid(nsDSig, "SignedInfo")
	sm := si.kid(nsDSig, "SignatureMethod").attr("Algorithm")
	var digests []string
	for _, ref := range si.kids(nsDSig, "Reference") {
		digests = append(digests, shortAlg(ref.kid(nsDSig, "DigestMethod").attr("Algorithm")))
		if d := ref.kid(nsDSig, "DigestMethod").attr("Algorithm"); isSHA1(d) {
			*warn = append(*warn, "a signature uses the SHA-1 digest "+shortAlg(d)+": the SP refuses it unless InsecureAllowSHA1")
		}
	}
	if isSHA1(sm) {
		*warn = append(*warn, "a signature uses "+shortAlg(sm)+": the SP refuses SHA-1 unless InsecureAllowSHA1")
	}
	s := fmt.Sprintf("%s, digest %s, canonicalization %s", shortAlg(sm), strings.Join(digests, ", "),
		shortAlg(si.kid(nsDSig, "CanonicalizationMethod").attr("Algorithm")))
	if sig.kid(nsDSig, "KeyInfo") == nil {
		s += ", no KeyInfo"
	}
	return s
}

// nameID shows a NameID with its format and qualifiers.
func nameID(n *xnode, warn *[]string) string {
	if n == nil {
		return ""
	}
	v, comment := n.text()
	if comment {
		*warn = append(*warn, "the NameID contains an XML comment: a classic trick to make parsers read only part of it")
	}
	s := safe(v)
	var q []string
	if f := n.attr("Format"); f != "" {
		q = append(q, "format "+shortURN(f))
	}
	if nq := n.attr("NameQualifier"); nq != "" {
		q = append(q, "NameQualifier "+safe(nq))
	}
	if sq := n.attr("SPNameQualifier"); sq != "" {
		q = append(q, "SPNameQualifier "+safe(sq))
	}
	if len(q) > 0 {
		s += " (" + strings.Join(q, ", ") + ")"
	}
	return s
}

// summarizeAssertions prints the Response's assertions and returns
// warnings about where assertions sit.
func summarizeAssertions(w io.Writer, resp *xnode, now time.Time) []string {
	var warn []string
	plain := resp.kids(nsAssertion, "Assertion")
	encrypted := resp.kids(nsAssertion, "EncryptedAssertion")
	if n := len(plain) + len(encrypted); n > 1 {
		warn = append(warn, fmt.Sprintf("the Response holds %d assertions: the SP refuses more than one", n))
	}
	direct := map[*xnode]bool{}
	for _, a := range plain {
		direct[a] = true
	}
	resp.walk(func(n *xnode) {
		if n.is(nsAssertion, "Assertion") && !direct[n] {
			warn = append(warn, "an Assertion sits elsewhere than directly in the Response (in "+qname(n.parent.prefix, n.parent.local)+
				"): the shape of a signature-wrapping attack")
		}
	})
	for _, a := range plain {
		fmt.Fprintf(w, "\n    Assertion %s\n", safe(a.attr("ID")))
		summarizeAssertion(w, a, now, &warn)
	}
	for _, ea := range encrypted {
		fmt.Fprintln(w, "\n    EncryptedAssertion (its content needs the SP's key: use saml2sp verify --sp-key)")
		f := newFields(w, "      ")
		ed := ea.kid(nsXEnc, "EncryptedData")
		f.add("Content encryption", shortAlg(ed.kid(nsXEnc, "EncryptionMethod").attr("Algorithm")))
		var keys []*xnode
		ea.walk(func(n *xnode) {
			if n.is(nsXEnc, "EncryptedKey") {
				keys = append(keys, n)
			}
		})
		for _, k := range keys {
			f.add("Key transport", keyTransport(k.kid(nsXEnc, "EncryptionMethod")))
		}
		f.flush()
	}
	return warn
}

// keyTransport describes an EncryptedKey's EncryptionMethod: the RSA
// padding with its digest and mask function.
func keyTransport(em *xnode) string {
	s := shortAlg(em.attr("Algorithm"))
	if d := em.kid(nsDSig, "DigestMethod"); d != nil {
		s += ", digest " + shortAlg(d.attr("Algorithm"))
	}
	if m := em.kid(nsXEnc11, "MGF"); m != nil {
		s += ", MGF " + shortAlg(m.attr("Algorithm"))
	}
	return s
}

func summarizeAssertion(w io.Writer, a *xnode, now time.Time, warn *[]string) {
	f := newFields(w, "      ")
	f.add("IssueInstant", xmlWhen(a.attr("IssueInstant"), now, when))
	f.add("Issuer", safe(a.kid(nsAssertion, "Issuer").str()))
	f.add("XML signature", signatureLine(a.kid(nsDSig, "Signature"), warn))
	subj := a.kid(nsAssertion, "Subject")
	f.add("NameID", nameID(subj.kid(nsAssertion, "NameID"), warn))
	for _, sc := range subj.kids(nsAssertion, "SubjectConfirmation") {
		d := sc.kid(nsAssertion, "SubjectConfirmationData")
		parts := []string{shortURN(sc.attr("Method"))}
		if r := d.attr("Recipient"); r != "" {
			parts = append(parts, "Recipient "+safe(r))
		}
		if irt := d.attr("InResponseTo"); irt != "" {
			parts = append(parts, "InResponseTo "+safe(irt))
		}
		if t := d.attr("NotOnOrAfter"); t != "" {
			parts = append(parts, "NotOnOrAfter "+xmlWhen(t, now, until))
		}
		f.add("SubjectConfirmation", strings.Join(parts, ", "))
	}
	if c := a.kid(nsAssertion, "Conditions"); c != nil {
		f.add("NotBefore", xmlWhen(c.attr("NotBefore"), now, since))
		f.add("NotOnOrAfter", xmlWhen(c.attr("NotOnOrAfter"), now, until))
		for _, ar := range c.kids(nsAssertion, "AudienceRestriction") {
			var aud []string
			for _, au := range ar.kids(nsAssertion, "Audience") {
				aud = append(aud, safe(au.str()))
			}
			f.add("Audience", strings.Join(aud, " or "))
		}
	}
	for _, as := range a.kids(nsAssertion, "AuthnStatement") {
		f.add("AuthnInstant", xmlWhen(as.attr("AuthnInstant"), now, when))
		f.add("SessionIndex", safe(as.attr("SessionIndex")))
		f.add("SessionNotOnOrAfter", xmlWhen(as.attr("SessionNotOnOrAfter"), now, until))
		f.add("AuthnContext", shortURN(as.path(nsAssertion, "AuthnContext", "AuthnContextClassRef").str()))
	}
	f.flush()
	var attrs []*xnode
	for _, st := range a.kids(nsAssertion, "AttributeStatement") {
		attrs = append(attrs, st.kids(nsAssertion, "Attribute")...)
	}
	if len(attrs) == 0 {
		return
	}
	fmt.Fprintf(w, "      Attributes (%d):\n", len(attrs))
	af := newFields(w, "        ")
	for _, at := range attrs {
		name := safe(at.attr("Name"))
		if fn := at.attr("FriendlyName"); fn != "" {
			name += " (" + safe(fn) + ")"
		}
		var vals []string
		for _, v := range at.kids(nsAssertion, "AttributeValue") {
			vals = append(vals, v.str())
		}
		af.add(name, showValues(vals))
	}
	af.flush()
}

// showValues lists values quoted (which escapes what a terminal could
// misread), up to maxShownValues.
func showValues(vals []string) string {
	var q []string
	for i, v := range vals {
		if i == maxShownValues {
			q = append(q, fmt.Sprintf("... and %d more", len(vals)-maxShownValues))
			break
		}
		q = append(q, fmt.Sprintf("%q", v))
	}
	if len(q) == 0 {
		return "(no value)"
	}
	return strings.Join(q, ", ")
}
