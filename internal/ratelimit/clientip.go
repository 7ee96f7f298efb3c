package ratelimit

import (
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds how many X-Forwarded-For elements ClientIP reads, so that a huge
// header costs no more than a short one.
const maxForwardedHops = 32

// ProxyPolicy says which direct peers are reverse proxies whose X-Forwarded-For header is
// believed. The zero value trusts no proxy: the client is the TCP peer.
type ProxyPolicy struct {
	// Trusted are the prefixes of the proxies in front of Gatehouse (load balancers,
	// ingress controllers). List only addresses a client cannot connect from.
	Trusted []netip.Prefix
}

// ClientIP returns the address of the client that sent r; see the function ClientIP.
func (p ProxyPolicy) ClientIP(r *http.Request) netip.Addr { return ClientIP(r, p.Trusted) }

// ClientIP returns the address of the client that sent r. The TCP peer (r.RemoteAddr) is the
// client unless it lies in a trusted prefix. Then X-Forwarded-For is read from the right,
// where the nearest proxy appended what it saw, skipping addresses in trusted prefixes; the
// first untrusted address is the client. Everything to its left was written by the client
// and is ignored, since anyone can send "X-Forwarded-For: 1.2.3.4".
//
// An unparseable element (or more than a few dozen hops) stops the walk at the last address
// a trusted hop vouched for, so such requests share that proxy's buckets rather than choose
// their own. When every element is trusted, the leftmost is returned. The result is unmapped
// (::ffff:192.0.2.1 becomes 192.0.2.1) and carries no zone; it is the zero Addr only when
// RemoteAddr itself is not an address. ClientIP never panics, whatever the headers hold.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	client := peer
	hops := 0
	vals := r.Header.Values("X-Forwarded-For")
	for i := len(vals) - 1; i >= 0; i-- {
		// Several header lines form one list in order (RFC 9110 §5.3).
		v := vals[i]
		for v != "" {
			elem := v
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				elem, v = v[j+1:], v[:j]
			} else {
				v = ""
			}
			if hops++; hops > maxForwardedHops {
				return client
			}
			elem = strings.TrimSpace(elem)
			if elem == "" {
				continue // empty list elements are allowed (RFC 9110 §5.6.1)
			}
			a := parseAddr(elem)
			if !a.IsValid() {
				return client
			}
			client = a
			if !isTrusted(a, trusted) {
				return a
			}
		}
	}
	return client
}

// parseAddr accepts "addr", "addr:port", "[v6]:port" and "[v6]".
func parseAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
				return netip.Addr{}
			}
			if a, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil || !a.Is6() {
				return netip.Addr{}
			}
		} else {
			a = ap.Addr()
		}
	}
	return a.Unmap().WithZone("")
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// BucketKey is the rate-limit key of a client address: an IPv4 address as is, an IPv6
// address as its /64, since one subscriber usually holds a whole /64 and could otherwise
// take a fresh bucket for every request. The zero Addr gives "invalid", one shared bucket.
func BucketKey(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	switch {
	case !a.IsValid():
		return "invalid"
	case a.Is4():
		return a.String()
	default:
		p, _ := a.Prefix(64) // cannot fail: 64 bits of an IPv6 address
		return p.String()
	}
}

// NetworkKey is the network a bucket key (from BucketKey) belongs to, for sharing work
// fairly between networks rather than addresses: an IPv4 address's /24, and the key itself
// otherwise (an IPv6 key is already a /64). A spread of addresses in one /24 is usually one
// operator.
func NetworkKey(key string) string {
	a, err := netip.ParseAddr(key)
	if err != nil || !a.Is4() {
		return key
	}
	p, _ := a.Prefix(24) // cannot fail: 24 bits of an IPv4 address
	return p.String()
}
