package saml2sp

import (
	"unicode/utf8"

	"github.com/beevik/etree"
)

// envelope is the outer samlp:Response, located in the parsed (not yet
// verified) document. Only its shape is trusted from here: values are read
// after the signature check.
type envelope struct {
	response  *etree.Element
	signature *etree.Element // direct-child ds:Signature of the Response, or nil
	status    *etree.Element
	assertion *etree.Element // the single saml:Assertion child, nil on error status
	assertSig *etree.Element // direct-child ds:Signature of the Assertion, or nil
	// encrypted is the single saml:EncryptedAssertion child, when the
	// Response carries one instead of an Assertion. verifySignatures
	// decrypts it and fills in assertion and assertSig.
	encrypted *etree.Element
	// ids and xmlsecIDs are the ID and Id attribute values of the received
	// document.
	ids, xmlsecIDs map[string]*etree.Element
}

var responseSequence = []step{
	optional(nsAssertion, "Issuer"),
	optional(nsDSig, "Signature"),
	optional(nsProtocol, "Extensions"),
	one(nsProtocol, "Status"),
	many(nsAssertion, "Assertion", "EncryptedAssertion"),
}

var assertionSequence = []step{
	one(nsAssertion, "Issuer"),
	optional(nsDSig, "Signature"),
	optional(nsAssertion, "Subject"),
	optional(nsAssertion, "Conditions"),
	optional(nsAssertion, "Advice"),
	many(nsAssertion, "Statement", "AuthnStatement", "AuthzDecisionStatement", "AttributeStatement"),
}

// locateEnvelope checks the Response's shape: the schema order of its
// children, exactly one Assertion or EncryptedAssertion in the whole document
// and it a direct child of the Response, and signatures only as direct
// children of the Response and that Assertion. Signature-wrapping attacks
// (XSW1-8) all need a second Assertion, a misplaced Signature or a moved
// element, so they stop here or at the Reference check that follows.
func locateEnvelope(root *etree.Element) (*envelope, error) {
	if !is(root, nsProtocol, "Response") {
		return nil, failf(ErrMalformed, "document element is %s, not a SAML 2.0 protocol Response", root.FullTag())
	}
	if v := attrValue(root, "Version"); v != samlVersion {
		return nil, failf(ErrMalformed, "Response Version %q is not 2.0", v)
	}
	groups, err := sequence(root, responseSequence...)
	if err != nil {
		return nil, err
	}
	env := &envelope{response: root, status: groups[3][0]}
	if len(groups[1]) == 1 {
		env.signature = groups[1][0]
	}
	var assertions, encrypted int
	for _, el := range groups[4] {
		if el.Tag == "EncryptedAssertion" {
			encrypted++
			env.encrypted = el
		} else {
			assertions++
			env.assertion = el
		}
	}
	switch {
	case assertions+encrypted > 1 && encrypted > 0:
		return nil, failf(ErrMalformed, "Response carries %d assertions, %d of them encrypted; exactly one is accepted", assertions+encrypted, encrypted)
	case assertions > 1:
		return nil, failf(ErrMalformed, "Response carries %d assertions, exactly one is accepted", assertions)
	}
	if env.assertion != nil {
		if env.assertSig, err = locateAssertion(env.assertion); err != nil {
			return nil, err
		}
	}
	if err := checkInventory(env.response, env.signature, env.assertion, env.encrypted, env.assertSig); err != nil {
		return nil, err
	}
	return env, nil
}

// locateAssertion checks the schema order of an Assertion's children and
// returns its direct-child Signature, or nil. Plain and decrypted assertions
// both go through it.
func locateAssertion(a *etree.Element) (*etree.Element, error) {
	ag, err := sequence(a, assertionSequence...)
	if err != nil {
		return nil, err
	}
	if len(ag[1]) == 1 {
		return ag[1][0], nil
	}
	return nil, nil
}

// checkInventory walks the tree under root once and refuses any Assertion,
// EncryptedAssertion or Signature other than the located ones in known,
// wherever it hides (Extensions, Advice, ds:Object, inside another Signature,
// inside an EncryptedAssertion...).
func checkInventory(root *etree.Element, known ...*etree.Element) error {
	isKnown := func(el *etree.Element) bool {
		for _, k := range known {
			if el == k {
				return true
			}
		}
		return false
	}
	stack := []*etree.Element{root}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch el.Tag {
		case "Assertion", "EncryptedAssertion":
			if !isKnown(el) && el.NamespaceURI() == nsAssertion {
				return failf(ErrMalformed, "an extra %s is nested inside %s", el.Tag, el.Parent().Tag)
			}
		case "Signature":
			if !isKnown(el) && el.NamespaceURI() == nsDSig {
				return failf(ErrSignature, "a Signature inside %s is not allowed; only the Response and the Assertion may be signed", el.Parent().Tag)
			}
		}
		for _, tok := range el.Child {
			if c, ok := tok.(*etree.Element); ok {
				stack = append(stack, c)
			}
		}
	}
	return nil
}

// checkStatus requires a top-level Success status code. On failure it
// reports every nested code and the message, which tell the admin why the
// IdP refused (for example RequestDenied for a user not assigned to the app).
func checkStatus(status *etree.Element) error {
	g, err := sequence(status,
		one(nsProtocol, "StatusCode"),
		optional(nsProtocol, "StatusMessage"),
		optional(nsProtocol, "StatusDetail"))
	if err != nil {
		return err
	}
	var codes []string
	for code := g[0][0]; code != nil; {
		v, ok := attr(code, "Value")
		if !ok {
			return failf(ErrMalformed, "StatusCode has no Value")
		}
		codes = append(codes, v)
		cg, err := sequence(code, optional(nsProtocol, "StatusCode"))
		if err != nil {
			return err
		}
		code = nil
		if len(cg[0]) == 1 {
			code = cg[0][0]
		}
	}
	if codes[0] == statusSuccess {
		return nil
	}
	se := &StatusError{Codes: codes}
	if len(g[1]) == 1 {
		se.Message, _ = simpleText(g[1][0])
		if len(se.Message) > 200 {
			cut := 200
			for cut > 0 && !utf8.RuneStart(se.Message[cut]) {
				cut--
			}
			se.Message = se.Message[:cut]
		}
	}
	return se
}
