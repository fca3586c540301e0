// Package lab runs a real program against fake nameservers in throwaway
// Linux namespaces and records what it does: every DNS message the fake
// servers receive (with its time offset, server, name, type, transport and
// id), the program's output, exit status and total time.
//
// A run re-executes the current binary (/proc/self/exe) as the namespace
// init, in new network, mount, PID and UTS namespaces (and a user namespace
// when not root). The init mounts a tmpfs over the run's private temporary
// directory, brings up lo, adds the nameserver addresses to lo, starts the
// fake servers (github.com/miekg/dns, UDP and TCP) and runs the program
// chrooted into its root. Because the init is PID 1 of its own PID
// namespace and dies with its parent (Pdeathsig), nothing it created can
// outlive the lab: processes die with the PID namespace, mounts with the
// mount namespace, sockets and addresses with the network namespace, and
// no namespace is ever given a name in the host.
//
// The vocabulary is the model's: a server behaves as a [model.Behavior] and
// a recorded query converts to a [model.Exchange], so a prediction and an
// observation can be compared with [Compare].
package lab
