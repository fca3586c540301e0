package target

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nsscope/nsscope/inspect"
)

// skipHostDirs are not walked when the directory target is the host's
// root: kernel file systems whose contents are not files of any program.
var skipHostDirs = []string{"proc", "sys", "dev"}

// openDir indexes a directory tree. Nothing is read but metadata;
// binaries are inspected when asked for (Programs, Lookup, Entries).
func (t *Target) openDir(dir string) error {
	t.desc.Kind = KindDir
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return err
	}
	t.hostFS = root
	count := 0
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			t.notes = append(t.notes, fmt.Sprintf("%s: %v: skipped", p, err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p == "." {
			return nil
		}
		if d.IsDir() && abs == "/" && !strings.Contains(p, "/") {
			for _, s := range skipHostDirs {
				if p == s {
					return fs.SkipDir
				}
			}
		}
		count++
		if count > t.limits.MaxEntries {
			return fmt.Errorf("more than %d entries: %w", t.limits.MaxEntries, ErrLimit)
		}
		info, err := d.Info()
		if err != nil {
			return nil // vanished meanwhile
		}
		n := &node{Entry: Entry{Path: "/" + p, Mode: info.Mode(), Size: info.Size()}, host: p}
		switch {
		case d.IsDir():
			n.kids = map[string]*node{}
			n.Size = 0
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := root.Readlink(p)
			if err != nil {
				t.notes = append(t.notes, fmt.Sprintf("%s: %v: skipped", p, err))
				return nil
			}
			n.Link = l
		}
		t.add(n)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

// inspectHost inspects a regular file of a directory target once, when it
// is executable or a C library and starts with the ELF magic (or "#!").
func (t *Target) inspectHost(n *node) {
	if !n.Mode.IsRegular() || !wantInspect(n.Path, n.Mode, n.Size) {
		return
	}
	n.once.Do(func() {
		f, err := t.hostFS.Open(n.host)
		if err != nil {
			n.InspectErr = err.Error()
			return
		}
		defer f.Close()
		head := make([]byte, 256)
		k, _ := io.ReadFull(f, head)
		head = head[:k]
		if strings.HasPrefix(string(head), "#!") {
			line, _, _ := strings.Cut(string(head[2:]), "\n")
			n.Shebang = strings.TrimSpace(line)
			return
		}
		if !inspect.IsELF(head) {
			return
		}
		if n.Size > t.limits.MaxInspect {
			n.InspectErr = fmt.Sprintf("ELF file of %d bytes is over the %d-byte inspection limit: skipped", n.Size, t.limits.MaxInspect)
			return
		}
		b, err := inspect.Read(f, n.Size)
		if err != nil {
			n.InspectErr = err.Error()
			return
		}
		n.Binary = b
	})
}

// inspectAll inspects nodes of a directory target in parallel.
func (t *Target) inspectAll(ctx context.Context, nodes []*node) error {
	ch := make(chan *node)
	var wg sync.WaitGroup
	for range max(2, runtimeProcs()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range ch {
				t.inspectHost(n)
			}
		}()
	}
	var err error
	for _, n := range nodes {
		select {
		case ch <- n:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}
	close(ch)
	wg.Wait()
	return err
}
