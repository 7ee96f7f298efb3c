//go:build !unix

package password

import "time"

func processCPU() time.Duration { return 0 }
