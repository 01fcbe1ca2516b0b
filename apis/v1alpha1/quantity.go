package v1alpha1

// Quantity is a Kubernetes resource quantity as written: "256Mi", "1G",
// "500m". Value and MilliValue parse it; validation rejects what they cannot.
type Quantity string
