package saml2sp_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saml2sp/saml2sp"
)

func TestRefuseInternalAddress(t *testing.T) {
	tests := []struct {
		name    string
		address string
		public  bool
	}{
		{name: "public IPv4", address: "93.184.215.14:443", public: true},
		{name: "public IPv6", address: "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", public: true},
		{name: "public IPv4 in IPv6 form", address: "[::ffff:93.184.215.14]:443", public: true},
		{name: "public IPv4 behind NAT64", address: "[64:ff9b::5db8:d70e]:443", public: true},
		{name: "loopback", address: "127.0.0.1:80"},
		{name: "loopback, elsewhere in 127/8", address: "127.1.2.3:80"},
		{name: "IPv6 loopback", address: "[::1]:80"},
		{name: "loopback in IPv6 form", address: "[::ffff:127.0.0.1]:80"},
		{name: "private 10/8", address: "10.0.0.1:443"},
		{name: "private 172.16/12", address: "172.31.255.255:443"},
		{name: "private 192.168/16", address: "192.168.1.1:443"},
		{name: "private behind NAT64", address: "[64:ff9b::a00:1]:443"},
		{name: "unique local IPv6", address: "[fd00::1]:443"},
		{name: "AWS metadata service over IPv6", address: "[fd00:ec2::254]:80"},
		{name: "cloud metadata service", address: "169.254.169.254:80"},
		{name: "link-local IPv4", address: "169.254.1.1:80"},
		{name: "link-local IPv6 with zone", address: "[fe80::1%eth0]:80"},
		{name: "unspecified", address: "0.0.0.0:80"},
		{name: "this network", address: "0.1.2.3:80"},
		{name: "IPv6 unspecified", address: "[::]:80"},
		{name: "shared address space (Alibaba metadata)", address: "100.100.100.200:80"},
		{name: "shared address space in IPv6 form", address: "[::ffff:100.100.100.200]:80"},
		{name: "IETF protocol assignments", address: "192.0.0.192:80"},
		{name: "multicast", address: "224.0.0.1:80"},
		{name: "broadcast", address: "255.255.255.255:80"},
		{name: "IPv6 multicast", address: "[ff02::1]:80"},
		{name: "not an address", address: "localhost:80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := saml2sp.RefuseInternalAddress("tcp", tc.address, nil)
			if tc.public {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, saml2sp.ErrInternalAddress)
		})
	}
}

// TestRefuseInternalAddressDialer: a client whose dialer uses it cannot
// fetch metadata from this machine, by address or by a name that
// resolves to it, and FetchMetadata says why.
func TestRefuseInternalAddressDialer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the guarded client reached the server")
	}))
	defer srv.Close()
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: saml2sp.RefuseInternalAddress}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext}}
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, u := range []string{srv.URL, "http://localhost" + port + "/metadata"} {
		_, err := saml2sp.FetchMetadata(context.Background(), client, u)
		require.ErrorIs(t, err, saml2sp.ErrMetadata)
		require.ErrorIs(t, err, saml2sp.ErrInternalAddress)
		assert.Contains(t, err.Error(), "refusing to connect to an internal address")
	}
}
