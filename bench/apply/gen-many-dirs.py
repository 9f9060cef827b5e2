#!/usr/bin/env python3
# A layer of N small files, each in a directory of its own (d{i%997}/e{(i//997)%101}), directories
# listed before their files; PAX tar. For the apply measurements in bench/RESULTS.md "Apply":
#   python3 bench/apply/gen-many-dirs.py 100000 /dev/shm/big100k.tar && layerkit apply /dev/shm/big100k.tar --to DIR
# Order: by default file i comes after file i-1, so consecutive files land in different directories
# (a worst case for any per-directory cache); with a third argument `tree`, in tree order (every
# directory's files together, as tar, docker and layerkit write layers).
import tarfile, io, sys
n = int(sys.argv[1]); out = sys.argv[2]
tree = len(sys.argv) > 3 and sys.argv[3] == 'tree'

def order():
    if not tree:
        yield from range(n)
        return
    for d in range(997):
        for e in range(101):
            k = 0
            while True:
                i = d + 997 * (e + 101 * k)
                if i >= n:
                    break
                yield i
                k += 1

with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT) as t:
    dirs = set()
    for i in order():
        d = 'd%03d/e%03d' % (i % 997, (i // 997) % 101)
        parts = d.split('/')
        for k in range(1, len(parts)+1):
            p = '/'.join(parts[:k])
            if p not in dirs:
                dirs.add(p)
                ti = tarfile.TarInfo(p); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; ti.mtime = 1700000000
                t.addfile(ti)
        data = b'x' * (i % 50)
        ti = tarfile.TarInfo('%s/f%07d' % (d, i)); ti.size = len(data); ti.mode = 0o644; ti.mtime = 1700000000
        t.addfile(ti, io.BytesIO(data))
