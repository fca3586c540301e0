package dockerfile

import (
	"errors"
	"mvdan.cc/sh/v3/syntax"
	"strings"
	"testing"
)

func TestParseBadInput(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		want      string
	}{
		{"empty", "", 0, "not a Dockerfile: no instructions"},
		{"comments only", "# just a comment\n\n", 0, "not a Dockerfile: no instructions"},
		{"yaml", "apiVersion: v1\nkind: Pod\n", 1, `not a Dockerfile: unknown instruction "apiVersion:"`},
		{"shell script", "#!/bin/sh\necho hello\n", 2, `not a Dockerfile: unknown instruction "echo"`},
		{"binary", "\x7fELF\x02\x01\x01\x00\x00", 0, "not a Dockerfile: binary data"},
		{"not utf-8", "FROM alpine\nRUN echo \xff\xfe\n", 0, "not UTF-8"},
		{"unknown instruction", "FROM alpine:3.12\nRUNN echo hi\n", 2, `unknown instruction "RUNN"`},
		{"unknown instruction after continuation", "FROM alpine\nRUN a \\\n  b\nFETCH x\n", 4, `unknown instruction "FETCH"`},
		{"unterminated heredoc", "FROM alpine\nRUN <<EOF\necho hi\n", 2, "unterminated heredoc"},
		{"unterminated COPY heredoc", "FROM scratch\nCOPY <<EOF /etc/nsswitch.conf\nhosts: files dns\n", 2, "unterminated heredoc"},
		{"RUN before FROM", "RUN echo hi\nFROM alpine\n", 1, "not a Dockerfile: RUN before the first FROM"},
		{"no FROM", "ARG A=1\n", 0, "not a Dockerfile: no FROM instruction"},
		{"FROM with junk", "FROM alpine AS a b\n", 1, "FROM: want IMAGE [AS NAME]"},
		{"bad escape directive", "# escape=ab\nFROM alpine\n", 0, "invalid escape token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("Dockerfile", []byte(tt.src))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if pe.Line != tt.line {
				t.Errorf("line %d, want %d (%v)", pe.Line, tt.line, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	if _, err := Parse("Dockerfile", []byte(strings.Repeat("#", MaxSize+1))); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized input: %v", err)
	}
}

func TestParseStructure(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\nARG BASE=alpine:3.12\nFROM --platform=$BUILDPLATFORM golang:1.15 AS Build\nENV A=1 B=\"two words\"\nRUN <<EOF\necho hi\nEOF\nFROM ${BASE}\nCOPY --from=build /x /x\n"
	f, err := Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if f.Syntax != "docker/dockerfile:1" || len(f.MetaArgs) != 1 || len(f.Stages) != 2 {
		t.Fatalf("syntax %q, %d meta args, %d stages", f.Syntax, len(f.MetaArgs), len(f.Stages))
	}
	b := f.Stages[0]
	if b.Name != "build" || b.Platform != "$BUILDPLATFORM" || b.BaseRaw != "golang:1.15" || b.From.Line != 3 {
		t.Errorf("stage 0 = %+v", b)
	}
	if env := b.Instrs[0]; len(env.Pairs) != 2 || env.Pairs[1].Key != "B" || env.Pairs[1].Value != `"two words"` {
		t.Errorf("ENV pairs = %+v", env.Pairs)
	}
	if run := b.Instrs[1]; run.Line != 5 || run.EndLine != 7 || len(run.Heredocs) != 1 || run.Heredocs[0].Content != "echo hi\n" {
		t.Errorf("RUN = %+v", run)
	}
	if v, ok := f.Stages[1].Instrs[0].Flag("from"); !ok || v != "build" {
		t.Errorf("--from = %q %v", v, ok)
	}
}

func TestLookupBase(t *testing.T) {
	tests := []struct {
		ref     string
		known   bool
		nss     NSSKind
		hosts   string
		libc    string
		shell   bool
		goVer   string
		cc      bool
		caveats bool
	}{
		{"alpine:3.12", true, NSSMissing, "", "musl-1.1.24", true, "", false, false},
		{"docker.io/library/alpine:3.15.4", true, NSSMissing, "", "musl-1.2.2", true, "", false, false},
		{"alpine:3.16.2", true, NSSMissing, "", "musl-1.2.3", true, "", false, false},
		{"alpine:3.16", true, NSSPresent, "files dns", "musl-1.2.3", true, "", false, true},
		{"alpine:3.16.3", true, NSSPresent, "files dns", "musl-1.2.3", true, "", false, true},
		{"alpine:3.20", true, NSSPresent, "files dns", "musl-1.2.5", true, "", false, false},
		{"alpine", true, NSSPresent, "files dns", "musl-1.2.5", true, "", false, false},
		{"alpine:2.7", false, NSSUnknown, "", "unknown libc", false, "", false, false},
		{"alpine:3.12@sha256:0000000000000000000000000000000000000000000000000000000000000000", false, NSSUnknown, "", "unknown libc", false, "", false, false},
		{"scratch", true, NSSMissing, "", "unknown libc", false, "", false, false},
		{"busybox", true, NSSPresent, "files dns", "glibc", true, "", false, false},
		{"busybox:1.36-musl", true, NSSMissing, "", "musl", true, "", false, false},
		{"busybox:uclibc", true, NSSMissing, "", "unknown libc", true, "", false, false},
		{"busybox:1.36.1-glibc", true, NSSPresent, "files dns", "glibc", true, "", false, false},
		{"debian:bullseye-slim", true, NSSPresent, "files dns", "glibc-2.31", true, "", false, false},
		{"debian:12.5", true, NSSPresent, "files dns", "glibc-2.36", true, "", false, false},
		{"debian:potato", false, NSSUnknown, "", "unknown libc", false, "", false, false},
		{"ubuntu:22.04", true, NSSPresent, "files dns", "glibc-2.35", true, "", false, false},
		{"ubuntu:jammy-20240530", true, NSSPresent, "files dns", "glibc-2.35", true, "", false, false},
		{"fedora:39", true, NSSPresent, "files dns myhostname", "glibc", true, "", false, false},
		{"registry.access.redhat.com/ubi9/ubi:9.3", true, NSSPresent, "files dns myhostname", "glibc-2.34", true, "", false, true},
		{"registry.access.redhat.com/ubi8-minimal", true, NSSPresent, "files dns myhostname", "glibc-2.28", true, "", false, true},
		{"registry.access.redhat.com/ubi9/ubi-micro", false, NSSUnknown, "", "unknown libc", false, "", false, false},
		{"gcr.io/distroless/static-debian12:nonroot", true, NSSPresent, "files dns", "unknown libc", false, "", false, false},
		{"gcr.io/distroless/base-debian11", true, NSSPresent, "files dns", "glibc-2.31", false, "", false, false},
		{"gcr.io/distroless/cc", true, NSSPresent, "files dns", "glibc-2.36", false, "", false, false},
		{"golang:1.15-alpine", true, NSSPresent, "files dns", "musl", true, "1.15", false, false},
		{"golang:1.15.7-alpine3.12", true, NSSPresent, "files dns", "musl-1.1.24", true, "1.15.7", false, false},
		{"golang:1.9-alpine", true, NSSUnknown, "", "musl", true, "1.9", false, true},
		{"golang:1.21-bookworm", true, NSSPresent, "files dns", "glibc-2.36", true, "1.21", true, false},
		{"golang:1.15", true, NSSPresent, "files dns", "glibc", true, "1.15", true, false},
		{"golang:alpine", true, NSSPresent, "files dns", "musl", true, "1.26", false, false},
		{"golang:1.20-windowsservercore", false, NSSUnknown, "", "unknown libc", false, "1.20", false, false},
		{"registry.example.com/team/base:1", false, NSSUnknown, "", "unknown libc", false, "", false, false},
		{"", false, NSSUnknown, "", "unknown libc", false, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			b := LookupBase(tt.ref)
			if b.Known != tt.known {
				t.Fatalf("known = %v (%s), want %v", b.Known, b.Reason, tt.known)
			}
			if !b.Known {
				if b.Reason == "" {
					t.Error("unknown base without a reason")
				}
				return
			}
			if b.NSSwitch.Kind != tt.nss || b.NSSwitch.HostsLine() != tt.hosts {
				t.Errorf("nsswitch %s %q, want %s %q", b.NSSwitch.Kind, b.NSSwitch.HostsLine(), tt.nss, tt.hosts)
			}
			if b.Libc.String() != tt.libc || b.Shell != tt.shell || b.Go.String() != tt.goVer || b.CC != tt.cc {
				t.Errorf("libc %s shell %v go %q cc %v, want %s %v %q %v", b.Libc, b.Shell, b.Go, b.CC, tt.libc, tt.shell, tt.goVer, tt.cc)
			}
			if (b.NSSwitch.Note != "") != tt.caveats {
				t.Errorf("note %q, want a caveat: %v", b.NSSwitch.Note, tt.caveats)
			}
			if b.Evidence == "" || !strings.Contains(b.NSSwitch.Origin, TableVersion) {
				t.Errorf("evidence %q, origin %q", b.Evidence, b.NSSwitch.Origin)
			}
		})
	}
}

// scriptCommands returns the simple commands of a script, expanded with
// vars, in the order they appear.
func scriptCommands(t *testing.T, script string, vars environ) []simpleCmd {
	t.Helper()
	f, err := parseScript(script)
	if err != nil {
		t.Fatal(err)
	}
	cfg := expander(vars)
	var out []simpleCmd
	syntax.Walk(f, func(n syntax.Node) bool {
		if _, ok := n.(*syntax.CmdSubst); ok {
			return false // not run
		}
		if st, ok := n.(*syntax.Stmt); ok {
			if call, ok := st.Cmd.(*syntax.CallExpr); ok {
				out = append(out, callCmd(cfg, call, st.Redirs, nil))
			}
		}
		return true
	})
	return out
}

func TestScriptCommands(t *testing.T) {
	vars := func(k string) (string, bool) {
		v, ok := map[string]string{"CGO": "0", "OUT": "/bin/app"}[k]
		return v, ok
	}
	tests := []struct {
		script string
		want   []string // words | assigns | redirects | stdin, per command
	}{
		{`CGO_ENABLED=$CGO go build -o "$OUT" .`, []string{"go build -o /bin/app . | CGO_ENABLED=0 |  | "}},
		{`echo 'hosts: files dns' > /etc/nsswitch.conf`, []string{"echo hosts: files dns |  | >/etc/nsswitch.conf | "}},
		{`[ ! -e /etc/nsswitch.conf ] && echo "a" >>/etc/x; rm -f y`, []string{"[ ! -e /etc/nsswitch.conf ] |  |  | ", "echo a |  | >>/etc/x | ", "rm -f y |  |  | "}},
		{"cat <<EOF > /f\nhosts: files dns\nEOF\necho done", []string{"cat |  | >/f | hosts: files dns\n", "echo done |  |  | "}},
		{"apk add gcc 2>/dev/null || true", []string{"apk add gcc |  |  | ", "true |  |  | "}},
		{`echo a\ b "c $CGO" '$CGO' ${NOPE:-d}`, []string{"echo a b c 0 $CGO d |  |  | "}},
		{"# comment\nexport CGO_ENABLED=0 # trailing\nenv", []string{"env |  |  | "}},
		{"echo $(date) `x`", []string{"echo $(date) $(x) |  |  | "}},
		{"(cd /src && go build -o /out/a .) | cat", []string{"cd /src |  |  | ", "go build -o /out/a . |  |  | ", "cat |  |  | "}},
		{"{ echo a; } 2>/dev/null >&2", []string{"echo a |  |  | "}},
		{`echo x &> /f; echo "$HOME" ~nobody/y`, []string{"echo x |  | >/f | ", "echo  ~nobody/y |  |  | "}},
		{"cat <<<'hosts: dns' >> /f", []string{"cat |  | >>/f | hosts: dns\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			var got []string
			for _, c := range scriptCommands(t, tt.script, vars) {
				var as, rs []string
				for _, k := range []string{"CGO_ENABLED"} {
					if v, ok := c.Assigns[k]; ok {
						as = append(as, k+"="+v)
					}
				}
				for _, r := range c.Out {
					if r.Append {
						rs = append(rs, ">>"+r.Target)
					} else {
						rs = append(rs, ">"+r.Target)
					}
				}
				got = append(got, strings.Join(c.Words, " ")+" | "+strings.Join(as, " ")+" | "+strings.Join(rs, " ")+" | "+c.In)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestEchoPrintf(t *testing.T) {
	if got := echoOutput([]string{"-e", `hosts: files dns\npasswd: files`}); got != "hosts: files dns\npasswd: files\n" {
		t.Errorf("echo -e = %q", got)
	}
	if got := echoOutput([]string{"-n", "x"}); got != "x" {
		t.Errorf("echo -n = %q", got)
	}
	if got := printfOutput([]string{`hosts: %s\n`, "files dns"}); got != "hosts: files dns\n" {
		t.Errorf("printf = %q", got)
	}
}

func TestSedSubstitute(t *testing.T) {
	got, ok := sedSubstitute("s/^hosts:.*/hosts: files dns/", []byte("passwd: files\nhosts: dns files\n"))
	if !ok || string(got) != "passwd: files\nhosts: files dns\n" {
		t.Errorf("sed = %q %v", got, ok)
	}
	if _, ok := sedSubstitute(`s/\(a\)/b/`, nil); ok {
		t.Error("a back-reference expression was applied")
	}
}

func TestUnifiedDiff(t *testing.T) {
	src := []byte("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n")
	edits := []Edit{{Line: 2, Insert: []string{"new"}}, {Line: 12, Delete: 1, Insert: []string{"L"}}}
	want := "--- a/Dockerfile\n+++ b/Dockerfile\n" +
		"@@ -1,4 +1,5 @@\n a\n+new\n b\n c\n d\n" +
		"@@ -9,4 +10,4 @@\n i\n j\n k\n-l\n+L\n"
	if got := UnifiedDiff("Dockerfile", src, edits); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := string(Apply(src, edits)); got != "a\nnew\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL\n" {
		t.Errorf("Apply = %q", got)
	}
	crlf := []byte("FROM a\r\nRUN b\r\n")
	if got := string(Apply(crlf, []Edit{{Line: 2, Insert: []string{"RUN x"}}})); got != "FROM a\r\nRUN x\r\nRUN b\r\n" {
		t.Errorf("CRLF Apply = %q", got)
	}
	if UnifiedDiff("x", src, nil) != "" {
		t.Error("diff without edits")
	}
}

func TestAnalyzeTarget(t *testing.T) {
	f, err := Parse("Dockerfile", []byte("FROM alpine:3.12 AS a\nFROM alpine:3.17 AS b\n"))
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{"": "b", "a": "a", "A": "a", "0": "a"} {
		a, err := Analyze(f, Options{Target: target})
		if err != nil || a.Final.Stage.Name != want {
			t.Errorf("target %q: %v %v, want %s", target, a, err, want)
		}
	}
	if _, err := Analyze(f, Options{Target: "c"}); err == nil || !strings.Contains(err.Error(), `no stage named "c"`) {
		t.Errorf("unknown target: %v", err)
	}
}

// TestNSSwitchFollowing pins how RUN lines change /etc/nsswitch.conf.
func TestNSSwitchFollowing(t *testing.T) {
	tests := []struct {
		base, run string
		kind      NSSKind
		hosts     string
	}{
		{"alpine:3.12", `[ ! -e /etc/nsswitch.conf ] && echo 'hosts: files dns' > /etc/nsswitch.conf`, NSSPresent, "files dns"},
		{"alpine:3.17", `echo 'hosts: dns files' > /etc/nsswitch.conf`, NSSPresent, "dns files"},
		{"alpine:3.17", `[ ! -e /etc/nsswitch.conf ] && echo 'hosts: dns' > /etc/nsswitch.conf`, NSSPresent, "files dns"},
		{"alpine:3.17", `[ -e /etc/nsswitch.conf ] || echo 'hosts: dns' > /etc/nsswitch.conf`, NSSPresent, "files dns"},
		{"alpine:3.12", `test -f /etc/nsswitch.conf || printf 'hosts: files dns\n' > /etc/nsswitch.conf`, NSSPresent, "files dns"},
		{"debian:11", `rm /etc/nsswitch.conf`, NSSMissing, ""},
		{"debian:11", `echo 'hosts: dns' >> /etc/nsswitch.conf`, NSSPresent, "files dns dns"},
		{"debian:11", `sed -i 's/files dns/dns files/' /etc/nsswitch.conf`, NSSPresent, "dns files"},
		{"debian:11", `sed -i -e '/^hosts/d' -e 'x' /etc/nsswitch.conf`, NSSUnknown, ""},
		{"debian:11", `cp /tmp/n /etc/nsswitch.conf`, NSSUnknown, ""},
		{"debian:11", `cat /etc/nsswitch.conf`, NSSPresent, "files dns"},
		{"alpine:3.12", `touch /etc/nsswitch.conf`, NSSPresent, ""},
		{"registry.example/x:1", `[ ! -e /etc/nsswitch.conf ] && echo 'hosts: files dns' > /etc/nsswitch.conf`, NSSPresent, "files dns"},
		{"registry.example/x:1", `echo 'hosts: files dns' | tee -a /etc/nsswitch.conf`, NSSUnknown, ""},
		{"alpine:3.12", "<<\"EOF\"\nset -e\necho 'hosts: files dns' > /etc/nsswitch.conf\nEOF", NSSPresent, "files dns"},
		{"alpine:3.12", "<<-EOF\n\tcat <<X > /etc/nsswitch.conf\n\thosts: files dns\n\tX\n\tEOF", NSSPresent, "files dns"},
		{"alpine:3.12", "tee /etc/nsswitch.conf <<EOF\nhosts: dns files\nEOF", NSSPresent, "dns files"},
		{"alpine:3.12", "python3 - <<EOF\nopen('/etc/nsswitch.conf','w').write('x')\nEOF", NSSUnknown, ""},
		{"alpine:3.12", "/usr/local/bin/setup.sh /etc/nsswitch.conf", NSSUnknown, ""},
		{"alpine:3.17", "grep -q '^hosts: files dns' /etc/nsswitch.conf", NSSPresent, "files dns"},
		{"alpine:3.12", "true\nADD rootfs.tar.gz /", NSSUnknown, ""},
		{"alpine:3.12", "true\nADD app.tar.gz /opt/", NSSMissing, ""},
		// Grouping, subshells, if and exit, as the shell reads them.
		{"alpine:3.17", `[ -e /etc/nsswitch.conf ] || { echo x; echo 'hosts: dns' > /etc/nsswitch.conf; }`, NSSPresent, "files dns"},
		{"alpine:3.12", `[ -e /etc/nsswitch.conf ] || { echo x; echo 'hosts: dns' > /etc/nsswitch.conf; }`, NSSPresent, "dns"},
		{"alpine:3.17", `true || (echo 'hosts: dns' > /etc/nsswitch.conf)`, NSSPresent, "files dns"},
		{"alpine:3.12", `(echo 'hosts: dns' > /etc/nsswitch.conf)`, NSSPresent, "dns"},
		{"alpine:3.12", `if [ -e /etc/nsswitch.conf ]; then echo 'hosts: dns' > /etc/nsswitch.conf; else echo 'hosts: files dns' > /etc/nsswitch.conf; fi`, NSSPresent, "files dns"},
		{"alpine:3.17", `if [ -e /etc/nsswitch.conf ]; then echo 'hosts: dns' > /etc/nsswitch.conf; else echo 'hosts: files dns' > /etc/nsswitch.conf; fi`, NSSPresent, "dns"},
		{"alpine:3.17", `if ! [ -e /etc/nsswitch.conf ]; then echo 'hosts: dns' > /etc/nsswitch.conf; elif true; then rm /etc/nsswitch.conf; fi`, NSSMissing, ""},
		{"alpine:3.12", `[[ ! -e /etc/nsswitch.conf ]] && echo 'hosts: files dns' > /etc/nsswitch.conf`, NSSPresent, "files dns"},
		{"alpine:3.17", `[[ -f /etc/nsswitch.conf && -s /etc/nsswitch.conf ]] || echo 'hosts: dns' > /etc/nsswitch.conf`, NSSPresent, "files dns"},
		{"alpine:3.17", "exit 0; echo 'hosts: dns' > /etc/nsswitch.conf", NSSPresent, "files dns"},
		{"alpine:3.12", "[ -e /etc/nsswitch.conf ] || exit 0; echo 'hosts: dns' > /etc/nsswitch.conf", NSSMissing, ""},
		{"alpine:3.12", "(exit 1); echo 'hosts: dns' > /etc/nsswitch.conf", NSSPresent, "dns"},
		{"debian:11", "> /etc/nsswitch.conf", NSSPresent, ""},
		{"alpine:3.12", "cat <<EOF | tee /etc/nsswitch.conf >/dev/null\nhosts: files dns\nEOF", NSSPresent, "files dns"},
		{"alpine:3.12", "if true; then", NSSMissing, ""},
		// The fix nsscope writes, on each kind of base.
		{"alpine:3.12", fixRun[4:], NSSPresent, "files dns"},
		{"alpine:3.17", fixRun[4:], NSSPresent, "files dns"},
		{"registry.example/x:1", fixRun[4:], NSSPresent, "files dns"},
		{"alpine:3.17", "echo 'hosts: dns files' > /etc/nsswitch.conf\nRUN " + fixRun[4:], NSSPresent, "files dns"},
		{"debian:11", "echo 'hosts: dns' >> /etc/nsswitch.conf\nRUN " + fixRun[4:], NSSPresent, "files dns"},
		{"registry.example/x:1", "sed -i '/^hosts: dns/d' /etc/nsswitch.conf; echo 'hosts: files' >> /etc/nsswitch.conf", NSSUnknown, ""},
		{"alpine:3.12", "sed -i '/^hosts/d' /etc/nsswitch.conf", NSSMissing, ""},
	}
	for _, tt := range tests {
		t.Run(tt.base+" "+tt.run, func(t *testing.T) {
			f, err := Parse("Dockerfile", []byte("FROM "+tt.base+"\nRUN "+tt.run+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			a, err := Analyze(f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			n := a.Final.NSSwitch
			if n.Kind != tt.kind || n.HostsLine() != tt.hosts {
				t.Errorf("nsswitch %s %q (%s), want %s %q", n.Kind, n.HostsLine(), n.Origin, tt.kind, tt.hosts)
			}
		})
	}
}

// TestGoFacts pins the Go version and cgo decisions for a builder stage.
func TestGoFacts(t *testing.T) {
	tests := []struct {
		name, builder string
		version       string
		cgo, netgo    bool
	}{
		{"alpine pre-1.20 keeps cgo", "FROM golang:1.19-alpine AS b\nRUN go build -o /x .", "1.19", true, false},
		{"alpine 1.20 drops cgo without gcc", "FROM golang:1.20-alpine AS b\nRUN go build -o /x .", "1.20", false, false},
		{"alpine 1.20 with gcc", "FROM golang:1.20-alpine AS b\nRUN apk add --no-cache gcc musl-dev\nRUN go build -o /x .", "1.20", true, false},
		{"debian has gcc", "FROM golang:1.22 AS b\nRUN go build -o /x .", "1.22", true, false},
		{"ENV off", "FROM golang:1.22 AS b\nENV CGO_ENABLED=0\nRUN go build -o /x .", "1.22", false, false},
		{"ARG default", "FROM golang:1.22 AS b\nARG CGO_ENABLED=0\nRUN go build -o /x .", "1.22", false, false},
		{"go env -w", "FROM golang:1.22 AS b\nRUN go env -w CGO_ENABLED=0\nRUN go build -o /x .", "1.22", false, false},
		{"command beats ENV", "FROM golang:1.22 AS b\nENV CGO_ENABLED=0\nRUN CGO_ENABLED=1 go build -o /x .", "1.22", true, false},
		{"tags list", "FROM golang:1.22 AS b\nRUN go build -tags=osusergo,netgo -o /x .", "1.22", true, true},
		{"GOTOOLCHAIN in RUN", "FROM golang:1.21 AS b\nRUN GOTOOLCHAIN=go1.23.4 CGO_ENABLED=0 go build -o /x .", "1.23.4", false, false},
		{"GOTOOLCHAIN before 1.21 is ignored", "FROM golang:1.20 AS b\nENV GOTOOLCHAIN=go1.23.4\nRUN CGO_ENABLED=0 go build -o /x .", "1.20", false, false},
		{"dl toolchain", "FROM golang:1.22 AS b\nRUN go install golang.org/dl/go1.14.15@latest && go1.14.15 download && CGO_ENABLED=0 go1.14.15 build -o /x .", "1.14.15", false, false},
		{"exec form", "FROM golang:1.15 AS b\nRUN [\"/usr/local/go/bin/go\", \"build\", \"-o\", \"/x\", \".\"]", "1.15", true, false},
		{"sh -c form", "FROM golang:1.15 AS b\nRUN [\"sh\", \"-c\", \"CGO_ENABLED=0 go build -o /x .\"]", "1.15", false, false},
		// The shell's scoping: a subshell's export stays inside it, a
		// group's does not, and a build in a subshell sees the outer one.
		{"export in a subshell stays there", "FROM golang:1.22 AS b\nRUN (export CGO_ENABLED=0) && go build -o /x .", "1.22", true, false},
		{"export in a group is kept", "FROM golang:1.22 AS b\nRUN { export CGO_ENABLED=0; } && go build -o /x .", "1.22", false, false},
		{"build in a subshell", "FROM golang:1.22 AS b\nRUN export CGO_ENABLED=0 && (cd /src && go build -o /x .)", "1.22", false, false},
		{"build in an if branch", "FROM golang:1.22 AS b\nRUN if [ -n \"$X\" ]; then CGO_ENABLED=0 go build -tags netgo -o /x .; fi", "1.22", false, true},
		{"build after ||", "FROM golang:1.22 AS b\nRUN test -d /src || exit 1; GOFLAGS=-tags=netgo go build -o /x .", "1.22", true, true},
		// A build nsscope cannot see (make): the toolchain's version, and
		// cgo by ENV or by the same default as a go build line.
		{"unseen build, alpine pre-1.20", "FROM golang:1.19-alpine AS b\nRUN make", "1.19", true, false},
		{"unseen build, alpine 1.20", "FROM golang:1.20-alpine AS b\nRUN make", "1.20", false, false},
		{"unseen build, debian has gcc", "FROM golang:1.22 AS b\nRUN make", "1.22", true, false},
		{"unseen build, ENV off", "FROM golang:1.22 AS b\nENV CGO_ENABLED=0\nRUN make", "1.22", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("Dockerfile", []byte(tt.builder+"\nFROM alpine:3.12\nCOPY --from=b /x /x\n"))
			if err != nil {
				t.Fatal(err)
			}
			a, err := Analyze(f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Programs) == 0 || a.Programs[0].Build == nil {
				t.Fatalf("no Go program followed: %+v", a.Programs)
			}
			b := a.Programs[0].Build
			if b.Version.String() != tt.version || b.Cgo != tt.cgo || b.Netgo != tt.netgo {
				t.Errorf("Go %s cgo %v (%s) netgo %v, want %s %v %v", b.Version, b.Cgo, b.CgoFrom, b.Netgo, tt.version, tt.cgo, tt.netgo)
			}
			if b.Cgo && !b.Netgo && !b.Libc.Known() {
				t.Errorf("cgo build without a libc")
			}
		})
	}
}

// FuzzCheck feeds arbitrary text to the whole Dockerfile pipeline: parse,
// analyse, grade with the real resolver model and fix. It must never
// panic, every finding has a verdict, and a proposed fix must parse and
// leave nothing at warning or above that it was meant to fix.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"FROM golang:1.15-alpine AS build\nENV CGO_ENABLED=0\nRUN go build -o /out/server .\nFROM alpine:3.12\nCOPY --from=build /out/server /server\n",
		"FROM scratch\nCOPY <<EOF /etc/nsswitch.conf\nhosts: files dns\nEOF\n",
		"ARG V=1.15\nFROM golang:${V} AS b\nRUN <<EOF\nif [ -e /etc/nsswitch.conf ]; then echo; else echo 'hosts: dns' > /etc/nsswitch.conf; fi\nEOF\nFROM b\n",
		"# escape=`\nFROM alpine\nRUN a `\n b\n",
		"FROM alpine\nRUN cat <<A | tee /etc/nsswitch.conf\nhosts: files\nA\n",
		"FROM a\nCOPY --from=0 / /\nCOPY --from=1 x y\n",
		"FROM alpine\nRUN echo \"${X:-$(y)}\" 'a' \\\n && rm -rf /etc\n",
		"FROM golang:1.15 AS b\nRUN (cd /s && CGO_ENABLED=1 go build -o /a .) || { echo x; exit 1; }\nFROM alpine:3.16\nCOPY --from=b /a /a\n",
		"FROM alpine:3.17\nRUN if ! [[ -s /etc/nsswitch.conf ]]; then printf 'hosts: dns' >> /etc/nsswitch.conf; elif true; then sed -i '/^hosts/d' /etc/nsswitch.conf; fi\n",
		"FROM alpine\nRUN for f in a b; do echo $f | tee -a /etc/nsswitch.conf; done; case $X in a) rm /etc/nsswitch.conf;; esac\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := Parse("Dockerfile", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		res, err := Check(df, CheckOptions{})
		if err != nil {
			return
		}
		for _, fd := range res.Report.Findings {
			if fd.RuleID == "" || fd.Message == "" {
				t.Fatalf("empty verdict %+v", fd)
			}
		}
		if len(res.Edits) > 0 {
			g, err := Parse("Dockerfile", Apply(data, res.Edits))
			if err != nil {
				t.Fatalf("the fixed Dockerfile does not parse: %v\n%s", err, res.Diff())
			}
			if _, err := Check(g, CheckOptions{}); err != nil {
				t.Fatalf("the fixed Dockerfile does not check: %v\n%s", err, res.Diff())
			}
		}
	})
}
