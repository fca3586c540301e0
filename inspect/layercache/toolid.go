package layercache

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"os"
	"runtime/debug"
)

// ToolID identifies the running program for the cache: its Go build ID,
// which the go command derives from every input of the build (so a
// program built from other sources, even uncommitted ones, has another),
// read from the executable's .note.go.buildid. When that cannot be read,
// a hash of the build information (module versions and VCS stamp) is
// used instead.
func ToolID() string {
	if exe, err := os.Executable(); err == nil {
		if id := goBuildID(exe); id != "" {
			return "go-build-id:" + id
		}
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	sum := sha256.Sum256([]byte(bi.String()))
	return "build-info:" + hex.EncodeToString(sum[:])
}

// goBuildID reads the Go build ID note of an ELF executable ("" when
// there is none).
func goBuildID(exe string) string {
	f, err := elf.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil || s.Size > 4096 {
		return ""
	}
	data, err := s.Data()
	if err != nil {
		return ""
	}
	return parseGoNote(data, f.ByteOrder)
}

// parseGoNote reads an ELF note of name "Go" and type 4 (the build ID).
func parseGoNote(data []byte, bo binary.ByteOrder) string {
	if len(data) < 16 {
		return ""
	}
	namesz, descsz, typ := bo.Uint32(data), bo.Uint32(data[4:]), bo.Uint32(data[8:])
	if namesz != 4 || typ != 4 || !bytes.Equal(data[12:16], []byte("Go\x00\x00")) {
		return ""
	}
	desc := data[16:]
	if uint64(descsz) > uint64(len(desc)) {
		return ""
	}
	return string(desc[:descsz])
}
