//go:build race

package userimport_test

const raceEnabled = true
