package saml2sp

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrInternalAddress is wrapped by the error of RefuseInternalAddress.
var ErrInternalAddress = errors.New("saml2sp: refusing to connect to an internal address")

// Address ranges that are not the public internet, beyond what
// netip.Addr's predicates name.
var (
	// thisNetwork is 0.0.0.0/8: Linux connects 0.0.0.0 to this machine.
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	// sharedSpace is 100.64.0.0/10 (RFC 6598, carrier-grade NAT), where
	// some clouds put services, such as Alibaba Cloud's metadata service
	// at 100.100.100.200.
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10")
	// ietfProtocol is 192.0.0.0/24 (RFC 6890), where some clouds have put
	// metadata services (192.0.0.192).
	ietfProtocol = netip.MustParsePrefix("192.0.0.0/24")
	// nat64 is 64:ff9b::/96 (RFC 6052), which embeds an IPv4 address a
	// NAT64 gateway connects to.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
)

// RefuseInternalAddress is a net.Dialer Control function that refuses to
// connect to anything but a public unicast address: loopback
// (127.0.0.0/8, ::1), private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16,
// fc00::/7), link-local (169.254.0.0/16, which holds the cloud metadata
// service at 169.254.169.254, and fe80::/10), unspecified, multicast and
// broadcast addresses, 0.0.0.0/8, 100.64.0.0/10 and 192.0.0.0/24; IPv4
// addresses in IPv6 form (::ffff:a.b.c.d, 64:ff9b::a.b.c.d) are judged as
// IPv4. Errors wrap ErrInternalAddress.
//
// An app whose tenants supply their own IdP metadata URLs fetches them
// with a client whose dialer uses it; otherwise a tenant could make the
// app fetch, and show errors quoting, pages of its internal network or
// its cloud provider's credentials. MetadataCache does so by default.
// Control runs after name resolution, for the address actually dialed, so
// a name that resolves to an internal address (DNS rebinding included) is
// refused too:
//
//	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: saml2sp.RefuseInternalAddress}
//	client := &http.Client{Timeout: saml2sp.DefaultMetadataTimeout, Transport: &http.Transport{
//		Proxy:       nil, // through a proxy, the dialer sees the proxy's address
//		DialContext: dialer.DialContext,
//	}}
//
// With a proxy, the dialer sees only the proxy's address: the proxy must
// apply the rule itself.
func RefuseInternalAddress(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q (%s) is not an IP address and port", ErrInternalAddress, address, network)
	}
	if !publicAddress(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrInternalAddress, ap.Addr())
	}
	return nil
}

// publicAddress reports whether ip is a public unicast address.
func publicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case !ip.IsGlobalUnicast(), ip.IsPrivate():
		return false
	case thisNetwork.Contains(ip), sharedSpace.Contains(ip), ietfProtocol.Contains(ip):
		return false
	}
	return true
}
