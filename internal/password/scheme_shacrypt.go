package password

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
)

// shaCryptScheme verifies glibc's SHA-crypt hashes, $5$ (SHA-256) and $6$ (SHA-512), as
// specified by Ulrich Drepper ("Unix crypt using SHA-256 and SHA-512", 2007):
//
//	$5$[rounds=<N>$]<salt, 0 to 16 characters>$<hash>
//
// Rounds default to 5,000 when absent and must lie within 1,000 and MaxLegacySHA256CryptRounds
// or MaxLegacySHA512CryptRounds (the specification clamps values outside its own range silently; an import refuses them).
type shaCryptScheme struct{}

type shaCryptHash struct {
	sha512 bool
	rounds int
	salt   []byte
	hash   string // the stored crypt-base64 hash, compared with the recomputed encoding
}

// cryptAlphabet is the base64 alphabet of crypt(3) hashes.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (shaCryptScheme) identify(s string) string {
	switch {
	case strings.HasPrefix(s, "$5$"):
		return "sha256-crypt"
	case strings.HasPrefix(s, "$6$"):
		return "sha512-crypt"
	}
	return ""
}

func (sc shaCryptScheme) parse(s string) (legacyHash, error) {
	name := sc.identify(s)
	h := shaCryptHash{sha512: name == "sha512-crypt", rounds: 5000}
	maxRounds := uint64(MaxLegacySHA256CryptRounds)
	if h.sha512 {
		maxRounds = MaxLegacySHA512CryptRounds
	}
	parts := strings.Split(s, "$")
	if len(parts) == 5 {
		r, ok := strings.CutPrefix(parts[2], "rounds=")
		n, ok2 := parseCanonical(r, 1000, maxRounds)
		if !ok || !ok2 {
			return nil, malformed(name, "rounds= not a canonical number in 1000..%d", maxRounds)
		}
		h.rounds = int(n)
		parts = append(parts[:2], parts[3:]...)
	}
	if len(parts) != 4 || parts[0] != "" {
		return nil, malformed(name, "not $N$[rounds=R$]salt$hash")
	}
	salt, digest := parts[2], parts[3]
	if len(salt) > 16 || !inAlphabet(salt, cryptAlphabet) {
		return nil, malformed(name, "salt is not up to 16 crypt characters")
	}
	// SHA-256's 32 bytes end in a group of 2 bytes, SHA-512's 64 in a group of 1.
	want, lastBits := 43, 16
	if h.sha512 {
		want, lastBits = 86, 8
	}
	if len(digest) != want || !inAlphabet(digest, cryptAlphabet) || !cryptCanonical(digest, lastBits) {
		return nil, malformed(name, "hash is not %d canonical crypt characters", want)
	}
	h.salt, h.hash = []byte(salt), digest
	return h, nil
}

// inAlphabet reports whether every byte of s is in alphabet.
func inAlphabet(s, alphabet string) bool {
	for i := range len(s) {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// cryptCanonical reports whether the last group of a crypt-base64 hash, which encodes
// lastBits bits (16 or 8) least significant character first, has its unused high bits zero.
func cryptCanonical(s string, lastBits int) bool {
	last := strings.IndexByte(cryptAlphabet, s[len(s)-1])
	used := lastBits % 6 // bits of the last character that carry data
	return last>>used == 0
}

func (h shaCryptHash) verify(password string) bool {
	var out string
	if h.sha512 {
		out = cryptB64(shaCrypt(sha512.New, []byte(password), h.salt, h.rounds), sha512Order)
	} else {
		out = cryptB64(shaCrypt(sha256.New, []byte(password), h.salt, h.rounds), sha256Order)
	}
	return equal([]byte(out), []byte(h.hash))
}

// shaCrypt computes the SHA-crypt digest (steps 1 to 21 of Drepper's specification).
func shaCrypt(newHash func() hash.Hash, pw, salt []byte, rounds int) []byte {
	h := newHash()
	size := h.Size()
	// B = H(password || salt || password)
	h.Write(pw)
	h.Write(salt)
	h.Write(pw)
	b := h.Sum(nil)
	// A = H(password || salt || B repeated to len(password) || B or password per bit of len)
	h.Reset()
	h.Write(pw)
	h.Write(salt)
	for n := len(pw); n > 0; n -= size {
		h.Write(b[:min(n, size)])
	}
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(pw)
		}
	}
	a := h.Sum(nil)
	// P: H(password repeated len(password) times), stretched to len(password)
	h.Reset()
	for range len(pw) {
		h.Write(pw)
	}
	p := repeatTo(h.Sum(nil), len(pw))
	// S: H(salt repeated 16 + A[0] times), stretched to len(salt)
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(salt)
	}
	s := repeatTo(h.Sum(nil), len(salt))
	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}
	return c
}

// repeatTo returns n bytes of d repeated.
func repeatTo(d []byte, n int) []byte {
	out := make([]byte, n)
	for i := 0; i < n; i += len(d) {
		copy(out[i:], d)
	}
	return out
}

// The byte orders in which SHA-crypt and MD5-crypt encode their digests: groups of three
// bytes (most significant first), each written as four characters, least significant first;
// a last short group is written as 3 or 2 characters.
var (
	sha256Order = [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}, {-1, 31, 30}}
	sha512Order = [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
		{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10},
		{53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16},
		{59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}, {-1, -1, 63}}
	md5Order = [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}, {-1, -1, 11}}
)

// cryptB64 encodes d in crypt's base64 in the given byte order; -1 stands for a missing byte
// of the last group, which is then written with fewer characters.
func cryptB64(d []byte, order [][3]int) string {
	var sb strings.Builder
	for _, g := range order {
		var w uint32
		chars := 4
		for _, i := range g {
			w <<= 8
			if i < 0 {
				chars--
				continue
			}
			w |= uint32(d[i])
		}
		for range chars {
			sb.WriteByte(cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	return sb.String()
}
