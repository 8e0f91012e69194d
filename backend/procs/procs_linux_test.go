package procs

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain doubles as the helper "server": with PROCS_HELPER set, the test
// binary starts a shell through Start (from a goroutine that then ends its
// OS thread, the golang/go#27505 pitfall), prints the group and the pids,
// and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("PROCS_HELPER") == "1" {
		helper()
		return
	}
	goleak.VerifyTestMain(m)
}

// helperGroups is how many groups the helper starts, each from its own
// goroutine that ends while locked to its thread. At most one of them can
// have run on the main thread, which Go never ends, so with the pitfall
// at least three children would die.
const helperGroups = 4

func helper() {
	type result struct {
		p   *Proc
		err error
	}
	res := make(chan result)
	for i := 0; i < helperGroups; i++ {
		go func() {
			// This goroutine ends while locked: Go terminates its thread. A
			// child forked on this thread would get its parent-death signal.
			runtime.LockOSThread()
			cmd := exec.Command("/bin/sh", "-c", `sleep 1000 >/dev/null & echo "child $$ grandchild $!"; wait`)
			cmd.Stdout = os.Stdout
			p, err := Start(cmd)
			res <- result{p, err}
		}()
	}
	for i := 0; i < helperGroups; i++ {
		r := <-res
		if r.err != nil {
			fmt.Println("error", r.err)
			os.Exit(1)
		}
		g, err := Identify(r.p.Pid())
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("group %d %d %s\n", g.Pgid, g.StartTicks, g.BootID)
	}
	time.Sleep(time.Hour)
}

func alive(pid int) bool {
	st, err := readStat(pid)
	return err == nil && st.state != 'Z' && st.state != 'X'
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill -9 of the process that started the group: the direct child dies at
// once (parent-death signal), even though the goroutine that asked for it
// ended its thread long before; the grandchild is left in the group until
// Kill, which finds it by group id and start time and kills it.
func TestChildDiesWithParentAndKillFindsTheRest(t *testing.T) {
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "PROCS_HELPER=1")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Process.Kill() //nolint:errcheck
	// A helper that prints nothing (its children died early) must not
	// hang the test: it is killed after a generous guard, which ends the scan.
	guard := time.AfterFunc(60*time.Second, func() { _ = helper.Process.Kill() })
	defer guard.Stop()
	sc := bufio.NewScanner(out)
	var children, grandchildren []int
	var groups []Group
	defer func() {
		for _, g := range groups {
			_, _ = Kill(g) // nothing of a failed test keeps running
		}
	}()
	for (len(children) < helperGroups || len(groups) < helperGroups) && sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 4 && f[0] == "child":
			c, _ := strconv.Atoi(f[1])
			gc, _ := strconv.Atoi(f[3])
			children, grandchildren = append(children, c), append(grandchildren, gc)
		case len(f) == 4 && f[0] == "group":
			var g Group
			g.Pgid, _ = strconv.Atoi(f[1])
			g.StartTicks, _ = strconv.ParseUint(f[2], 10, 64)
			g.BootID = f[3]
			groups = append(groups, g)
		case len(f) > 0 && f[0] == "error":
			t.Fatal(sc.Text())
		}
	}
	if len(children) != helperGroups || len(groups) != helperGroups {
		t.Fatalf("helper printed children %v, groups %+v", children, groups)
	}
	// The threads that ended did not take the children with them.
	time.Sleep(300 * time.Millisecond)
	for i, c := range children {
		if !alive(c) {
			t.Fatalf("child %d died while its parent lives: the parent-death signal fired on a thread exit", c)
		}
		if !Alive(groups[i]) && !Alive(groups[(i+1)%helperGroups]) {
			t.Fatal("Alive says the groups are gone")
		}
	}

	_ = helper.Process.Signal(syscall.SIGKILL)
	_ = helper.Wait()
	for _, c := range children {
		waitFor(t, "the direct children to die with their parent", func() bool { return !alive(c) })
	}
	for _, gc := range grandchildren {
		if !alive(gc) {
			t.Fatal("a grandchild is gone already; the test no longer shows what Kill is for")
		}
	}
	for _, g := range groups {
		n, err := Kill(g)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || Alive(g) {
			t.Fatalf("Kill(%+v) killed %d", g, n)
		}
		// Nothing left: a second Kill is a no-op.
		if n, err := Kill(g); n != 0 || err != nil {
			t.Fatalf("second Kill: %d, %v", n, err)
		}
	}
	for _, gc := range grandchildren {
		if alive(gc) {
			t.Fatalf("grandchild %d survived Kill", gc)
		}
	}
}

// A recorded group whose leader pid now belongs to a younger process, or
// that belongs to another boot, is never touched.
func TestKillSparesRecycledAndOtherBoot(t *testing.T) {
	cmd := exec.Command("sleep", "1000")
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { KillGroup(p.Pid()); _ = p.Wait() }()
	g, err := Identify(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	older := g
	older.StartTicks-- // what we recorded was an older process with this pid
	if n, err := Kill(older); n != 0 || err != nil || !alive(p.Pid()) {
		t.Fatalf("recycled pid: killed %d (%v), alive %v", n, err, alive(p.Pid()))
	}
	other := g
	other.BootID = "another-boot"
	if n, err := Kill(other); n != 0 || err != nil || !alive(p.Pid()) {
		t.Fatalf("other boot: killed %d (%v)", n, err)
	}
	if _, err := Kill(Group{Pgid: 1}); err == nil {
		t.Fatal("Kill of group 1 was not refused")
	}
	// The real record kills it.
	if n, err := Kill(g); n != 1 || err != nil {
		t.Fatalf("Kill: %d, %v", n, err)
	}
}
