package target

import (
	"debug/elf"
	"encoding/binary"
)

// textKeep is how much of the start of the executable segment is always
// kept: it holds the ELF and program headers, the interpreter path and the
// notes in Go's internal-linking layout.
const textKeep = 64 << 10

// goTextRange finds, from the first bytes of a Go ELF binary, the byte
// range of its machine code that inspection never reads: the executable
// segment past its first 64 KiB. It answers only for the layout where
// read-only data (.rodata, .gopclntab) has a segment of its own and no
// other program header or the section header table falls inside the
// range; ok is false otherwise, and for binaries without Go's build-id
// note (C programs are spooled whole).
func goTextRange(head []byte, size int64) (from, to int64, ok bool) {
	if len(head) < 64 || string(head[:4]) != elf.ELFMAG {
		return 0, 0, false
	}
	var bo binary.ByteOrder
	switch elf.Data(head[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return 0, 0, false
	}
	type prog struct {
		typ         elf.ProgType
		flags       elf.ProgFlag
		off, filesz uint64
	}
	var (
		phoff, shoff     uint64
		phentsize, phnum int
		is64             bool
	)
	switch elf.Class(head[elf.EI_CLASS]) {
	case elf.ELFCLASS64:
		is64 = true
		phoff, shoff = bo.Uint64(head[0x20:]), bo.Uint64(head[0x28:])
		phentsize, phnum = int(bo.Uint16(head[0x36:])), int(bo.Uint16(head[0x38:]))
		if phentsize < 56 {
			return 0, 0, false
		}
	case elf.ELFCLASS32:
		phoff, shoff = uint64(bo.Uint32(head[0x1c:])), uint64(bo.Uint32(head[0x20:]))
		phentsize, phnum = int(bo.Uint16(head[0x2a:])), int(bo.Uint16(head[0x2c:]))
		if phentsize < 32 {
			return 0, 0, false
		}
	default:
		return 0, 0, false
	}
	if phnum == 0 || phoff > uint64(len(head)) || uint64(phnum*phentsize) > uint64(len(head))-phoff {
		return 0, 0, false
	}
	progs := make([]prog, phnum)
	for i := range progs {
		b := head[phoff+uint64(i*phentsize):]
		if is64 {
			progs[i] = prog{elf.ProgType(bo.Uint32(b)), elf.ProgFlag(bo.Uint32(b[4:])), bo.Uint64(b[8:]), bo.Uint64(b[32:])}
		} else {
			progs[i] = prog{elf.ProgType(bo.Uint32(b)), elf.ProgFlag(bo.Uint32(b[24:])), uint64(bo.Uint32(b[4:])), uint64(bo.Uint32(b[16:]))}
		}
	}
	goNote, roSegment := false, false
	var text *prog
	for i, p := range progs {
		switch {
		case p.typ == elf.PT_NOTE && p.off < uint64(len(head)) && p.filesz <= uint64(len(head))-p.off:
			if hasGoNote(head[p.off:p.off+p.filesz], bo) {
				goNote = true
			}
		case p.typ == elf.PT_LOAD && p.flags&elf.PF_X != 0:
			if text != nil {
				return 0, 0, false // two executable segments: unusual, keep all
			}
			text = &progs[i]
		case p.typ == elf.PT_LOAD && p.flags&(elf.PF_W|elf.PF_X) == 0:
			roSegment = true
		}
	}
	if !goNote || !roSegment || text == nil {
		return 0, 0, false
	}
	from, to = int64(text.off)+textKeep, int64(text.off+text.filesz)
	if to <= from || to > size || from < 0 {
		return 0, 0, false
	}
	overlaps := func(off, n uint64) bool { return int64(off) < to && int64(off+n) > from }
	for _, p := range progs {
		if p != *text && p.typ != elf.PT_PHDR && overlaps(p.off, p.filesz) {
			return 0, 0, false
		}
	}
	if overlaps(shoff, 1) {
		return 0, 0, false
	}
	return from, to, true
}

// hasGoNote reports an ELF note named "Go" of type 4 (the Go build ID).
func hasGoNote(b []byte, bo binary.ByteOrder) bool {
	for len(b) >= 12 {
		namesz, descsz, typ := bo.Uint32(b), bo.Uint32(b[4:]), bo.Uint32(b[8:])
		b = b[12:]
		nameLen, descLen := (uint64(namesz)+3)&^3, (uint64(descsz)+3)&^3
		if nameLen > uint64(len(b)) || descLen > uint64(len(b))-nameLen {
			return false
		}
		if namesz == 4 && string(b[:4]) == "Go\x00\x00" && typ == 4 {
			return true
		}
		b = b[nameLen+descLen:]
	}
	return false
}
