package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"strings"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/kube/kubeio"
	"github.com/nsscope/nsscope/model"
)

// sourceList collects a repeatable --image-source REF=TARGET.
type sourceList map[string]string

func (s sourceList) String() string { return fmt.Sprint(map[string]string(s)) }
func (s sourceList) Set(v string) error {
	ref, tgt, ok := strings.Cut(v, "=")
	if !ok || ref == "" || tgt == "" {
		return fmt.Errorf("%q: want REF=TARGET (an image reference and a registry reference, docker save archive or OCI layout)", v)
	}
	s[ref] = tgt
	return nil
}

// kubeScanFlags turn on image inspection (the scan verb's reading of
// images) for pod and cluster.
type kubeScanFlags struct {
	scan     bool
	sources  sourceList
	insecure bool
	platform string
	cache    string
	noCache  bool
}

func (k *kubeScanFlags) register(fs *flag.FlagSet, withCache bool) {
	k.sources = sourceList{}
	fs.BoolVar(&k.scan, "image-scan", false, "")
	fs.Var(k.sources, "image-source", "")
	fs.BoolVar(&k.insecure, "insecure", false, "")
	fs.StringVar(&k.platform, "platform", target.DefaultPlatform, "")
	if withCache {
		fs.StringVar(&k.cache, "cache", "", "")
		fs.BoolVar(&k.noCache, "no-cache", false, "")
	}
}

const kubeScanUsage = `Images (default: not inspected; the program flags apply, else the image is unknown):
  --image-scan            inspect each container's image (fetched from its registry) once per
                          digest: its main process, its C library, its /etc/nsswitch.conf
  --image-source REF=TARGET
                          read image REF from TARGET instead (docker save archive, OCI layout,
                          another reference); repeatable; inspects REF even without --image-scan
  --insecure              allow plain-HTTP registries
  --platform P            the image to pick from a multi-platform index (default linux/amd64)
`

func (k *kubeScanFlags) enabled() bool { return k.scan || len(k.sources) > 0 }

// errNotScanned marks an image left alone (no --image-scan, no source).
var errNotScanned = errors.New("not inspected (no --image-scan, no --image-source)")

// inspector reads images with the scan verb's reader.
func (k *kubeScanFlags) inspector() kubeio.Inspector {
	opts := target.Options{Platform: k.platform, Insecure: k.insecure}
	return func(ctx context.Context, key, ref string) (*kube.ImageFacts, error) {
		spec, ok := k.sources[ref]
		if !ok {
			if !k.scan {
				return nil, errNotScanned
			}
			spec = ref
		}
		t, err := target.Open(ctx, spec, opts)
		if err != nil {
			return nil, err
		}
		defer t.Close()
		in, err := scanInput(ctx, t, spec)
		if err != nil {
			return nil, err
		}
		nss := model.File{Path: model.PathNSSwitch}
		data, err := fs.ReadFile(t.FS(), "etc/nsswitch.conf")
		switch {
		case errors.Is(err, fs.ErrNotExist):
			nss.Missing = true
		case err != nil:
			return nil, fmt.Errorf("%s: /etc/nsswitch.conf: %w", spec, err)
		default:
			nss.Data = data
		}
		f := kubeio.ImageFacts(spec, in.Programs, nss)
		f.Key, f.Ref = key, ref
		return f, nil
	}
}
