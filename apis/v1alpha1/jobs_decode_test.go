package v1alpha1

import (
	"strings"
	"testing"
)

const (
	minimalJob     = "apiVersion: proclet.dev/v1alpha1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  command: [./migrate]\n"
	minimalCronJob = "apiVersion: proclet.dev/v1alpha1\nkind: CronJob\nmetadata:\n  name: report\nspec:\n" +
		"  schedule: '0 * * * *'\n  jobTemplate:\n    spec:\n      command: [./report]\n"
)

// Each kind decodes from each format into its carrier: Kind, the kind's
// own spec, and the process fields as an AppSpec of one replica.
func TestDecodeJobKinds_EveryFormat(t *testing.T) {
	apps := mustDecode(t, "jobs.yaml", readTestdata(t, "jobs.yaml"))
	migrate, report, web := &apps[0], &apps[1], &apps[2]
	if migrate.Kind != KindJob || migrate.Job == nil || migrate.CronJob != nil || migrate.IsApp() {
		t.Fatalf("migrate is not a Job carrier: %+v", migrate)
	}
	j := migrate.Job
	if *j.Completions != 4 || *j.Parallelism != 2 || j.CompletionMode != Indexed || *j.BackoffLimit != 3 ||
		*j.ActiveDeadlineSeconds != 600 || *j.TTLSecondsAfterFinished != 86400 || j.RestartPolicy != RestartOnFailure {
		t.Errorf("job spec = %+v", j)
	}
	if s := migrate.Spec; *s.Replicas != 1 || s.Command[2] != "$(TARGET)" || s.RestartPolicy != RestartOnFailure ||
		s.RestartBackoff.Initial.Duration.String() != "2s" || s.DependsOn[0].Condition != DependencyStarted {
		t.Errorf("process spec = %+v", s)
	}
	if report.Kind != KindCronJob || report.CronJob == nil || report.Job != nil {
		t.Fatalf("report is not a CronJob carrier: %+v", report)
	}
	c := report.CronJob
	if c.Schedule != "30 2 * * 1-5" || c.TimeZone != "Europe/Paris" || c.ConcurrencyPolicy != ForbidConcurrent ||
		*c.StartingDeadlineSeconds != 300 || *c.SuccessfulJobsHistoryLimit != 5 || *c.FailedJobsHistoryLimit != 2 ||
		c.JobTemplate.Metadata.Labels["kind"] != "report" || report.Spec.Command[0] != "./bin/report" {
		t.Errorf("cronjob spec = %+v", c)
	}
	if !web.IsApp() || len(web.Spec.InitCommands) != 2 || web.Spec.InitCommands[1].Env[0].Value != "fast" ||
		*web.Spec.InitCommands[0].TimeoutSeconds != 60 {
		t.Errorf("web = %+v", web.Spec)
	}

	job := mustDecode(t, "job.json", readTestdata(t, "job.json"))[0]
	if job.Kind != KindJob || *job.Job.Completions != 2 || *job.Spec.TerminationGracePeriodSeconds != 5 {
		t.Errorf("job.json = %+v", job)
	}
	cron := mustDecode(t, "cronjob.toml", readTestdata(t, "cronjob.toml"))[0]
	if cron.Kind != KindCronJob || cron.CronJob.Schedule != "@hourly" || !*cron.CronJob.Suspend ||
		*cron.CronJob.JobTemplate.Spec.BackoffLimit != 0 || cron.Spec.Command[2] != "7d" {
		t.Errorf("cronjob.toml = %+v", cron)
	}
}

// A Job with nothing but a command has the documented defaults, in its
// own spec and in its process fields; a CronJob the same in its template.
func TestDefaultJobKinds(t *testing.T) {
	a := mustDecode(t, "j.yaml", []byte(minimalJob))[0]
	j := a.JobSpec()
	if *j.Completions != 1 || *j.Parallelism != 1 || j.CompletionMode != NonIndexed || *j.BackoffLimit != 6 ||
		j.RestartPolicy != RestartNever || *j.TerminationGracePeriodSeconds != 30 || j.StopSignal != "SIGTERM" ||
		j.Logs.MaxSize != DefaultLogMaxSize || *j.Logs.MaxFiles != 5 || j.RestartBackoff.Max.Duration != DefaultBackoffMax ||
		j.ActiveDeadlineSeconds != nil || j.TTLSecondsAfterFinished != nil {
		t.Errorf("job defaults = %+v", j)
	}
	if s := a.Spec; *s.Replicas != 1 || s.RestartPolicy != RestartNever || *s.TerminationGracePeriodSeconds != 30 {
		t.Errorf("process defaults = %+v", s)
	}
	// The process fields share no memory with the job spec.
	*a.Spec.TerminationGracePeriodSeconds = 7
	if *j.TerminationGracePeriodSeconds != 30 {
		t.Error("Spec and Job share memory")
	}
	c := mustDecode(t, "c.yaml", []byte(minimalCronJob))[0]
	cs := c.CronJob
	if cs.ConcurrencyPolicy != AllowConcurrent || *cs.Suspend || *cs.SuccessfulJobsHistoryLimit != 3 ||
		*cs.FailedJobsHistoryLimit != 1 || cs.StartingDeadlineSeconds != nil || *c.JobSpec().BackoffLimit != 6 {
		t.Errorf("cronjob defaults = %+v", cs)
	}
	// Idempotent, and the same from an undecoded carrier.
	job := Job{APIVersion: GroupVersion, Kind: KindJob, Metadata: ObjectMeta{Name: "m"}, Spec: JobSpec{Command: []string{"x"}}}
	b := job.Carrier()
	Default(&b)
	again := b.DeepCopy()
	Default(again)
	if Revision(&b.Spec) != Revision(&again.Spec) || AppRevision(&b, "") != AppRevision(again, "") || *again.Job.Completions != 1 {
		t.Error("Default is not idempotent on a carrier")
	}
	assertDefaulted(t, &b)
}

func TestDecodeJobKinds_Errors(t *testing.T) {
	cron := func(replace ...string) string {
		return strings.NewReplacer(replace...).Replace(minimalCronJob)
	}
	long := strings.Repeat("a", MaxJobNameLen+1)
	tests := []struct {
		name, path, data string
		line             int
		field, msg       string
	}{
		{"unknown kind", "a.yaml", strings.Replace(minimal, "kind: App", "kind: Deployment", 1), 2, "kind",
			`"Deployment" is not a supported kind (want App, Job or CronJob)`},
		{"unknown kind, JSON", "a.json", `{"apiVersion": "proclet.dev/v1alpha1",` + "\n" + `"kind": "Pod", "metadata": {"name": "a"}}`, 2, "kind",
			`"Pod" is not a supported kind (want App, Job or CronJob)`},
		{"job name", "a.yaml", strings.Replace(minimalJob, "name: migrate", "name: "+long, 1), 4, "metadata.name",
			"is 45 characters, over the bound of 44 for a Job (its instances are named NAME-RUN-INDEX"},
		{"cronjob name", "a.yaml", cron("name: report", "name: "+long), 4, "metadata.name", "over the bound of 44 for a CronJob"},
		{"restartPolicy Always", "a.yaml", minimalJob + "  restartPolicy: Always\n", 7, "spec.restartPolicy",
			`"Always" is not one of OnFailure, Never`},
		{"template restartPolicy", "a.yaml", minimalCronJob + "      restartPolicy: Always\n", 10, "spec.jobTemplate.spec.restartPolicy",
			`"Always" is not one of OnFailure, Never`},
		{"schedule fields", "a.yaml", cron("'0 * * * *'", "'0 * * *'"), 6, "spec.schedule", "expected exactly 5 fields, found 4"},
		{"schedule seconds", "a.yaml", cron("'0 * * * *'", "'0 0 * * * *'"), 6, "spec.schedule", "expected exactly 5 fields, found 6"},
		{"schedule value", "a.yaml", cron("'0 * * * *'", "'61 * * * *'"), 6, "spec.schedule", "above maximum (59)"},
		{"schedule macro", "a.yaml", cron("'0 * * * *'", "'@fortnightly'"), 6, "spec.schedule", "unrecognized descriptor"},
		{"schedule every second", "a.yaml", cron("'0 * * * *'", "'@every 10s'"), 6, "spec.schedule", "@every 10s is shorter than a minute"},
		{"schedule every zero", "a.yaml", cron("'0 * * * *'", "'@every 0s'"), 6, "spec.schedule", "shorter than a minute"},
		{"schedule TZ", "a.yaml", cron("'0 * * * *'", "'CRON_TZ=UTC 0 * * * *'"), 6, "spec.schedule", "use spec.timeZone"},
		{"schedule TZ, no space", "a.yaml", cron("'0 * * * *'", "'TZ=UTC'"), 6, "spec.schedule", "use spec.timeZone"},
		{"schedule too long", "a.yaml", cron("'0 * * * *'", "'0"+strings.Repeat(",0", MaxScheduleLen)+" * * * *'"), 6, "spec.schedule",
			"over the bound of 256"},
		{"schedule missing", "a.yaml", cron("  schedule: '0 * * * *'\n", ""), 5, "spec.schedule", "required"},
		{"timeZone unknown", "a.yaml", minimalCronJob + "  timeZone: Mars/Olympus\n", 10, "spec.timeZone", `"Mars/Olympus" is not a known time zone`},
		{"timeZone Local", "a.yaml", minimalCronJob + "  timeZone: local\n", 10, "spec.timeZone", `"Local" is not allowed`},
		{"timeZone too long", "a.yaml", minimalCronJob + "  timeZone: " + strings.Repeat("Abcdefghij/", 6) + "Abcd\n", 10, "spec.timeZone",
			"is 70 bytes, over the bound of 64"},
		{"timeZone path", "a.yaml", minimalCronJob + "  timeZone: ../../etc/passwd\n", 10, "spec.timeZone", "is not a time zone name"},
		{"concurrencyPolicy", "a.yaml", minimalCronJob + "  concurrencyPolicy: Sometimes\n", 10, "spec.concurrencyPolicy",
			`"Sometimes" is not one of Allow, Forbid, Replace`},
		{"completions", "a.yaml", minimalJob + "  completions: 0\n", 7, "spec.completions", "0 must be >= 1"},
		{"parallelism", "a.yaml", minimalJob + "  parallelism: 10001\n", 7, "spec.parallelism", "10001 must be <= 10000"},
		{"completionMode", "a.yaml", minimalJob + "  completionMode: Ordered\n", 7, "spec.completionMode", "is not one of NonIndexed, Indexed"},
		{"deadline bound", "a.yaml", minimalJob + "  activeDeadlineSeconds: 315360001\n", 7, "spec.activeDeadlineSeconds", "at most 315360000"},
		{"ttl bound", "a.yaml", minimalJob + "  ttlSecondsAfterFinished: 315360001\n", 7, "spec.ttlSecondsAfterFinished", "at most 315360000"},
		{"startingDeadline bound", "a.yaml", minimalCronJob + "  startingDeadlineSeconds: 315360001\n", 10, "spec.startingDeadlineSeconds",
			"at most 315360000"},
		{"template grace bound", "a.yaml", minimalCronJob + "      terminationGracePeriodSeconds: 315360001\n", 10,
			"spec.jobTemplate.spec.terminationGracePeriodSeconds", "at most 315360000"},
		{"template empty program", "a.yaml", cron("[./report]", "['']"), 9, "spec.jobTemplate.spec.command[0]", "must not be empty"},
		{"template unknown field", "a.yaml", minimalCronJob + "      replicas: 2\n", 10, "spec.jobTemplate.spec.replicas", "unknown field"},
		{"app field on a job", "a.yaml", minimalJob + "  ports: [{name: http, port: 80}]\n", 7, "spec.ports", "unknown field"},
		{"job field on an app", "a.yaml", minimal + "  completions: 2\n", 7, "spec.completions", "unknown field"},
		{"duplicate across kinds", "a.yaml", minimal + "---\n" + strings.Replace(minimalJob, "name: migrate", "name: web", 1), 11,
			"metadata.name", `"web" is already defined in this file (line 4, as an app)`},
		{"Complete on an app", "a.yaml", minimal + "  dependsOn: [{app: db, condition: Complete}]\n---\n" +
			strings.Replace(minimal, "web", "db", 2), 7, "spec.dependsOn[0].condition", `"db" is an app: Complete is a job's condition`},
		{"Ready on a job", "a.yaml", minimal + "  dependsOn: [{app: migrate}]\n---\n" + minimalJob, 7, "spec.dependsOn[0].condition",
			`"migrate" is a job: depend on it with condition Complete, not Ready`},
		{"on a cronjob", "a.yaml", minimalCronJob + "      dependsOn: [{app: web, condition: Complete}]\n---\n" +
			strings.Replace(minimalCronJob, "name: report", "name: web", 1), 10, "spec.jobTemplate.spec.dependsOn[0].condition",
			`"web" is a cronjob: it has no completion to wait for`},
		{"template cycle", "a.yaml", strings.Replace(minimalCronJob, "name: report", "name: a", 1) +
			"      dependsOn: [{app: migrate, condition: Complete}]\n---\n" + minimalJob + "  dependsOn: [{app: a}]\n", 10,
			"spec.jobTemplate.spec.dependsOn[0].app", "dependency cycle: a -> migrate -> a"},
		{"job TOML", "a.toml", "apiVersion = 'proclet.dev/v1alpha1'\nkind = 'Job'\n[metadata]\nname = 'a'\n[spec]\ncommand = ['a']\nrestartPolicy = 'Always'\n",
			0, "spec.restartPolicy", `"Always" is not one of OnFailure, Never`},
		{"cronjob JSON", "a.json", `{"apiVersion": "proclet.dev/v1alpha1", "kind": "CronJob", "metadata": {"name": "a"},` + "\n" +
			`"spec": {"schedule": "* * *", "jobTemplate": {"spec": {"command": ["a"]}}}}`, 2, "spec.schedule", "expected exactly 5 fields, found 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, decodeErrs(t, tt.path, tt.data), tt.line, tt.field, tt.msg)
		})
	}
}

// Kubernetes accepts every schedule its parser accepts, the macros and
// @every included; so does proclet (@every of at least a minute). A schedule that never fires (the
// 30th of February) is valid, as there.
func TestDecodeJobKinds_SchedulesKubernetesAccepts(t *testing.T) {
	for _, s := range []string{"* * * * *", "*/15 9-17 * * mon-fri", "0 0 1 jan,jul *", "0 0 30 2 *", "5 4 * * sun",
		"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@every 90m", "@every 1m", "0 0 ? * *"} {
		data := strings.Replace(minimalCronJob, "'0 * * * *'", "'"+s+"'", 1)
		if _, err := DecodeFile("c.yaml", []byte(data)); err != nil {
			t.Errorf("schedule %q: %v", s, err)
		}
	}
	for _, tz := range []string{"UTC", "Europe/Paris", "America/Argentina/ComodRivadavia", "Etc/GMT+5"} {
		if _, err := DecodeFile("c.yaml", []byte(minimalCronJob+"  timeZone: "+tz+"\n")); err != nil {
			t.Errorf("timeZone %q: %v", tz, err)
		}
	}
	loc, err := (&CronJobSpec{TimeZone: "Asia/Tokyo"}).Location()
	if err != nil || loc.String() != "Asia/Tokyo" {
		t.Errorf("Location = %v, %v", loc, err)
	}
}
