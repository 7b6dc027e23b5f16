package vmtest

import (
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// An Initramfs is the guest's root file system: a newc cpio archive, gzipped,
// which the kernel unpacks into a tmpfs. Entries are collected first and
// written sorted, parents before children, so the archive is deterministic.
type Initramfs struct {
	entries map[string]entry
}

type entry struct {
	mode    uint32 // type and permission bits, as in the cpio header
	hostSrc string // file contents come from this host file...
	data    []byte // ...or from here
	rdevMaj uint32
	rdevMin uint32
}

const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// NewInitramfs returns an image holding the directories every guest needs.
func NewInitramfs() *Initramfs {
	r := &Initramfs{entries: map[string]entry{}}
	for _, d := range []string{"dev", "proc", "sys", "tmp", "root", "bin", "sbin", "usr/bin", "usr/sbin", "etc", "run"} {
		r.Dir(d)
	}
	// The kernel opens /dev/console for init's stdio before /init can mount devtmpfs.
	r.entries["dev/console"] = entry{mode: modeCharDev | 0o600, rdevMaj: 5, rdevMin: 1}
	return r
}

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// Clone returns a copy that can be extended without changing r.
func (r *Initramfs) Clone() *Initramfs {
	c := &Initramfs{entries: make(map[string]entry, len(r.entries))}
	for k, v := range r.entries {
		c.entries[k] = v
	}
	return c
}

// Dir adds a directory and its parents.
func (r *Initramfs) Dir(p string) {
	p = clean(p)
	for p != "" && p != "." {
		if _, ok := r.entries[p]; !ok {
			r.entries[p] = entry{mode: modeDir | 0o755}
		}
		p = path.Dir(p)
		if p == "." {
			break
		}
	}
}

// File adds a file with the given contents.
func (r *Initramfs) File(p string, data []byte, perm fs.FileMode) {
	p = clean(p)
	r.Dir(path.Dir(p))
	r.entries[p] = entry{mode: modeFile | uint32(perm.Perm()), data: data}
}

// HostFile adds the host file src at p, keeping its permissions (read when the
// archive is written).
func (r *Initramfs) HostFile(p, src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("add %s to initramfs: %w", src, err)
	}
	if st.IsDir() {
		return fmt.Errorf("add %s to initramfs: is a directory", src)
	}
	p = clean(p)
	r.Dir(path.Dir(p))
	r.entries[p] = entry{mode: modeFile | uint32(st.Mode().Perm()), hostSrc: src}
	return nil
}

// Symlink adds a symbolic link p pointing to target.
func (r *Initramfs) Symlink(p, target string) {
	p = clean(p)
	r.Dir(path.Dir(p))
	r.entries[p] = entry{mode: modeSymlink | 0o777, data: []byte(target)}
}

// WriteTo writes the gzipped cpio archive.
func (r *Initramfs) WriteTo(w io.Writer) (int64, error) {
	names := make([]string, 0, len(r.entries))
	for n := range r.entries {
		names = append(names, n)
	}
	sort.Strings(names) // a parent sorts before its children
	cw := &countingWriter{w: w}
	zw, err := gzip.NewWriterLevel(cw, gzip.BestSpeed)
	if err != nil {
		return 0, err
	}
	for i, n := range names {
		e := r.entries[n]
		data := e.data
		if e.hostSrc != "" {
			if data, err = os.ReadFile(e.hostSrc); err != nil {
				return cw.n, fmt.Errorf("add %s to initramfs: %w", e.hostSrc, err)
			}
		}
		if err := writeCpioEntry(zw, uint32(i+1), n, e, data); err != nil {
			return cw.n, err
		}
	}
	if err := writeCpioEntry(zw, 0, "TRAILER!!!", entry{}, nil); err != nil {
		return cw.n, err
	}
	if err := zw.Close(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// writeCpioEntry writes one "newc" (SVR4, no CRC) header, name and data, each
// padded to 4 bytes.
func writeCpioEntry(w io.Writer, ino uint32, name string, e entry, data []byte) error {
	nlink := uint32(1)
	if e.mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, e.mode, 0, 0, nlink, 0, len(data), 0, 0, e.rdevMaj, e.rdevMin, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+4)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = append(buf, make([]byte, pad4(len(buf)))...)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(make([]byte, pad4(len(data))))
	return err
}

func pad4(n int) int { return (4 - n%4) % 4 }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
