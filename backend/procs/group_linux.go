package procs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Identify returns the group of a child started by Start: its pid (the
// group id), its start time and the boot id. Call it right after Start,
// while the child cannot have been reaped.
func Identify(pid int) (Group, error) {
	st, err := readStat(pid)
	if err != nil {
		return Group{}, err
	}
	boot, err := bootID()
	if err != nil {
		return Group{}, err
	}
	return Group{Pgid: pid, StartTicks: st.start, BootID: boot}, nil
}

// KillGroup sends SIGKILL to a live group this process started.
func KillGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// Kill kills whatever is left of g and waits (up to 10 s) until none of
// it is left; zombies count as gone. It returns how many processes were
// still there. A group of another boot is gone by definition; a leader pid
// that now belongs to a younger process means the id was recycled, and
// only processes that started no earlier than g's leader are counted as
// members (the kernel does not reuse a group id while any member lives,
// so such members are g's).
func Kill(g Group) (int, error) {
	if g.Pgid <= 1 {
		return 0, fmt.Errorf("procs: refusing to kill process group %d", g.Pgid)
	}
	boot, err := bootID()
	if err != nil {
		return 0, err
	}
	if g.BootID != boot {
		return 0, nil
	}
	members, err := groupMembers(g)
	if err != nil || len(members) == 0 {
		return 0, err
	}
	_ = syscall.Kill(-g.Pgid, syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := groupMembers(g)
		if err != nil {
			return len(members), err
		}
		if len(left) == 0 {
			return len(members), nil
		}
		if time.Now().After(deadline) {
			return len(members), fmt.Errorf("procs: %d processes of group %d survived SIGKILL", len(left), g.Pgid)
		}
		_ = syscall.Kill(-g.Pgid, syscall.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
}

// groupMembers lists the live (non-zombie) members of g.
func groupMembers(g Group) ([]int, error) {
	if leader, err := readStat(g.Pgid); err == nil && leader.start != g.StartTicks {
		return nil, nil // the id belongs to another process now: g is gone
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("procs: list processes: %w", err)
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.pgrp != g.Pgid || st.state == 'Z' || st.state == 'X' || st.start < g.StartTicks {
			continue
		}
		out = append(out, pid)
	}
	return out, nil
}

// Alive reports whether any process of g is still running (for tests and
// diagnostics).
func Alive(g Group) bool {
	m, err := groupMembers(g)
	return err == nil && len(m) > 0
}

type stat struct {
	state byte
	pgrp  int
	start uint64
}

// readStat parses /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, errors.New("procs: malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), f[2] field 5 (pgrp), f[19] field 22 (starttime).
	if len(f) < 20 || len(f[0]) == 0 {
		return stat{}, errors.New("procs: short stat")
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return stat{}, fmt.Errorf("procs: stat pgrp: %w", err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("procs: stat starttime: %w", err)
	}
	return stat{state: f[0][0], pgrp: pgrp, start: start}, nil
}

func bootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("procs: read boot id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
