// xxHash (https://xxhash.com), Debian's libxxhash-dev: the queue file's checksum (XXH3-128).
#include <xxhash.h>
