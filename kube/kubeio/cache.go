package kubeio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nsscope/nsscope/kube"
)

// Inspector returns the facts of one image (fetching it is its business).
type Inspector func(ctx context.Context, key, ref string) (*kube.ImageFacts, error)

// Cache keeps image facts on disk, one JSON file per image digest, so that
// later runs inspect each image once.
type Cache struct {
	Dir string
}

func (c Cache) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:])+".json")
}

// Cacheable reports whether key is a content digest: facts about a tag
// can change, so only digests are cached.
func Cacheable(key string) bool { return strings.HasPrefix(key, "sha256:") }

// Get returns the cached facts for key, and false when there are none (or
// the entry is unreadable, which then counts as a miss).
func (c Cache) Get(key string) (*kube.ImageFacts, bool) {
	if c.Dir == "" || !Cacheable(key) {
		return nil, false
	}
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	var f kube.ImageFacts
	// An entry of an earlier shape (nsswitch.conf as nsswitch_missing and
	// a string, no file object with its path) is a miss: read again.
	if err := json.Unmarshal(data, &f); err != nil || f.Key != key || f.NSSwitch.Path == "" {
		return nil, false
	}
	return &f, true
}

// Put stores facts (atomically: a reader never sees half a file).
func (c Cache) Put(f *kube.ImageFacts) error {
	if c.Dir == "" || !Cacheable(f.Key) {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("image cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("image cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path(f.Key)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("image cache: %w", err)
	}
	return nil
}

// CachedInspector wraps insp with the cache: a digest seen before (in
// this run or an earlier one) is not inspected again.
func CachedInspector(c Cache, insp Inspector) Inspector {
	return func(ctx context.Context, key, ref string) (*kube.ImageFacts, error) {
		if f, ok := c.Get(key); ok {
			return f, nil
		}
		f, err := insp(ctx, key, ref)
		if err != nil {
			return nil, err
		}
		f.Key, f.Ref = key, ref
		if err := c.Put(f); err != nil {
			return f, err
		}
		return f, nil
	}
}
