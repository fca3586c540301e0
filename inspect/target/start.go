package target

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// StartProblem says why the dynamic program e cannot start in this root:
// its loader (PT_INTERP) is not there, or a library it needs (DT_NEEDED)
// is in none of the directories the loader searches (the program's
// RUNPATH/RPATH, the image's LD_LIBRARY_PATH, the loader's configured and
// default directories). It is empty for a program that can start and for
// a static one.
func (t *Tree) StartProblem(e Entry) string {
	b := e.Binary
	if b == nil || b.Interp == "" {
		return ""
	}
	if !t.regularAt(b.Interp) {
		why := fmt.Sprintf("its loader %s (PT_INTERP) is not in the root", b.Interp)
		if b.Libc != "" {
			for _, l := range t.Libc() {
				if l.Kind != b.Libc {
					why += fmt.Sprintf(": a %s program in a %s root", b.Libc, l.Kind)
					break
				}
			}
		}
		return why
	}
	dirs := t.searchDirs(e)
	var missing []string
	for _, n := range b.Needed {
		if t.findIn(n, dirs) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("needed %s not found in the loader's search path (%s)", strings.Join(missing, ", "), strings.Join(dirs, ":"))
}

// regularAt reports a regular file at p, links followed inside the root.
func (t *Tree) regularAt(p string) bool {
	r, err := t.Resolve(p)
	if err != nil {
		return false
	}
	n := t.lookup(r)
	return n != nil && n.Mode.IsRegular()
}

// findIn returns where the loader finds the library name in dirs ("" when
// nowhere); a name with a slash is taken as a path.
func (t *Tree) findIn(name string, dirs []string) string {
	if strings.Contains(name, "/") {
		if t.regularAt(name) {
			return name
		}
		return ""
	}
	for _, d := range dirs {
		if p := path.Join(d, name); t.regularAt(p) {
			return p
		}
	}
	return ""
}

// searchDirs are the directories the loader searches for the libraries of
// program e, in order: its RUNPATH/RPATH ($ORIGIN is its directory), the
// image's LD_LIBRARY_PATH, the directories configured for the loader
// (glibc's /etc/ld.so.conf and its includes, musl's
// /etc/ld-musl-ARCH.path) and the default ones.
func (t *Tree) searchDirs(e Entry) []string {
	var dirs []string
	add := func(ds ...string) {
		for _, d := range ds {
			d = strings.TrimSpace(d)
			if d != "" && path.IsAbs(d) {
				dirs = append(dirs, path.Clean(d))
			}
		}
	}
	origin := path.Dir(e.Path)
	for _, r := range e.Binary.RunPath {
		r = strings.ReplaceAll(strings.ReplaceAll(r, "${ORIGIN}", origin), "$ORIGIN", origin)
		add(r)
	}
	if v, ok := t.config.Getenv("LD_LIBRARY_PATH"); ok {
		add(strings.Split(v, ":")...)
	}
	add(t.loaderConfDirs()...)
	add(libDirs...)
	return dirs
}

// maxConfIncludes bounds the files ld.so.conf's include lines pull in.
const maxConfIncludes = 64

// loaderConfDirs reads the loaders' configured directories.
func (t *Tree) loaderConfDirs() []string {
	var out []string
	fsys := t.FS()
	read := func(name string) string {
		data, err := fs.ReadFile(fsys, name)
		if err != nil || len(data) > 1<<20 {
			return ""
		}
		return string(data)
	}
	files := []string{"etc/ld.so.conf"}
	for i := 0; i < len(files) && i < maxConfIncludes; i++ {
		for line := range strings.SplitSeq(read(files[i]), "\n") {
			line, _, _ = strings.Cut(line, "#")
			fields := strings.Fields(line)
			switch {
			case len(fields) == 0:
			case fields[0] == "include":
				for _, g := range fields[1:] {
					if !path.IsAbs(g) {
						g = path.Join("/etc", g)
					}
					g = strings.TrimPrefix(path.Clean(g), "/")
					m, _ := fs.Glob(fsys, g)
					files = append(files, m...)
				}
			default:
				out = append(out, fields...)
			}
		}
	}
	if m, _ := fs.Glob(fsys, "etc/ld-musl-*.path"); len(m) > 0 {
		out = append(out, strings.FieldsFunc(read(m[0]), func(r rune) bool { return r == ':' || r == '\n' })...)
	}
	return out
}
