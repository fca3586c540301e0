package inspect

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Function names whose presence in a Go binary's function table (or symbol
// table) is evidence. Names in .gopclntab are NUL-terminated, so a leading
// NUL anchors a match at the start of a name.
var (
	// Any function of package net ("net.(*Resolver).lookupIPAddr").
	markNet = []byte("\x00net.")
	// The Go wrappers cgo generates for net's call to getaddrinfo: they
	// exist only when the cgo resolver is compiled in (the netgo/!cgo stub
	// versions of cgoLookupHost call no C code).
	markCgoGAI  = []byte("\x00net._C2func_getaddrinfo")
	markCgoGAI2 = []byte("\x00net._Cfunc_getaddrinfo")
)

// maxVersionScan bounds the bytes searched for a go1.x string when nothing
// better is available.
const maxVersionScan = 256 << 20

// readGo fills b.Go when the binary is a Go program.
func readGo(f *elf.File, r io.ReaderAt, size int64, b *Binary) {
	hasGoSection := false
	for _, s := range f.Sections {
		if s.Name == ".go.buildinfo" || s.Name == ".note.go.buildid" || strings.HasSuffix(s.Name, ".gopclntab") {
			hasGoSection = true
		}
	}
	bi, biErr := buildinfo.Read(r)
	if biErr != nil && !hasGoSection {
		return
	}
	g := &GoInfo{Stripped: f.Section(".symtab") == nil}
	b.Go = g
	if biErr == nil {
		g.Version = bi.GoVersion
		g.VersionEvidence = "build info"
		g.Path = bi.Path
		g.Main = Module{Path: bi.Main.Path, Version: bi.Main.Version, Sum: bi.Main.Sum}
		g.Deps = len(bi.Deps)
		for _, s := range bi.Settings {
			g.Settings = append(g.Settings, Setting{Key: s.Key, Value: s.Value})
			switch s.Key {
			case "CGO_ENABLED":
				g.CgoEnabled = s.Value
			case "-tags":
				for t := range strings.SplitSeq(s.Value, ",") {
					if t = strings.TrimSpace(t); t != "" {
						g.Tags = append(g.Tags, t)
					}
				}
			case "-ldflags":
				g.Ldflags = s.Value
			case "DefaultGODEBUG":
				g.DefaultGODEBUG = s.Value
			}
		}
		if len(bi.Settings) == 0 {
			g.VersionEvidence = "build info (pre-Go 1.18 format: no build settings)"
		}
	} else {
		b.Notes = append(b.Notes, "Go build info unreadable: "+biErr.Error())
		g.Version, g.VersionEvidence = goVersionFallback(f, b)
	}
	readGoResolver(f, r, size, b, g)
}

// readGoResolver decides whether package net and the cgo resolver are
// linked in, from the build settings when present and from the function
// table otherwise, recording the evidence of both.
func readGoResolver(f *elf.File, r io.ReaderAt, size int64, b *Binary, g *GoInfo) {
	where, found := searchNames(f, r, size, b, markNet, markCgoGAI, markCgoGAI2)
	if where != "" {
		g.Net = Fact{Known: true, Value: found[0]}
		if found[0] {
			g.Net.Evidence = []string{"functions of package net in " + where}
		} else {
			g.Net.Evidence = []string{"no function of package net in " + where}
		}
	}
	var symEvidence string
	symCgo := found != nil && (found[1] || found[2])
	switch {
	case found == nil:
	case found[1]:
		symEvidence = "function net._C2func_getaddrinfo in " + where
	case found[2]:
		symEvidence = "function net._Cfunc_getaddrinfo in " + where
	case found[0]:
		symEvidence = "no cgo getaddrinfo wrapper (net._C2func_getaddrinfo, net._Cfunc_getaddrinfo) in " + where
	}
	netgo := false
	for _, t := range g.Tags {
		if t == "netgo" {
			netgo = true
		}
	}
	c := &g.CgoResolver
	switch {
	case netgo:
		*c = Fact{Known: true, Value: false, Evidence: []string{"build tag netgo"}}
	case g.CgoEnabled == "0":
		*c = Fact{Known: true, Value: false, Evidence: []string{"build setting CGO_ENABLED=0"}}
	case g.CgoEnabled == "1":
		*c = Fact{Known: true, Value: true, Evidence: []string{"build setting CGO_ENABLED=1 without the netgo tag"}}
		if found != nil && found[0] && !symCgo {
			b.Notes = append(b.Notes, "build settings say cgo, but "+symEvidence)
		}
	case symEvidence != "":
		*c = Fact{Known: true, Value: symCgo, Evidence: []string{symEvidence}}
		if !found[0] {
			c.Known = false
		}
	}
	if c.Known && symEvidence != "" && (g.CgoEnabled != "" || netgo) {
		c.Evidence = append(c.Evidence, "consistent with: "+symEvidence)
		if symCgo != c.Value && found[0] {
			c.Evidence[len(c.Evidence)-1] = "contradicted by: " + symEvidence
		}
	}
	if g.Net.Known && !g.Net.Value {
		// Without package net there is no resolver to speak of.
		*c = Fact{Known: true, Value: false, Evidence: []string{"package net is not linked"}}
	}
	// Linking is a weak hint only (Go does not look at it at run time),
	// but it is worth stating next to the stronger evidence.
	if b.Interp != "" {
		c.Evidence = append(c.Evidence, "dynamically linked, interpreter "+b.Interp)
	} else if b.Static {
		c.Evidence = append(c.Evidence, "statically linked")
	}
}

// searchNames looks for the patterns in the Go function table
// (.gopclntab, or .data.rel.ro.gopclntab in position-independent
// binaries), else in the symbol string table (.strtab), else in the whole
// file. It returns where it looked and, per pattern, whether it was found.
func searchNames(f *elf.File, r io.ReaderAt, size int64, b *Binary, patterns ...[]byte) (where string, found []bool) {
	var cands []*elf.Section
	for _, s := range f.Sections {
		if strings.HasSuffix(s.Name, ".gopclntab") {
			cands = append(cands, s)
		}
	}
	if s := f.Section(".strtab"); s != nil {
		cands = append(cands, s)
	}
	for _, s := range cands {
		if s.Type == elf.SHT_NOBITS || s.Size == 0 || s.Flags&elf.SHF_COMPRESSED != 0 {
			continue
		}
		found, err := searchStream(io.NewSectionReader(r, int64(s.Offset), int64(s.Size)), patterns)
		if err != nil {
			b.Notes = append(b.Notes, fmt.Sprintf("section %s unreadable: %v", s.Name, err))
			continue
		}
		return s.Name, found
	}
	found, err := searchStream(io.NewSectionReader(r, 0, size), patterns)
	if err != nil {
		b.Notes = append(b.Notes, fmt.Sprintf("file unreadable: %v", err))
		return "", nil
	}
	return "the file (no function or symbol table section)", found
}

// searchPrefix is the prefix length searchStream checks first for longer
// patterns.
const searchPrefix = 7

// searchStream reports which patterns occur in r, reading it once in
// chunks with an overlap so that matches across chunk boundaries count.
func searchStream(r io.Reader, patterns [][]byte) ([]bool, error) {
	found := make([]bool, len(patterns))
	maxLen := 0
	for _, p := range patterns {
		maxLen = max(maxLen, len(p))
	}
	const chunk = 1 << 20
	buf := make([]byte, chunk+maxLen)
	// The first name in a table has no NUL before it: pretend one.
	buf[0] = 0
	keep := 1
	left := len(patterns)
	for left > 0 {
		n, err := io.ReadFull(r, buf[keep:keep+chunk])
		win := buf[:keep+n]
		// Patterns sharing a prefix (the two cgo wrappers) are looked
		// for only where the prefix occurs, which in most binaries is
		// nowhere: one scan instead of one per pattern.
		prefixSeen := map[string]bool{}
		for i, p := range patterns {
			if found[i] {
				continue
			}
			if len(p) > searchPrefix {
				k := string(p[:searchPrefix])
				seen, ok := prefixSeen[k]
				if !ok {
					seen = bytes.Contains(win, p[:searchPrefix])
					prefixSeen[k] = seen
				}
				if !seen {
					continue
				}
			}
			if bytes.Contains(win, p) {
				found[i] = true
				left--
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
		keep = min(maxLen-1, len(win))
		copy(buf, win[len(win)-keep:])
	}
	return found, nil
}

// goVersionFallback finds the Go version of a binary whose build info is
// missing or damaged: from the runtime.buildVersion symbol when there is a
// symbol table, else from a go1.x string in the read-only data.
func goVersionFallback(f *elf.File, b *Binary) (version, evidence string) {
	if v, err := buildVersionSymbol(f); err == nil && v != "" {
		return v, "symbol runtime.buildVersion"
	}
	for _, name := range []string{".rodata", ".noptrdata", ".data"} {
		s := f.Section(name)
		if s == nil || s.Type == elf.SHT_NOBITS {
			continue
		}
		if v := scanGoVersion(io.LimitReader(s.Open(), maxVersionScan)); v != "" {
			return v, "go1.x string in " + name + " (heuristic)"
		}
	}
	b.Notes = append(b.Notes, "Go version not found")
	return "", ""
}

// buildVersionSymbol reads the string runtime.buildVersion points at.
func buildVersionSymbol(f *elf.File) (string, error) {
	syms, err := f.Symbols()
	if err != nil {
		return "", err
	}
	for _, s := range syms {
		if s.Name != "runtime.buildVersion" {
			continue
		}
		ptrSize := 8
		if f.Class == elf.ELFCLASS32 {
			ptrSize = 4
		}
		hdr, err := readVirtual(f, s.Value, uint64(2*ptrSize))
		if err != nil {
			return "", err
		}
		ptr, n := decodeWord(f, hdr[:ptrSize]), decodeWord(f, hdr[ptrSize:])
		if n == 0 || n > 128 {
			return "", errors.New("runtime.buildVersion: implausible length")
		}
		data, err := readVirtual(f, ptr, n)
		if err != nil {
			return "", err
		}
		return string(data), nil
	}
	return "", errors.New("no runtime.buildVersion symbol")
}

func decodeWord(f *elf.File, b []byte) uint64 {
	if len(b) == 4 {
		return uint64(f.ByteOrder.Uint32(b))
	}
	return f.ByteOrder.Uint64(b)
}

// readVirtual reads n bytes at virtual address addr from the loadable
// segment that contains them.
func readVirtual(f *elf.File, addr, n uint64) ([]byte, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr-p.Vaddr >= p.Filesz || n > p.Filesz-(addr-p.Vaddr) {
			continue
		}
		buf := make([]byte, n)
		if _, err := p.ReadAt(buf, int64(addr-p.Vaddr)); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return nil, fmt.Errorf("address %#x not in a loadable segment", addr)
}

// scanGoVersion returns the first "go1.N[.P]" string in r that stands
// alone (not part of a longer word), or "".
func scanGoVersion(r io.Reader) string {
	const chunk = 1 << 20
	buf := make([]byte, chunk+32)
	keep := 0
	for {
		n, err := io.ReadFull(r, buf[keep:keep+chunk])
		win := buf[:keep+n]
		for i := 0; ; {
			j := bytes.Index(win[i:], []byte("go1."))
			if j < 0 {
				break
			}
			at := i + j
			if v := goVersionAt(win, at); v != "" {
				return v
			}
			i = at + 1
		}
		if err != nil {
			return ""
		}
		keep = min(31, len(win))
		copy(buf, win[len(win)-keep:])
	}
}

// goVersionAt parses a go1.N[.P][rcN|betaN] token at win[at:], requiring
// a non-word byte (or the window start) before it.
func goVersionAt(win []byte, at int) string {
	if at > 0 && isWordByte(win[at-1]) {
		return ""
	}
	i := at + len("go1.")
	digits := func() int {
		s := i
		for i < len(win) && win[i] >= '0' && win[i] <= '9' {
			i++
		}
		return i - s
	}
	if digits() == 0 {
		return ""
	}
	if i < len(win) && win[i] == '.' {
		i++
		if digits() == 0 {
			return ""
		}
	}
	for _, pre := range []string{"rc", "beta"} {
		if bytes.HasPrefix(win[i:], []byte(pre)) {
			i += len(pre)
			if digits() == 0 {
				return ""
			}
			break
		}
	}
	if i >= len(win) || isWordByte(win[i]) {
		// Also rejects a token cut at the window end; the overlap
		// brings it back whole in the next window.
		return ""
	}
	return string(win[at:i])
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == '/' ||
		(c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
