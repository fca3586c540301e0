package kubeio

import (
	"fmt"
	"strings"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
)

// MaxImagePrograms caps the programs taken from one image when it has no
// main process that resolves names.
const MaxImagePrograms = 6

// ImageFacts turns what reading an image found (its programs that resolve
// names, as scan sees them, and its /etc/nsswitch.conf) into the facts the
// cache keeps: the main process's variants when the main process resolves
// names, else up to MaxImagePrograms others, each labelled with its path
// and what it assumes. spec names the image as it was read.
func ImageFacts(spec string, progs []grade.Program, nsswitch model.File) *kube.ImageFacts {
	f := &kube.ImageFacts{NSSwitch: nsswitch}
	var main, others []model.Program
	var mainDesc string
	for _, p := range progs {
		for _, v := range p.Variants {
			prog := v.Program
			label := p.Path + " " + prog.Describe()
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
	return f
}
