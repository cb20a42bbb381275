package saml2sptest

import (
	"crypto/ecdsa"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/saml2sp/saml2sp"
)

// childTags lists the local names of el's child elements.
func childTags(el *etree.Element) []string {
	var tags []string
	for _, c := range el.ChildElements() {
		tags = append(tags, c.Tag)
	}
	return tags
}

// attrs returns el's attributes other than namespace declarations.
func attrs(el *etree.Element) map[string]string {
	m := map[string]string{}
	for _, a := range el.Attr {
		if a.Space != "xmlns" && a.Key != "xmlns" {
			m[a.FullKey()] = a.Value
		}
	}
	return m
}

func TestResponseLayout(t *testing.T) {
	idp := newTestIdP(t)
	root := responseDoc(t, idp, Response{
		Destination:  testACS,
		Audience:     testSPID,
		InResponseTo: "_req1",
		ResponseID:   "_resp1",
		AssertionID:  "_assert1",
		SessionIndex: "_sess1",
		Sign:         SignBoth,
		Attributes: []saml2sp.Attribute{
			{Name: "urn:oid:0.9.2342.19200300.100.1.3", FriendlyName: "mail", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:uri", Values: []string{"alice@example.com"}},
			{Name: "groups", Values: []string{"admins", "users"}},
		},
	})

	if root.Space != "samlp" || root.NamespaceURI() != nsProtocol || root.Tag != "Response" {
		t.Fatalf("root is %s in %s", root.FullTag(), root.NamespaceURI())
	}
	if got, want := attrs(root), map[string]string{
		"ID": "_resp1", "Version": "2.0", "IssueInstant": "2024-05-06T07:08:09Z",
		"Destination": testACS, "InResponseTo": "_req1",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("Response attributes = %v, want %v", got, want)
	}
	if got, want := childTags(root), []string{"Issuer", "Signature", "Status", "Assertion"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Response children = %v, want %v", got, want)
	}
	check := func(path, want string) {
		t.Helper()
		el := root.FindElement(path)
		switch {
		case el == nil:
			t.Errorf("%s: missing", path)
		case el.Text() != want:
			t.Errorf("%s = %q, want %q", path, el.Text(), want)
		}
	}
	checkAttrs := func(path string, want map[string]string) {
		t.Helper()
		el := root.FindElement(path)
		if el == nil {
			t.Errorf("%s: missing", path)
		} else if got := attrs(el); !reflect.DeepEqual(got, want) {
			t.Errorf("%s attributes = %v, want %v", path, got, want)
		}
	}
	check("./Issuer", testIdPID)
	checkAttrs("./Status/StatusCode", map[string]string{"Value": "urn:oasis:names:tc:SAML:2.0:status:Success"})

	a := root.SelectElement("Assertion")
	for prefix, ns := range map[string]string{"saml": nsAssertion, "xs": nsXS, "xsi": nsXSI} {
		if got := a.SelectAttrValue("xmlns:"+prefix, ""); got != ns {
			t.Errorf("Assertion declares xmlns:%s=%q, want %q", prefix, got, ns)
		}
	}
	if got, want := childTags(a), []string{"Issuer", "Signature", "Subject", "Conditions", "AuthnStatement", "AttributeStatement"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Assertion children = %v, want %v", got, want)
	}
	checkAttrs("./Assertion", map[string]string{"ID": "_assert1", "Version": "2.0", "IssueInstant": "2024-05-06T07:08:09Z"})
	check("./Assertion/Issuer", testIdPID)
	check("./Assertion/Subject/NameID", "alice@example.com")
	checkAttrs("./Assertion/Subject/NameID", map[string]string{
		"Format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", "SPNameQualifier": testSPID})
	checkAttrs("./Assertion/Subject/SubjectConfirmation", map[string]string{"Method": "urn:oasis:names:tc:SAML:2.0:cm:bearer"})
	checkAttrs("./Assertion/Subject/SubjectConfirmation/SubjectConfirmationData", map[string]string{
		"NotOnOrAfter": "2024-05-06T07:13:09Z", "Recipient": testACS, "InResponseTo": "_req1"})
	checkAttrs("./Assertion/Conditions", map[string]string{"NotBefore": "2024-05-06T07:07:39Z", "NotOnOrAfter": "2024-05-06T07:13:09Z"})
	check("./Assertion/Conditions/AudienceRestriction/Audience", testSPID)
	checkAttrs("./Assertion/AuthnStatement", map[string]string{
		"AuthnInstant": "2024-05-06T07:08:09Z", "SessionIndex": "_sess1", "SessionNotOnOrAfter": "2024-05-06T15:08:09Z"})
	check("./Assertion/AuthnStatement/AuthnContext/AuthnContextClassRef", "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")

	attrEls := root.FindElements("./Assertion/AttributeStatement/Attribute")
	if len(attrEls) != 2 {
		t.Fatalf("%d Attribute elements, want 2", len(attrEls))
	}
	if got, want := attrs(attrEls[0]), map[string]string{
		"Name": "urn:oid:0.9.2342.19200300.100.1.3", "FriendlyName": "mail",
		"NameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("first Attribute = %v, want %v", got, want)
	}
	if got, want := attrs(attrEls[1]), map[string]string{
		"Name": "groups", "NameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("second Attribute = %v, want %v", got, want)
	}
	var values []string
	for _, v := range attrEls[1].SelectElements("AttributeValue") {
		if typ := v.SelectAttrValue("xsi:type", ""); typ != "xs:string" {
			t.Errorf("AttributeValue xsi:type = %q", typ)
		}
		values = append(values, v.Text())
	}
	if !reflect.DeepEqual(values, []string{"admins", "users"}) {
		t.Errorf("groups values = %v", values)
	}
}

func TestResponseDefaults(t *testing.T) {
	idp := newTestIdP(t)
	root := responseDoc(t, idp, Response{Destination: testACS, Audience: testSPID, Sign: SignNone})

	if root.SelectAttr("InResponseTo") != nil || root.FindElement("./Assertion/Subject/SubjectConfirmation/SubjectConfirmationData[@InResponseTo]") != nil {
		t.Error("InResponseTo present in an IdP-initiated Response")
	}
	if root.FindElement("./Assertion/AttributeStatement") != nil {
		t.Error("AttributeStatement present without attributes")
	}
	if root.FindElement("//Signature") != nil {
		t.Error("Signature present with SignNone")
	}
	respID := root.SelectAttrValue("ID", "")
	assertID := root.FindElement("./Assertion").SelectAttrValue("ID", "")
	sess := root.FindElement("./Assertion/AuthnStatement").SelectAttrValue("SessionIndex", "")
	for _, id := range []struct{ name, value, prefix string }{
		{"Response ID", respID, "_"}, {"Assertion ID", assertID, "_"}, {"SessionIndex", sess, "_sess"},
	} {
		hex := strings.TrimPrefix(id.value, id.prefix)
		if !strings.HasPrefix(id.value, id.prefix) || len(hex) != 32 || strings.Trim(hex, "0123456789abcdef") != "" {
			t.Errorf("%s = %q, want %q and 32 hex digits", id.name, id.value, id.prefix)
		}
	}
	if respID == assertID {
		t.Error("Response and Assertion share an ID")
	}
	again := responseDoc(t, idp, Response{Destination: testACS, Audience: testSPID, Sign: SignNone})
	if again.SelectAttrValue("ID", "") == respID {
		t.Error("two Responses share an ID")
	}
}

func TestResponseOverrides(t *testing.T) {
	idp := newTestIdP(t)
	issued := time.Date(2030, 1, 2, 3, 4, 5, 500_000_000, time.FixedZone("CET", 3600))
	root := responseDoc(t, idp, Response{
		Destination:         testACS,
		Audience:            testSPID,
		Audiences:           [][]string{{"https://a.example", "https://b.example"}, {"https://c.example"}},
		Recipient:           "https://elsewhere.example/acs",
		NameID:              "bob",
		NameIDFormat:        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		Issuer:              "https://evil.example",
		IssueInstant:        issued,
		NotBefore:           issued.Add(time.Hour),
		NotOnOrAfter:        issued.Add(2 * time.Hour),
		SubjectNotOnOrAfter: issued.Add(-time.Hour),
		SessionNotOnOrAfter: issued.Add(time.Minute),
		Sign:                SignNone,
	})
	for _, tt := range []struct{ path, attr, want string }{
		{".", "IssueInstant", "2030-01-02T02:04:05.5Z"},
		{"./Assertion/Conditions", "NotBefore", "2030-01-02T03:04:05.5Z"},
		{"./Assertion/Conditions", "NotOnOrAfter", "2030-01-02T04:04:05.5Z"},
		{"./Assertion/AuthnStatement", "AuthnInstant", "2030-01-02T02:04:05.5Z"},
		{"./Assertion/AuthnStatement", "SessionNotOnOrAfter", "2030-01-02T02:05:05.5Z"},
	} {
		if got := root.FindElement(tt.path).SelectAttrValue(tt.attr, ""); got != tt.want {
			t.Errorf("%s@%s = %q, want %q", tt.path, tt.attr, got, tt.want)
		}
	}
	scd := root.FindElement("./Assertion/Subject/SubjectConfirmation/SubjectConfirmationData")
	if got := attrs(scd); got["Recipient"] != "https://elsewhere.example/acs" || got["NotOnOrAfter"] != "2030-01-02T01:04:05.5Z" {
		t.Errorf("SubjectConfirmationData = %v", got)
	}
	if root.SelectAttrValue("Destination", "") != testACS {
		t.Error("Recipient changed Destination")
	}
	nameID := root.FindElement("./Assertion/Subject/NameID")
	if nameID.Text() != "bob" || nameID.SelectAttrValue("Format", "") != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" {
		t.Errorf("NameID = %q %v", nameID.Text(), attrs(nameID))
	}
	for _, path := range []string{"./Issuer", "./Assertion/Issuer"} {
		if got := root.FindElement(path).Text(); got != "https://evil.example" {
			t.Errorf("%s = %q", path, got)
		}
	}
	var audiences [][]string
	for _, ar := range root.FindElements("./Assertion/Conditions/AudienceRestriction") {
		var list []string
		for _, a := range ar.SelectElements("Audience") {
			list = append(list, a.Text())
		}
		audiences = append(audiences, list)
	}
	if want := [][]string{{"https://a.example", "https://b.example"}, {"https://c.example"}}; !reflect.DeepEqual(audiences, want) {
		t.Errorf("AudienceRestrictions = %v, want %v", audiences, want)
	}
}

func TestResponseErrorStatus(t *testing.T) {
	idp := newTestIdP(t)
	for _, sign := range []Sign{SignAssertion, SignResponse} {
		root := responseDoc(t, idp, Response{
			Destination:   testACS,
			Audience:      testSPID,
			StatusCode:    "urn:oasis:names:tc:SAML:2.0:status:Responder",
			SubStatusCode: "urn:oasis:names:tc:SAML:2.0:status:RequestDenied",
			StatusMessage: "no & never",
			Sign:          sign,
		})
		if root.FindElement("./Assertion") != nil {
			t.Errorf("sign %d: error Response carries an Assertion", sign)
		}
		code := root.FindElement("./Status/StatusCode")
		if got := code.SelectAttrValue("Value", ""); got != "urn:oasis:names:tc:SAML:2.0:status:Responder" {
			t.Errorf("StatusCode = %q", got)
		}
		if got := code.FindElement("./StatusCode").SelectAttrValue("Value", ""); got != "urn:oasis:names:tc:SAML:2.0:status:RequestDenied" {
			t.Errorf("nested StatusCode = %q", got)
		}
		if got := root.FindElement("./Status/StatusMessage").Text(); got != "no & never" {
			t.Errorf("StatusMessage = %q", got)
		}
		_, err := verify(root, idp.Certificate)
		if sign == SignResponse && err != nil {
			t.Errorf("SignResponse: %v", err)
		}
		if sign == SignAssertion && err == nil {
			t.Error("SignAssertion signed a Response without an assertion")
		}
	}
}

func TestResponseIsBase64OfResponseXML(t *testing.T) {
	idp := newTestIdP(t)
	// RSA PKCS #1 v1.5 signatures are deterministic, so fixing every random
	// default gives identical documents.
	r := Response{Destination: testACS, Audience: testSPID, ResponseID: "_r", AssertionID: "_a", SessionIndex: "_s", Sign: SignBoth}
	xml, err := idp.ResponseXML(r)
	if err != nil {
		t.Fatal(err)
	}
	form, err := idp.Response(r)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := base64.StdEncoding.DecodeString(form)
	if err != nil {
		t.Fatalf("not standard base64: %v", err)
	}
	if string(decoded) != string(xml) {
		t.Error("Response is not the base64 of ResponseXML")
	}
}

func TestResponseRejects(t *testing.T) {
	rsaIdP := newTestIdP(t)
	ecIdP := newECDSAIdP(t)
	keyless := &IdP{EntityID: testIdPID}
	ok := Response{Destination: testACS, Audience: testSPID}
	with := func(f func(*Response)) Response { r := ok; f(&r); return r }
	tests := []struct {
		name    string
		idp     *IdP
		r       Response
		wantErr string
	}{
		{"no destination", rsaIdP, with(func(r *Response) { r.Destination = "" }), "Destination is required"},
		{"no audience", rsaIdP, with(func(r *Response) { r.Audience = "" }), "Audience is required"},
		{"unknown signature algorithm", rsaIdP, with(func(r *Response) { r.SignatureAlgorithm = "rsa-md5" }), "unknown SignatureAlgorithm"},
		{"unknown digest algorithm", rsaIdP, with(func(r *Response) { r.DigestAlgorithm = "md5" }), "unknown DigestAlgorithm"},
		{"RSA method with ECDSA key", ecIdP, with(func(r *Response) { r.SignatureAlgorithm = "rsa-sha256" }), "incompatible"},
		{"no key", keyless, ok, "no Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.idp.Response(tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "saml2sptest: ") {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	// Without signing, no key is needed.
	if _, err := keyless.Response(with(func(r *Response) { r.Sign = SignNone })); err != nil {
		t.Errorf("unsigned Response from keyless IdP: %v", err)
	}
	if _, ok := ecIdP.Key.(*ecdsa.PrivateKey); !ok {
		t.Fatal("ECDSA fixture has no ECDSA key")
	}
}

func TestAttributeValuesSurviveSigning(t *testing.T) {
	idp := newTestIdP(t)
	want := []string{`R&D`, `<admin>`, `"quoted" & 'single'`, "tab\tnewline\n", "crlf\r\n", "ünïcödé"}
	root := responseDoc(t, idp, Response{
		Destination: testACS,
		Audience:    testSPID,
		NameID:      "a&b@example.com",
		Attributes:  []saml2sp.Attribute{{Name: "dept&role", FriendlyName: "two\nlines\tand\r", Values: want}},
	})
	// Read from what goxmldsig verified, as the SP does.
	signed, err := verify(root.SelectElement("Assertion"), idp.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	at := signed.FindElement("./AttributeStatement/Attribute")
	if got := at.SelectAttrValue("Name", ""); got != "dept&role" {
		t.Errorf("Name = %q", got)
	}
	if got := at.SelectAttrValue("FriendlyName", ""); got != "two\nlines\tand\r" {
		t.Errorf("FriendlyName = %q", got)
	}
	var got []string
	for _, v := range at.SelectElements("AttributeValue") {
		got = append(got, v.Text())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values = %q, want %q", got, want)
	}
	if got := signed.FindElement("./Subject/NameID").Text(); got != "a&b@example.com" {
		t.Errorf("NameID = %q", got)
	}
}
