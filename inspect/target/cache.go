package target

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The layer cache (Options.Cache, package layercache) files the record
// of each image layer read (see record.go) under the layer's content
// digest: the diff_id the image configuration gives for it (the SHA-256 of
// the uncompressed tar), else the digest of the stored blob the manifest
// names. A layer is looked up by that digest before it is opened, and a
// hit is used instead of reading the layer at all.
//
// What is trusted: a record is written only after the bytes read hashed
// to the digest it is filed under, so a cache entry always describes
// content that has that digest. A lookup trusts the image's own claim
// that its layer has the digest (as a container runtime's layer store
// does); an image whose blobs do not match their digests gets the record
// of the genuine content. Rootfs tarballs and directories name no digest
// and are not cached.

// setDiffIDs keeps the configuration's diff_ids for the cache keys.
func (t *Tree) setDiffIDs(cf *v1.ConfigFile) {
	t.diffIDs = nil
	for _, d := range cf.RootFS.DiffIDs {
		t.diffIDs = append(t.diffIDs, d.String())
	}
}

// assignCacheKeys names the digest each layer is cached under: its
// diff_id when the configuration lists one per layer, else the stored
// blob's SHA-256 digest when known.
func (t *Tree) assignCacheKeys() {
	useDiff := len(t.diffIDs) == len(t.layers)
	for i := range t.layers {
		l := &t.layers[i]
		switch {
		case useDiff && isSHA256(t.diffIDs[i]):
			l.cacheKey, l.cacheStored = t.diffIDs[i], false
		case isSHA256(l.info.Digest):
			l.cacheKey, l.cacheStored = l.info.Digest, true
		}
	}
}

// isSHA256 reports a well-formed "sha256:<64 hex>" digest.
func isSHA256(d string) bool {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexPart) != 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil && strings.ToLower(hexPart) == hexPart
}

// cacheScope names the reader options that shape a record; nil cache, a
// custom Keep (a function cannot be named) or no inspection turn the
// cache off ("").
func (t *Tree) cacheScope() string {
	if t.opts.Cache == nil || t.opts.Keep != nil || t.opts.NoInspect {
		return ""
	}
	return fmt.Sprintf("record=%d keep=etc,run maxkeepfile=%d maxinspect=%d", recordVersion, t.limits.MaxKeepFile, t.limits.MaxInspect)
}

// cachedLayer returns the record of layer i from the cache, or nil.
func (t *Tree) cachedLayer(scope string, i int) *layerIndex {
	l := t.layers[i]
	if scope == "" || l.cacheKey == "" {
		return nil
	}
	data, ok := t.opts.Cache.Get(scope, l.cacheKey)
	if !ok {
		return nil
	}
	li, err := decodeRecord(data, i, layerWhat(i, l))
	if err != nil {
		return nil
	}
	return li
}

// layerHash is the hash a cold read of layer i feeds, nil when the layer
// is not cached.
func (t *Tree) layerHash(scope string, i int) hash.Hash {
	if scope == "" || t.layers[i].cacheKey == "" {
		return nil
	}
	return sha256.New()
}

// storeLayer files the record of layer i, read cold with sum, when the
// bytes read match its digest. Failures become notes: the scan itself
// does not depend on the cache.
func (t *Tree) storeLayer(scope string, i int, li *layerIndex, sum hash.Hash) {
	l := t.layers[i]
	what := layerWhat(i, l)
	if got := "sha256:" + hex.EncodeToString(sum.Sum(nil)); got != l.cacheKey {
		t.notes = append(t.notes, fmt.Sprintf("%s: its content hashes to %s, not to the digest %s the image gives: not cached", what, shortDigest(got), shortDigest(l.cacheKey)))
		return
	}
	data, err := encodeRecord(li, what)
	if err == nil {
		err = t.opts.Cache.Put(scope, l.cacheKey, data)
	}
	if err != nil {
		t.notes = append(t.notes, fmt.Sprintf("%s: %v", what, err))
	}
}

// useCached accounts a cached record as if its layer had been read: its
// entries count against Limits.MaxEntries and its kept contents against
// Limits.MaxKeep (beyond which they are dropped, to be read again from
// the layer when asked for, as a cold read would have done).
func (rd *reader) useCached(li *layerIndex, size int64) error {
	t := rd.t
	if rd.entries.Add(int64(li.count)) > int64(t.limits.MaxEntries) {
		return fmt.Errorf("more than %d entries: %w", t.limits.MaxEntries, ErrLimit)
	}
	for _, n := range li.entries {
		if n.kept && rd.kept.Add(int64(len(n.data))) > t.limits.MaxKeep {
			rd.kept.Add(-int64(len(n.data)))
			n.kept, n.data = false, nil
		}
	}
	if t.opts.Progress != nil && size > 0 {
		t.opts.Progress(rd.done.Add(size), rd.total)
	}
	if c := t.opts.Counts; c != nil && size > 0 {
		c.Bytes.Add(size) // as if read, so that Bytes reaches Total
	}
	return nil
}
