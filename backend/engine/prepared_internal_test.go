package engine

import (
	"fmt"
	"testing"
)

// TestPreparedRunsAreTakenOnceAndBounded: a prepared run is handed to one
// worker only, a failed start drops it, and a backlog beyond the bound
// forgets some (they are read from the database instead).
func TestPreparedRunsAreTakenOnceAndBounded(t *testing.T) {
	var p preparedRuns
	r := &preparedRun{}
	p.put("a", r)
	if got := p.take("a"); got != r {
		t.Fatalf("take: %p, want %p", got, r)
	}
	if got := p.take("a"); got != nil {
		t.Fatal("a prepared run was taken twice")
	}
	p.put("b", r)
	p.drop("b")
	if p.take("b") != nil {
		t.Fatal("a dropped run was still prepared")
	}
	for i := 0; i < maxPreparedRuns+10; i++ {
		p.put(fmt.Sprint(i), &preparedRun{})
	}
	if n := len(p.m); n != maxPreparedRuns {
		t.Fatalf("%d prepared runs kept, want the bound %d", n, maxPreparedRuns)
	}
	if p.take(fmt.Sprint(maxPreparedRuns+9)) == nil {
		t.Fatal("the latest run was not kept")
	}
}
