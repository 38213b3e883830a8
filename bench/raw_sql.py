"""The floor: the same query run directly on the org's SQLite file, N times; prints p50 and p99 in ms."""
import sqlite3, statistics, sys, time

db, sql, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
c.execute("PRAGMA mmap_size=1073741824")
for _ in range(3):
    c.execute(sql).fetchall()
times = []
for _ in range(n):
    t = time.perf_counter()
    c.execute(sql).fetchall()
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print("%.3f %.3f" % (statistics.median(times), times[int(len(times) * 0.99) - 1]))
