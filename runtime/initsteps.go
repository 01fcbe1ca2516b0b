package runtime

// ExitReasonInitFailed is the reason of the exit of an instance one of
// whose init steps (spec.initCommands) failed: it exited non-zero, died
// of a signal, or ran past its timeoutSeconds. The main command never
// ran. State.Init names the step and says how it ended.
const ExitReasonInitFailed = "InitFailed"

// InitProgress is where an instance is in its init steps
// (spec.initCommands). The zero value: the instance has none.
type InitProgress struct {
	// Done counts the steps completed; Total is how many there are.
	// Done == Total: the main command runs (or ran).
	Done, Total int
	// Name is the step running, or the one that failed; "" once every
	// step completed.
	Name string
	// Message says how the failed step ended, for people ("init step
	// migrate exited with code 3"); "" otherwise.
	Message string
}

// Running reports whether an init step runs (or is about to): the main
// command has not started yet.
func (p InitProgress) Running() bool { return p.Done < p.Total && p.Message == "" }
