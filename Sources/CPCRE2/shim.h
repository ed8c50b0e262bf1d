// PCRE2 (Debian's libpcre2-dev), 8-bit code units: the regular-expression engine of the rule matcher.
// PCRE2_CODE_UNIT_WIDTH must be set before pcre2.h. The API's names are macros that paste the
// width onto the function names (pcre2_compile -> pcre2_compile_8), which Swift does not import,
// so the Swift side calls the _8 names directly.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
