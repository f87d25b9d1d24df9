// Four C functions that Debian's arm64 Swift runtime (built against glibc 2.41) calls and that
// glibc 2.36, Debian 12's, lacks: linked into the release binary only, so that it runs on Debian
// 12 and later (README.md beside this file). Where glibc has them the binary still uses these.
//
// glibc 2.38 routes strtol, strtoll and sscanf to C23 variants whose only difference is that they
// also read a "0b" binary prefix; the runtime reads decimal numbers with them (environment
// variables, /proc), so the pre-C23 functions serve. strlcpy is the BSD function.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long __isoc23_strtol(const char *text, char **end, int base) { return strtol(text, end, base); }

long long __isoc23_strtoll(const char *text, char **end, int base) { return strtoll(text, end, base); }

int __isoc23_sscanf(const char *text, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    int result = vsscanf(text, format, arguments);
    va_end(arguments);
    return result;
}

size_t strlcpy(char *restrict destination, const char *restrict source, size_t size) {
    size_t length = strlen(source);
    if (size > 0) {
        size_t copied = length < size - 1 ? length : size - 1;
        memcpy(destination, source, copied);
        destination[copied] = '\0';
    }
    return length;
}
