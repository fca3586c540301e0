package lab

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// findProgram resolves argv0 inside the root the way execve after chroot
// would: a name with a slash is taken as is (relative to /), a bare name
// is looked up in PATH. It returns the in-root path.
func findProgram(r *rootFS, argv0, pathEnv string) (string, error) {
	if argv0 == "" {
		return "", inputErrorf("empty program name")
	}
	if strings.Contains(argv0, "/") {
		p := path.Clean("/" + argv0)
		if err := checkExecutable(r, p); err != nil {
			return "", err
		}
		return p, nil
	}
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "/"
		}
		p := path.Join("/", dir, argv0)
		if checkExecutable(r, p) == nil {
			return p, nil
		}
	}
	return "", inputErrorf("program %q not found in the program's root (PATH=%s)", argv0, pathEnv)
}

func checkExecutable(r *rootFS, p string) error {
	st, err := r.stat(p)
	if err != nil {
		if err == unix.ENOENT || err == unix.ENOTDIR {
			return inputErrorf("program %s not found in the program's root", p)
		}
		return inputErrorf("program %s: %v", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return inputErrorf("program %s is not a regular file", p)
	}
	if st.Mode&0o111 == 0 {
		return inputErrorf("program %s is not executable", p)
	}
	return nil
}

// interpreter returns what the kernel needs to start the program at p: the
// ELF interpreter (PT_INTERP, "" for a static binary) or a script's "#!"
// interpreter. It fails when that interpreter is missing from the root —
// the case where execve would report a baffling "no such file or directory".
func interpreter(r *rootFS, p string) (string, error) {
	fd, err := r.open(p, unix.O_RDONLY, 0)
	if err != nil {
		return "", inputErrorf("program %s: %v", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	head := make([]byte, 256)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	var interp string
	switch {
	case bytes.HasPrefix(head, []byte("#!")):
		line, _, _ := bytes.Cut(head[2:], []byte("\n"))
		fields := strings.Fields(string(line))
		if len(fields) == 0 {
			return "", inputErrorf("program %s: empty #! line", p)
		}
		interp = fields[0]
	case bytes.HasPrefix(head, []byte(elf.ELFMAG)):
		ef, err := elf.NewFile(f)
		if err != nil {
			return "", inputErrorf("program %s: bad ELF file: %v", p, err)
		}
		for _, prog := range ef.Progs {
			if prog.Type != elf.PT_INTERP {
				continue
			}
			if prog.Filesz > 4096 {
				return "", inputErrorf("program %s: ELF interpreter path too long", p)
			}
			b := make([]byte, prog.Filesz)
			if _, err := prog.ReadAt(b, 0); err != nil {
				return "", inputErrorf("program %s: reading ELF interpreter: %v", p, err)
			}
			interp = string(bytes.TrimRight(b, "\x00"))
		}
	default:
		return "", inputErrorf("program %s is neither an ELF binary nor a #! script", p)
	}
	if interp == "" {
		return "", nil
	}
	st, err := r.stat(interp)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return interp, inputErrorf("program %s needs %s, which the program's root does not have (a binary for another libc, or a root without its loader)", p, interp)
	}
	return interp, nil
}

// errString renders an error for a model.File's ReadErr.
func errString(err error) string { return fmt.Sprint(err) }

// HostPath is where the host sees the program spec.Argv[0] names, to read
// it before the run: the source of an Add at that path, the file inside a
// directory root, or on the host's own root the path itself or its PATH
// lookup. It is "" when the host cannot see it (inside a tarball, or not
// found).
func HostPath(spec Spec) string {
	argv0 := ""
	if len(spec.Argv) > 0 {
		argv0 = spec.Argv[0]
	}
	if argv0 == "" {
		return ""
	}
	var cands []string
	if strings.Contains(argv0, "/") {
		cands = []string{argv0}
	} else {
		for _, dir := range strings.Split(envValue(spec.Env, "PATH", DefaultPath), ":") {
			cands = append(cands, path.Join("/", dir, argv0))
		}
	}
	for _, c := range cands {
		for _, a := range spec.Add {
			if path.Clean(a.Dst) == path.Clean("/"+c) {
				return a.Src
			}
		}
		var p string
		switch {
		case spec.Root == "":
			p = c
			if !filepath.IsAbs(p) {
				abs, err := filepath.Abs(p)
				if err != nil {
					continue
				}
				p = abs
			}
		default:
			if st, err := os.Stat(spec.Root); err != nil || !st.IsDir() {
				return ""
			}
			p = filepath.Join(spec.Root, filepath.FromSlash(path.Clean("/"+c)))
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
