// Package difftest holds the lab's differential test suite: generated
// resolver configurations run for real in the lab, against probe programs
// built with the machine's Go (static, cgo with glibc, cgo with musl) and
// against real esbuild binaries built with Go 1.15.7 and Go 1.16.3, each
// observation compared with the model's prediction (lab.Compare). It has
// no non-test code; see difftest_test.go.
package difftest
