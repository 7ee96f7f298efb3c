package password

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// PwnedFile is an offline copy of Have I Been Pwned's Pwned Passwords list that an operator
// downloaded: the SHA-1 text file ordered by hash, one "<40 upper-case hex digits>:<count>"
// line per password (CRLF or LF line ends). Contains looks a password up by binary search
// over the file (about 30 reads of a few hundred bytes for the full list), with no network
// and nothing loaded in memory. Safe for concurrent use.
type PwnedFile struct {
	f    *os.File
	size int64
}

// errPwnedFormat is returned by OpenPwnedFile for a file that is not a Pwned Passwords SHA-1
// file ordered by hash.
var errPwnedFormat = errors.New("not a Pwned Passwords SHA-1 file ordered by hash (lines of 40 hex digits, a colon and a count)")

// pwnedLineMax bounds one line: 40 hex digits, a colon, a count and CRLF.
const pwnedLineMax = 64

// OpenPwnedFile opens a Pwned Passwords SHA-1 file and checks that its first and last lines
// have the expected form and order.
func OpenPwnedFile(path string) (*PwnedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	p := &PwnedFile{f: f, size: st.Size()}
	first, _, err := p.lineAt(0)
	if err == nil && first == nil {
		err = errPwnedFormat
	}
	var last []byte
	if err == nil {
		last, err = p.lastLine()
	}
	if err == nil && bytes.Compare(first, last) > 0 {
		err = errPwnedFormat
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("breached passwords file %s: %w", path, err)
	}
	return p, nil
}

// Close closes the file.
func (p *PwnedFile) Close() error { return p.f.Close() }

// Contains reports whether the password, exactly as given (the list hashes passwords as they
// were used, without lower-casing), is in the file.
func (p *PwnedFile) Contains(password string) (bool, error) {
	sum := sha1.Sum([]byte(password))
	var target [40]byte
	hex.Encode(target[:], sum[:])
	upper(target[:])

	// Invariant: lo is 0 or the start of a line whose hash is below target, and the first line
	// starting at or after hi has a hash ≥ target (or there is none): a line with the target
	// hash, if any, is among the few lines scanned from lo once hi-lo is small.
	lo, hi := int64(0), p.size
	for hi-lo > 4*pwnedLineMax {
		mid := lo + (hi-lo)/2
		h, start, err := p.lineAfter(mid)
		if err != nil {
			return false, err
		}
		if h == nil || bytes.Compare(h, target[:]) >= 0 {
			hi = mid
		} else {
			lo = start
		}
	}
	for off := lo; off < p.size; {
		h, next, err := p.lineAt(off)
		if err != nil || h == nil {
			return false, err
		}
		switch c := bytes.Compare(h, target[:]); {
		case c == 0:
			return true, nil
		case c > 0:
			return false, nil
		}
		off = next
	}
	return false, nil
}

// lineAfter returns the hash of the first line that starts after off (off itself being in
// the previous line or at its end), and where that line starts; nil at the end of the file.
func (p *PwnedFile) lineAfter(off int64) ([]byte, int64, error) {
	if off == 0 {
		h, _, err := p.lineAt(0)
		return h, 0, err
	}
	var buf [2 * pwnedLineMax]byte
	n, err := p.f.ReadAt(buf[:], off-1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	i := bytes.IndexByte(buf[:n], '\n')
	if i < 0 {
		if off-1+int64(n) >= p.size {
			return nil, 0, nil
		}
		return nil, 0, errPwnedFormat
	}
	start := off + int64(i)
	h, _, err := p.lineAt(start)
	return h, start, err
}

// lineAt parses the line starting at off: its hash and where the next line starts. The hash
// is nil at the end of the file.
func (p *PwnedFile) lineAt(off int64) ([]byte, int64, error) {
	if off >= p.size {
		return nil, off, nil
	}
	var buf [pwnedLineMax]byte
	n, err := p.f.ReadAt(buf[:], off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	line := buf[:n]
	next := off + int64(n)
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line, next = line[:i], off+int64(i)+1
	} else if next < p.size {
		return nil, 0, errPwnedFormat
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) < 42 || line[40] != ':' {
		return nil, 0, errPwnedFormat
	}
	h := bytes.Clone(line[:40])
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return nil, 0, errPwnedFormat
		}
	}
	return h, next, nil
}

// lastLine returns the hash of the file's last line.
func (p *PwnedFile) lastLine() ([]byte, error) {
	start := max(0, p.size-2*pwnedLineMax)
	var buf [2 * pwnedLineMax]byte
	n, err := p.f.ReadAt(buf[:p.size-start], start)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	tail := bytes.TrimRight(buf[:n], "\r\n")
	i := bytes.LastIndexByte(tail, '\n')
	h, _, err := p.lineAt(start + int64(i) + 1)
	if err == nil && h == nil {
		err = errPwnedFormat
	}
	return h, err
}

func upper(b []byte) {
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
}
