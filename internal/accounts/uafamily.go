package accounts

import "strings"

// User-agent families, a signal of the adaptive MFA policy (docs/security.md "Second
// factors"). A family is deliberately coarse: the browser and the operating system, never
// versions, so that an update of the same browser is not new, while a sign-in from another
// browser or another kind of device is. The User-Agent header is the client's say-so: it
// only ever adds a reason to ask for a second factor, never removes one.

// uaScan is how much of a User-Agent is looked at: real ones fit, and a huge header costs
// no more than this.
const uaScan = 512

// uaBrowsers maps a token of the User-Agent to a browser family. Order matters: browsers
// built on Chromium or WebKit also name the engine they derive from (Edge says "Chrome/" and
// "Safari/"; Chrome on iOS says "Safari/"), so the more specific tokens come first.
var uaBrowsers = []struct{ token, family string }{
	{"Edg/", "edge"}, {"EdgA/", "edge"}, {"EdgiOS/", "edge"}, {"Edge/", "edge"},
	{"OPR/", "opera"}, {"OPiOS/", "opera"}, {"Opera", "opera"},
	{"SamsungBrowser/", "samsung"},
	{"Firefox/", "firefox"}, {"FxiOS/", "firefox"},
	{"CriOS/", "chrome"}, {"Chrome/", "chrome"}, {"Chromium/", "chrome"},
	{"Safari/", "safari"},
}

// uaSystems maps a token of the User-Agent to an operating-system family, in the same
// spirit (Android says "Linux", iPadOS and ChromeOS too in places).
var uaSystems = []struct{ token, family string }{
	{"iPhone", "ios"}, {"iPad", "ios"}, {"iPod", "ios"},
	{"Android", "android"},
	{"CrOS", "chromeos"},
	{"Windows", "windows"},
	{"Macintosh", "macos"}, {"Mac OS X", "macos"},
	{"Linux", "linux"}, {"X11", "linux"},
}

// UserAgentFamily returns the coarse family of a User-Agent header: "browser/os" (for
// example "chrome/windows", "firefox/linux", "safari/ios"), with "other" for a part it does
// not recognise, and just "other" when it recognises neither (an empty, garbage or
// non-browser header).
func UserAgentFamily(ua string) string {
	if len(ua) > uaScan {
		ua = ua[:uaScan]
	}
	browser, system := uaMatch(ua, uaBrowsers), uaMatch(ua, uaSystems)
	if browser == "other" && system == "other" {
		return "other"
	}
	return browser + "/" + system
}

func uaMatch(ua string, table []struct{ token, family string }) string {
	for _, e := range table {
		if strings.Contains(ua, e.token) {
			return e.family
		}
	}
	return "other"
}
