package main

import (
	"reflect"
	"testing"
)

func TestParseArgsSplitsBinariesFromTheLoadToolsArguments(t *testing.T) {
	bins, rest, err := parseArgs([]string{"old=/tmp/a", "new=/tmp/b", "--", "-runs=8000", "-clients=16"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []binary{{"old", "/tmp/a"}, {"new", "/tmp/b"}}; !reflect.DeepEqual(bins, want) {
		t.Fatalf("binaries %v, want %v", bins, want)
	}
	if want := []string{"-runs=8000", "-clients=16"}; !reflect.DeepEqual(rest, want) {
		t.Fatalf("load tool arguments %v, want %v", rest, want)
	}
	for _, bad := range [][]string{{}, {"--", "-runs=1"}, {"/tmp/a"}, {"=x"}, {"x="}} {
		if _, _, err := parseArgs(bad); err == nil {
			t.Errorf("parseArgs(%q) accepted", bad)
		}
	}
}

func TestResultFieldsReadsTheLastResultLine(t *testing.T) {
	out := []byte("startup 22ms\nRESULT runs_per_s=1 completed=2\nnoise\nRESULT runs_per_s=5165 node_us=194 completed=4000 failed=0\n")
	f, err := resultFields(out)
	if err != nil {
		t.Fatal(err)
	}
	if f["runs_per_s"] != "5165" || f["completed"] != "4000" {
		t.Fatalf("fields %v", f)
	}
	if _, err := resultFields([]byte("runs bench: no listening line\n")); err == nil {
		t.Fatal("output without a RESULT line accepted")
	}
}

func TestMedianOfAnOddAndAnEvenCount(t *testing.T) {
	rate := func(r result) float64 { return r.runsPerS }
	if m := median([]result{{3, 0}, {1, 0}, {2, 0}}, rate); m != 2 {
		t.Fatalf("median of 1,2,3 = %v", m)
	}
	if m := median([]result{{4, 0}, {1, 0}, {3, 0}, {2, 0}}, rate); m != 2 {
		t.Fatalf("lower median of 1,2,3,4 = %v", m)
	}
}
