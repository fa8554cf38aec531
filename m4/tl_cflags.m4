# TL_CHECK_CFLAG(FLAG, VARIABLE)
# Append FLAG to VARIABLE when the C compiler accepts it with -Werror.
# CFLAGS belongs to the user: it is saved and restored around the probe only.
AC_DEFUN([TL_CHECK_CFLAG], [
  AC_MSG_CHECKING([whether $CC accepts $1])
  tl_save_CFLAGS="$CFLAGS"
  CFLAGS="$CFLAGS -Werror $1"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes]); $2="$$2 $1"],
    [AC_MSG_RESULT([no])])
  CFLAGS="$tl_save_CFLAGS"
])
