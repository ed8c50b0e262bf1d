// libarchive (Debian's libarchive-dev): ZIP, RAR, 7z, tar and gzip listing and extraction for the unpacker.
#include <archive.h>
#include <archive_entry.h>
