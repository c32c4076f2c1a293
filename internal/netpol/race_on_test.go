//go:build race

package netpol_test

// raceEnabled trims the differential test under the race detector, which slows it tenfold.
const raceEnabled = true
