package conf

import "bytes"

// APKPackage is one package of Alpine's installed-package database
// (lib/apk/db/installed): a stanza of "KEY:VALUE" lines, P the name and V
// the version ("1.2.3-r3").
type APKPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pos     Pos    `json:"pos"` // the P: line
}

// ParseAPKInstalled reads lib/apk/db/installed: one package per stanza,
// stanzas separated by blank lines. Stanzas without a name are skipped.
func ParseAPKInstalled(file string, data []byte) []APKPackage {
	var out []APKPackage
	var cur APKPackage
	flush := func() {
		if cur.Name != "" {
			out = append(out, cur)
		}
		cur = APKPackage{}
	}
	for _, l := range splitLines(data) {
		t := bytes.TrimSuffix(l.text, []byte("\r"))
		switch {
		case len(t) == 0:
			flush()
		case bytes.HasPrefix(t, []byte("P:")):
			cur.Name, cur.Pos = string(t[2:]), pos(file, l)
		case bytes.HasPrefix(t, []byte("V:")):
			cur.Version = string(t[2:])
		}
	}
	flush()
	return out
}

// APKVersion returns the version of the named package, if installed.
func APKVersion(pkgs []APKPackage, name string) (APKPackage, bool) {
	for _, p := range pkgs {
		if p.Name == name {
			return p, true
		}
	}
	return APKPackage{}, false
}
