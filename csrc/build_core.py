"""cffi (API mode) builder for ``hoody_claims._hoody_core``.

Used by setup.py through ``cffi_modules``. To rebuild in place while
developing: ``python setup.py build_ext --inplace`` (or ``pip install -e .``).
Running this file compiles into ``build/cffi/`` only, to check the build.

The declarations come from the marked block of ``hoody_core.h`` so the header
stays the single source of truth; cffi then checks them against the real
header when it compiles the glue.
"""

from __future__ import annotations

import os
import re

from cffi import FFI

_HERE = os.path.dirname(os.path.abspath(__file__))


def _rel(path: str) -> str:
    # setuptools wants sources relative to the project root it runs from.
    try:
        return os.path.relpath(path)
    except ValueError:  # different drive (Windows)
        return path


def _cdef() -> str:
    with open(os.path.join(_HERE, "hoody_core.h"), encoding="utf-8") as fh:
        header = fh.read()
    match = re.search(r"/\* HC_CDEF_BEGIN \*/(.*)/\* HC_CDEF_END \*/", header, re.S)
    if match is None:
        raise RuntimeError("hoody_core.h lost its HC_CDEF_BEGIN/END markers")
    return match.group(1)


# hoody_core.c is held to -Werror; cffi's generated glue is built by the
# same compiler call, and it is clean under these flags with gcc and clang.
_CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread"]
if os.environ.get("HOODY_CORE_DEBUG"):
    _CFLAGS += ["-O0", "-g"]

ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "hoody_claims._hoody_core",
    '#include "hoody_core.h"\n',
    sources=[_rel(os.path.join(_HERE, "hoody_core.c"))],
    include_dirs=[_rel(_HERE)],
    depends=[_rel(os.path.join(_HERE, "hoody_core.h"))],
    extra_compile_args=_CFLAGS,
    extra_link_args=["-pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=os.path.join(_HERE, os.pardir, "build", "cffi"), verbose=True)
