package target

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// MaxLinks is the number of symbolic links followed while resolving one
// path, as Linux's limit (ELOOP after 40).
const MaxLinks = 40

// PathInfo is what [ResolveIn] needs to know about one path of a root,
// without following a symbolic link at it.
type PathInfo struct {
	// Exists is false when nothing is at the path.
	Exists bool
	// Dir marks a directory.
	Dir bool
	// Link is the stored target of a symbolic link; IsLink marks one.
	Link   string
	IsLink bool
}

// LstatFunc describes the clean absolute path p inside a root without
// following a symbolic link in its last component. An error other than
// "does not exist" (reported as Exists false) stops the resolution.
type LstatFunc func(p string) (PathInfo, error)

// ResolveIn resolves p inside a root the way the kernel resolves a path
// for a process chrooted there: an absolute link target starts again at
// the root, ".." at the root stays at the root, and nothing can lead
// outside it. followLast says whether a link in the last component is
// followed. The result is a clean absolute path; its last component need
// not exist. It fails with fs.ErrNotExist when a directory on the way is
// missing, with ErrLoop after [MaxLinks] links, and when a component on
// the way is not a directory.
//
// It is the one in-root resolver of nsscope: image and tarball targets,
// directory targets and the model's environment readers all call it, each
// with its own lstat.
func ResolveIn(p string, followLast bool, lstat LstatFunc) (string, error) {
	rest := components(p)
	var out []string
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case ".":
			continue
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		cur := "/" + strings.Join(append(out, c), "/")
		info, err := lstat(cur)
		if err != nil {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: err}
		}
		if !info.Exists {
			if len(rest) > 0 {
				return "", &fs.PathError{Op: "resolve", Path: p, Err: fs.ErrNotExist}
			}
			out = append(out, c)
			continue
		}
		if info.IsLink && (len(rest) > 0 || followLast) {
			links++
			if links > MaxLinks {
				return "", &fs.PathError{Op: "resolve", Path: p, Err: ErrLoop}
			}
			if path.IsAbs(info.Link) {
				out = out[:0]
			}
			rest = append(components(info.Link), rest...)
			continue
		}
		if len(rest) > 0 && !info.Dir {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: fmt.Errorf("%s: %w", cur, ErrNotDir)}
		}
		out = append(out, c)
	}
	return "/" + strings.Join(out, "/"), nil
}

// components splits a slash path into its non-empty components.
func components(p string) []string {
	var out []string
	for c := range strings.SplitSeq(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// LstatFS adapts an fs.FS that implements fs.ReadLinkFS (os.DirFS,
// os.Root.FS) to ResolveIn: names are taken relative to its root.
func LstatFS(fsys fs.FS) LstatFunc {
	return func(p string) (PathInfo, error) {
		name := strings.TrimPrefix(p, "/")
		if name == "" {
			name = "."
		}
		st, err := fs.Lstat(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			return PathInfo{}, nil
		}
		if err != nil {
			return PathInfo{}, err
		}
		info := PathInfo{Exists: true, Dir: st.IsDir(), IsLink: st.Mode()&fs.ModeSymlink != 0}
		if info.IsLink {
			if info.Link, err = fs.ReadLink(fsys, name); err != nil {
				return PathInfo{}, err
			}
		}
		return info, nil
	}
}
