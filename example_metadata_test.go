package saml2sp_test

import (
	"fmt"

	"github.com/saml2sp/saml2sp"
)

// mdExampleCertificate is what an IdP admin page shows as the signing
// certificate (a throwaway certificate made for this example).
const mdExampleCertificate = `
-----BEGIN CERTIFICATE-----
MIIDFTCCAf2gAwIBAgIUT0hG3ZEXvNvY8RU2uFenfPYagdUwDQYJKoZIhvcNAQEL
BQAwGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMB4XDTI2MTEyNTE5NDEwNFoX
DTM2MTEyMjE5NDEwNFowGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMIIBIjAN
BgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnZUbPimE4owiN3KlF0gv3VZFeoUh
7eFsYGkoJfVLebpDkia+9LYDxmBdYFkqlT3Sh7z10/eKLvJvuGl9ZU3D1QUyuUQ/
XqswbgxD4z9gUcR0kWSDg1zqjBTFJqVJ45MNzt9e5/wv2d6uMhVbz610rJMrFTb4
67+794ljCJoP9IU7Z0FYbuyK7Qf7jgD8Y1cnOiUrHLFyelYvGsTPVPePK7AqTwkd
tF+HgUHpit6nxNQA8BcrNNiCGzuPNXNUYeO5FIut54umBj+k2ucBWz8CBOf5bWqs
bQllEWKdt6FSgUBYOkrg99HZAyxtsbs6XF8Bd+GkDXrkdl8vem3sj76bPQIDAQAB
o1MwUTAdBgNVHQ4EFgQUGx8Yeek1/zNYzs+5yLwSIftU8JcwHwYDVR0jBBgwFoAU
Gx8Yeek1/zNYzs+5yLwSIftU8JcwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0B
AQsFAAOCAQEAEfohkMwdY4+nWz2rj94EZ4NhoDeA1rq10/msE/7kIeZEnU/nSvi6
y+EclcQS3sH4tVneqvh5Ncq4ARY1n2xDIrlU5zEQphBFWPJFXmtOFnhYTId2MWQV
8apC865a91tt1iAWjLMvVFfwa3VdVQQDS5I1nSWyrebAQpOheAu3brFI0GZBhhXR
8S7cAlxMWRtTFTSGBAG2EuSSjmmRDM7uF6mph/068BlRe3yfCnKi5ZlQ9a5i2v9M
dfZRO8q6ULBaEf7JAnNbKueqUw296CHrT5TjfolDL44c/h41U5eRaBzQ0QILd2ZH
epfgbW3Ere3yphLxZdjwRsrI+00NRG3aTA==
-----END CERTIFICATE-----
`

// An IdP that offers no metadata document is described by hand: copy its
// entity ID, signing certificate and SSO URL from its admin console.
func ExampleIdentityProviderConfig() {
	idp, err := saml2sp.IdentityProviderConfig{
		EntityID:     "https://idp.example.com/saml2/metadata",
		Certificates: []string{mdExampleCertificate},
		SSOURL:       "https://idp.example.com/saml2/sso",
		// SSOBinding defaults to HTTP-Redirect.
	}.IdentityProvider()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("entity:", idp.EntityID)
	fmt.Println("sso:", idp.SingleSignOnService(saml2sp.BindingHTTPRedirect).Location)
	fmt.Println("signing certificate:", idp.Certificates[0].Subject.CommonName)

	// A private key pasted by mistake is refused with a message for the admin.
	_, err = saml2sp.ParseCertificate("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----")
	fmt.Println(err)
	// Output:
	// entity: https://idp.example.com/saml2/metadata
	// sso: https://idp.example.com/saml2/sso
	// signing certificate: idp.example.com
	// saml2sp: invalid metadata: this is a private key, paste the certificate (-----BEGIN CERTIFICATE-----) instead; a private key that was pasted or shared should be replaced
}
