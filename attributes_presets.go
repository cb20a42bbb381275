package saml2sp

import "strings"

// Attribute names shared by several IdPs.
const (
	// WS-Federation / AD FS claim types, also used by Entra ID and Auth0.
	claimEmail       = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	claimName        = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	claimGivenName   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	claimSurname     = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
	claimUPN         = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	claimNameIDClaim = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"
	claimGroup       = "http://schemas.xmlsoap.org/claims/Group"
	claimCommonName  = "http://schemas.xmlsoap.org/claims/CommonName"
	claimWindowsName = "http://schemas.microsoft.com/ws/2008/06/identity/claims/windowsaccountname"
	claimPrimarySID  = "http://schemas.microsoft.com/ws/2008/06/identity/claims/primarysid"
	claimRole        = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	claimGroups      = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
	claimObjectID    = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	claimDisplayName = "http://schemas.microsoft.com/identity/claims/displayname"
	claimAuth0       = "http://schemas.auth0.com/"

	// LDAP / eduPerson / SAML subject identifier attributes (urn:oid: names,
	// NameFormat uri), as Shibboleth and SimpleSAMLphp's oid map send them.
	oidUID           = "urn:oid:0.9.2342.19200300.100.1.1"
	oidMail          = "urn:oid:0.9.2342.19200300.100.1.3"
	oidGivenName     = "urn:oid:2.5.4.42"
	oidSurname       = "urn:oid:2.5.4.4"
	oidCommonName    = "urn:oid:2.5.4.3"
	oidDisplayName   = "urn:oid:2.16.840.1.113730.3.1.241"
	oidPrincipalName = "urn:oid:1.3.6.1.4.1.5923.1.1.1.6"  // eduPersonPrincipalName
	oidUniqueID      = "urn:oid:1.3.6.1.4.1.5923.1.1.1.13" // eduPersonUniqueId
	oidTargetedID    = "urn:oid:1.3.6.1.4.1.5923.1.1.1.10" // eduPersonTargetedID
	oidAffiliation   = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1"  // eduPersonAffiliation
	oidIsMemberOf    = "urn:oid:1.3.6.1.4.1.5923.1.5.1.1"  // isMemberOf
	oidPKCS9Email    = "urn:oid:1.2.840.113549.1.9.1"      // Keycloak's "X500 email" mapper
	attrPairwiseID   = "urn:oasis:names:tc:SAML:attribute:pairwise-id"
	attrSubjectID    = "urn:oasis:names:tc:SAML:attribute:subject-id"
)

// MappingPreset returns the preset named by a config file: "okta",
// "entra", "adfs", "google", "onelogin", "jumpcloud", "ping", "auth0",
// "keycloak", "simplesamlphp", "shibboleth" or "generic" (ignoring ASCII
// case).
func MappingPreset(name string) (AttributeMapping, bool) {
	presets := map[string]func() AttributeMapping{
		"okta":          OktaMapping,
		"entra":         EntraIDMapping,
		"adfs":          ADFSMapping,
		"google":        GoogleWorkspaceMapping,
		"onelogin":      OneLoginMapping,
		"jumpcloud":     JumpCloudMapping,
		"ping":          PingMapping,
		"auth0":         Auth0Mapping,
		"keycloak":      KeycloakMapping,
		"simplesamlphp": SimpleSAMLphpMapping,
		"shibboleth":    ShibbolethMapping,
		"generic":       GenericMapping,
	}
	f, ok := presets[asciiLower(strings.TrimSpace(name))]
	if !ok {
		return AttributeMapping{}, false
	}
	return f(), true
}

// OktaMapping is for Okta app integrations. Okta sends no attributes until
// an admin defines attribute statements; these are the names Okta's guides
// and the Sentry Okta integration use: firstName, lastName, email, and a
// group attribute statement named "groups".
//
// Sources: Okta Help Center, "Create SAML app integrations" and "Define
// group attribute statements"
// (https://help.okta.com/en-us/content/topics/apps/define-group-attribute-statements.htm);
// getsentry/sentry src/sentry/auth/providers/saml2/okta/provider.py
// ("identifier", "email", "firstName", "lastName").
//
// User ID: Okta has no conventional attribute name for its user ID; define
// an attribute statement "id" with the value user.getInternalProperty("id")
// (the immutable 00u... ID), or configure a persistent NameID. "identifier"
// is what Sentry's Okta app sends; what it holds is up to that app.
func OktaMapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{"id", "userId", "identifier"},
		Email:            []string{"email", claimEmail},
		FirstName:        []string{"firstName", claimGivenName},
		LastName:         []string{"lastName", claimSurname},
		DisplayName:      []string{"displayName"},
		Username:         []string{"username", "login"},
		Groups:           []string{"groups"},
		UserIDFromNameID: true,
	}
}

// EntraIDMapping is for Microsoft Entra ID (Azure AD) enterprise
// applications, which send claim URIs by default: objectidentifier (the
// user's immutable object ID, used as the user ID), emailaddress
// (user.mail), name (the user principal name), givenname, surname, and,
// when configured, displayname and groups.
//
// Sources: Microsoft Learn, "SAML token claims reference"
// (https://learn.microsoft.com/en-us/entra/identity-platform/reference-saml-tokens)
// and "Configure group claims for applications by using Microsoft Entra ID"
// (https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-fed-group-claims).
//
// Email falls back to the user principal name, for users without a
// mailbox. Group values are group object IDs unless the admin chose
// sAMAccountName or cloud group names; a user in too many groups gets a
// groups.link claim instead of groups (Groups then stays empty).
func EntraIDMapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{claimObjectID},
		Email:            []string{claimEmail, claimName},
		FirstName:        []string{claimGivenName},
		LastName:         []string{claimSurname},
		DisplayName:      []string{claimDisplayName},
		Username:         []string{claimName},
		Groups:           []string{claimGroups, claimRole},
		UserIDFromNameID: true,
	}
}

// ADFSMapping is for Active Directory Federation Services relying party
// trusts. AD FS sends what its claim rules issue, under its claim
// descriptions' URIs; the names here are the ones the "Send LDAP Attributes
// as Claims" template offers (E-Mail Address, UPN, Given Name, Surname,
// Windows account name, Group, Role).
//
// Sources: Microsoft Learn, "Create a Rule to Send LDAP Attributes as
// Claims"
// (https://learn.microsoft.com/en-us/windows-server/identity/ad-fs/operations/create-a-rule-to-send-ldap-attributes-as-claims);
// getsentry/sentry's former ADFS provider used windowsaccountname as the
// identifier.
//
// User ID: AD FS has no default immutable ID claim. The preset prefers the
// Primary SID, then the Windows account name (DOMAIN\user), then the UPN;
// a rule that issues a persistent NameID (from objectGUID) is better still
// when none of those is sent.
func ADFSMapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{claimPrimarySID, claimWindowsName, claimUPN},
		Email:            []string{claimEmail, claimUPN},
		FirstName:        []string{claimGivenName},
		LastName:         []string{claimSurname},
		DisplayName:      []string{claimCommonName, claimName},
		Username:         []string{claimWindowsName, claimUPN},
		Groups:           []string{claimGroup, claimRole},
		UserIDFromNameID: true,
	}
}

// GoogleWorkspaceMapping is for a Google Workspace custom SAML app. Google
// sends no attributes by default: the admin maps directory attributes to
// app attribute names of their choosing, and group membership to one more
// name. The preset expects "email" (Primary email), "firstName",
// "lastName" and "groups", the names most Google setup guides use.
//
// Source: Google Workspace Admin Help, "Set up your own custom SAML app"
// (https://support.google.com/a/answer/6087519).
//
// User ID: Google's SAML attribute mapping offers no opaque user ID, so the
// preset uses the primary email as the user ID. Renaming a user's primary
// email at Google therefore looks like a new user.
func GoogleWorkspaceMapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{"email", "mail"},
		Email:            []string{"email", "mail"},
		FirstName:        []string{"firstName", "givenName"},
		LastName:         []string{"lastName", "surname"},
		DisplayName:      []string{"displayName"},
		Username:         []string{"username"},
		Groups:           []string{"groups"},
		UserIDFromNameID: true,
	}
}

// OneLoginMapping is for OneLogin's SAML connectors, whose default
// parameters are User.email, User.FirstName, User.LastName, memberOf and
// PersonImmutableID.
//
// Sources: getsentry/sentry src/sentry/auth/providers/saml2/onelogin/provider.py
// (PersonImmutableID, User.email, User.FirstName, User.LastName); OneLogin's
// "SAML Test Connector (IdP w/ attr)" parameter list (memberOf), recalled
// rather than re-checked. "email" and "groups" cover connectors where the
// admin added parameters under those names (as Sourcegraph's guide asks).
func OneLoginMapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{"PersonImmutableID"},
		Email:            []string{"User.email", "email"},
		FirstName:        []string{"User.FirstName", "firstName"},
		LastName:         []string{"User.LastName", "lastName"},
		DisplayName:      []string{"displayName"},
		Username:         []string{"User.Username", "username"},
		Groups:           []string{"memberOf", "groups"},
		UserIDFromNameID: true,
	}
}

// JumpCloudMapping is for JumpCloud's SAML 2.0 connector. The admin names
// the user attributes ("Service Provider Attribute Name") and may include a
// group attribute; the preset expects the JumpCloud attribute names
// themselves (email, firstname, lastname, username) and "memberOf" for
// groups.
//
// Source: JumpCloud Help Center, "SAML Attribute Notes"
// (https://jumpcloud.com/support/saml-attribute-notes). That "memberOf" is
// the group attribute's default name is from memory, not re-checked.
//
// User ID: JumpCloud sends no opaque user ID by default; add an attribute
// "id" or use a persistent NameID.
func JumpCloudMapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{"id", "userId"},
		Email:            []string{"email"},
		FirstName:        []string{"firstname", "firstName"},
		LastName:         []string{"lastname", "lastName"},
		DisplayName:      []string{"displayname", "displayName"},
		Username:         []string{"username"},
		Groups:           []string{"memberOf", "groups"},
		UserIDFromNameID: true,
	}
}

// PingMapping is for PingOne and PingFederate. Ping sends SAML_SUBJECT as
// the NameID (set it to a unique value with the persistent format) and
// attributes under names the admin picks; the preset expects the names of
// PingOne's application attribute examples (Email, FirstName, LastName,
// Groups mapped from memberOf) in the usual spellings.
//
// Source: Ping Identity docs, "Editing SAML attribute mappings" and the
// PingOne application guides
// (https://docs.pingidentity.com/r/en-us/pingone/p1_t_editsamlattributemapping).
// Attribute names are admin-defined there: treat these as common choices.
func PingMapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{"uid", "id", "objectGUID"},
		Email:            []string{"Email", "email", "mail"},
		FirstName:        []string{"FirstName", "firstName", "givenName"},
		LastName:         []string{"LastName", "lastName", "sn"},
		DisplayName:      []string{"displayName", "cn"},
		Username:         []string{"Username", "username"},
		Groups:           []string{"Groups", "groups", "memberOf"},
		UserIDFromNameID: true,
	}
}

// Auth0Mapping is for Auth0's SAML2 Web App add-on, whose default mappings
// send user_id as .../claims/nameidentifier, email, name, given_name,
// family_name and upn as the WS-Federation claim URIs, groups as
// http://schemas.xmlsoap.org/claims/Group, and every other profile field
// as http://schemas.auth0.com/<field> (nickname, email_verified...).
//
// Source: Auth0 Docs, "Customize SAML Assertions" and "SAML Attribute
// Mapping Examples"
// (https://auth0.com/docs/authenticate/protocols/saml/saml-configuration/saml-attribute-mapping-examples).
func Auth0Mapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{claimNameIDClaim},
		Email:            []string{claimEmail},
		FirstName:        []string{claimGivenName},
		LastName:         []string{claimSurname},
		DisplayName:      []string{claimName},
		Username:         []string{claimAuth0 + "username", claimAuth0 + "nickname"},
		Groups:           []string{claimGroup, claimAuth0 + "roles"},
		UserIDFromNameID: true,
	}
}

// KeycloakMapping is for Keycloak SAML clients. Keycloak sends the roles
// as one "Role" attribute per role (the default "role list" mapper) and
// other attributes only through mappers the admin adds: the predefined
// "X500 email", "X500 givenName" and "X500 surname" mappers (urn:oid:
// names with FriendlyNames email, givenName, surname), or user property
// mappers usually named email, firstName, lastName, username.
//
// Source: Keycloak Server Administration Guide, "Mapping tokens and
// assertions" / SAML client protocol mappers
// (https://www.keycloak.org/docs/latest/server_admin/#_protocol-mappers).
//
// User ID: Keycloak's persistent NameID is a per-client generated ID
// ("G-" and a UUID) that never changes: request the persistent format (or
// force it on the client). An "id" user property mapper also works.
// Groups: a "Group list" mapper named "groups" wins over the roles.
func KeycloakMapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{"id", "userId"},
		Email:            []string{"email", oidPKCS9Email},
		FirstName:        []string{"firstName", "givenName", oidGivenName},
		LastName:         []string{"lastName", "surname", oidSurname},
		DisplayName:      []string{"displayName"},
		Username:         []string{"username"},
		Groups:           []string{"groups", "Role"},
		UserIDFromNameID: true,
	}
}

// SimpleSAMLphpMapping is for SimpleSAMLphp IdPs, which send the
// authentication source's attributes under their LDAP names (uid, mail,
// givenName, sn, eduPersonAffiliation...) with the basic NameFormat, or
// under urn:oid: names when the IdP applies the name2oid attribute map.
//
// Source: SimpleSAMLphp documentation, "SimpleSAMLphp Identity Provider
// QuickStart" (the exampleauth users carry uid and eduPersonAffiliation)
// and "Attribute name maps" (https://simplesamlphp.org/docs/stable/simplesamlphp-idp.html).
//
// User ID: uid is the login name; prefer a persistent NameID (the
// saml:PersistentNameID filter) when the IdP can send one.
func SimpleSAMLphpMapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{"uid", oidUID},
		Email:            []string{"mail", oidMail, "email"},
		FirstName:        []string{"givenName", oidGivenName},
		LastName:         []string{"sn", oidSurname},
		DisplayName:      []string{"displayName", oidDisplayName, "cn", oidCommonName},
		Username:         []string{"uid", oidUID},
		Groups:           []string{"groups", "isMemberOf", oidIsMemberOf, "eduPersonAffiliation", oidAffiliation},
		UserIDFromNameID: true,
	}
}

// ShibbolethMapping is for Shibboleth IdPs and research and education
// federations (eduPerson, SAML V2.0 Subject Identifier Attributes), which
// send urn:oid: names with the uri NameFormat and a FriendlyName.
//
// User ID, most to least stable: pairwise-id, subject-id (REFEDS / OASIS
// SAML V2.0 Subject Identifier Attributes Profile), eduPersonUniqueId,
// eduPersonTargetedID, then eduPersonPrincipalName (which a campus may
// reassign after years).
//
// Sources: "SAML V2.0 Subject Identifier Attributes Profile Version 1.0"
// (OASIS); "eduPerson Object Class Specification (202208)" (REFEDS,
// https://refeds.org/eduperson); Shibboleth IdP wiki "AttributeRegistry".
func ShibbolethMapping() AttributeMapping {
	return AttributeMapping{
		UserID:           []string{attrPairwiseID, attrSubjectID, oidUniqueID, oidTargetedID, oidPrincipalName},
		Email:            []string{oidMail},
		FirstName:        []string{oidGivenName},
		LastName:         []string{oidSurname},
		DisplayName:      []string{oidDisplayName, oidCommonName},
		Username:         []string{oidPrincipalName, oidUID},
		Groups:           []string{oidIsMemberOf, oidAffiliation},
		UserIDFromNameID: true,
	}
}

// GenericMapping tries the names of every preset: stable opaque IDs
// first (object IDs, pairwise and subject IDs, immutable IDs), then account
// names, with a persistent NameID as the last resort for the user ID;
// claim URIs and urn:oid: names before short names for the other fields.
//
// It is meant for trying an IdP out. In production pin a preset or a
// mapping of your own: with the generic one, an attribute the IdP starts
// sending later can change which value is the user ID. It never uses an
// email as the user ID (use GoogleWorkspaceMapping for Google).
func GenericMapping() AttributeMapping {
	return AttributeMapping{
		UserID: []string{
			claimObjectID, attrPairwiseID, attrSubjectID, oidUniqueID, oidTargetedID,
			"PersonImmutableID", claimPrimarySID, claimNameIDClaim,
			"id", "userId", "identifier", "objectGUID",
			claimWindowsName, oidPrincipalName, "uid", oidUID,
		},
		Email: []string{
			claimEmail, oidMail, oidPKCS9Email,
			"email", "mail", "User.email", "Email", "emailAddress",
			claimUPN,
		},
		FirstName: []string{
			claimGivenName, oidGivenName,
			"firstName", "givenName", "User.FirstName", "FirstName", "firstname", "first_name", "given_name",
		},
		LastName: []string{
			claimSurname, oidSurname,
			"lastName", "sn", "surname", "User.LastName", "LastName", "lastname", "last_name", "family_name",
		},
		DisplayName: []string{
			claimDisplayName, oidDisplayName, claimCommonName,
			"displayName", "displayname", "name", "cn", oidCommonName,
		},
		Username: []string{
			"username", "User.Username", "Username", "login", claimAuth0 + "username", claimAuth0 + "nickname",
			claimWindowsName, claimUPN, oidPrincipalName, "uid", oidUID,
		},
		Groups: []string{
			claimGroups, claimGroup, oidIsMemberOf,
			"groups", "Groups", "memberOf", "isMemberOf", "Role", claimRole,
			oidAffiliation, "eduPersonAffiliation",
		},
		UserIDFromNameID: true,
	}
}
