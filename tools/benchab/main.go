// Command benchab compares flowweaver binaries from outside, the way
// docs/benchmarks.md does on a shared 2-core machine: it runs the shared
// `runs` load tool against each binary in turn, round after round (A B A B
// ...), so that the machine's noise hits all of them alike, and prints
// each round and the medians of runs per second and of the server's CPU
// per run (measured by tools/cpuwrap around `serve`).
//
//	go build -o /tmp/cpuwrap ./tools/cpuwrap
//	go run ./tools/benchab -runs-tool /path/to/runs -cpuwrap /tmp/cpuwrap -rounds 8 \
//	    old=/tmp/fw-old new=/tmp/fw-new -- -runs=8000 -clients=16
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

func main() {
	runsTool := flag.String("runs-tool", "", "the shared runs load tool (built from its fanout/runs checkout)")
	cpuwrap := flag.String("cpuwrap", "", "tools/cpuwrap, built")
	rounds := flag.Int("rounds", 6, "rounds; each runs every binary once")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: benchab -runs-tool PATH -cpuwrap PATH [-rounds N] NAME=BINARY... [-- RUNS-ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	bins, toolArgs, err := parseArgs(flag.Args())
	if err != nil || *runsTool == "" || *cpuwrap == "" {
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchab:", err)
		}
		flag.Usage()
		os.Exit(2)
	}
	tmp, err := os.MkdirTemp("", "benchab")
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchab:", err)
		os.Exit(1)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	results := map[string][]result{}
	for r := 1; r <= *rounds; r++ {
		for _, b := range bins {
			res, err := runOnce(*runsTool, *cpuwrap, b.path, filepath.Join(tmp, "cpu.log"), toolArgs)
			if err != nil {
				fmt.Fprintf(os.Stderr, "benchab: round %d, %s: %v\n", r, b.name, err)
				os.Exit(1)
			}
			fmt.Printf("round %d %-8s %6.0f runs/s %6.0f µs CPU per run\n", r, b.name, res.runsPerS, res.cpuPerRunUs)
			results[b.name] = append(results[b.name], res)
		}
	}
	for _, b := range bins {
		rs := results[b.name]
		fmt.Printf("%-8s median %6.0f runs/s %v, %4.0f µs CPU per run %v\n", b.name,
			median(rs, func(r result) float64 { return r.runsPerS }), sorted(rs, func(r result) float64 { return r.runsPerS }),
			median(rs, func(r result) float64 { return r.cpuPerRunUs }), sorted(rs, func(r result) float64 { return r.cpuPerRunUs }))
	}
}

type binary struct{ name, path string }

type result struct{ runsPerS, cpuPerRunUs float64 }

// parseArgs splits NAME=BINARY pairs from the load tool's arguments after "--".
func parseArgs(args []string) ([]binary, []string, error) {
	var bins []binary
	for i, a := range args {
		if a == "--" {
			return bins, args[i+1:], checkBins(bins)
		}
		name, path, ok := strings.Cut(a, "=")
		if !ok || name == "" || path == "" {
			return nil, nil, fmt.Errorf("%q is not NAME=BINARY", a)
		}
		bins = append(bins, binary{name, path})
	}
	return bins, nil, checkBins(bins)
}

func checkBins(bins []binary) error {
	if len(bins) == 0 {
		return errors.New("no binary to measure")
	}
	return nil
}

// runOnce runs the load tool once against bin through cpuwrap and reads
// its RESULT line and the server's CPU seconds.
func runOnce(tool, wrap, bin, cpuLog string, toolArgs []string) (result, error) {
	if err := os.WriteFile(cpuLog, nil, 0o600); err != nil {
		return result{}, err
	}
	cmd := exec.Command(tool, append([]string{"-fw-bin", wrap}, toolArgs...)...)
	cmd.Env = append(os.Environ(), "REAL="+bin, "CPULOG="+cpuLog)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("load tool: %w", err)
	}
	fields, err := resultFields(out)
	if err != nil {
		return result{}, err
	}
	logged, err := os.ReadFile(cpuLog)
	if err != nil {
		return result{}, err
	}
	cpu, err := strconv.ParseFloat(strings.TrimSpace(string(logged)), 64)
	if err != nil {
		return result{}, fmt.Errorf("CPU log %q: %w", logged, err)
	}
	rate, err1 := strconv.ParseFloat(fields["runs_per_s"], 64)
	done, err2 := strconv.ParseFloat(fields["completed"], 64)
	if err := errors.Join(err1, err2); err != nil || done == 0 {
		return result{}, fmt.Errorf("RESULT line without runs_per_s and completed: %v", fields)
	}
	return result{runsPerS: rate, cpuPerRunUs: cpu * 1e6 / done}, nil
}

// resultFields parses the load tool's last "RESULT k=v ..." line.
func resultFields(out []byte) (map[string]string, error) {
	var line string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "RESULT ") {
			line = sc.Text()
		}
	}
	if line == "" {
		return nil, fmt.Errorf("no RESULT line in %q", out)
	}
	fields := map[string]string{}
	for _, f := range strings.Fields(line)[1:] {
		if k, v, ok := strings.Cut(f, "="); ok {
			fields[k] = v
		}
	}
	return fields, nil
}

func sorted(rs []result, f func(result) float64) []float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	for i := range v {
		v[i] = float64(int64(v[i] + 0.5))
	}
	return v
}

func median(rs []result, f func(result) float64) float64 {
	v := sorted(rs, f)
	if len(v) == 0 {
		return 0
	}
	return v[(len(v)-1)/2]
}
