"""Generate the gRPC code under scheduler/rpc/ from protos/ (``make proto``).

protoc runs in a subprocess: grpc_tools must never share a process with ortools (importing
both aborts it). The output is committed; ``--check`` regenerates into a temporary folder
and fails when the committed code differs (``make test`` runs it).

Usage: python protos/generate.py [--check]
"""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
PACKAGE = Path("scheduler") / "rpc"
HEADER = '"""Generated from protos/ by protos/generate.py (make proto). Do not edit."""\n'


def generate(out: Path) -> None:
    sources = sorted(p.relative_to(PROTOS).as_posix() for p in PROTOS.rglob("*.proto"))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [
        sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}",
        f"--python_out={out}", f"--grpc_python_out={out}", f"--mypy_out={out}", f"--mypy_grpc_out={out}",
        *sources,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=PROTOS, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"protoc failed:\n{done.stderr}")
    packages = {parent for s in sources for parent in (out / s).parents if out / PACKAGE in (parent, *parent.parents)}
    for package in packages:
        (package / "__init__.py").write_text(HEADER)


def files(base: Path) -> dict[str, Path]:
    return {
        p.relative_to(base).as_posix(): p for p in (base / PACKAGE).rglob("*") if p.is_file() and p.suffix != ".pyc"
    }


def main() -> int:
    check = "--check" in sys.argv[1:]
    if not check:
        generate(ROOT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        new, old = files(fresh), {k: v for k, v in files(ROOT).items() if "__pycache__" not in k}
        stale = sorted(
            k
            for k in new.keys() | old.keys()
            if k not in new or k not in old or not filecmp.cmp(new[k], old[k], shallow=False)
        )
    if stale:
        print(f"scheduler/rpc is not what protos/ generates ({', '.join(stale)}): run make proto", file=sys.stderr)
        return 1
    print("scheduler/rpc matches protos/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
