package scan

import (
	"context"
	"fmt"
	"strings"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
)

// MaxImagePrograms caps the programs taken from one image for pod and
// cluster verdicts when its main process resolves no names.
const MaxImagePrograms = 6

// ImageFacts reads from an opened image what the kubelet model needs of a
// container (kube.ImageFacts): its /etc/nsswitch.conf and the programs
// that resolve names — the main process's variants, else up to
// MaxImagePrograms others — each labelled with its path and assumption.
// key and ref identify the image for the cache and citations; spec names
// where it was read from.
func ImageFacts(ctx context.Context, t *target.Target, spec, key, ref string) (*kube.ImageFacts, error) {
	in, err := FromTarget(ctx, t, spec)
	if err != nil {
		return nil, err
	}
	f := &kube.ImageFacts{Key: key, Ref: ref}
	nss, err := in.Root.File(model.PathNSSwitch)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", spec, err)
	case nss.Missing:
		f.NSSwitchMissing = true
	default:
		f.NSSwitch = string(nss.Data)
	}
	var main, others []model.Program
	var mainDesc string
	for _, p := range in.Programs {
		for _, v := range p.Variants {
			prog := v.Program
			label := p.Path
			if prog.Label != "" {
				label += " " + prog.Label
			}
			if v.Assume != "" {
				label += " (if " + v.Assume + ")"
			}
			prog.Label = label
			if p.Main {
				main = append(main, prog)
			} else {
				others = append(others, prog)
			}
		}
		if p.Main {
			mainDesc = p.Path + ": " + strings.Join(p.Facts, "; ")
		}
	}
	switch {
	case len(main) > 0:
		f.Programs = main
		f.Source = "image " + spec + ", main process " + mainDesc
	case len(others) > 0:
		f.Programs = others[:min(len(others), MaxImagePrograms)]
		f.Source = fmt.Sprintf("image %s: the main process resolves no names; %d other program(s)", spec, len(f.Programs))
	default:
		f.Source = "image " + spec + ": no program that resolves names"
	}
	return f, nil
}

