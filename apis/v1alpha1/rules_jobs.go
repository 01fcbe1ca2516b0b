package v1alpha1

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // timeZone is checked and read the same on a host without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"
)

// Bounds of a CronJob's schedule and time zone (docs/faults.md).
const (
	// MaxScheduleLen bounds spec.schedule: five cron fields, or a macro.
	MaxScheduleLen = 256
	// MaxTimeZoneLen bounds spec.timeZone: an IANA name
	// ("America/Argentina/ComodRivadavia" has 32 bytes).
	MaxTimeZoneLen = 64
)

// ParseSchedule parses a CronJob's schedule as Kubernetes' CronJob
// controller does, with robfig/cron/v3's standard parser: five fields
// (minute hour day-of-month month day-of-week, with names, ranges, steps
// and lists), a macro (@yearly, @annually, @monthly, @weekly, @daily,
// @midnight, @hourly) or @every DURATION of at least a minute. A time zone in the schedule
// (TZ= or CRON_TZ=) is refused, as Kubernetes refuses it: it is
// CronJobSpec.TimeZone's. The schedule it returns reads times in the
// location of the time given to its Next (see CronJobSpec.Location).
func ParseSchedule(schedule string) (s cron.Schedule, err error) {
	switch {
	case len(schedule) > MaxScheduleLen:
		return nil, fmt.Errorf("is %d bytes, over the bound of %d", len(schedule), MaxScheduleLen)
	case strings.Contains(schedule, "TZ"):
		return nil, errors.New("a time zone in the schedule (TZ= or CRON_TZ=) is not supported: use spec.timeZone")
	}
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cannot parse: %v", r)
		}
	}()
	if s, err = cron.ParseStandard(schedule); err != nil {
		return nil, err
	}
	if every, ok := s.(cron.ConstantDelaySchedule); ok && every.Delay < time.Minute {
		// A run is named by its slot's minute: two slots in one minute
		// would be one run, so the schedule would quietly run less often
		// than written.
		return nil, fmt.Errorf("@every %s is shorter than a minute, the shortest period a CronJob runs at", every.Delay)
	}
	return s, nil
}

// timeZonePart is one part of an IANA time zone name, as Kubernetes
// checks it before loading it.
var timeZonePart = regexp.MustCompile(`^[A-Za-z.\-_0-9+]{1,14}$`)

// LoadTimeZone loads a CronJob's timeZone as Kubernetes checks it: an
// IANA name ("Europe/Paris", "UTC"), not "Local", found in the system's
// zoneinfo or, failing that, in the copy of the database built into
// proclet (time/tzdata), so that a zone valid on one host is valid on
// every host. "" is the daemon's local time zone.
func LoadTimeZone(tz string) (*time.Location, error) {
	if tz == "" {
		return time.Local, nil
	}
	if len(tz) > MaxTimeZoneLen {
		return nil, fmt.Errorf("is %d bytes, over the bound of %d", len(tz), MaxTimeZoneLen)
	}
	for _, part := range strings.Split(tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !timeZonePart.MatchString(part) {
			return nil, fmt.Errorf("%s is not a time zone name (an IANA name such as Europe/Paris)", quote(tz))
		}
	}
	if strings.EqualFold(tz, "Local") {
		return nil, errors.New(`"Local" is not allowed: name the time zone (an IANA name such as Europe/Paris), or leave timeZone unset for the daemon's`)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("%s is not a known time zone (an IANA name such as Europe/Paris)", quote(tz))
	}
	return loc, nil
}

// Location is the time zone s's schedule is read in (LoadTimeZone).
func (s *CronJobSpec) Location() (*time.Location, error) { return LoadTimeZone(s.TimeZone) }

// jobKind checks a carried Job's or CronJob's own fields.
func (r *ruleSet) jobKind(app *App) {
	if n := len(app.Metadata.Name); n > MaxJobNameLen && n <= 63 {
		r.add("metadata.name", "is %d characters, over the bound of %d for a %s (its instances are named NAME-RUN-INDEX, which must stay a DNS label of at most 63)",
			n, MaxJobNameLen, app.Kind)
	}
	js := app.JobSpec()
	prefix := app.specPrefix()
	r.seconds(prefix+".activeDeadlineSeconds", js.ActiveDeadlineSeconds)
	if t := js.TTLSecondsAfterFinished; t != nil {
		r.seconds(prefix+".ttlSecondsAfterFinished", ptr(int64(*t)))
	}
	c := app.CronJob
	if c == nil {
		return
	}
	r.seconds("spec.startingDeadlineSeconds", c.StartingDeadlineSeconds)
	if c.Schedule != "" {
		if _, err := ParseSchedule(c.Schedule); err != nil {
			r.add("spec.schedule", "%s", err)
		}
	}
	if _, err := LoadTimeZone(c.TimeZone); err != nil {
		r.add("spec.timeZone", "%s", err)
	}
}
