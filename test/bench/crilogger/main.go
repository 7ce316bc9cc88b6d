package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const loggerArg = "skiff-cri-logger"

// logger is one running log writer.
type logger struct {
	cmd        *exec.Cmd
	out, errW  *os.File
	started    time.Time
	readyAfter time.Duration
}

// start runs bin as a logger into a file under dir and waits until it is ready.
func start(bin, dir string, i int) (*logger, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	waitR, waitW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, loggerArg, filepath.Join(dir, fmt.Sprintf("c%d", i), "0.log"))
	cmd.Env = []string{"CONTAINER_ID=bench", "CONTAINER_NAMESPACE=bench"}
	cmd.ExtraFiles = []*os.File{outR, errR, waitW}
	cmd.Stderr = os.Stderr
	l := &logger{cmd: cmd, out: outW, errW: errW, started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	outR.Close()
	errR.Close()
	waitW.Close()
	defer waitR.Close()
	if b, err := io.ReadAll(waitR); err != nil || len(b) != 1 {
		return nil, fmt.Errorf("%s did not signal ready (%v)", bin, err)
	}
	l.readyAfter = time.Since(l.started)
	return l, nil
}

// stop writes a line, closes the streams and returns the run's rusage.
func (l *logger) stop() (*syscall.Rusage, error) {
	fmt.Fprintln(l.out, "bench line")
	l.out.Close()
	l.errW.Close()
	if err := l.cmd.Wait(); err != nil {
		return nil, err
	}
	return l.cmd.ProcessState.SysUsage().(*syscall.Rusage), nil
}

// rollup reads Rss and Pss (kB) of pid.
func rollup(pid int) (rss, pss int, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fs := strings.Fields(s.Text())
		if len(fs) < 2 {
			continue
		}
		v, _ := strconv.Atoi(fs[1])
		switch fs[0] {
		case "Rss:":
			rss = v
		case "Pss:":
			pss = v
		}
	}
	return rss, pss, s.Err()
}

func median[T int | int64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func run(bin string, n, k int) error {
	dir, err := os.MkdirTemp("", "crilogger-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fi, err := os.Stat(bin)
	if err != nil {
		return err
	}
	var ready, cpu []time.Duration
	var maxRSS []int64
	for i := 0; i < n; i++ {
		l, err := start(bin, dir, i)
		if err != nil {
			return err
		}
		ru, err := l.stop()
		if err != nil {
			return err
		}
		ready = append(ready, l.readyAfter)
		cpu = append(cpu, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()))
		maxRSS = append(maxRSS, ru.Maxrss) // kB on Linux
	}
	var running []*logger
	defer func() {
		for _, l := range running {
			l.stop()
		}
	}()
	for i := 0; i < k; i++ {
		l, err := start(bin, dir, n+i)
		if err != nil {
			return err
		}
		running = append(running, l)
	}
	var rss, pss []int
	for _, l := range running {
		r, p, err := rollup(l.cmd.Process.Pid)
		if err != nil {
			return err
		}
		rss, pss = append(rss, r), append(pss, p)
	}
	fmt.Printf("%s (%.1f MB file)\n", bin, float64(fi.Size())/1e6)
	fmt.Printf("  %d starts one by one: to ready median %v (max %v), CPU median %v, peak RSS median %.1f MB\n",
		n, median(ready).Round(100*time.Microsecond), slices.Max(ready).Round(100*time.Microsecond),
		median(cpu).Round(100*time.Microsecond), float64(median(maxRSS))/1024)
	sumPSS := 0
	for _, p := range pss {
		sumPSS += p
	}
	fmt.Printf("  %d running at once: RSS median %.1f MB each, PSS median %.1f MB each, PSS total %.1f MB\n",
		k, float64(median(rss))/1024, float64(median(pss))/1024, float64(sumPSS)/1024)
	return nil
}

func main() {
	n := flag.Int("n", 20, "starts, one after another, per binary")
	k := flag.Int("k", 30, "loggers running at once, per binary")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: crilogger [-n N] [-k K] BINARY...")
		os.Exit(2)
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average: %s", b)
	}
	for _, bin := range flag.Args() {
		if err := run(bin, *n, *k); err != nil {
			fmt.Fprintln(os.Stderr, bin+":", err)
			os.Exit(1)
		}
	}
}
