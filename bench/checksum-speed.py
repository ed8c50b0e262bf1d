#!/usr/bin/env python3
"""checksum-speed.py — XXH3-128 (Debian's libxxhash, the queue file checksum since format GHQ2) against
SHA-256 (format GHQ1) on 1 MiB of random bytes, in GB/s. Usage: bench/checksum-speed.py"""
import ctypes, time, hashlib, os
lib = ctypes.CDLL("libxxhash.so.0")
class H(ctypes.Structure): _fields_=[("low",ctypes.c_uint64),("high",ctypes.c_uint64)]
lib.XXH3_128bits.restype = H
lib.XXH3_128bits.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
data = os.urandom(1<<20); buf = ctypes.create_string_buffer(data, len(data))
n=2000; t=time.perf_counter()
for _ in range(n): lib.XXH3_128bits(buf, len(data))
dt=time.perf_counter()-t; print("XXH3-128: %.2f GB/s" % (n*len(data)/dt/1e9))
n=300; t=time.perf_counter()
for _ in range(n): hashlib.sha256(data).digest()
dt=time.perf_counter()-t; print("SHA-256 (hashlib/OpenSSL): %.2f GB/s" % (n*len(data)/dt/1e9))
