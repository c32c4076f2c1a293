//go:build !race

package netpol_test

const raceEnabled = false
