package inspect

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
)

// The dynamic linking facts nsscope needs are a handful of strings (the
// needed libraries, the run paths, the soname) and whether a few resolver
// functions are imported. debug/elf's DynString and ImportedSymbols read
// the whole dynamic string table and symbol table into memory on every
// call: a Go program that exports its symbols (trivy's .dynsym is 13 MB,
// its .dynstr 25 MB) then costs some 300 MB of allocations and 150 MB of
// live heap, more than a whole host scan may use. dynTable reads the small
// .dynamic section once and every string by offset, and importsAny streams
// the symbol table, so memory stays at a few kilobytes whatever the size.

// maxDynamic bounds the .dynamic section read whole (a real one holds a few
// dozen entries, well under a kilobyte).
const maxDynamic = 1 << 20

// maxDynName bounds one string read from a dynamic string table: a library
// name or run path; longer ones are an error, not a truncation.
const maxDynName = 4096

// dynTable is an ELF file's dynamic section and its string table.
type dynTable struct {
	f       *elf.File
	entries []dynEntry
	strtab  *elf.Section
}

type dynEntry struct {
	tag elf.DynTag
	val uint64
}

// readDynamic reads f's dynamic section; a file without one gives an empty
// table.
func readDynamic(f *elf.File) (*dynTable, error) {
	d := &dynTable{f: f}
	ds := f.SectionByType(elf.SHT_DYNAMIC)
	if ds == nil {
		return d, nil
	}
	if ds.Size > maxDynamic {
		return nil, fmt.Errorf(".dynamic section of %d bytes (more than %d)", ds.Size, maxDynamic)
	}
	if int(ds.Link) <= 0 || int(ds.Link) >= len(f.Sections) {
		return nil, errors.New(".dynamic section links no string table")
	}
	d.strtab = f.Sections[ds.Link]
	data, err := ds.Data()
	if err != nil {
		return nil, fmt.Errorf(".dynamic section: %w", err)
	}
	size := 16
	if f.Class == elf.ELFCLASS32 {
		size = 8
	}
	for off := 0; off+size <= len(data); off += size {
		var e dynEntry
		if size == 16 {
			e = dynEntry{elf.DynTag(f.ByteOrder.Uint64(data[off:])), f.ByteOrder.Uint64(data[off+8:])}
		} else {
			e = dynEntry{elf.DynTag(f.ByteOrder.Uint32(data[off:])), uint64(f.ByteOrder.Uint32(data[off+4:]))}
		}
		if e.tag == elf.DT_NULL {
			break
		}
		d.entries = append(d.entries, e)
	}
	return d, nil
}

// strings returns the string values of every entry with tag, in order.
func (d *dynTable) strings(tag elf.DynTag) ([]string, error) {
	var out []string
	for _, e := range d.entries {
		if e.tag != tag {
			continue
		}
		s, err := stringAt(d.strtab, e.val, maxDynName)
		if err != nil {
			return out, fmt.Errorf("%s: %w", tag, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// stringAt reads the NUL-terminated string at off in a string table
// section, at most max bytes long.
func stringAt(s *elf.Section, off uint64, max int) (string, error) {
	if s == nil || s.Type == elf.SHT_NOBITS {
		return "", errors.New("no string table")
	}
	if off >= s.Size {
		return "", fmt.Errorf("string offset %d outside a table of %d bytes", off, s.Size)
	}
	buf := make([]byte, min(uint64(max+1), s.Size-off))
	n, err := s.ReadAt(buf, int64(off))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	for i, c := range buf[:n] {
		if c == 0 {
			return string(buf[:i]), nil
		}
	}
	return "", fmt.Errorf("string at offset %d longer than %d bytes or unterminated", off, max)
}

// importsAny returns which of names f imports: the undefined symbols of
// its dynamic symbol table, streamed entry by entry, each name compared by
// reading at most the longest wanted name.
func importsAny(f *elf.File, names []string) ([]string, error) {
	syms := f.SectionByType(elf.SHT_DYNSYM)
	if syms == nil {
		return nil, nil
	}
	if int(syms.Link) <= 0 || int(syms.Link) >= len(f.Sections) {
		return nil, errors.New(".dynsym links no string table")
	}
	strtab := f.Sections[syms.Link]
	longest := 0
	for _, n := range names {
		longest = max(longest, len(n))
	}
	size, infoOff, shndxOff := 24, 4, 6
	if f.Class == elf.ELFCLASS32 {
		size, infoOff, shndxOff = 16, 12, 14
	}
	found := map[string]bool{}
	r := io.NewSectionReader(syms, 0, int64(syms.Size))
	buf := make([]byte, size*1024)
	for first := true; ; {
		n, err := io.ReadFull(r, buf)
		for off := 0; off+size <= n; off += size {
			if first { // entry 0 is the null symbol
				first = false
				continue
			}
			e := buf[off : off+size]
			// An import is a global symbol defined elsewhere (as
			// debug/elf's ImportedSymbols counts them).
			if elf.SectionIndex(f.ByteOrder.Uint16(e[shndxOff:])) != elf.SHN_UNDEF || elf.ST_BIND(e[infoOff]) != elf.STB_GLOBAL {
				continue
			}
			name, err := stringAt(strtab, uint64(f.ByteOrder.Uint32(e)), longest)
			if err != nil {
				continue // longer than every wanted name, or unreadable: not one of them
			}
			for _, w := range names {
				if name == w {
					found[w] = true
				}
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf(".dynsym: %w", err)
		}
	}
	var out []string
	for _, w := range names {
		if found[w] {
			out = append(out, w)
		}
	}
	return out, nil
}
