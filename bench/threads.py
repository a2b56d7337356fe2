# Per-thread CPU share of a running process over an interval (BENCHMARKS.md, issue 15): python3 threads.py PID SECS
import os, sys, time, collections
pid, secs = sys.argv[1], float(sys.argv[2])
tick = os.sysconf('SC_CLK_TCK')
def snap():
    out = {}
    for t in os.listdir(f'/proc/{pid}/task'):
        try:
            s = open(f'/proc/{pid}/task/{t}/stat').read()
            name = s[s.index('(')+1:s.rindex(')')]
            f = s[s.rindex(')')+2:].split()
            out[t] = (name, int(f[11]) + int(f[12]))
        except Exception:
            pass
    return out
a = snap(); t0 = time.time(); time.sleep(secs); b = snap(); dt = time.time() - t0
rows = []
for t, (name, cpu) in b.items():
    prev = a.get(t, (name, cpu))[1]
    rows.append(((cpu - prev) / tick / dt, name, t))
rows.sort(reverse=True)
by = collections.defaultdict(float)
for share, name, _ in rows: by[name] += share
print('busiest threads:', ' '.join(f'{n}[{t}]={s:.2f}' for s, n, t in rows[:8]))
print('by name:', ' '.join(f'{n}={s:.2f}' for n, s in sorted(by.items(), key=lambda x: -x[1])[:10]))
