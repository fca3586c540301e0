package inspect

import (
	"debug/elf"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDynamicMatchesDebugELF holds the bounded dynamic-section reader to
// debug/elf's whole-table readers on every ELF file of this machine's
// /usr/bin and /usr/lib (and the shared test binaries): the same needed
// libraries, run paths, soname and imported resolver functions.
func TestDynamicMatchesDebugELF(t *testing.T) {
	var paths []string
	for _, glob := range []string{"/usr/bin/*", "/usr/lib/x86_64-linux-gnu/lib*.so*", "../shared/data/binaries/*"} {
		m, _ := filepath.Glob(glob)
		paths = append(paths, m...)
	}
	compared := 0
	for _, p := range paths {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		compared++
		d, err := readDynamic(f)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			f.Close()
			continue
		}
		for _, tag := range []elf.DynTag{elf.DT_NEEDED, elf.DT_RUNPATH, elf.DT_RPATH, elf.DT_SONAME} {
			want, werr := f.DynString(tag)
			got, gerr := d.strings(tag)
			if (werr == nil) != (gerr == nil) || !slices.Equal(want, got) {
				t.Errorf("%s %s: got %q (%v), debug/elf %q (%v)", p, tag, got, gerr, want, werr)
			}
		}
		var want []string
		if syms, err := f.ImportedSymbols(); err == nil {
			for _, s := range syms {
				if slices.Contains(resolverFuncs, s.Name) && !slices.Contains(want, s.Name) {
					want = append(want, s.Name)
				}
			}
		}
		got, err := importsAny(f, resolverFuncs)
		slices.Sort(want)
		slices.Sort(got)
		if err != nil || !slices.Equal(want, got) {
			t.Errorf("%s imports: got %q (%v), debug/elf %q", p, got, err, want)
		}
		f.Close()
	}
	if compared < 10 {
		t.Skipf("only %d ELF files found to compare", compared)
	}
	t.Logf("%d ELF files compared", compared)
}

func TestStringAtBounds(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Skip("test binary is not ELF")
	}
	defer f.Close()
	s := f.Section(".shstrtab")
	if s == nil {
		t.Skip("no .shstrtab")
	}
	if _, err := stringAt(s, s.Size, 64); err == nil {
		t.Error("offset at the table's end: want an error")
	}
	if _, err := stringAt(s, 1, 0); err == nil {
		t.Error("a string longer than the bound: want an error, not a truncation")
	}
	if _, err := stringAt(nil, 0, 64); err == nil {
		t.Error("no table: want an error")
	}
}
