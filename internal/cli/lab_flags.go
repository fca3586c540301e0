package cli

import (
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/lab"
)

// The flags lab and trace share: both run CMD in the lab's namespaces from
// the same root, end the run the same way and check it against the same
// model. Each verb adds its own nameserver flags (fake servers for lab,
// forwarders for trace) and any flag of its own to these groups.

// registerRoot adds the flags that build the program's root.
func (f *labFlags) registerRoot(fs *pflag.FlagSet) {
	fs.StringVar(&f.root, "root", "", rootUsage("the program's root", "never modified; not a registry reference: the lab runs files it has (default: the host's root, read-only)"))
	fs.StringVar(&f.hosts, "hosts", "", "the program's /etc/hosts `FILE`, or \"missing\" (default: the root's own)")
	fs.StringVar(&f.nsswitch, "nsswitch", "", "the program's /etc/nsswitch.conf `FILE`, or \"missing\" (default: the root's own)")
	fs.StringArrayVar(&f.add, "add", nil, "`HOSTFILE[:PATH]` makes a host file visible in the --root at PATH (default /BASENAME); repeatable")
	fs.StringArrayVar(&f.share, "share", nil, "host `DIR` the program sees live at the same path and may write (the host's root is otherwise read-only, its /etc and /tmp private copies); repeatable")
	fs.StringVar(&f.hostname, "hostname", lab.DefaultHostname, "host `NAME` inside the namespace")
	fs.StringArrayVar(&f.env, "env", nil, "`KEY=VALUE` for the program's environment (repeatable; the default environment is PATH only)")
}

// registerRun adds the flags that say how a run ends and where it runs.
func (f *labFlags) registerRun(fs *pflag.FlagSet) {
	fs.StringVar(&f.until, "until", "", "end the run when a line of output matches this `REGEXP` (for servers that never exit); says nothing of the lookup's outcome")
	fs.StringVar(&f.untilOK, "until-ok", "", "end the run when a line matches this `REGEXP`, which means the lookup succeeded")
	fs.StringVar(&f.untilFail, "until-fail", "", "end the run when a line matches this `REGEXP`, which means the lookup failed")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "kill the program after this long")
	fs.StringVar(&f.tmp, "tmp", "", "`DIR` for the run's private mount point (default $TMPDIR or /tmp)")
	fs.StringVar(&f.tmpfsSize, "tmpfs-size", "1Gi", "`SIZE` bound of the run's tmpfs, which holds an unpacked --root and the program's writes (e.g. 512Mi, 4Gi)")
}

// checkGroup is the heading of the --check flags.
const checkGroup = "Check (--check: predict the run and compare)"

// registerCheck adds --check, the flags that read the program's output
// for it, and the lookup the model predicts.
func (f *labFlags) registerCheck(fs *pflag.FlagSet) {
	fs.BoolVar(&f.check, "check", false, "predict the run with the model and print every difference; exit 1 on a mismatch")
	fs.StringVar(&f.reading.OK, "ok-if", "", "a line matching `REGEXP` means the lookup succeeded (default: exit status 0 means success)")
	fs.StringVar(&f.reading.Fail, "fail-if", "", "a line matching `REGEXP` means the lookup failed; with --fail-if alone, a run without such a line succeeded")
	fs.StringVar(&f.reading.Error, "error-from", "", "`REGEXP` whose first group is the program's error text, compared with the predicted error")
	fs.StringVar(&f.reading.Addrs, "addrs-from", "", "`REGEXP` whose groups are the addresses the program resolved, compared with the predicted ones")
	f.prog.registerLookup(fs)
}

// checkOnly refuses the --check flags without --check, and a --ok-if,
// --fail-if, --error-from or --addrs-from that does not compile.
func (f *labFlags) checkOnly(cmd *cobra.Command) error {
	if !f.check {
		if c := changed(cmd, "name", "network", "op", "port", "deadline", "go", "cgo", "tags", "libc", "default-godebug", "prefer-go", "strict-errors", "ok-if", "fail-if", "error-from", "addrs-from", "kube-version"); len(c) > 0 {
			return usageErrorf("%s describe%s the lookup for --check, which is not given", strings.Join(c, ", "), map[bool]string{true: "", false: "s"}[len(c) > 1])
		}
	}
	if err := f.reading.Check(); err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}
