package v1alpha1

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// validApp is a defaulted app that passes every rule, with one of each
// part to break.
func validApp() *App {
	a := &App{
		APIVersion: GroupVersion,
		Kind:       KindApp,
		Metadata: ObjectMeta{
			Name:        "web",
			Labels:      map[string]string{"team": "storefront", "app.kubernetes.io/name": "web"},
			Annotations: map[string]string{"example.com/note": "anything at all: ok"},
		},
		Spec: AppSpec{
			Replicas: ptr(int32(3)),
			Command:  []string{"./bin/web", "--listen", ":$(PORT)", ""},
			Env:      []EnvVar{{Name: "MODE", Value: "production"}, {Name: "my.var-1", Value: ""}},
			Ports: []PortSpec{
				{Name: "http", Range: "8000-8099"},
				{Name: "admin", Range: "9100-9102"},
			},
			StartupProbe:   &Probe{ProbeHandler: ProbeHandler{Exec: &ExecAction{Command: []string{"check"}}}},
			ReadinessProbe: &Probe{ProbeHandler: ProbeHandler{HTTPGet: &HTTPGetAction{Port: FromString("http"), Path: "/healthz", HTTPHeaders: []HTTPHeader{{Name: "X-Probe", Value: "1"}}}}, SuccessThreshold: 2},
			LivenessProbe:  &Probe{ProbeHandler: ProbeHandler{TCPSocket: &TCPSocketAction{Port: FromInt(8000), Host: "127.0.0.1"}}},
			Resources:      Resources{Limits: ResourceLimits{Memory: "256Mi", CPU: "500m", OpenFiles: ptr(int64(4096))}},
			Lifecycle:      &Lifecycle{PreStop: &LifecycleHandler{Exec: &ExecAction{Command: []string{"drain"}}}},
			DependsOn:      []Dependency{{App: "db"}, {App: "cache", Condition: DependencyStarted}},
			NodeSelector:   map[string]string{"role": "web", "disk": ""},
		},
	}
	Default(a)
	return a
}

func TestValidAppIsValid(t *testing.T) {
	if errs := Validate(validApp()); len(errs) != 0 {
		t.Fatalf("validApp: %v", errs)
	}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(a *App)
		field  string // "" = valid
		msg    string
	}{
		// apiVersion, kind
		{"apiVersion missing", func(a *App) { a.APIVersion = "" }, "apiVersion", "required"},
		{"apiVersion wrong", func(a *App) { a.APIVersion = "proclet.dev/v1" }, "apiVersion", `"proclet.dev/v1" is not supported (want proclet.dev/v1alpha1)`},
		{"kind wrong", func(a *App) { a.Kind = "Deployment" }, "kind", `"Deployment" is not supported (want App)`},
		// metadata
		{"name missing", func(a *App) { a.Metadata.Name = "" }, "metadata.name", "required"},
		{"name upper", func(a *App) { a.Metadata.Name = "Web" }, "metadata.name", "not a DNS-1123 label"},
		{"name dash end", func(a *App) { a.Metadata.Name = "web-" }, "metadata.name", "not a DNS-1123 label"},
		{"name 63", func(a *App) { a.Metadata.Name = strings.Repeat("a", 63) }, "", ""},
		{"name 64", func(a *App) { a.Metadata.Name = strings.Repeat("a", 64) }, "metadata.name", "at most 63"},
		{"label key bad", func(a *App) { a.Metadata.Labels["bad key"] = "x" }, "metadata.labels[bad key]", "not a valid key"},
		{"label key prefix bad", func(a *App) { a.Metadata.Labels["Example.com/x"] = "x" }, "metadata.labels[Example.com/x]", "prefix"},
		{"label value bad", func(a *App) { a.Metadata.Labels["team"] = "a b" }, "metadata.labels[team]", "not a valid label value"},
		{"annotation key bad", func(a *App) { a.Metadata.Annotations["/x"] = "" }, "metadata.annotations[/x]", "not a valid key"},
		// replicas
		{"replicas 0", func(a *App) { a.Spec.Replicas = ptr(int32(0)) }, "", ""},
		{"replicas 1000", func(a *App) { a.Spec.Replicas = ptr(int32(1000)); a.Spec.Ports = nil; a.Spec.ReadinessProbe = nil }, "", ""},
		{"replicas -1", func(a *App) { a.Spec.Replicas = ptr(int32(-1)) }, "spec.replicas", "-1 must be >= 0"},
		{"replicas 10001", func(a *App) { a.Spec.Replicas = ptr(int32(10001)) }, "spec.replicas", "10001 must be <= 10000"},
		// command
		{"command nil", func(a *App) { a.Spec.Command = nil }, "spec.command", "required"},
		{"command empty", func(a *App) { a.Spec.Command = []string{} }, "spec.command", "at least 1"},
		{"command program empty", func(a *App) { a.Spec.Command = []string{"", "x"} }, "spec.command[0]", "must not be empty"},
		{"command NUL", func(a *App) { a.Spec.Command[1] = "a\x00b" }, "spec.command[1]", "NUL"},
		{"workingDir NUL", func(a *App) { a.Spec.WorkingDir = "/a\x00" }, "spec.workingDir", "NUL"},
		// env
		{"env name missing", func(a *App) { a.Spec.Env[0].Name = "" }, "spec.env[0].name", "required"},
		{"env name bad", func(a *App) { a.Spec.Env[0].Name = "1A" }, "spec.env[0].name", "not an environment variable name"},
		{"env name =", func(a *App) { a.Spec.Env[0].Name = "A=B" }, "spec.env[0].name", "not an environment variable name"},
		{"env dup", func(a *App) { a.Spec.Env[1].Name = "MODE" }, "spec.env[1].name", `"MODE" is already set by spec.env[0]`},
		// ports
		{"port name missing", func(a *App) { a.Spec.Ports[0].Name = "" }, "spec.ports[0].name", "required"},
		{"port name long", func(a *App) { a.Spec.Ports[0].Name = "abcdefghijklmnop" }, "spec.ports[0].name", "at most 15"},
		{"port name upper", func(a *App) { a.Spec.Ports[0].Name = "HTTP" }, "spec.ports[0].name", "not a port name"},
		{"port name --", func(a *App) { a.Spec.Ports[0].Name = "a--b" }, "spec.ports[0].name", "not a port name"},
		{"port name digits", func(a *App) { a.Spec.Ports[0].Name = "8080" }, "spec.ports[0].name", "at least one letter"},
		{"port name dup", func(a *App) { a.Spec.Ports[1].Name = "http" }, "spec.ports[1].name", `"http" is already the name of spec.ports[0]`},
		{"port and range", func(a *App) { a.Spec.Ports[0].Port = 80 }, "spec.ports[0]", "mutually exclusive"},
		{"port nor range", func(a *App) { a.Spec.Ports[0].Range = "" }, "spec.ports[0]", "one of port and range is required"},
		{"fixed port replicas 1", func(a *App) { a.Spec.Replicas = ptr(int32(1)); a.Spec.Ports[1] = PortSpec{Name: "admin", Port: 9100} }, "", ""},
		{"fixed port replicas 0", func(a *App) { a.Spec.Replicas = ptr(int32(0)); a.Spec.Ports[1] = PortSpec{Name: "admin", Port: 9100} }, "", ""},
		{"fixed port replicas 3", func(a *App) { a.Spec.Ports[1] = PortSpec{Name: "admin", Port: 9100} }, "spec.ports[1].port", "a fixed port needs replicas <= 1 (replicas is 3)"},
		{"port 65536", func(a *App) { a.Spec.Replicas = ptr(int32(1)); a.Spec.Ports[1] = PortSpec{Name: "admin", Port: 65536} }, "spec.ports[1].port", "65536 must be <= 65535"},
		{"port -1", func(a *App) { a.Spec.Replicas = ptr(int32(1)); a.Spec.Ports[1] = PortSpec{Name: "admin", Port: -1} }, "spec.ports[1].port", "-1 must be >= 1"},
		{"range reversed", func(a *App) { a.Spec.Ports[0].Range = "9000-80" }, "spec.ports[0].range", `"9000-80" is not a range (low must be <= high)`},
		{"range single", func(a *App) { a.Spec.Ports[0].Range = "8000" }, "spec.ports[0].range", "want LOW-HIGH"},
		{"range spaces", func(a *App) { a.Spec.Ports[0].Range = "8000 - 8099" }, "spec.ports[0].range", "want LOW-HIGH"},
		{"range zero", func(a *App) { a.Spec.Ports[0].Range = "0-80" }, "spec.ports[0].range", "ports are 1-65535"},
		{"range high", func(a *App) { a.Spec.Ports[0].Range = "65000-65536" }, "spec.ports[0].range", "ports are 1-65535"},
		{"range one port", func(a *App) { a.Spec.Replicas = ptr(int32(1)); a.Spec.Ports[0].Range = "8000-8000" }, "", ""},
		{"range too small", func(a *App) { a.Spec.Ports[0].Range = "8000-8001" }, "spec.ports[0].range", "has 2 port(s), fewer than replicas (3)"},
		{"ranges overlap", func(a *App) { a.Spec.Ports[1].Range = "8099-8200" }, "spec.ports[1].range", `"8099-8200" overlaps spec.ports[0] ("8000-8099")`},
		{"ranges overlap reversed", func(a *App) { a.Spec.Ports[0].Range = "9000-9200" }, "spec.ports[1].range", `overlaps spec.ports[0] ("9000-9200")`},
		{"ranges touch", func(a *App) { a.Spec.Ports[1].Range = "8100-8200" }, "", ""},
		{"fixed port in range", func(a *App) {
			a.Spec.Replicas = ptr(int32(1))
			a.Spec.Ports[1] = PortSpec{Name: "admin", Port: 8050}
		}, "spec.ports[1].port", `"8050" overlaps spec.ports[0]`},
		// restartPolicy, backoff
		{"restartPolicy OnFailure", func(a *App) { a.Spec.RestartPolicy = RestartOnFailure }, "", ""},
		{"restartPolicy bad", func(a *App) { a.Spec.RestartPolicy = "Sometimes" }, "spec.restartPolicy", `"Sometimes" is not one of Always, OnFailure, Never`},
		{"backoff zero", func(a *App) { a.Spec.RestartBackoff.Initial = &Duration{} }, "spec.restartBackoff.initial", "must be greater than 0"},
		{"backoff negative", func(a *App) { a.Spec.RestartBackoff.ResetAfter = &Duration{-time.Second} }, "spec.restartBackoff.resetAfter", "-1s must be greater than 0"},
		{"backoff initial > max", func(a *App) { a.Spec.RestartBackoff.Initial = &Duration{time.Hour} }, "spec.restartBackoff.initial", "1h0m0s is longer than max (5m0s)"},
		{"backoff initial = max", func(a *App) { a.Spec.RestartBackoff.Initial = &Duration{5 * time.Minute} }, "", ""},
		// probes
		{"probe no handler", func(a *App) { a.Spec.LivenessProbe.TCPSocket = nil }, "spec.livenessProbe", "one handler is required"},
		{"probe two handlers", func(a *App) { a.Spec.LivenessProbe.Exec = &ExecAction{Command: []string{"x"}} }, "spec.livenessProbe", "exactly one handler"},
		{"probe exec empty", func(a *App) { a.Spec.StartupProbe.Exec.Command = nil }, "spec.startupProbe.exec.command", "required"},
		{"probe port name unknown", func(a *App) { a.Spec.ReadinessProbe.HTTPGet.Port = FromString("metrics") }, "spec.readinessProbe.httpGet.port", `"metrics" is not the name of a port of this app`},
		{"probe port name bad", func(a *App) { a.Spec.ReadinessProbe.HTTPGet.Port = FromString("8080") }, "spec.readinessProbe.httpGet.port", "a number must not be quoted"},
		{"probe port missing", func(a *App) { a.Spec.ReadinessProbe.HTTPGet.Port = IntOrString{} }, "spec.readinessProbe.httpGet.port", "0 is not a port"},
		{"probe port number", func(a *App) { a.Spec.ReadinessProbe.HTTPGet.Port = FromInt(9999) }, "", ""},
		{"probe port 0", func(a *App) { a.Spec.LivenessProbe.TCPSocket.Port = FromInt(0) }, "spec.livenessProbe.tcpSocket.port", "0 is not a port"},
		{"probe port 65536", func(a *App) { a.Spec.LivenessProbe.TCPSocket.Port = FromInt(65536) }, "spec.livenessProbe.tcpSocket.port", "65536 is not a port"},
		{"probe tcp name", func(a *App) { a.Spec.LivenessProbe.TCPSocket.Port = FromString("admin") }, "", ""},
		{"probe host bad", func(a *App) { a.Spec.LivenessProbe.TCPSocket.Host = "a b" }, "spec.livenessProbe.tcpSocket.host", "neither a host name nor an IP"},
		{"probe scheme HTTPS", func(a *App) { a.Spec.ReadinessProbe.HTTPGet.Scheme = "HTTPS" }, "", ""},
		{"probe scheme bad", func(a *App) { a.Spec.ReadinessProbe.HTTPGet.Scheme = "http" }, "spec.readinessProbe.httpGet.scheme", `"http" is not one of HTTP, HTTPS`},
		{"probe path bad", func(a *App) { a.Spec.ReadinessProbe.HTTPGet.Path = "healthz" }, "spec.readinessProbe.httpGet.path", "not a URL path"},
		{"probe header bad", func(a *App) { a.Spec.ReadinessProbe.HTTPGet.HTTPHeaders[0].Name = "X Probe" }, "spec.readinessProbe.httpGet.httpHeaders[0].name", "not an HTTP header name"},
		{"probe header value bad", func(a *App) { a.Spec.ReadinessProbe.HTTPGet.HTTPHeaders[0].Value = "a\r\nb" }, "spec.readinessProbe.httpGet.httpHeaders[0].value", "line break"},
		{"probe failure 0 is default", func(a *App) { a.Spec.ReadinessProbe.FailureThreshold = 0 }, "", ""},
		{"probe failure -1", func(a *App) { a.Spec.ReadinessProbe.FailureThreshold = -1 }, "spec.readinessProbe.failureThreshold", "-1 must be >= 1"},
		{"probe period -1", func(a *App) { a.Spec.LivenessProbe.PeriodSeconds = -1 }, "spec.livenessProbe.periodSeconds", "must be >= 1"},
		{"probe timeout -1", func(a *App) { a.Spec.LivenessProbe.TimeoutSeconds = -1 }, "spec.livenessProbe.timeoutSeconds", "must be >= 1"},
		{"probe success -1", func(a *App) { a.Spec.ReadinessProbe.SuccessThreshold = -1 }, "spec.readinessProbe.successThreshold", "must be >= 1"},
		{"probe delay -1", func(a *App) { a.Spec.StartupProbe.InitialDelaySeconds = -1 }, "spec.startupProbe.initialDelaySeconds", "must be >= 0"},
		{"liveness success 2", func(a *App) { a.Spec.LivenessProbe.SuccessThreshold = 2 }, "spec.livenessProbe.successThreshold", "must be 1"},
		{"startup success 2", func(a *App) { a.Spec.StartupProbe.SuccessThreshold = 2 }, "spec.startupProbe.successThreshold", "must be 1"},
		// resources
		{"memory bad", func(a *App) { a.Spec.Resources.Limits.Memory = "lots" }, "spec.resources.limits.memory", `"lots" is not a quantity`},
		{"memory zero", func(a *App) { a.Spec.Resources.Limits.Memory = "0" }, "spec.resources.limits.memory", "greater than zero"},
		{"memory plain", func(a *App) { a.Spec.Resources.Limits.Memory = "1e9" }, "", ""},
		{"cpu bad", func(a *App) { a.Spec.Resources.Limits.CPU = "1.5.0" }, "spec.resources.limits.cpu", "not a quantity"},
		{"cpu negative", func(a *App) { a.Spec.Resources.Limits.CPU = "-1" }, "spec.resources.limits.cpu", "greater than zero"},
		{"openFiles 0", func(a *App) { a.Spec.Resources.Limits.OpenFiles = ptr(int64(0)) }, "spec.resources.limits.openFiles", "0 must be >= 1"},
		// termination
		{"grace 0", func(a *App) { a.Spec.TerminationGracePeriodSeconds = ptr(int64(0)) }, "", ""},
		{"grace -1", func(a *App) { a.Spec.TerminationGracePeriodSeconds = ptr(int64(-1)) }, "spec.terminationGracePeriodSeconds", "-1 must be >= 0"},
		{"stopSignal short", func(a *App) { a.Spec.StopSignal = "USR1" }, "", ""},
		{"stopSignal bad", func(a *App) { a.Spec.StopSignal = "SIGFOO" }, "spec.stopSignal", `"SIGFOO" is not a signal name`},
		{"stopSignal lower", func(a *App) { a.Spec.StopSignal = "sigterm" }, "spec.stopSignal", "not a signal name"},
		{"preStop empty", func(a *App) { a.Spec.Lifecycle.PreStop.Exec.Command = []string{} }, "spec.lifecycle.preStop.exec.command", "at least 1"},
		{"preStop no exec", func(a *App) { a.Spec.Lifecycle.PreStop.Exec = nil }, "spec.lifecycle.preStop.exec", "required"},
		// strategy
		{"strategy bad", func(a *App) { a.Spec.Strategy.Type = "BlueGreen" }, "spec.strategy.type", `"BlueGreen" is not one of RollingUpdate, Recreate`},
		{"recreate", func(a *App) { a.Spec.Strategy = Strategy{Type: Recreate} }, "", ""},
		{"recreate with rollingUpdate", func(a *App) { a.Spec.Strategy.Type = Recreate }, "spec.strategy.rollingUpdate", "must not be set when type is Recreate"},
		{"maxSurge int", func(a *App) { a.Spec.Strategy.RollingUpdate.MaxSurge = ptr(FromInt(2)) }, "", ""},
		{"maxSurge 200%", func(a *App) { a.Spec.Strategy.RollingUpdate.MaxSurge = ptr(FromString("200%")) }, "", ""},
		{"maxSurge -1", func(a *App) { a.Spec.Strategy.RollingUpdate.MaxSurge = ptr(FromInt(-1)) }, "spec.strategy.rollingUpdate.maxSurge", "-1 must be >= 0"},
		{"maxSurge bad", func(a *App) { a.Spec.Strategy.RollingUpdate.MaxSurge = ptr(FromString("25")) }, "spec.strategy.rollingUpdate.maxSurge", "neither an integer >= 0 nor a percentage"},
		{"maxSurge -5%", func(a *App) { a.Spec.Strategy.RollingUpdate.MaxSurge = ptr(FromString("-5%")) }, "spec.strategy.rollingUpdate.maxSurge", "neither"},
		{"maxUnavailable 101%", func(a *App) { a.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr(FromString("101%")) }, "spec.strategy.rollingUpdate.maxUnavailable", "at most 100%"},
		{"both zero", func(a *App) {
			a.Spec.Strategy.RollingUpdate = &RollingUpdateParams{MaxSurge: ptr(FromInt(0)), MaxUnavailable: ptr(FromString("0%"))}
		}, "spec.strategy.rollingUpdate", "must not both be 0"},
		{"surge zero only", func(a *App) { a.Spec.Strategy.RollingUpdate.MaxSurge = ptr(FromInt(0)) }, "", ""},
		{"minReady -1", func(a *App) { a.Spec.MinReadySeconds = -1 }, "spec.minReadySeconds", "-1 must be >= 0"},
		{"deadline = minReady", func(a *App) { a.Spec.MinReadySeconds = 600 }, "spec.progressDeadlineSeconds", "600 must be greater than minReadySeconds (600)"},
		{"deadline > minReady", func(a *App) { a.Spec.MinReadySeconds = 599 }, "", ""},
		{"deadline 0", func(a *App) { a.Spec.ProgressDeadlineSeconds = ptr(int32(0)) }, "spec.progressDeadlineSeconds", "0 must be >= 1"},
		// logs
		{"logs 1Ki", func(a *App) { a.Spec.Logs.MaxSize = "1Ki" }, "", ""},
		{"logs 1023", func(a *App) { a.Spec.Logs.MaxSize = "1023" }, "spec.logs.maxSize", "at least 1Ki"},
		{"logs bad", func(a *App) { a.Spec.Logs.MaxSize = "10 MB" }, "spec.logs.maxSize", "not a quantity"},
		{"logs files 0", func(a *App) { a.Spec.Logs.MaxFiles = ptr(int32(0)) }, "spec.logs.maxFiles", "0 must be >= 1"},
		// dependsOn
		{"dependsOn missing", func(a *App) { a.Spec.DependsOn[0].App = "" }, "spec.dependsOn[0].app", "required"},
		{"dependsOn bad name", func(a *App) { a.Spec.DependsOn[0].App = "DB" }, "spec.dependsOn[0].app", "not a DNS-1123 label"},
		{"dependsOn self", func(a *App) { a.Spec.DependsOn[0].App = "web" }, "spec.dependsOn[0].app", "cannot depend on itself"},
		{"dependsOn dup", func(a *App) { a.Spec.DependsOn[1].App = "db" }, "spec.dependsOn[1].app", `"db" is already listed at spec.dependsOn[0]`},
		{"dependsOn condition", func(a *App) { a.Spec.DependsOn[0].Condition = "Up" }, "spec.dependsOn[0].condition", `"Up" is not one of Ready, Started`},
		// nodeSelector
		{"nodeSelector key", func(a *App) { a.Spec.NodeSelector["-x"] = "a" }, "spec.nodeSelector[-x]", "not a valid key"},
		{"nodeSelector value", func(a *App) { a.Spec.NodeSelector["role"] = "a/b" }, "spec.nodeSelector[role]", "not a valid label value"},
		{"nodeSelector value long", func(a *App) { a.Spec.NodeSelector["role"] = strings.Repeat("a", 64) }, "spec.nodeSelector[role]", "not a valid label value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validApp()
			tt.mutate(a)
			errs := Validate(a)
			if tt.field == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Field == tt.field && strings.Contains(e.Message, tt.msg) {
					if e.Reason != ReasonInvalid || e.File != "" || e.Line != 0 {
						t.Errorf("error %+v: want reason Invalid, no file, no line", e)
					}
					return
				}
			}
			t.Fatalf("want %s: ...%s..., got %v", tt.field, tt.msg, errs)
		})
	}
}

func TestValidateOrderAndUndefaulted(t *testing.T) {
	// Errors come in path order, list indexes by number.
	a := validApp()
	for i := range 12 {
		a.Spec.Env = append(a.Spec.Env, EnvVar{Name: "1bad" + strings.Repeat("x", i)})
	}
	errs := Validate(a)
	if len(errs) != 12 || errs[0].Field != "spec.env[2].name" || errs[11].Field != "spec.env[13].name" {
		t.Errorf("order: %v", errs)
	}
	// A minimal app validates before Default too.
	b := &App{APIVersion: GroupVersion, Kind: KindApp, Metadata: ObjectMeta{Name: "x"}, Spec: AppSpec{Command: []string{"x"}}}
	if errs := Validate(b); len(errs) != 0 {
		t.Errorf("undefaulted minimal app: %v", errs)
	}
}

func TestErrorList(t *testing.T) {
	l := ErrorList{
		{File: "a.yaml", Line: 3, Field: "spec.replicas", Message: "bad"},
		{File: "a.yaml", Message: "worse"},
	}
	if l.Error() != "a.yaml:3: spec.replicas: bad\na.yaml: worse" {
		t.Errorf("Error() = %q", l.Error())
	}
	var fe *FileError
	if !errors.As(error(l), &fe) || fe.Line != 3 {
		t.Errorf("errors.As(*FileError) = %v", fe)
	}
	if !errors.Is(error(l), ErrInvalid) {
		t.Errorf("errors.Is(ErrInvalid) = false")
	}
}
