//go:build !race

package accounts_test

const raceDetector = false
