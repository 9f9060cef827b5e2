#!/usr/bin/env python3
# A layer of N small files, each in a directory of its own (d{i%997}/e{(i//997)%101}), directories
# listed before their files; PAX tar. For the directory-lookup measurement in bench/RESULTS.md "Apply":
#   python3 bench/apply/gen-many-dirs.py 100000 /dev/shm/big100k.tar && layerkit apply /dev/shm/big100k.tar --to DIR
import tarfile, io, sys
n = int(sys.argv[1]); out = sys.argv[2]
with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT) as t:
    dirs = set()
    for i in range(n):
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
