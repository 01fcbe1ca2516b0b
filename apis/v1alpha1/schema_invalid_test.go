package v1alpha1

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// invalidManifests are refused by validate and by the schema, both at
// the same field: each is minimal with a line added (or replaced).
var invalidManifests = []struct {
	name, add, field string
	replace          [2]string
	base             string // minimal when empty
}{
	{name: "replicas over 10000", add: "  replicas: 10001\n", field: "spec.replicas"},
	{name: "replicas a string", add: "  replicas: three\n", field: "spec.replicas"},
	{name: "restartPolicy", add: "  restartPolicy: Sometimes\n", field: "spec.restartPolicy"},
	{name: "name", replace: [2]string{"name: web", "name: Bad_Name"}, field: "metadata.name"},
	{name: "kind", replace: [2]string{"kind: App", "kind: Ap"}, field: "kind"},
	{name: "apiVersion missing", replace: [2]string{"apiVersion: proclet.dev/v1alpha1\n", ""}, field: "apiVersion"},
	{name: "unknown field", add: "  comand: [./web]\n", field: "spec.comand"},
	{name: "empty program", replace: [2]string{"command: [./web]", "command: ['']"}, field: "spec.command[0]"},
	{name: "no command", replace: [2]string{"command: [./web]", "command: []"}, field: "spec.command"},
	{name: "port out of range", add: "  ports: [{name: http, port: 70000}]\n", field: "spec.ports[0].port"},
	{name: "port name", add: "  ports: [{name: HTTP, range: 8000-8010}]\n", field: "spec.ports[0].name"},
	{name: "port and range", add: "  ports: [{name: http, port: 80, range: 8000-8001}]\n", field: "spec.ports[0]"},
	{name: "neither port nor range", add: "  ports: [{name: http}]\n", field: "spec.ports[0]"},
	{name: "fixed port, replicas 2", add: "  replicas: 2\n  ports: [{name: http, port: 8080}]\n", field: "spec.ports[0].port"},
	{name: "probe without handler", add: "  readinessProbe: {periodSeconds: 5}\n", field: "spec.readinessProbe"},
	{name: "probe with two handlers", add: "  readinessProbe: {exec: {command: [a]}, tcpSocket: {port: 80}}\n", field: "spec.readinessProbe"},
	{name: "notify startup probe", add: "  startupProbe: {notify: {}}\n", field: "spec.startupProbe.notify"},
	{name: "liveness successThreshold", add: "  livenessProbe: {exec: {command: [a]}, successThreshold: 2}\n", field: "spec.livenessProbe.successThreshold"},
	{name: "probe path", add: "  livenessProbe: {httpGet: {port: 80, path: healthz}}\n", field: "spec.livenessProbe.httpGet.path"},
	{name: "probe port 0", add: "  livenessProbe: {tcpSocket: {port: 0}}\n", field: "spec.livenessProbe.tcpSocket.port"},
	{name: "grace over 10 years", add: "  terminationGracePeriodSeconds: 315360001\n", field: "spec.terminationGracePeriodSeconds"},
	{name: "backoff not a duration", add: "  restartBackoff: {initial: soon}\n", field: "spec.restartBackoff.initial"},
	{name: "backoff zero", add: "  restartBackoff: {max: 0s}\n", field: "spec.restartBackoff.max"},
	{name: "memory", add: "  resources: {limits: {memory: 12Q}}\n", field: "spec.resources.limits.memory"},
	{name: "stopSignal", add: "  stopSignal: SIGFOO\n", field: "spec.stopSignal"},
	{name: "rollingUpdate with Recreate", add: "  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}\n", field: "spec.strategy.rollingUpdate"},
	{name: "rollout cannot progress", add: "  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0%}}\n", field: "spec.strategy.rollingUpdate"},
	{name: "maxUnavailable over 100%", add: "  strategy: {rollingUpdate: {maxUnavailable: 150%}}\n", field: "spec.strategy.rollingUpdate.maxUnavailable"},
	{name: "env name", add: "  env: [{name: 1A, value: x}]\n", field: "spec.env[0].name"},
	{name: "value and valueFrom", add: "  env: [{name: A, value: x, valueFrom: {file: f}}]\n", field: "spec.env[0].valueFrom"},
	{name: "label value", replace: [2]string{"name: web", "name: web\n  labels: {tier: 'front end'}"}, field: "metadata.labels[tier]"},
	{name: "dependsOn name", add: "  dependsOn: [{app: Bad}]\n", field: "spec.dependsOn[0].app"},
	{name: "maxFiles", add: "  logs: {maxFiles: -1}\n", field: "spec.logs.maxFiles"},
	{name: "too many headers", add: "  livenessProbe: {httpGet: {port: 80, httpHeaders: [" +
		strings.Repeat("{name: X, value: y},", MaxHTTPHeaders) + "{name: X, value: y}]}}\n", field: "spec.livenessProbe.httpGet.httpHeaders"},
	{name: "maxFiles 0 (a pointer: 0 is not unset)", add: "  logs: {maxFiles: 0}\n", field: "spec.logs.maxFiles"},
	{name: "progressDeadlineSeconds 0", add: "  progressDeadlineSeconds: 0\n", field: "spec.progressDeadlineSeconds"},
	{name: "unknown kind", replace: [2]string{"kind: App", "kind: Pod"}, field: "kind"},
	{name: "too many init steps", add: "  initCommands: [" + strings.Repeat("{name: a, command: [a]},", MaxInitCommands) +
		"{name: a, command: [a]}]\n", field: "spec.initCommands"},
	{name: "init step valueFrom", add: "  initCommands: [{name: a, command: [a], env: [{name: A, valueFrom: {file: f}}]}]\n",
		field: "spec.initCommands[0].env[0].valueFrom"},
	{name: "init step program", add: "  initCommands: [{name: a, command: ['']}]\n", field: "spec.initCommands[0].command[0]"},
	{name: "init step name", add: "  initCommands: [{name: A, command: [a]}]\n", field: "spec.initCommands[0].name"},
	{name: "init step timeout", add: "  initCommands: [{name: a, command: [a], timeoutSeconds: 315360001}]\n",
		field: "spec.initCommands[0].timeoutSeconds"},
	{name: "job restartPolicy Always", base: minimalJob, add: "  restartPolicy: Always\n", field: "spec.restartPolicy"},
	{name: "job name too long", base: minimalJob, replace: [2]string{"name: migrate", "name: " + strings.Repeat("m", MaxJobNameLen+1)},
		field: "metadata.name"},
	{name: "job completions 0", base: minimalJob, add: "  completions: 0\n", field: "spec.completions"},
	{name: "job parallelism", base: minimalJob, add: "  parallelism: 10001\n", field: "spec.parallelism"},
	{name: "job completionMode", base: minimalJob, add: "  completionMode: indexed\n", field: "spec.completionMode"},
	{name: "job deadline", base: minimalJob, add: "  activeDeadlineSeconds: 315360001\n", field: "spec.activeDeadlineSeconds"},
	{name: "job app field", base: minimalJob, add: "  replicas: 2\n", field: "spec.replicas"},
	{name: "job empty program", base: minimalJob, replace: [2]string{"[./migrate]", "['']"}, field: "spec.command[0]"},
	{name: "cronjob name too long", base: minimalCronJob, replace: [2]string{"name: report", "name: " + strings.Repeat("r", MaxJobNameLen+1)},
		field: "metadata.name"},
	{name: "cronjob no schedule", base: minimalCronJob, replace: [2]string{"  schedule: '0 * * * *'\n", ""}, field: "spec.schedule"},
	{name: "cronjob TZ in schedule", base: minimalCronJob, replace: [2]string{"'0 * * * *'", "'CRON_TZ=UTC 0 * * * *'"}, field: "spec.schedule"},
	{name: "cronjob schedule too long", base: minimalCronJob, replace: [2]string{"'0 * * * *'", "'0" + strings.Repeat(",0", MaxScheduleLen) + " * * * *'"},
		field: "spec.schedule"},
	{name: "cronjob timeZone Local", base: minimalCronJob, add: "  timeZone: Local\n", field: "spec.timeZone"},
	{name: "cronjob timeZone name", base: minimalCronJob, add: "  timeZone: 'Europe/New York'\n", field: "spec.timeZone"},
	{name: "cronjob concurrencyPolicy", base: minimalCronJob, add: "  concurrencyPolicy: Never\n", field: "spec.concurrencyPolicy"},
	{name: "cronjob history", base: minimalCronJob, add: "  failedJobsHistoryLimit: 101\n", field: "spec.failedJobsHistoryLimit"},
	{name: "cronjob startingDeadline", base: minimalCronJob, add: "  startingDeadlineSeconds: 315360001\n", field: "spec.startingDeadlineSeconds"},
	{name: "cronjob template command", base: minimalCronJob, replace: [2]string{"      command: [./report]\n", "      backoffLimit: 1\n"},
		field: "spec.jobTemplate.spec.command"},
	{name: "cronjob template restartPolicy", base: minimalCronJob, add: "      restartPolicy: Always\n", field: "spec.jobTemplate.spec.restartPolicy"},
	{name: "cronjob template label", base: minimalCronJob, replace: [2]string{"    spec:\n      command", "    metadata: {labels: {a: 'b c'}}\n    spec:\n      command"},
		field: "spec.jobTemplate.metadata.labels[a]"},
}

// Each invalid manifest is refused by validate and by the schema, at the
// same field path.
func TestSchema_InvalidManifestsRefusedByBoth(t *testing.T) {
	s := compiledSchema(t)
	for _, tt := range invalidManifests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == "" {
				base = minimal
			}
			data := base + tt.add
			if tt.replace[0] != "" {
				if !strings.Contains(data, tt.replace[0]) {
					t.Fatalf("no %q to replace", tt.replace[0])
				}
				data = strings.Replace(data, tt.replace[0], tt.replace[1], 1)
			}
			var fields []string
			for _, e := range CheckFile("a.yaml", []byte(data)).Errors {
				fields = append(fields, e.Field)
			}
			if !slices.Contains(fields, tt.field) {
				t.Errorf("validate: no error at %s; got %v", tt.field, CheckFile("a.yaml", []byte(data)).Errors)
			}
			objs := objects(t, "a.yaml", []byte(data))
			err := s.Validate(objs[0])
			var ve *jsonschema.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("schema: accepted (%v)", err)
			}
			if got := schemaFields(ve); !slices.Contains(got, tt.field) {
				t.Errorf("schema: no error at %s; got %v\n%v", tt.field, got, err)
			}
		})
	}
}

// schemaFields are the field paths, in validate's notation, of every
// error in a schema error's tree: a missing or unknown property is at the
// property, not at its object.
func schemaFields(ve *jsonschema.ValidationError) []string {
	var out []string
	at := fieldOf(ve.InstanceLocation)
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			out = append(out, joinKey(at, m))
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			out = append(out, joinKey(at, p))
		}
	default:
		out = append(out, at)
	}
	for _, c := range ve.Causes {
		out = append(out, schemaFields(c)...)
	}
	return out
}

// fieldOf turns an instance location into a field path: spec.ports[0],
// metadata.labels[key].
func fieldOf(loc []string) string {
	p := ""
	for i, seg := range loc {
		switch {
		case strings.Trim(seg, "0123456789") == "" && seg != "":
			p += "[" + seg + "]"
		case i > 0 && slices.Contains([]string{"labels", "annotations", "nodeSelector"}, loc[i-1]):
			p += "[" + seg + "]"
		default:
			p = joinKey(p, seg)
		}
	}
	return p
}
