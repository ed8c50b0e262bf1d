// libxcrypt (Debian's libcrypt-dev): bcrypt ($2b$) password hashing for the local user store.
#include <crypt.h>
