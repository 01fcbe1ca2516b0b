package v1alpha1

import (
	"slices"
	"strings"
)

// The schema's side of the rules: what each validate tag and each rule
// that spans fields (rules.go, rules_bounds.go, content.go, notify.go)
// says in JSON Schema, where it can say it. Patterns are RE2 and ECMA 262
// alike (no lookaround); a length is counted in characters, not bytes, so
// a schema bound is never stricter than proclet's.

// Patterns of the names (names.go).
const (
	dns1123LabelPattern = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	dns1123SubPattern   = `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`
	labelNamePattern    = `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
	quantityNumber      = `([0-9]+(\.[0-9]*)?|\.[0-9]+)`
	quantitySuffix      = `(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][-+]?[0-9]+)?`
	durationUnit        = `(ns|us|µs|μs|ms|s|m|h)`
	hostnamePattern     = `^([a-zA-Z0-9][a-zA-Z0-9-]{0,62})(\.[a-zA-Z0-9][a-zA-Z0-9-]{0,62})*$`
	noNULPattern        = "^[^\x00]*$"
)

// portNameSchema: at most 15 lowercase letters, digits and single '-'
// inside, at least one letter.
func portNameSchema() jsonSchema {
	return jsonSchema{"type": "string", "maxLength": 15,
		"allOf": []any{jsonSchema{"pattern": `^[a-z0-9]+(-[a-z0-9]+)*$`}, jsonSchema{"pattern": `[a-z]`}}}
}

// set returns a tag's fragment that sets the given keywords.
func set(kv ...any) func(jsonSchema) bool {
	return func(s jsonSchema) bool {
		for i := 0; i < len(kv); i += 2 {
			s[kv[i].(string)] = kv[i+1]
		}
		return false
	}
}

// replace returns a tag's fragment that replaces the schema (an
// IntOrString or a quantity) by r; required says the tag makes the field
// required.
func replace(r func() jsonSchema, required bool) func(jsonSchema) bool {
	return func(s jsonSchema) bool {
		clear(s)
		for k, v := range r() {
			s[k] = v
		}
		return required
	}
}

// schemaTags are the custom validate tags (validate.go) as schema
// fragments; each returns whether the tag makes the field required.
var schemaTags = map[string]func(jsonSchema) bool{
	"dns1123label": set("pattern", dns1123LabelPattern, "maxLength", 63),
	"portname": func(s jsonSchema) bool {
		s["maxLength"] = 15
		s["allOf"] = portNameSchema()["allOf"]
		return false
	},
	"envname":     set("pattern", `^[-._a-zA-Z][-._a-zA-Z0-9]*$`),
	"labelkey":    set("pattern", `^(`+dns1123SubPattern+`/)?`+labelNamePattern+`$`, "maxLength", 253+1+63),
	"labelvalue":  set("pattern", `^(`+labelNamePattern+`)?$`, "maxLength", 63),
	"nonul":       set("pattern", noNULPattern),
	"httppath":    set("pattern", "^/[^ \t\r\n\x00]*$", "maxLength", MaxHTTPPathLen),
	"headername":  set("pattern", "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"),
	"headervalue": set("pattern", "^[^\r\n\x00]*$", "maxLength", MaxHTTPHeaderValueLen),
	"signal":      set("enum", signalNames()),
	"portrange":   set("pattern", `^[0-9]{1,5}-[0-9]{1,5}$`),
	"quantity": replace(func() jsonSchema {
		return jsonSchema{"anyOf": []any{
			jsonSchema{"type": "string", "pattern": `^\+?` + quantityNumber + quantitySuffix + `$`,
				"not": jsonSchema{"pattern": `^\+?(0+(\.0*)?|\.0+)` + quantitySuffix + `$`}},
			jsonSchema{"type": "number", "exclusiveMinimum": 0},
		}}
	}, false),
	"hostname_rfc1123|ip": func(s jsonSchema) bool {
		s["anyOf"] = []any{jsonSchema{"pattern": hostnamePattern}, jsonSchema{"pattern": `^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$`}}
		return false
	},
	"probeport": replace(func() jsonSchema {
		return jsonSchema{"anyOf": []any{jsonSchema{"type": "integer", "minimum": 1, "maximum": 65535}, portNameSchema()}}
	}, true),
	"intorpercent": replace(func() jsonSchema {
		return jsonSchema{"anyOf": []any{jsonSchema{"type": "integer", "minimum": 0, "maximum": int64(1<<31 - 1)},
			jsonSchema{"type": "string", "pattern": `^[0-9]{1,6}%$`}}}
	}, false),
}

// signalNames are the stopSignal values ParseSignal takes.
func signalNames() []any {
	var out []string
	for n := range signals {
		out = append(out, n, "SIG"+n)
	}
	slices.Sort(out)
	list := make([]any, len(out))
	for i, n := range out {
		list[i] = n
	}
	return list
}

// scalarDefs are the $defs of the types that read themselves.
var scalarDefs = map[string]func() jsonSchema{
	"Duration": func() jsonSchema {
		return jsonSchema{
			"description": "A Go duration, greater than zero and at most 87600h (10 years): \"500ms\", \"1s\", \"5m\", \"1h30m\".",
			"type":        "string",
			"pattern":     `^\+?(` + quantityNumber + durationUnit + `)+$`,
			"not":         jsonSchema{"pattern": `^\+?((0+(\.0*)?|\.0+)` + durationUnit + `)+$`},
		}
	},
	"IntOrString": func() jsonSchema {
		return jsonSchema{"description": "An integer or a string.", "type": []any{"integer", "string"}}
	},
}

// seconds bounds a field of seconds by MaxDurationSeconds.
func seconds(s jsonSchema) { s["maximum"] = MaxDurationSeconds }

// schemaFieldRules add what a field's rules (beyond its tag) can say,
// keyed by Type.Field.
var schemaFieldRules = map[string]func(jsonSchema){
	"AppSpec.Command": func(s jsonSchema) {
		s["prefixItems"] = []any{jsonSchema{"minLength": 1}} // the program must not be empty
	},
	"JobSpec.Command":      nonEmptyProgram,
	"InitCommand.Command":  nonEmptyProgram,
	"AppSpec.InitCommands": func(s jsonSchema) { s["maxItems"] = MaxInitCommands },
	// A step's env has no valueFrom (spec.env has).
	"InitCommand.Env": func(s jsonSchema) {
		s["items"].(jsonSchema)["properties"] = jsonSchema{"valueFrom": jsonSchema{"type": "null"}}
	},
	"JobSpec.EnvFrom":                       func(s jsonSchema) { s["maxItems"] = MaxEnvFrom },
	"JobSpec.TerminationGracePeriodSeconds": seconds,
	"JobSpec.ActiveDeadlineSeconds":         seconds,
	"JobSpec.TTLSecondsAfterFinished":       seconds,
	"CronJobSpec.StartingDeadlineSeconds":   seconds,
	"InitCommand.TimeoutSeconds":            seconds,
	// The instances of a run are NAME-RUN-INDEX, a DNS label.
	"Job.Metadata":     jobName,
	"CronJob.Metadata": jobName,
	// No time zone in the schedule: it is timeZone's.
	"CronJobSpec.Schedule": func(s jsonSchema) {
		s["maxLength"] = MaxScheduleLen
		s["not"] = jsonSchema{"type": "string", "pattern": "TZ"}
	},
	"CronJobSpec.TimeZone": func(s jsonSchema) {
		s["maxLength"] = MaxTimeZoneLen
		s["pattern"] = `^([A-Za-z.\-_0-9+]{1,14}(/[A-Za-z.\-_0-9+]{1,14})*)?$`
		s["not"] = jsonSchema{"type": "string", "pattern": "^[Ll][Oo][Cc][Aa][Ll]$"}
	},
	"AppSpec.Ports":                         func(s jsonSchema) { s["maxItems"] = MaxPorts },
	"AppSpec.EnvFrom":                       func(s jsonSchema) { s["maxItems"] = MaxEnvFrom },
	"RolloutOnChange.Paths":                 func(s jsonSchema) { s["maxItems"] = MaxRolloutPaths },
	"HTTPGetAction.HTTPHeaders":             func(s jsonSchema) { s["maxItems"] = MaxHTTPHeaders },
	"AppSpec.TerminationGracePeriodSeconds": seconds,
	"AppSpec.MinReadySeconds":               seconds,
	"AppSpec.ProgressDeadlineSeconds":       seconds,
	"Probe.InitialDelaySeconds":             seconds,
	"Probe.PeriodSeconds":                   seconds,
	"Probe.TimeoutSeconds":                  seconds,
	// A startup probe cannot be notify; liveness and startup probes need
	// successThreshold 1.
	"AppSpec.StartupProbe": func(s jsonSchema) {
		s["properties"] = jsonSchema{"notify": false, "successThreshold": jsonSchema{"maximum": 1}}
	},
	"AppSpec.LivenessProbe": func(s jsonSchema) {
		s["properties"] = jsonSchema{"successThreshold": jsonSchema{"maximum": 1}}
	},
	"RollingUpdateParams.MaxUnavailable": func(s jsonSchema) {
		s["anyOf"].([]any)[1] = jsonSchema{"type": "string", "pattern": `^0{0,4}([0-9]{1,2}|100)%$`} // at most 100%
	},
}

// nonEmptyProgram: a command's program must not be empty.
func nonEmptyProgram(s jsonSchema) { s["prefixItems"] = []any{jsonSchema{"minLength": 1}} }

// jobName bounds the name of a Job or CronJob by MaxJobNameLen.
func jobName(s jsonSchema) {
	s["properties"] = jsonSchema{"name": jsonSchema{"maxLength": MaxJobNameLen}}
}

// schemaTypeRules add what the rules across a type's fields can say.
var schemaTypeRules = map[string]func(jsonSchema){
	// Exactly one handler (an empty notify is one: it has no fields).
	"Probe": func(s jsonSchema) {
		var one []any
		for _, h := range strings.Split(strings.ReplaceAll(probeHandlers, " or ", ", "), ", ") {
			one = append(one, jsonSchema{"required": []any{h}, "properties": jsonSchema{h: jsonSchema{"type": "object"}}})
		}
		s["oneOf"] = one
	},
	// A fixed port or a range, not both.
	"PortSpec": func(s jsonSchema) {
		s["oneOf"] = []any{present("port", jsonSchema{"type": "integer", "not": jsonSchema{"const": 0}}),
			present("range", jsonSchema{"type": "string", "minLength": 1})}
	},
	// value and valueFrom are mutually exclusive (an empty value is
	// unset).
	"EnvVar": func(s jsonSchema) {
		s["if"] = present("value", jsonSchema{"not": jsonSchema{"type": "null"}, "minLength": 1})
		s["then"] = jsonSchema{"properties": jsonSchema{"valueFrom": jsonSchema{"type": "null"}}}
	},
	// No rollingUpdate with type Recreate.
	"Strategy": func(s jsonSchema) {
		s["if"] = present("type", jsonSchema{"const": string(Recreate)})
		s["then"] = jsonSchema{"properties": jsonSchema{"rollingUpdate": jsonSchema{"type": "null"}}}
	},
	// maxSurge and maxUnavailable not both 0.
	"RollingUpdateParams": func(s jsonSchema) {
		zero := jsonSchema{"enum": []any{0, "0%"}}
		s["not"] = jsonSchema{"required": []any{"maxSurge", "maxUnavailable"},
			"properties": jsonSchema{"maxSurge": zero, "maxUnavailable": zero}}
	},
	// A fixed port needs replicas <= 1.
	"AppSpec": func(s jsonSchema) {
		s["if"] = present("replicas", jsonSchema{"type": "integer", "minimum": 2})
		s["then"] = jsonSchema{"properties": jsonSchema{"ports": jsonSchema{"items": jsonSchema{
			"properties": jsonSchema{"port": jsonSchema{"enum": []any{0, nil}}}}}}}
	},
}

// present is a schema that holds when property name is there and
// matches s.
func present(name string, s jsonSchema) jsonSchema {
	return jsonSchema{"required": []any{name}, "properties": jsonSchema{name: s}}
}
