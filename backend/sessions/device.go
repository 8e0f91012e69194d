package sessions

import (
	"regexp"
	"strings"
)

// Device names the browser and system of a User-Agent header for the
// sessions list ("Chrome 131 on Linux"). It knows the common browsers;
// anything else is shown as "Unknown browser" with what OS it can tell.
func Device(ua string) string {
	if strings.TrimSpace(ua) == "" {
		return "Unknown device"
	}
	b := browser(ua)
	if os := system(ua); os != "" {
		return b + " on " + os
	}
	return b
}

var versions = []struct {
	name string
	re   *regexp.Regexp
}{
	// Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
	{"Edge", regexp.MustCompile(`Edg(?:e|A|iOS)?/(\d+)`)},
	{"Opera", regexp.MustCompile(`OPR/(\d+)`)},
	{"Firefox", regexp.MustCompile(`(?:Firefox|FxiOS)/(\d+)`)},
	{"Chromium", regexp.MustCompile(`Chromium/(\d+)`)},
	{"Chrome", regexp.MustCompile(`(?:HeadlessChrome|Chrome|CriOS)/(\d+)`)},
	{"Safari", regexp.MustCompile(`Version/(\d+)[.\d]* .*Safari/`)},
	{"curl", regexp.MustCompile(`^curl/(\d+)`)},
}

func browser(ua string) string {
	for _, v := range versions {
		if m := v.re.FindStringSubmatch(ua); m != nil {
			return v.name + " " + m[1]
		}
	}
	return "Unknown browser"
}

func system(ua string) string {
	switch {
	case strings.Contains(ua, "Android"):
		return "Android"
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"):
		return "iOS"
	case strings.Contains(ua, "Windows"):
		return "Windows"
	case strings.Contains(ua, "Mac OS X"), strings.Contains(ua, "Macintosh"):
		return "macOS"
	case strings.Contains(ua, "CrOS"):
		return "ChromeOS"
	case strings.Contains(ua, "Linux"), strings.Contains(ua, "X11"):
		return "Linux"
	}
	return ""
}
