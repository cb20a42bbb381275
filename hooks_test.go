package saml2sp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/saml2sp/saml2sp"
)

func TestLogoutMatches(t *testing.T) {
	alice := saml2sp.LogoutSubject{IdP: "https://idp-a.example", NameID: "alice", NameIDFormat: arFormatEmail,
		NameQualifier: "q", SPNameQualifier: "spq", SessionIndex: "_s1"}
	logout := func(f func(*saml2sp.Logout)) *saml2sp.Logout {
		l := &saml2sp.Logout{Initiator: saml2sp.InitiatorIdP, IdP: alice.IdP, NameID: "alice", NameIDFormat: arFormatEmail,
			NameQualifier: "q", SPNameQualifier: "spq"}
		if f != nil {
			f(l)
		}
		return l
	}
	for _, tc := range []struct {
		name string
		l    *saml2sp.Logout
		s    saml2sp.LogoutSubject
		want bool
	}{
		{"every session of the user", logout(nil), alice, true},
		{"the session named", logout(func(l *saml2sp.Logout) { l.SessionIndexes = []string{"_s0", "_s1"} }), alice, true},
		{"another session", logout(func(l *saml2sp.Logout) { l.SessionIndexes = []string{"_s2"} }), alice, false},
		{"the same NameID at another tenant's IdP", logout(func(l *saml2sp.Logout) { l.IdP = "https://idp-b.example" }), alice, false},
		{"no IdP never matches", logout(func(l *saml2sp.Logout) { l.IdP = "" }), func() saml2sp.LogoutSubject { s := alice; s.IdP = ""; return s }(), false},
		{"another format", logout(func(l *saml2sp.Logout) { l.NameIDFormat = arFormatPers }), alice, false},
		{"another qualifier", logout(func(l *saml2sp.Logout) { l.NameQualifier = "other" }), alice, false},
		{"another SP qualifier", logout(func(l *saml2sp.Logout) { l.SPNameQualifier = "other" }), alice, false},
		{"NameID compared exactly", logout(func(l *saml2sp.Logout) { l.NameID = "Alice" }), alice, false},
		{"no format is unspecified",
			logout(func(l *saml2sp.Logout) { l.NameIDFormat = "" }),
			func() saml2sp.LogoutSubject {
				s := alice
				s.NameIDFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
				return s
			}(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.l.Matches(tc.s))
		})
	}
}

func TestLogoutRevocations(t *testing.T) {
	l := &saml2sp.Logout{IdP: "https://idp.example", NameID: "alice", NameQualifier: "q", SPNameQualifier: "spq"}
	all := l.Revocations()
	assert.Equal(t, []saml2sp.Revocation{{IdP: "https://idp.example", NameID: "alice", NameQualifier: "q", SPNameQualifier: "spq"}}, all)
	l.SessionIndexes = []string{"_s1", "_s2"}
	two := l.Revocations()
	assert.Len(t, two, 2)
	assert.Equal(t, "_s2", two[1].SessionIndex)
	// A login's subject and the IdP's logout name the same record.
	subject := saml2sp.LogoutSubject{IdP: "https://idp.example", NameID: "alice", NameQualifier: "q", SPNameQualifier: "spq", SessionIndex: "_s1"}
	assert.Equal(t, saml2sp.RevocationOf(subject).Key(), two[0].Key())
}
