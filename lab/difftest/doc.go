// Package difftest holds the lab's differential test suite: generated
// resolver configurations run for real in the lab and each observation
// compared with the model's prediction (lab.Compare).
//
// TestDifferential runs probe programs built with the machine's Go
// (static, cgo with glibc, cgo with musl), C probes (glibc, musl) and real
// esbuild binaries built with Go 1.15.7 and Go 1.16.3. TestAlpineDifferential
// runs, inside the real Alpine minirootfs trees of ../shared/data/rootfs
// (musl 1.1.22, 1.2.2, 1.2.3 and 1.2.4 as Alpine packages them), a C probe
// on the root's own musl (getaddrinfo and gethostbyname2), busybox wget and
// getent hosts, against SERVFAIL-mixed, truncating, delayed and silent
// servers; racy cases are held to their predicted bound.
//
// Both size their parallelism from the CPUs, subtract the start-up of
// programs that do not report when their lookup starts, re-run a case whose
// only differences are timing once, alone, and say loudly how many
// configurations they could not compare. It has no non-test code.
package difftest
