package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/internal/jsonstyle"
)

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

// inspectSchemaVersion is the version of inspect's JSON document.
const inspectSchemaVersion = 1

// inspectDoc is inspect's JSON document.
type inspectDoc struct {
	jsonstyle.Envelope
	Binaries []inspectEntry `json:"binaries"`
}

// inspectEntry is one binary in the JSON document: an inspectResult whose
// binary's C library is written as the object every libc is (kind,
// version, evidence), not as a bare kind.
type inspectEntry struct {
	inspectResult
	Binary json.RawMessage `json:"binary"`
}

func newInspectDoc(results []inspectResult) (*inspectDoc, error) {
	doc := &inspectDoc{Envelope: jsonstyle.NewEnvelope(inspectSchemaVersion, toolVersion()), Binaries: []inspectEntry{}}
	for _, r := range results {
		b, err := binaryJSON(r.Binary)
		if err != nil {
			return nil, err
		}
		doc.Binaries = append(doc.Binaries, inspectEntry{inspectResult: r, Binary: b})
	}
	return doc, nil
}

// binaryJSON writes b with "libc" as an inspect.LibcRelease object.
func binaryJSON(b *inspect.Binary) (json.RawMessage, error) {
	jsonstyle.FillLists(b)
	data, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "libc_evidence")
	if b.Libc != "" {
		l, err := json.Marshal(inspect.LibcRelease{Kind: b.Libc, Evidence: b.LibcEvidence})
		if err != nil {
			return nil, err
		}
		m["libc"] = l
	}
	return json.Marshal(m)
}

type inspectFlags struct {
	in     string
	all    bool
	root   string
	image  imageFlags
	cache  cacheFlags
	report reportFlags
}

func newInspectCmd(a *app) *cobra.Command {
	var f inspectFlags
	cmd := newVerb(verbSpec{
		use:     "inspect [flags] BINARY... | --in TARGET [PATH...]",
		summary: "read a binary: Go version, build settings, cgo resolver, libc",
		long: `Read ELF binaries and report what decides how they resolve host names: for
a Go program the Go version (also for old and stripped binaries), the build
settings (CGO_ENABLED, -tags, -ldflags, DefaultGODEBUG), the main module,
whether package net is linked and whether the cgo resolver is compiled in,
each with the evidence it was read from; for every ELF whether it is static
or dynamic, its interpreter, the C library it needs and the release of that
library found in the same root.

Without --in, BINARY is a file on this machine (- reads it from standard
input) and the root is / (or --root). With --in, PATHs are inside TARGET (a
directory, rootfs tarball, docker save archive, OCI layout or registry
reference); without PATHs the image's main process (Entrypoint/Cmd) is
inspected. A BINARY or PATH that cannot be read is named on stderr; the
others are still reported.`,
		exit: `0  every binary inspected
2  usage error or bad input (not an ELF file, a missing file)
3  internal error`,
		examples: `nsscope inspect /usr/local/bin/kube-apiserver
nsscope inspect ./app --format json
nsscope inspect --in alpine-app.tar /usr/local/bin/app
nsscope inspect --in registry.example/app:1.4
nsscope inspect --all --format json --in image.tar`,
		run: func(cmd *cobra.Command, args []string) error { return runInspect(cmd, a, &f, args) },
	})
	cmd.Flags().StringVar(&f.in, "in", "", "read the binaries inside `TARGET`: what scan's TARGET is (- reads a tarball from stdin)")
	cmd.Flags().BoolVar(&f.all, "all", false, "with --in: every executable ELF file in TARGET, one line each in text (path, Go version, cgo resolver, libc)")
	cmd.Flags().StringVar(&f.root, "root", "", rootUsage("the root whose C library is reported", "not an image reference (--in reads one) (default /; not with --in)"))
	addGroup(cmd, "Image", f.image.register)
	addGroup(cmd, cacheGroup, f.cache.register)
	addGroup(cmd, "Output", func(fs *pflag.FlagSet) { f.report.register(fs, []string{"text", "json"}, false) })
	completeValues(cmd, "format", "text", "json")
	return cmd
}

func (f *inspectFlags) check(args []string) error {
	if err := f.report.check(); err != nil {
		return err
	}
	if f.in != "" && f.root != "" {
		return usageErrorf("--root and --in exclude each other: with --in the root is the target")
	}
	if f.all && (f.in == "" || len(args) > 0) {
		return usageErrorf("--all needs --in TARGET and no PATH")
	}
	if f.in == "" && len(args) == 0 {
		return usageErrorf("want at least one BINARY, or --in TARGET")
	}
	for _, p := range args {
		if p == "-" && (f.root == "-" || f.in == "-") {
			return usageErrorf("%s - and BINARY - both want standard input: give one of them a file", map[bool]string{true: "--root", false: "--in"}[f.root == "-"])
		}
	}
	if err := checkTargetRef("--in", f.in); err != nil {
		return err
	}
	return checkTargetRef("--root", f.root)
}

// runInspect implements `nsscope inspect`. Each binary that cannot be read
// is named on stderr and the others are reported; the exit status is then 2.
func runInspect(cmd *cobra.Command, a *app, f *inspectFlags, paths []string) error {
	if err := f.check(paths); err != nil {
		return err
	}
	if err := f.cache.check(cmd); err != nil {
		return err
	}
	ctx := cmd.Context()
	var (
		results []inspectResult
		failed  []error
		err     error
	)
	if f.in != "" {
		results, failed, err = inspectInTarget(ctx, a, f, paths)
	} else {
		results, failed, err = inspectHostFiles(ctx, a, f, paths)
	}
	if err != nil {
		return err
	}
	for _, e := range failed {
		fmt.Fprintln(a.stdio.Err, errorLine(cmd, e))
	}
	out := a.output(f.report.output)
	switch {
	case f.report.format == "json":
		var doc *inspectDoc
		if doc, err = newInspectDoc(results); err == nil {
			err = jsonstyle.Write(out, doc)
		}
	case f.all:
		for _, r := range results {
			writeInspectLine(out, r)
		}
	default:
		for i, r := range results {
			if i > 0 {
				fmt.Fprintln(out)
			}
			writeInspectText(out, r)
		}
	}
	if err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if len(failed) > 0 {
		return &ExitError{Code: ExitUsage}
	}
	return nil
}

func inspectHostFiles(ctx context.Context, a *app, f *inspectFlags, paths []string) ([]inspectResult, []error, error) {
	root := f.root
	if root == "" {
		root = "/"
	}
	shown := root
	if root == "-" {
		var err error
		if root, err = a.rootArg(root); err != nil {
			return nil, nil, err
		}
		shown = "standard input"
	}
	if _, err := os.Stat(root); err != nil {
		return nil, nil, inputError(fmt.Errorf("--root: %w", err))
	}
	// os.DirFS follows links as the host does; for the host's own root
	// that is what a program sees. For another root use --in DIR, which
	// confines links to it.
	var rootLibc []inspect.LibcRelease
	if f.root == "" || f.root == "/" {
		rootLibc, _ = inspect.RootLibc(os.DirFS("/"))
	} else {
		tg, err := target.Open(ctx, root, target.Options{NoInspect: true, TempDir: envValue(a.env, "TMPDIR")})
		if err != nil {
			return nil, nil, inputError(fmt.Errorf("--root: %w", err))
		}
		defer tg.Close()
		rootLibc = tg.Libc()
	}
	var (
		out    []inspectResult
		failed []error
	)
	for _, p := range paths {
		b, err := a.inspectFile(p)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		name := p
		if p == "-" {
			name = "standard input"
		}
		out = append(out, inspectResult{Path: name, Root: shown, Binary: b, RootLibc: rootLibc, Libc: inspect.LibcFor(b, rootLibc)})
	}
	return out, failed, nil
}

// inspectFile reads a binary on this machine; "-" reads it from standard
// input (held in memory, up to maxStdinBinary).
func (a *app) inspectFile(p string) (*inspect.Binary, error) {
	if p != "-" {
		b, err := inspect.Open(p)
		if err != nil {
			return nil, inputError(err)
		}
		return b, nil
	}
	data, err := a.readArg("BINARY", "-", maxStdinBinary)
	if err != nil {
		return nil, err
	}
	b, err := inspect.Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, inputError(fmt.Errorf("standard input: %w", err))
	}
	return b, nil
}

// maxStdinBinary caps a binary read from standard input.
const maxStdinBinary = 1 << 30

// inspectInTarget inspects paths inside the target; the target's notes
// (entries skipped, damage found) go to stderr.
func inspectInTarget(ctx context.Context, a *app, f *inspectFlags, paths []string) ([]inspectResult, []error, error) {
	stderr := a.stdio.Err
	opts := target.Options{Platform: f.image.platform, Insecure: f.image.insecure, TempDir: envValue(a.env, "TMPDIR"), Images: f.image.stores,
		Cache: f.cache.layers(a.env, a.stdio.Err, "inspect")}
	// Only the files asked for need to be looked at; the reader inspects
	// every executable anyway, which costs little more.
	spec := f.in
	if spec == "-" {
		var err error
		if spec, err = a.stdinTarball("--in", maxStdinTarball); err != nil {
			return nil, nil, err
		}
	}
	tg, err := target.Open(ctx, spec, opts)
	if err != nil {
		return nil, nil, targetError(err)
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
			return nil, nil, err
		}
		var out []inspectResult
		for _, e := range progs {
			if e.Binary == nil {
				// A damaged ELF program is named, never dropped.
				fmt.Fprintf(stderr, "nsscope inspect: note: %s: not inspected: %s\n", e.Path, e.InspectErr)
				continue
			}
			out = append(out, inspectResult{Path: e.Path, Root: root, Main: e.Path == mainPath, Binary: e.Binary, RootLibc: libc, Libc: inspect.LibcFor(e.Binary, libc)})
		}
		return out, nil, nil
	}
	if len(paths) == 0 {
		if mainPath == "" {
			m, _ := tg.Main()
			return nil, nil, inputError(fmt.Errorf("%s: no PATH given and no main process to inspect (%s)", f.in, m.Via))
		}
		paths = []string{mainPath}
	}
	var (
		out    []inspectResult
		failed []error
	)
	for _, p := range paths {
		r, b, err := inspectInside(tg, p)
		if err != nil {
			failed = append(failed, inputError(err))
			continue
		}
		out = append(out, inspectResult{Path: r, Root: root, Main: r == mainPath, Binary: b, RootLibc: libc, Libc: inspect.LibcFor(b, libc)})
	}
	return out, failed, nil
}

// inspectInside reads the binary at p inside the target; it returns the
// path links resolve to.
func inspectInside(tg *target.Tree, p string) (string, *inspect.Binary, error) {
	r, err := tg.Resolve(path.Join("/", p))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", p, err)
	}
	e, ok := tg.Lookup(r)
	if !ok {
		return "", nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	if !e.Mode.IsRegular() {
		return "", nil, fmt.Errorf("%s: not a regular file", p)
	}
	if e.Binary != nil {
		return r, e.Binary, nil
	}
	if e.InspectErr != "" {
		return "", nil, fmt.Errorf("%s: %s", p, e.InspectErr)
	}
	// Not inspected while reading (no execute bit, or not ELF): read it now.
	file, err := tg.FS().Open(strings.TrimPrefix(r, "/"))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", p, err)
	}
	defer file.Close()
	ra, ok := file.(io.ReaderAt)
	if !ok {
		return "", nil, fmt.Errorf("%s: cannot be read at random", p)
	}
	b, err := inspect.Read(ra, e.Size)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", p, err)
	}
	return r, b, nil
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
	if b.Static {
		// A static binary carries what C code it has: the root's library
		// is never loaded.
		fmt.Fprintf(w, "  libc in %s: not used (statically linked)\n", r.Root)
	} else if len(r.RootLibc) == 0 {
		fmt.Fprintf(w, "  libc in %s: none found\n", r.Root)
	}
	for _, l := range r.RootLibc {
		if b.Static {
			break
		}
		mark := ""
		if r.Libc != nil && l == *r.Libc {
			mark = " (used by this binary)"
		}
		fmt.Fprintf(w, "  libc in %s: %s%s — %s\n", r.Root, l.Model(), mark, l.Evidence)
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
