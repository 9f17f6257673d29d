# mto_mpi.m4 — optional MPI (Open MPI) for sharded sweeps and data-parallel
# training. Only the Lua binding and the CLI link it (lua/mpi.am); libmto
# itself never does, so a library user pays nothing for it.
#
# MTO_CHECK_MPI
#   --with-mpi=auto (default): use MPI when pkg-config ompi-c / mpich or mpicc is found.
#   --with-mpi=yes: require it (one error line naming the Debian packages).
#   --without-mpi: never.
#   Sets MPI_CFLAGS, MPI_LIBS, MPIRUN (for the tests), defines MTO_HAVE_MPI and
#   the automake conditional MTO_MPI.
AC_DEFUN([MTO_CHECK_MPI],
[AC_ARG_WITH([mpi],
  [AS_HELP_STRING([--with-mpi@<:@=yes|no|auto@:>@],
                  [MPI for sharded sweeps and data-parallel training (Open MPI) @<:@auto@:>@])],
  [], [with_mpi=auto])
mto_have_mpi=no
AS_IF([test "x$with_mpi" != xno], [
  MTO_PKG_FIRST([MPI], [ompi-c ompi mpich], [
    dnl no .pc file: ask the compiler wrapper (Open MPI: --showme, MPICH: -compile-info)
    AC_PATH_PROGS([MPICC], [mpicc], [])
    AS_IF([test -n "$MPICC" && $MPICC --showme:compile >/dev/null 2>&1],
          [MPI_CFLAGS=`$MPICC --showme:compile`; MPI_LIBS=`$MPICC --showme:link`; MPI_PKG=mpicc],
          [MPI_CFLAGS= ; MPI_LIBS= ])])
  mto_save_CPPFLAGS=$CPPFLAGS; mto_save_LIBS=$LIBS
  CPPFLAGS="$CPPFLAGS $MPI_CFLAGS"; LIBS="$MPI_LIBS $LIBS"
  AC_MSG_CHECKING([for MPI_Init_thread])
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <mpi.h>]],
    [[int p; return MPI_Init_thread(0, 0, MPI_THREAD_FUNNELED, &p);]])],
    [mto_have_mpi=yes], [mto_have_mpi=no])
  AC_MSG_RESULT([$mto_have_mpi])
  CPPFLAGS=$mto_save_CPPFLAGS; LIBS=$mto_save_LIBS])
AS_IF([test "x$with_mpi" = xyes && test "x$mto_have_mpi" = xno],
      [MTO_FAIL_DEP([MPI for --with-mpi (mpi.h, MPI_Init_thread via pkg-config ompi-c or mpicc)], [libopenmpi-dev openmpi-bin])])
AS_IF([test "x$mto_have_mpi" = xyes],
      [AC_DEFINE([MTO_HAVE_MPI], [1], [Define to 1 when the Lua binding and CLI are built with MPI.])
       AC_PATH_PROGS([MPIRUN], [mpirun mpiexec], [])],
      [MPI_CFLAGS= ; MPI_LIBS= ; MPIRUN= ])
AM_CONDITIONAL([MTO_MPI], [test "x$mto_have_mpi" = xyes])
AC_SUBST([MPI_CFLAGS])
AC_SUBST([MPI_LIBS])
AC_SUBST([MPIRUN])
])
