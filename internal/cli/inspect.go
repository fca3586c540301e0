package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/inspect/target"
)

const inspectUsage = `Usage: nsscope inspect [flags] BINARY...
       nsscope inspect [flags] --in TARGET [PATH...]

Read ELF binaries and report what decides how they resolve host names: for
a Go program the Go version (also for old and stripped binaries), the build
settings (CGO_ENABLED, -tags, -ldflags, DefaultGODEBUG), the main module,
whether package net is linked and whether the cgo resolver is compiled in,
each with the evidence it was read from; for every ELF whether it is static
or dynamic, its interpreter, the C library it needs and the release of that
library found in the same root.

Without --in, BINARY is a file on this machine and the root is / (or
--root DIR). With --in, PATHs are inside TARGET (a directory, rootfs
tarball, docker save archive, OCI layout or registry reference); without
PATHs the image's main process (Entrypoint/Cmd) is inspected.

Flags:
  --in TARGET     read the binaries inside TARGET
  --all           with --in: every executable ELF file in TARGET, one line
                  each in text (path, Go version, cgo resolver, libc)
  --root DIR      the root whose C library is reported (default /; not
                  with --in)
  --platform P    the image to pick from a multi-platform index (default
                  linux/amd64)
  --insecure      allow plain-HTTP registries
  --format F      text or json (default text)

Exit codes: 0 inspected, 2 usage error or bad input (not an ELF file, a
missing file), 3 internal error.

Examples:
  nsscope inspect /usr/local/bin/kube-apiserver
  nsscope inspect --format json ./app
  nsscope inspect --in alpine-app.tar /usr/local/bin/app
  nsscope inspect --in registry.example/app:1.4
  nsscope inspect --all --format json --in image.tar
`

// inspectResult is one binary in the JSON output.
type inspectResult struct {
	// Path is the file inspected (inside the target with --in).
	Path string `json:"path"`
	// Root is the root whose C libraries are listed.
	Root string `json:"root"`
	// Main marks the image's main process.
	Main   bool            `json:"main,omitempty"`
	Binary *inspect.Binary `json:"binary"`
	// RootLibc lists the C libraries found in Root.
	RootLibc []inspect.LibcRelease `json:"root_libc"`
	// Libc is the library of RootLibc the binary uses, when known.
	Libc *inspect.LibcRelease `json:"libc,omitempty"`
}

type inspectFlags struct {
	in       string
	all      bool
	root     string
	platform string
	insecure bool
	format   string
}

func parseInspectFlags(args []string, stderr io.Writer) (*inspectFlags, []string, error) {
	var f inspectFlags
	fset := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.StringVar(&f.in, "in", "", "")
	fset.StringVar(&f.root, "root", "", "")
	fset.BoolVar(&f.all, "all", false, "")
	fset.StringVar(&f.platform, "platform", target.DefaultPlatform, "")
	fset.BoolVar(&f.insecure, "insecure", false, "")
	fset.StringVar(&f.format, "format", "text", "")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, inspectUsage)
			return nil, nil, errHelp
		}
		return nil, nil, usageErrorf("%v (run 'nsscope inspect -h')", err)
	}
	if f.format != "text" && f.format != "json" {
		return nil, nil, usageErrorf("--format %q: want text or json", f.format)
	}
	if f.in != "" && f.root != "" {
		return nil, nil, usageErrorf("--root and --in exclude each other: with --in the root is the target")
	}
	if f.all && (f.in == "" || fset.NArg() > 0) {
		return nil, nil, usageErrorf("--all needs --in TARGET and no PATH")
	}
	if f.in == "" && fset.NArg() == 0 {
		return nil, nil, usageErrorf("want at least one BINARY (run 'nsscope inspect -h')")
	}
	return &f, fset.Args(), nil
}

// runInspect implements `nsscope inspect`.
func runInspect(ctx context.Context, args []string, stdio Stdio, env []string) error {
	f, paths, err := parseInspectFlags(args, stdio.Err)
	if err != nil {
		return err
	}
	var results []inspectResult
	if f.in != "" {
		results, err = inspectInTarget(ctx, f, paths, env, stdio.Err)
	} else {
		results, err = inspectHostFiles(f, paths)
	}
	if err != nil {
		return err
	}
	if f.format == "json" {
		if results == nil {
			results = []inspectResult{}
		}
		enc := json.NewEncoder(stdio.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	if f.all {
		for _, r := range results {
			writeInspectLine(stdio.Out, r)
		}
		return nil
	}
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(stdio.Out)
		}
		writeInspectText(stdio.Out, r)
	}
	return nil
}

func inspectHostFiles(f *inspectFlags, paths []string) ([]inspectResult, error) {
	root := f.root
	if root == "" {
		root = "/"
	}
	st, err := os.Stat(root)
	if err != nil || !st.IsDir() {
		return nil, inputError(fmt.Errorf("--root %s: not a directory", root))
	}
	// os.DirFS follows links as the host does; for the host's own root
	// that is what a program sees. For another root use --in DIR, which
	// confines links to it.
	var rootLibc []inspect.LibcRelease
	if f.root == "" || f.root == "/" {
		rootLibc, _ = inspect.RootLibc(os.DirFS("/"))
	} else {
		tg, err := target.Open(context.Background(), root, target.Options{NoInspect: true})
		if err != nil {
			return nil, inputError(err)
		}
		defer tg.Close()
		rootLibc = tg.Libc()
	}
	var out []inspectResult
	for _, p := range paths {
		b, err := inspect.Open(p)
		if err != nil {
			return nil, inputError(err)
		}
		out = append(out, inspectResult{Path: p, Root: root, Binary: b, RootLibc: rootLibc, Libc: inspect.LibcFor(b, rootLibc)})
	}
	return out, nil
}

// inspectInTarget inspects paths inside the target; the target's notes
// (entries skipped, damage found) go to stderr.
func inspectInTarget(ctx context.Context, f *inspectFlags, paths []string, env []string, stderr io.Writer) ([]inspectResult, error) {
	opts := target.Options{Platform: f.platform, Insecure: f.insecure, TempDir: envValue(env, "TMPDIR")}
	// Only the files asked for need to be looked at; the reader inspects
	// every executable anyway, which costs little more.
	tg, err := target.Open(ctx, f.in, opts)
	if err != nil {
		return nil, inputError(err)
	}
	defer tg.Close()
	for _, n := range tg.Notes() {
		fmt.Fprintf(stderr, "nsscope inspect: note: %s\n", n)
	}
	root := tg.Description().Spec
	libc := tg.Libc()
	mainPath := ""
	if m, ok := tg.Main(); ok && m.Path != "" {
		mainPath = m.Path
	}
	if f.all {
		progs, err := tg.Programs(ctx)
		if err != nil {
			return nil, err
		}
		var out []inspectResult
		for _, e := range progs {
			if e.Binary != nil {
				out = append(out, inspectResult{Path: e.Path, Root: root, Main: e.Path == mainPath, Binary: e.Binary, RootLibc: libc, Libc: inspect.LibcFor(e.Binary, libc)})
			}
		}
		return out, nil
	}
	if len(paths) == 0 {
		if mainPath == "" {
			m, _ := tg.Main()
			return nil, inputError(fmt.Errorf("%s: no PATH given and no main process to inspect (%s)", f.in, m.Via))
		}
		paths = []string{mainPath}
	}
	var out []inspectResult
	for _, p := range paths {
		abs := path.Join("/", p)
		r, err := tg.Resolve(abs)
		if err != nil {
			return nil, inputError(fmt.Errorf("%s: %w", p, err))
		}
		e, ok := tg.Lookup(r)
		if !ok {
			return nil, inputError(fmt.Errorf("%s: %w", p, fs.ErrNotExist))
		}
		if !e.Mode.IsRegular() {
			return nil, inputError(fmt.Errorf("%s: not a regular file", p))
		}
		b := e.Binary
		if b == nil {
			if e.InspectErr != "" {
				return nil, inputError(fmt.Errorf("%s: %s", p, e.InspectErr))
			}
			// Not inspected while reading (no execute bit, or not ELF):
			// read it now.
			file, err := tg.FS().Open(strings.TrimPrefix(r, "/"))
			if err != nil {
				return nil, inputError(fmt.Errorf("%s: %w", p, err))
			}
			b, err = inspect.Read(file.(io.ReaderAt), e.Size)
			file.Close()
			if err != nil {
				return nil, inputError(fmt.Errorf("%s: %w", p, err))
			}
		}
		out = append(out, inspectResult{Path: r, Root: root, Main: r == mainPath, Binary: b, RootLibc: libc, Libc: inspect.LibcFor(b, libc)})
	}
	return out, nil
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

// writeInspectText renders one result as indented lines.
func writeInspectText(w io.Writer, r inspectResult) {
	b := r.Binary
	title := r.Path
	if r.Main {
		title += " (main process)"
	}
	fmt.Fprintln(w, title)
	link := "statically linked"
	if !b.Static {
		link = "dynamically linked"
		if b.Interp != "" {
			link += ", interpreter " + b.Interp
		}
	}
	fmt.Fprintf(w, "  ELF:            %s %s %s, %s\n", b.Class, b.Machine, b.Type, link)
	if len(b.Needed) > 0 {
		fmt.Fprintf(w, "  needs:          %s\n", strings.Join(b.Needed, ", "))
	}
	if g := b.Go; g != nil {
		fmt.Fprintf(w, "  Go:             %s (from %s)\n", orText(g.Version, "unknown version"), orText(g.VersionEvidence, "nothing"))
		if g.Path != "" {
			fmt.Fprintf(w, "  main package:   %s\n", g.Path)
		}
		if g.Main.Path != "" {
			fmt.Fprintf(w, "  main module:    %s %s\n", g.Main.Path, g.Main.Version)
		}
		switch {
		case len(g.Settings) == 0 && strings.HasPrefix(g.VersionEvidence, "build info"):
			fmt.Fprintf(w, "  build settings: none recorded (Go before 1.18)\n")
		case len(g.Settings) == 0:
			fmt.Fprintf(w, "  build settings: unknown (no readable build info)\n")
		default:
			fmt.Fprintf(w, "  CGO_ENABLED:    %s\n", orText(g.CgoEnabled, "not recorded"))
			fmt.Fprintf(w, "  -tags:          %s\n", orText(strings.Join(g.Tags, ","), "none"))
			if g.Ldflags != "" {
				fmt.Fprintf(w, "  -ldflags:       %s\n", g.Ldflags)
			}
			fmt.Fprintf(w, "  DefaultGODEBUG: %s\n", orText(g.DefaultGODEBUG, "none"))
		}
		fmt.Fprintf(w, "  stripped:       %s\n", yesNo(g.Stripped))
		fmt.Fprintf(w, "  package net:    %s\n", g.Net)
		fmt.Fprintf(w, "  cgo resolver:   %s\n", g.CgoResolver)
	} else {
		fmt.Fprintf(w, "  Go:             not a Go program\n")
	}
	if b.Libc != "" {
		fmt.Fprintf(w, "  C library:      %s (%s)\n", b.Libc, b.LibcEvidence)
	}
	if len(b.Resolves) > 0 {
		fmt.Fprintf(w, "  resolver calls: %s\n", strings.Join(b.Resolves, ", "))
	}
	if len(b.ResolvesVia) > 0 {
		fmt.Fprintf(w, "  resolves via:   %s\n", strings.Join(b.ResolvesVia, ", "))
	}
	if b.LibcRelease != nil {
		fmt.Fprintf(w, "  is C library:   %s %s (%s)\n", b.LibcRelease.Kind, b.LibcRelease.Version, b.LibcRelease.Evidence)
	}
	if len(r.RootLibc) == 0 {
		fmt.Fprintf(w, "  libc in %s: none found\n", r.Root)
	}
	for _, l := range r.RootLibc {
		mark := ""
		if r.Libc != nil && l == *r.Libc {
			mark = " (used by this binary)"
		}
		fmt.Fprintf(w, "  libc in %s: %s %s%s — %s\n", r.Root, l.Kind, l.Version, mark, l.Evidence)
	}
	for _, n := range b.Notes {
		fmt.Fprintf(w, "  note:           %s\n", n)
	}
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeInspectLine renders one result on one line (--all): path, Go
// version or "C", how it resolves (cgo-resolver=yes|no|unknown, no-net,
// resolves=FUNCS, resolves-via=LIBS, resolves=none), linking, and "main".
func writeInspectLine(w io.Writer, r inspectResult) {
	b := r.Binary
	kind := "C"
	cgo := "resolves=none"
	switch {
	case len(b.Resolves) > 0:
		cgo = "resolves=" + strings.Join(b.Resolves, ",")
	case len(b.ResolvesVia) > 0:
		libs := make([]string, len(b.ResolvesVia))
		for i, v := range b.ResolvesVia {
			libs[i], _, _ = strings.Cut(v, " ")
		}
		cgo = "resolves-via=" + strings.Join(libs, ",")
	}
	if b.Go != nil {
		kind = orText(b.Go.Version, "go?")
		cgo = "cgo-resolver=" + map[bool]string{true: "yes", false: "no"}[b.Go.CgoResolver.Value]
		if !b.Go.CgoResolver.Known {
			cgo = "cgo-resolver=unknown"
		}
		if b.Go.Net.Known && !b.Go.Net.Value {
			cgo = "no-net"
		}
	}
	link := "static"
	if !b.Static {
		link = orText(b.Libc, "dynamic")
	}
	main := ""
	if r.Main {
		main = " main"
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s%s\n", r.Path, kind, cgo, link, main)
}
