"""Build the pose2rot Blender extension: ``python build.py`` -> ``dist/pose2rot-<version>.zip``.

Steps: (1) ``pip wheel --no-deps`` builds the pure-Python ``pose2rot_core`` wheel into ``wheels/``
(numpy is not bundled: Blender ships it); (2) a temporary folder is staged with
``blender_manifest.toml``, the contents of ``pose2rot_blender/`` and ``wheels/``; (3) Blender's own
extension tool builds the zip and validates it. The tool is ``blender --command extension`` when a
``blender`` binary is on PATH (or given with ``--blender``), else the bl_pkg command-line script that
ships inside the ``bpy`` module of the running interpreter (run this script with a bpy venv's python).
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = ROOT / "pose2rot_blender"
MANIFEST = ROOT / "blender_manifest.toml"


def read_manifest() -> dict:
    with open(MANIFEST, "rb") as fh:
        return tomllib.load(fh)


def core_version() -> str:
    with open(ROOT / "core" / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]["version"]


def build_core_wheel(python: str) -> Path:
    """Build the pose2rot_core wheel into wheels/ and return its path. The setuptools build folder
    is removed first: pip reuses it, and a module deleted from the sources would come back."""
    wheels = ROOT / "wheels"
    wheels.mkdir(exist_ok=True)
    for old in wheels.glob("pose2rot_core-*.whl"):
        old.unlink()
    shutil.rmtree(ROOT / "core" / "build", ignore_errors=True)
    subprocess.run([python, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT / "core")],
                   check=True, cwd=ROOT)
    built = sorted(wheels.glob("pose2rot_core-*.whl"))
    if len(built) != 1:
        sys.exit(f"build.py: expected one pose2rot_core wheel in {wheels}, found {[p.name for p in built]}")
    return built[0]


def extension_tool(blender: str | None) -> list[str]:
    """Command prefix that runs Blender's extension tool (``... build``/``... validate`` follow)."""
    blender = blender or shutil.which("blender")
    if blender:
        return [blender, "--factory-startup", "--command", "extension"]
    spec = importlib.util.find_spec("bpy")
    if spec is None or spec.origin is None:
        sys.exit("build.py: no 'blender' on PATH and no bpy module in this Python; "
                 "run it with a bpy venv's python (pip install 'bpy==4.2.*') or pass --blender PATH")
    found = sorted(glob.glob(os.path.join(os.path.dirname(spec.origin), "*", "scripts", "addons_core",
                                          "bl_pkg", "cli", "blender_ext.py")))
    if not found:
        sys.exit(f"build.py: Blender's extension tool (bl_pkg/cli/blender_ext.py) not found under "
                 f"{os.path.dirname(spec.origin)}")
    return [sys.executable, found[-1]]


def stage(folder: Path) -> None:
    """Copy the manifest, the add-on package and the wheels into ``folder``."""
    shutil.copy2(MANIFEST, folder / MANIFEST.name)
    for item in PACKAGE_DIR.iterdir():
        if item.name == "__pycache__":
            continue
        if item.is_dir():
            shutil.copytree(item, folder / item.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(item, folder / item.name)
    shutil.copytree(ROOT / "wheels", folder / "wheels")


def install_into_running_blender() -> Path:
    """Install and enable ``dist/pose2rot-*.zip`` (built first when there is none) in the Blender of
    this process (the ``bpy`` module), for scripts such as the demo and the benchmark."""
    import bpy

    zips = sorted((ROOT / "dist").glob("pose2rot-*.zip"))
    if not zips:
        subprocess.run([sys.executable, str(ROOT / "build.py")], check=True, cwd=ROOT)
        zips = sorted((ROOT / "dist").glob("pose2rot-*.zip"))
    bpy.ops.extensions.package_install_files(filepath=str(zips[-1]), repo="user_default", enable_on_install=True)
    return zips[-1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blender", help="path to a blender binary (default: 'blender' on PATH, else the bpy module)")
    ap.add_argument("--out-dir", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    args = ap.parse_args(argv)

    manifest = read_manifest()
    version = core_version()
    if manifest["version"] != version:
        sys.exit(f"build.py: blender_manifest.toml version {manifest['version']} != pyproject version {version}")
    wheel = build_core_wheel(sys.executable)
    listed = [Path(w).name for w in manifest.get("wheels", [])]
    if wheel.name not in listed:
        sys.exit(f"build.py: built {wheel.name} but blender_manifest.toml lists {listed}")

    tool = extension_tool(args.blender)
    out_dir = Path(args.out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)     # Blender's builder does not create it
    zip_path = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    if zip_path.exists():
        zip_path.unlink()
    with tempfile.TemporaryDirectory(prefix="pose2rot_ext_") as tmp:
        src = Path(tmp) / manifest["id"]
        src.mkdir()
        stage(src)
        subprocess.run(tool + ["build", "--source-dir", str(src), "--output-filepath", str(zip_path)], check=True)
    subprocess.run(tool + ["validate", str(zip_path)], check=True)
    print(f"built {zip_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
