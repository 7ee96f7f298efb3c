//go:build race

package accounts_test

// raceDetector is true under -race, which slows the flood and race simulations tenfold.
const raceDetector = true
