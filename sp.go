// Package saml2sp is a SAML 2.0 service provider: it lets a Go web app offer
// "Log in with your company's SSO" against Okta, Microsoft Entra ID, ADFS,
// Google, Keycloak, SimpleSAMLphp and any other SAML 2.0 IdP.
//
// The API follows the shape of github.com/coreos/go-oidc: describe the IdP
// (ParseMetadata, FetchMetadata, IdentityProviderConfig), describe the SP
// (Config), build an *SP with New, and let it verify what the IdP posts
// (ParseResponse). Everything is secure by default; every relaxation is an
// explicit, documented Insecure*/Allow* field.
//
// # Trust model
//
// Only the certificates in IdentityProvider.Certificates are trusted.
// Certificates carried inside a message are never used to pick a key. Their
// validity dates are not enforced by default: SAML metadata pins keys, and
// expiry of a pinned key is the metadata owner's business (the SAML V2.0
// Metadata Interoperability profile; Shibboleth and SimpleSAMLphp behave the
// same). Set Config.RejectExpiredCertificates to enforce them. When an expired
// certificate verifies a signature, the SP logs a warning so the admin can
// rotate it. Metadata with a validUntil in the past is refused.
//
// # Encrypted assertions
//
// An IdP that encrypts assertions needs an RSA key on the SP: Config.Key
// and Certificate, which Metadata publishes for signing and for encryption.
// Accepted: EncryptedData with AES-128/192/256-GCM or -CBC, the content key
// in an EncryptedKey with RSA-OAEP (rsa-oaep-mgf1p, or XML Encryption 1.1
// rsa-oaep with its DigestMethod and MGF), inside the EncryptedData's
// KeyInfo, next to it in the EncryptedAssertion, or next to it and named by
// a same-document ds:RetrievalMethod (Okta's layout; no other
// RetrievalMethod is followed). Refused, with an error that names the
// algorithm and what to configure instead: RSA PKCS#1 v1.5 key transport,
// Triple-DES and any other algorithm; there is no opt-in. Anything that
// fetches or transforms is refused too.
//
// Encryption is not authentication: anyone can encrypt for the SP's public
// certificate. The Response signature, when present, is verified over the
// ciphertext first and the EncryptedAssertion is decrypted from the verified
// Response; the decrypted Assertion then goes through the same checks as a
// plain one, and must be signed itself when the Response is not. Every
// decryption failure returns one error (ErrDecryption), and while the
// Response is unsigned so does every failure up to the Assertion's
// signature check, so altered ciphertext teaches a client nothing; the
// reason is logged at debug level only.
//
// To roll the SP key over, publish the new key pair as Config.NextKey, then
// make it Config.Key and keep the old private key in Config.PreviousKeys
// until no IdP encrypts for it any more. Each key decrypts at most one
// EncryptedKey per Response (one RSA operation), the one whose KeyInfo
// names its certificate or public key, else the first that names none of
// them, so a Response costs at most one RSA operation per SP key.
package saml2sp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/saml2sp/saml2sp/internal/xmlenc"
)

// Defaults applied by New.
const (
	// DefaultClockSkew is the tolerance for clock differences between the
	// IdP and the SP.
	DefaultClockSkew = 90 * time.Second
	// MaxClockSkew is the largest ClockSkew New accepts.
	MaxClockSkew = 3 * time.Minute
	// DefaultMaxResponseSize bounds the encoded SAMLResponse form value:
	// 256 KiB, four times the largest real Response we know of (a 65 KB
	// one with 101 attributes and 150 groups; Entra ID stops listing groups
	// past 150 and Okta filters them). See the README's "On the open
	// internet" for why a smaller bound matters.
	DefaultMaxResponseSize = 256 << 10
	// DefaultMaxAssertionAge bounds how old an assertion's IssueInstant may be.
	DefaultMaxAssertionAge = 10 * time.Minute
)

// Config describes this service provider and the IdP it trusts.
type Config struct {
	// BaseURL, when set, lays out every endpoint under it as EndpointsAt
	// does (BaseURL+"metadata" as entity ID and metadata URL, "acs", "sls",
	// "login", "logout"), filling the URL fields below that are empty. It
	// must be an absolute http(s) URL whose path ends with "/".
	BaseURL string
	// EntityID is this SP's entity ID (usually its metadata URL). Required
	// unless BaseURL is set.
	EntityID string
	// ACSURL is the absolute URL of this SP's Assertion Consumer Service.
	// Responses must name it as Destination and Recipient. Required.
	ACSURL string
	// SLOURL is the absolute URL of this SP's Single Logout Service, if any.
	SLOURL string
	// MetadataURL, LoginURL and LogoutURL are where Handler serves the SP
	// metadata and the starts of SP-initiated login and logout; TestURL,
	// the start of an admin's connection test (served only with
	// Hooks.ConnectionTest). Endpoints fills all URLs from one base URL.
	MetadataURL, LoginURL, LogoutURL, TestURL string
	// IdP is the identity provider this SP trusts. Required.
	IdP *IdentityProvider

	// Key signs requests and, when it is an RSA key that also implements
	// crypto.Decrypter (an *rsa.PrivateKey does), decrypts EncryptedAssertions.
	// It is optional: an SP needs no key unless the IdP wants signed
	// requests or encrypts assertions. It must match Certificate.
	Key crypto.Signer
	// Certificate is published in SP metadata (optional, with Key): as a
	// signing key, and as an encryption key when Key can decrypt.
	Certificate *x509.Certificate
	// NextKey is the key pair that will replace Key and Certificate. Its
	// certificate is published in the metadata next to the current one
	// (for signing and encryption), so that IdPs which refresh the metadata
	// know it before the switch, and it already decrypts. To roll over:
	// set NextKey, wait until every IdP has the new metadata, move it to
	// Key/Certificate and the old key to PreviousKeys. Requires Key.
	NextKey *KeyPair
	// PreviousKeys are keys that Key replaced. They only decrypt
	// EncryptedAssertions, for IdPs that still encrypt for an old
	// certificate; they are not published and never sign. Only RSA keys
	// decrypt. Having no certificate here, they are recognized in an
	// EncryptedKey's KeyInfo by their public key only (X509Certificate,
	// RSAKeyValue, X509SKI), not by X509IssuerSerial.
	PreviousKeys []crypto.Decrypter

	// NameIDFormat requested from the IdP and published in metadata. Empty
	// means unspecified.
	NameIDFormat string

	// AllowIdPInitiated accepts Responses that answer no request of ours
	// (no InResponseTo). A Response that names an unknown request is still
	// rejected.
	AllowIdPInitiated bool
	// ClockSkew tolerated on every time check. Zero means DefaultClockSkew;
	// it may not exceed MaxClockSkew.
	ClockSkew time.Duration
	// MaxAssertionAge bounds how long ago an assertion may have been issued.
	// Zero means DefaultMaxAssertionAge.
	MaxAssertionAge time.Duration
	// Clock returns the current time. Nil means time.Now.
	Clock func() time.Time
	// ReplayCache remembers used request and assertion IDs. Nil means an
	// in-memory cache private to this SP, which protects a single replica
	// only: apps with several replicas share one (saml2sp/redisstore,
	// saml2sp/pgstore). Leave it unset in the SPs of a TenantHandler, which
	// shares its own.
	ReplayCache ReplayCache
	// Logger receives warnings and, at debug level, decisions. Nil means
	// slog.Default(). Secrets and assertions are never logged.
	Logger *slog.Logger
	// MaxResponseSize bounds the encoded SAMLResponse in bytes. Zero means
	// DefaultMaxResponseSize. The same bound applies to logout messages, and
	// request bodies are read only up to it plus a little form overhead.
	// The worst-case cost of a hostile message grows with it.
	MaxResponseSize int
	// Limiter caps how many incoming messages are parsed and verified at
	// once. Nil means a Limiter of this SP's own with the default cap. Leave
	// it unset in the SPs of a TenantHandler, which shares its own.
	Limiter *Limiter

	// AuthnRequest holds the defaults for SP-initiated logins.
	AuthnRequest AuthnRequestOptions
	// StateKey authenticates the short-lived state this SP gives the
	// browser while a login or logout is under way (at least 32 random
	// bytes). Nil means a random key per SP, which only works with a
	// single replica: apps with several must share one key, or logins
	// started on one replica fail on another with ErrState. Leave it unset
	// in the SPs of a TenantHandler, which shares its own.
	StateKey []byte
	// OnEvent, when set, receives one Event for each SAML message the
	// handlers handle (kind, tenant, IdP, outcome, error class, status,
	// duration; never the message's content), for metrics and traces (see
	// saml2sp/otelsaml2sp). It runs in the request's goroutine, after the
	// response is written: keep it quick. Nil adds nothing to a request.
	OnEvent func(ctx context.Context, e Event)
	// InsecureTraceMessages logs every SAML message in and out, decoded,
	// at debug level. The logs then hold assertions (personal data and
	// bearer credentials): switch it on only to debug an IdP integration.
	InsecureTraceMessages bool

	// RejectExpiredCertificates refuses signatures made with an IdP
	// certificate that is outside its validity dates (see the package doc).
	RejectExpiredCertificates bool
	// RejectWeakIdPKeys refuses IdP signing certificates whose key is RSA
	// shorter than 2048 bits or ECDSA on a curve smaller than P-256: New
	// fails with ErrConfig, and SetIdentityProvider (so MetadataRefresher)
	// with ErrMetadata, keeping the IdP in force. Off by default because
	// some IdPs still sign with RSA-1024: such a key is then accepted, and
	// New and every SetIdentityProvider that brings a new one log a warning
	// that names the IdP and the key size.
	RejectWeakIdPKeys bool
	// InsecureAllowSHA1 accepts RSA-SHA1 signatures and SHA-1 digests. Only
	// for IdPs that cannot be fixed; SHA-1 is broken for signatures.
	InsecureAllowSHA1 bool
}

// KeyPair is a private key and the certificate that holds its public key.
type KeyPair struct {
	// Key is the private key: RSA (signs and decrypts) or ECDSA (signs).
	Key crypto.Signer
	// Certificate holds Key's public key; SP metadata publishes it.
	Certificate *x509.Certificate
}

// SP is a configured service provider. It is safe for concurrent use.
type SP struct {
	// cfg.IdP is the IdP of this snapshot; see current.
	cfg Config
	// explicit records which shared parts the app set itself (the others
	// are New's defaults), so that a TenantHandler can tell an SP that
	// left them to it from one that brings its own.
	explicit struct{ stateKey, replayCache, limiter bool }
	// idp holds the IdP in force; SetIdentityProvider replaces it.
	idp *atomic.Pointer[IdentityProvider]
	// decrypters are the SP keys that decrypt assertions, with their
	// certificates, in the order tried: Key, NextKey, PreviousKeys.
	decrypters []xmlenc.Key
	// diag records every check when the SP is Diagnose's copy; nil
	// otherwise.
	diag *diagnosis
}

// New checks cfg, fills in defaults and returns the SP.
func New(cfg Config) (*SP, error) {
	if cfg.BaseURL != "" {
		ep, err := EndpointsAt(cfg.BaseURL)
		if err != nil {
			return nil, err
		}
		ep.Apply(&cfg)
	}
	if cfg.EntityID == "" {
		return nil, fmt.Errorf("%w: EntityID is required", ErrConfig)
	}
	if err := checkAbsoluteURL("ACSURL", cfg.ACSURL, true); err != nil {
		return nil, err
	}
	paths := map[string]string{urlPath(cfg.ACSURL): "ACSURL"}
	for _, f := range []struct{ name, value string }{
		{"SLOURL", cfg.SLOURL}, {"MetadataURL", cfg.MetadataURL}, {"LoginURL", cfg.LoginURL}, {"LogoutURL", cfg.LogoutURL}, {"TestURL", cfg.TestURL},
	} {
		if err := checkAbsoluteURL(f.name, f.value, false); err != nil {
			return nil, err
		}
		if f.value == "" {
			continue
		}
		// Handler serves each endpoint on its own path.
		if other, dup := paths[urlPath(f.value)]; dup {
			return nil, fmt.Errorf("%w: %s and %s have the same path %q", ErrConfig, other, f.name, urlPath(f.value))
		}
		paths[urlPath(f.value)] = f.name
	}
	if err := checkIdentityProvider(cfg.IdP); err != nil {
		return nil, err
	}
	if cfg.AuthnRequest.Sign && cfg.Key == nil {
		return nil, fmt.Errorf("%w: AuthnRequest.Sign needs Config.Key", ErrConfig)
	}
	if (cfg.Key == nil) != (cfg.Certificate == nil) {
		return nil, fmt.Errorf("%w: Key and Certificate go together", ErrConfig)
	}
	if cfg.Key != nil && !publicKeysEqual(cfg.Key.Public(), cfg.Certificate.PublicKey) {
		return nil, fmt.Errorf("%w: Key does not match Certificate", ErrConfig)
	}
	decrypters, err := checkSPKeys(&cfg)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ClockSkew < 0 || cfg.ClockSkew > MaxClockSkew:
		return nil, fmt.Errorf("%w: ClockSkew %v is outside 0..%v", ErrConfig, cfg.ClockSkew, MaxClockSkew)
	case cfg.ClockSkew == 0:
		cfg.ClockSkew = DefaultClockSkew
	}
	if cfg.MaxAssertionAge < 0 {
		return nil, fmt.Errorf("%w: MaxAssertionAge is negative", ErrConfig)
	} else if cfg.MaxAssertionAge == 0 {
		cfg.MaxAssertionAge = DefaultMaxAssertionAge
	}
	if cfg.MaxResponseSize < 0 {
		return nil, fmt.Errorf("%w: MaxResponseSize is negative", ErrConfig)
	} else if cfg.MaxResponseSize == 0 {
		cfg.MaxResponseSize = DefaultMaxResponseSize
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var explicit struct{ stateKey, replayCache, limiter bool }
	explicit.stateKey, explicit.replayCache, explicit.limiter = cfg.StateKey != nil, cfg.ReplayCache != nil, cfg.Limiter != nil
	switch {
	case cfg.StateKey == nil:
		cfg.StateKey = make([]byte, 32)
		if _, err := rand.Read(cfg.StateKey); err != nil {
			return nil, fmt.Errorf("saml2sp: generating state key: %w", err)
		}
	case len(cfg.StateKey) < 32:
		return nil, fmt.Errorf("%w: StateKey must be at least 32 bytes", ErrConfig)
	}
	if err := checkIdPKeys(cfg.IdP, nil, cfg.RejectWeakIdPKeys, cfg.Logger, ErrConfig); err != nil {
		return nil, err
	}
	if cfg.InsecureTraceMessages {
		cfg.Logger.Warn("saml2sp: InsecureTraceMessages is on: SAML messages, including assertions, are logged at debug level", "sp", cfg.EntityID)
	}
	if cfg.ReplayCache == nil {
		cfg.ReplayCache = NewMemoryReplayCache(DefaultReplayCacheSize, cfg.Clock)
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewLimiter(0, 0)
	}
	idp := new(atomic.Pointer[IdentityProvider])
	idp.Store(cfg.IdP)
	sp := &SP{cfg: cfg, idp: idp, decrypters: decrypters}
	sp.explicit.stateKey, sp.explicit.replayCache, sp.explicit.limiter = explicit.stateKey, explicit.replayCache, explicit.limiter
	return sp, nil
}

func checkIdentityProvider(idp *IdentityProvider) error {
	if idp == nil {
		return fmt.Errorf("%w: IdP is required", ErrConfig)
	}
	if idp.EntityID == "" {
		return fmt.Errorf("%w: IdP.EntityID is required", ErrConfig)
	}
	if len(idp.Certificates) == 0 {
		return fmt.Errorf("%w: IdP %q has no signing certificate", ErrConfig, idp.EntityID)
	}
	for i, c := range idp.Certificates {
		if c == nil {
			return fmt.Errorf("%w: IdP certificate %d is nil", ErrConfig, i)
		}
	}
	return nil
}

// IdentityProvider returns the IdP the SP trusts now.
func (sp *SP) IdentityProvider() *IdentityProvider { return sp.idp.Load() }

// SetIdentityProvider replaces the trusted IdP, for example with freshly
// fetched metadata (see MetadataRefresher): new signing certificates and
// endpoints take effect for the next message. The entity ID may not change;
// trusting another IdP takes a new SP. A weak signing key is refused with
// Config.RejectWeakIdPKeys, else logged once, when it first appears.
// Messages already being checked finish with the IdP they started with.
func (sp *SP) SetIdentityProvider(idp *IdentityProvider) error {
	if err := checkIdentityProvider(idp); err != nil {
		return err
	}
	old := sp.idp.Load()
	if idp.EntityID != old.EntityID {
		return fmt.Errorf("%w: new metadata is for IdP %q, not %q", ErrMetadata, idp.EntityID, old.EntityID)
	}
	if err := checkIdPKeys(idp, old, sp.cfg.RejectWeakIdPKeys, sp.cfg.Logger, ErrMetadata); err != nil {
		return err
	}
	sp.idp.Store(idp)
	return nil
}

// current returns the SP with the IdP in force now, so that one message is
// checked against one consistent set of certificates and endpoints.
func (sp *SP) current() *SP {
	idp := sp.idp.Load()
	if idp == sp.cfg.IdP {
		return sp
	}
	c := *sp
	c.cfg.IdP = idp
	return &c
}

// checkSPKeys checks NextKey and PreviousKeys and returns the keys that
// decrypt assertions, in the order they are tried.
func checkSPKeys(cfg *Config) ([]xmlenc.Key, error) {
	var out []xmlenc.Key
	if d := asDecrypter(cfg.Key); d != nil {
		out = append(out, xmlenc.Key{Decrypter: d, Certificate: cfg.Certificate})
	}
	if nk := cfg.NextKey; nk != nil {
		switch {
		case cfg.Key == nil:
			return nil, fmt.Errorf("%w: NextKey is set but Key is not; a first key goes in Key", ErrConfig)
		case nk.Key == nil || nk.Certificate == nil:
			return nil, fmt.Errorf("%w: NextKey needs both Key and Certificate", ErrConfig)
		case !publicKeysEqual(nk.Key.Public(), nk.Certificate.PublicKey):
			return nil, fmt.Errorf("%w: NextKey.Key does not match NextKey.Certificate", ErrConfig)
		}
		if d := asDecrypter(nk.Key); d != nil {
			out = append(out, xmlenc.Key{Decrypter: d, Certificate: nk.Certificate})
		}
	}
	for i, k := range cfg.PreviousKeys {
		if k == nil {
			return nil, fmt.Errorf("%w: PreviousKeys[%d] is nil", ErrConfig, i)
		}
		if _, ok := k.Public().(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("%w: PreviousKeys[%d] is a %T; only RSA keys decrypt assertions", ErrConfig, i, k.Public())
		}
		out = append(out, xmlenc.Key{Decrypter: k})
	}
	return out, nil
}

// asDecrypter returns k as a key that can decrypt RSA-OAEP, or nil.
func asDecrypter(k crypto.Signer) crypto.Decrypter {
	d, ok := k.(crypto.Decrypter)
	if !ok {
		return nil
	}
	if _, ok := d.Public().(*rsa.PublicKey); !ok {
		return nil
	}
	return d
}

// Config returns the SP's configuration with defaults filled in.
func (sp *SP) Config() Config { return sp.current().cfg }

func checkAbsoluteURL(field, raw string, required bool) error {
	if raw == "" {
		if required {
			return fmt.Errorf("%w: %s is required", ErrConfig, field)
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: %s %q is not an absolute http(s) URL", ErrConfig, field, raw)
	}
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
