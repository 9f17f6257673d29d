# mto_deps.m4 — the project's own configure macros.
#
# MTO_FAIL_DEP(WHAT, DEBIAN-PACKAGE)
#   Stop configure with one line naming the missing dependency and the Debian
#   package that provides it.
AC_DEFUN([MTO_FAIL_DEP],
[AC_MSG_ERROR([missing dependency: $1 (Debian/Ubuntu: apt-get install $2)])])

# MTO_PKG_FIRST(VAR, MODULES..., [ACTION-IF-NOT-FOUND])
#   Try each pkg-config module name in turn (distributions spell Lua 5.4
#   differently); set VAR_CFLAGS/VAR_LIBS from the first that exists.
AC_DEFUN([MTO_PKG_FIRST],
[mto_pkg_found=no
for mto_mod in $2; do
  AS_IF([test "x$mto_pkg_found" = xno && $PKG_CONFIG --exists "$mto_mod" 2>/dev/null],
        [$1_CFLAGS=`$PKG_CONFIG --cflags "$mto_mod"`
         $1_LIBS=`$PKG_CONFIG --libs "$mto_mod"`
         $1_PKG=$mto_mod
         mto_pkg_found=yes])
done
AS_IF([test "x$mto_pkg_found" = xno], [$3])
AC_SUBST([$1_CFLAGS])
AC_SUBST([$1_LIBS])
])
