package watchers

import "testing"

func TestIgnoreRules(t *testing.T) {
	tests := []struct {
		name     string
		ignored  bool // never read or walked
		manifest bool // has a manifest extension
	}{
		{"web.yaml", false, true},
		{"web.yml", false, true},
		{"web.json", false, true},
		{"web.toml", false, true},
		{"web.YAML", false, false},
		{"README.md", false, false},
		{"apps", false, false},
		{".git", true, false},
		{"..data", true, false},
		{".web.yaml", true, true},
		{".web.yaml.swp", true, false},
		{"web.yaml~", true, false},
		{"#web.yaml#", true, false},
		{"4913", true, false},
		{"web.yaml.bak", true, false},
		{"web.yaml.tmp", true, false},
		{"web.yaml.dpkg-new", true, false},
		{"web.dpkg-old.yaml", true, true},
		{"#", false, false},
	}
	for _, tt := range tests {
		if got := ignoredName(tt.name); got != tt.ignored {
			t.Errorf("ignoredName(%q) = %v, want %v", tt.name, got, tt.ignored)
		}
		if got := manifestExt(tt.name); got != tt.manifest {
			t.Errorf("manifestExt(%q) = %v, want %v", tt.name, got, tt.manifest)
		}
	}
}

func TestSaveMarks(t *testing.T) {
	for name, want := range map[string]bool{
		"web.yaml~": true, "web.yaml.bak": true, "4913": true, ".web.yaml.swp": true,
		".web.yaml.tmp": false, "web.yaml.dpkg-new": false, "#web.yaml#": false, "web.yaml": false,
	} {
		if got := saveMark(name); got != want {
			t.Errorf("saveMark(%q) = %v, want %v", name, got, want)
		}
	}
}
