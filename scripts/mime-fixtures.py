#!/usr/bin/env python3
"""Builds the binary archive fixtures of Tests/MIMETests/Fixtures (committed; rerun to refresh).

Python's zipfile, tarfile and gzip only, plus a small ZipCrypto (traditional PKWARE) encryptor,
so the fixtures are reproducible anywhere:

  encrypted-then-exe.zip  first entry encrypted, second entry a (tiny) PE executable
  bomb.zip                one entry of 64 MiB of zeros (ratio ~1000:1)
  nested.zip              zips nested 6 deep, a PE at the bottom (over the depth limit of 4)
  nested-ok.zip           zips nested 2 deep, a PE at the bottom
  macro.docm              OOXML with word/vbaProject.bin
  sample.tar.gz           tar.gz with a text file and an ELF header
  payload.exe.gz          a gzip stream of a PE
  encrypted-content.7z    7z, AES-256: secret.txt and invoice.exe encrypted, names readable
  encrypted-header.7z     7z, AES-256 with the header (entry names) encrypted too

The two 7z files need py7zr (PyPI: `pip install py7zr`), since neither Python nor libarchive can
write encrypted 7z; without it they are left as they are. Unencrypted 7z archives are made by the
tests themselves through libarchive's writer (Tests/MIMETests/SevenZipTests.swift). Nothing here
writes RAR: no RAR writer is available (RAR is a proprietary format; only WinRAR writes it).
"""
import gzip, io, os, struct, tarfile, zipfile, zlib, binascii

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "MIMETests", "Fixtures")
PE = b"MZ" + b"\x90" * 58 + struct.pack("<I", 64) + b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 200


def crc_update(crc, b):
    return binascii.crc32(bytes([b]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


class ZipCrypto:
    def __init__(self, password):
        self.k = [0x12345678, 0x23456789, 0x34567890]
        for c in password:
            self.update(c)

    def update(self, c):
        self.k[0] = crc_update(self.k[0], c)
        self.k[1] = (self.k[1] + (self.k[0] & 0xFF)) & 0xFFFFFFFF
        self.k[1] = (self.k[1] * 134775813 + 1) & 0xFFFFFFFF
        self.k[2] = crc_update(self.k[2], (self.k[1] >> 24) & 0xFF)

    def encrypt(self, data):
        out = bytearray()
        for c in data:
            t = (self.k[2] | 2) & 0xFFFF
            out.append(c ^ (((t * (t ^ 1)) >> 8) & 0xFF))
            self.update(c)
        return bytes(out)


def raw_zip(entries):
    """entries: (name, data, password or None); stored (no compression) entries."""
    body = io.BytesIO()
    central = []
    for name, data, password in entries:
        crc = zlib.crc32(data) & 0xFFFFFFFF
        payload, flags = data, 0
        if password:
            flags = 1
            z = ZipCrypto(password)
            header = bytes(range(11)) + bytes([crc >> 24])
            payload = z.encrypt(header + data)
        offset = body.tell()
        n = name.encode()
        body.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 0, 0, 0, crc, len(payload), len(data), len(n), 0) + n + payload)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, 0, 0, 0, crc, len(payload), len(data), len(n), 0, 0, 0, 0, 0, offset) + n)
    cd_offset = body.tell()
    cd = b"".join(central)
    body.write(cd)
    body.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), cd_offset, 0))
    return body.getvalue()


def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(HERE, exist_ok=True)
    write("encrypted-then-exe.zip", raw_zip([("secret.txt", b"the secret\n" * 10, b"infected"), ("invoice.exe", PE, None)]))
    write("bomb.zip", zip_bytes([("zeros.bin", b"\x00" * (64 * 1024 * 1024))]))
    inner = zip_bytes([("payload.exe", PE)])
    ok = zip_bytes([("level2.zip", inner)])
    write("nested-ok.zip", ok)
    deep = inner
    for level in range(5):
        deep = zip_bytes([("level%d.zip" % (level + 2), deep)])
    write("nested.zip", deep)
    write("macro.docm", zip_bytes([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>"), ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)]))
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w:gz", format=tarfile.USTAR_FORMAT) as t:
        for name, data in [("readme.txt", b"hello\n"), ("bin/tool", b"\x7fELF\x02\x01\x01" + b"\x00" * 100)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    write("sample.tar.gz", tbuf.getvalue())
    write("payload.exe.gz", gzip.compress(PE, mtime=0))
    seven_zip_encrypted()


def seven_zip_encrypted():
    try:
        import py7zr
    except ImportError:
        print("py7zr is not installed: the encrypted 7z fixtures are left as they are")
        return
    for name, header in [("encrypted-content.7z", False), ("encrypted-header.7z", True)]:
        buf = io.BytesIO()
        with py7zr.SevenZipFile(buf, "w", password="infected", header_encryption=header) as z:
            z.writestr(b"the secret\n" * 10, "secret.txt")
            z.writestr(PE, "invoice.exe")
        write(name, buf.getvalue())


if __name__ == "__main__":
    main()
