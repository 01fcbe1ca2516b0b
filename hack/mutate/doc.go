// Command mutate is proclet's mutation test of the decision code: for each
// Go file it is given it makes one-line mutants (a comparison's boundary or
// sense, an arithmetic or logical operator, a negated condition, a swapped
// boolean, min for max, an integer constant ±1, a removed statement), builds
// the package's tests against each mutant with `go test -c -overlay` (the
// tree is never written, so it is safe beside edits), runs them, and reports
// the mutants the tests did not notice.
//
//	go run ./hack/mutate [-workers 2] [-parallel N] [-min 90] file[@Func,Func][=testregex] ...
//
// file@Func,Func judges only the mutants inside those functions, by the
// tests of its own regex; a target of the same file without @ judges the
// rest. Tests that mostly wait for processes gain from -parallel (their
// -test.parallel).
//
// A mutant is killed when the tests fail or time out (10x the unmutated
// run, at least 30 s), survives when they pass, and is not counted when it
// does not build. The score is killed / (killed + survived), less the
// mutants listed in hack/mutate/equivalent.txt: mutants that change no
// behaviour, each with the reason it is accepted. Survivors print as
//
//	file:line: original → mutated
//
// and the same text without ":line", followed by " -- reason", is the line
// that accepts one as equivalent. A file that does not exist (moved) is
// skipped with a warning; exit status 1 when the score is below -min.
//
// Logging calls (log.*, slog.*) and deferred calls are not mutated: they
// decide nothing.
package main
