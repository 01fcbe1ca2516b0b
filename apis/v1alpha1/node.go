package v1alpha1

// Node is what GET /api/v1/node says of the daemon that answers: its
// identity (--node-name, --node-labels, --advertise-address), the folder
// it reads its manifests from and which revision of it was applied, and
// counts of what it runs. One daemon runs per host: a client of several
// daemons (--servers) tells them apart by Name.
type Node struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	// AdvertiseAddress is the host:port this daemon is reached at by
	// others; /api/v1/targets puts its host in every target.
	AdvertiseAddress string     `json:"advertiseAddress"`
	Version          string     `json:"version"`
	Source           NodeSource `json:"source"`
	// Synced: the first full read of the manifests has been reconciled
	// (/readyz's 200).
	Synced bool       `json:"synced"`
	Counts NodeCounts `json:"counts"`
}

// NodeSource is the manifests folder and what it resolves to now.
type NodeSource struct {
	// Folder is --manifests, made absolute.
	Folder string `json:"folder"`
	// Resolved is Folder with every symbolic link followed now (git-sync's
	// worktree), empty with Error when it cannot be resolved.
	Resolved string `json:"resolved"`
	// SourceRevision is the revision of the last snapshot applied: the
	// base name of the last link followed to the folder (git-sync names
	// the worktree for its commit), else the commit checked out in a .git
	// folder at the folder's root, else empty.
	SourceRevision string `json:"sourceRevision"`
	// Error is why the folder cannot be read now, or empty.
	Error string `json:"error,omitempty"`
}

// NodeCounts count the apps and instances of the node.
type NodeCounts struct {
	Apps int `json:"apps"`
	// NotScheduled counts the apps whose nodeSelector does not match
	// this node's labels: listed, never started.
	NotScheduled int `json:"notScheduled"`
	// Instances counts the instances the API lists (pending ones too);
	// Running, those with a live process; Ready, those ready.
	Instances int `json:"instances"`
	Running   int `json:"running"`
	Ready     int `json:"ready"`
}
