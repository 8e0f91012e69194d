//go:build !unix

package flow

func isQuota(error) bool { return false }
