package ratelimit_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

var trustedProxies = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("2001:db8:ffff::/48"),
}

func TestClientIP(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = "10.9.9.9"
	}
	tests := []struct {
		name    string
		remote  string
		xff     []string // X-Forwarded-For header lines; nil means none
		trusted []netip.Prefix
		want    string // "" means the zero Addr
	}{
		{"no XFF, direct client", "203.0.113.7:51234", nil, trustedProxies, "203.0.113.7"},
		{"no XFF, trusted peer is the client", "10.0.0.1:80", nil, trustedProxies, "10.0.0.1"},
		{"XFF from untrusted peer ignored", "203.0.113.7:51234", []string{"198.51.100.1"}, trustedProxies, "203.0.113.7"},
		{"XFF ignored when nothing is trusted", "10.0.0.1:80", []string{"198.51.100.1"}, nil, "10.0.0.1"},
		{"XFF via trusted proxy", "10.0.0.1:80", []string{"198.51.100.1"}, trustedProxies, "198.51.100.1"},
		{"chain of trusted hops", "10.0.0.1:80", []string{"198.51.100.1, 10.0.0.2, 10.0.0.3"}, trustedProxies, "198.51.100.1"},
		{"spoofed leftmost entries ignored", "10.0.0.1:80", []string{"1.1.1.1, 127.0.0.1, 198.51.100.1, 10.0.0.2"}, trustedProxies, "198.51.100.1"},
		{"spoofed trusted-looking entry behind the client ignored", "10.0.0.1:80", []string{"10.6.6.6, 198.51.100.1"}, trustedProxies, "198.51.100.1"},
		{"several header lines form one list", "10.0.0.1:80", []string{"1.1.1.1, 198.51.100.1", "10.0.0.2"}, trustedProxies, "198.51.100.1"},
		{"client in an earlier header line", "10.0.0.1:80", []string{"198.51.100.9", "10.0.0.2, 10.0.0.3"}, trustedProxies, "198.51.100.9"},
		{"every hop trusted gives the leftmost", "10.0.0.1:80", []string{"10.0.0.5, 10.0.0.2"}, trustedProxies, "10.0.0.5"},
		{"garbage rightmost falls back to the peer", "10.0.0.1:80", []string{"198.51.100.1, garbage"}, trustedProxies, "10.0.0.1"},
		{"garbage behind a trusted hop falls back to that hop", "10.0.0.1:80", []string{"198.51.100.1, not-an-ip, 10.0.0.2"}, trustedProxies, "10.0.0.2"},
		{"unknown token", "10.0.0.1:80", []string{"unknown"}, trustedProxies, "10.0.0.1"},
		{"empty header", "10.0.0.1:80", []string{""}, trustedProxies, "10.0.0.1"},
		{"empty elements skipped", "10.0.0.1:80", []string{",, 198.51.100.1 ,, ,"}, trustedProxies, "198.51.100.1"},
		{"tabs and spaces", "10.0.0.1:80", []string{"\t198.51.100.1\t,\t10.0.0.2 "}, trustedProxies, "198.51.100.1"},
		{"entry with port", "10.0.0.1:80", []string{"198.51.100.1:4711"}, trustedProxies, "198.51.100.1"},
		{"bracketed IPv6 with port", "10.0.0.1:80", []string{"[2001:db8::1]:443"}, trustedProxies, "2001:db8::1"},
		{"bracketed IPv6 without port", "10.0.0.1:80", []string{"[2001:db8::1]"}, trustedProxies, "2001:db8::1"},
		{"bracketed IPv4 rejected", "10.0.0.1:80", []string{"[198.51.100.1]"}, trustedProxies, "10.0.0.1"},
		{"IPv6 proxy and client", "[2001:db8:ffff::10]:443", []string{"2001:db8:1:2::abcd"}, trustedProxies, "2001:db8:1:2::abcd"},
		{"IPv4-mapped peer is trusted as IPv4", "[::ffff:10.0.0.1]:80", []string{"198.51.100.1"}, trustedProxies, "198.51.100.1"},
		{"IPv4-mapped client unmapped", "10.0.0.1:80", []string{"::ffff:198.51.100.1"}, trustedProxies, "198.51.100.1"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, trustedProxies, "fe80::1"},
		{"RemoteAddr without port", "203.0.113.7", nil, trustedProxies, "203.0.113.7"},
		{"RemoteAddr garbage", "not-an-address", []string{"198.51.100.1"}, trustedProxies, ""},
		{"RemoteAddr empty", "", nil, trustedProxies, ""},
		{"too many hops stop at the last trusted one", "10.0.0.1:80", []string{"198.51.100.1, " + strings.Join(many, ",")}, trustedProxies, "10.9.9.9"},
		{"huge garbage header", "10.0.0.1:80", []string{strings.Repeat("x,", 1<<16)}, trustedProxies, "10.0.0.1"},
		{"huge comma header", "10.0.0.1:80", []string{strings.Repeat(",", 1<<16) + "198.51.100.1"}, trustedProxies, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got := ratelimit.ClientIP(r, tt.trusted); got != want {
				t.Errorf("ClientIP = %v, want %v", got, want)
			}
			if got := (ratelimit.ProxyPolicy{Trusted: tt.trusted}).ClientIP(r); got != want {
				t.Errorf("ProxyPolicy.ClientIP = %v, want %v", got, want)
			}
		})
	}
}

func TestProxyPolicyZeroTrustsNobody(t *testing.T) {
	r := &http.Request{RemoteAddr: "127.0.0.1:5555", Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}
	if got, want := (ratelimit.ProxyPolicy{}).ClientIP(r), netip.MustParseAddr("127.0.0.1"); got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestBucketKey(t *testing.T) {
	tests := []struct {
		name string
		addr netip.Addr
		want string
	}{
		{"IPv4 as is", netip.MustParseAddr("198.51.100.7"), "198.51.100.7"},
		{"IPv4-mapped as IPv4", netip.MustParseAddr("::ffff:198.51.100.7"), "198.51.100.7"},
		{"IPv6 to its /64", netip.MustParseAddr("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64"},
		{"same /64 same key", netip.MustParseAddr("2001:db8:1:2::1"), "2001:db8:1:2::/64"},
		{"next /64 another key", netip.MustParseAddr("2001:db8:1:3::1"), "2001:db8:1:3::/64"},
		{"zone ignored", netip.MustParseAddr("fe80::1%eth0"), "fe80::/64"},
		{"loopback", netip.IPv6Loopback(), "::/64"},
		{"zero Addr", netip.Addr{}, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ratelimit.BucketKey(tt.addr); got != tt.want {
				t.Fatalf("BucketKey(%v) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func FuzzClientIP(f *testing.F) {
	seeds := []struct{ remote, xff1, xff2 string }{
		{"10.0.0.1:80", "198.51.100.1, 10.0.0.2", ""},
		{"10.0.0.1:80", "1.1.1.1", "10.0.0.3"},
		{"[2001:db8:ffff::1]:443", "[2001:db8::1]:80, ::ffff:10.0.0.1", ""},
		{"203.0.113.1:1", "garbage", ",,,"},
		{"[fe80::1%eth0]:80", "fe80::2%lo, [", "]"},
		{"", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.remote, s.xff1, s.xff2)
	}
	f.Fuzz(func(t *testing.T, remote, xff1, xff2 string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff1, xff2}}}
		got := ratelimit.ClientIP(r, trustedProxies)
		untrusted := ratelimit.ClientIP(r, nil)

		peer := ratelimit.ClientIP(&http.Request{RemoteAddr: remote}, trustedProxies)
		if untrusted != peer {
			t.Fatalf("with no trusted proxy got %v, want the peer %v", untrusted, peer)
		}
		if !peer.IsValid() && got.IsValid() {
			t.Fatalf("invalid RemoteAddr %q gave %v", remote, got)
		}
		trusted := false
		for _, p := range trustedProxies {
			trusted = trusted || p.Contains(peer)
		}
		if !trusted && got != peer {
			t.Fatalf("untrusted peer %v: got %v from XFF", peer, got)
		}
		if got.IsValid() && (got.Zone() != "" || got.Is4In6()) {
			t.Fatalf("result %v not normalized", got)
		}
		if k := ratelimit.BucketKey(got); k == "" {
			t.Fatal("empty bucket key")
		}
	})
}
