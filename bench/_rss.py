"""Run a command; print its wall time and the peak RSS of its process tree (children)."""

import resource
import subprocess
import sys
import time

start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
elapsed = time.perf_counter() - start
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stdout.write(proc.stdout)
sys.stderr.write(proc.stderr)
sys.stderr.write(f"\n__BENCH__ {elapsed:.4f} {rss_kb} {proc.returncode}\n")
sys.exit(proc.returncode)
