# TL_COMPRESSION(OPTION, PKG-MODULE, VARIABLE-PREFIX, FORMAT)
# A compression library tcplens can read captures with (src/decompress.c):
# found with pkg-config, optional. --without-OPTION leaves it out on
# purpose, --with-OPTION makes its absence an error. Defines HAVE_PREFIX
# and substitutes PREFIX_CFLAGS and PREFIX_LIBS (empty when left out).
AC_DEFUN([TL_COMPRESSION], [
  AC_ARG_WITH([$1],
    [AS_HELP_STRING([--without-$1], [do not read $4-compressed captures ($2, found with pkg-config, by default)])],
    [], [with_$1=auto])
  tl_have_$1=no
  AS_IF([test "x$with_$1" != xno], [
    PKG_CHECK_MODULES([$3], [$2], [tl_have_$1=yes], [
      AS_IF([test "x$with_$1" = xyes], [AC_MSG_ERROR([--with-$1: $2 not found])])
      AC_MSG_WARN([$2 not found: this tcplens will not read $4-compressed captures])
    ])
  ], [$3_CFLAGS=""; $3_LIBS=""])
  AS_IF([test "x$tl_have_$1" = xyes],
    [AC_DEFINE([HAVE_$3], [1], [Define to 1 to read $4-compressed captures with $2.])])
])
