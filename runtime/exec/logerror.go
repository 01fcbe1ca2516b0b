//go:build linux

package exec

// logError is the error of h's failing log files, "" while they write.
func (h *handle) logError() string {
	for _, r := range h.output {
		if r == nil || r.out == nil {
			continue
		}
		if msg := r.out.Failure(); msg != "" {
			return msg
		}
	}
	return ""
}
