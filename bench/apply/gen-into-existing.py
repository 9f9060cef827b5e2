#!/usr/bin/env python3
# A lower layer of 1000 directories and an upper layer of N empty files written into them
# (bench/RESULTS.md: the names apply keeps for opaque markers). Usage: gen-into-existing.py N
import tarfile, sys, io
n=int(sys.argv[1]); dirs=1000
low=tarfile.open('/dev/shm/into-lower.tar','w',format=tarfile.PAX_FORMAT)
for d in range(dirs):
    ti=tarfile.TarInfo(f'dir{d:04d}'); ti.type=tarfile.DIRTYPE; ti.mode=0o755; ti.mtime=1000; low.addfile(ti)
low.close()
up=tarfile.open('/dev/shm/into-upper.tar','w',format=tarfile.PAX_FORMAT)
for i in range(n):
    ti=tarfile.TarInfo(f'dir{i%dirs:04d}/some-longer-file-name-{i:08d}.txt'); ti.size=0; ti.mode=0o644; ti.mtime=2000; up.addfile(ti)
up.close()
