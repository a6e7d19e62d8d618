"""Building the grading image (`cv3 image build`) and recording its digest.

Two ways, one result (an image with ``/opt/cv3/bin/python`` holding torch and torchvision):

* from the Dockerfile beside this file, with the base image as a build argument (a public
  Python or PyTorch CUDA image for a real course);
* ``offline`` for machines without a container registry: ``debootstrap`` a minimal Debian into a
  folder, create the venv inside it, install the wheels with the host's pip (which may use local
  wheel folders), and ``docker import`` the tree. Needs root and debootstrap.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from harness.sandbox.docker_backend import DEFAULT_IMAGE, IMAGE_PYTHON, docker_client

DOCKERFILE_DIR = Path(__file__).resolve().parent / "docker"
DEFAULT_TORCH_SPEC = "torch==2.14.1 torchvision==0.29.1"
SITE_PACKAGES = "/opt/cv3/lib/python3.11/site-packages"


class ImageBuildError(RuntimeError):
    pass


def extra_requirements() -> list[str]:
    """The union of every assignment's ``requirements`` (from the registry of manifests)."""
    from harness.manifest import list_assignments

    out: list[str] = []
    for a in list_assignments():
        out += [r for r in a.requirements if r not in out]
    return out


def _run(cmd: list[str], log: Callable[[str], None], **kw) -> None:
    log("$ " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise ImageBuildError(f"{cmd[0]} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def build_offline(tag: str, *, torch_spec: str, suite: str = "bookworm",
                  log: Callable[[str], None] = print) -> str:
    if not shutil.which("debootstrap"):
        raise ImageBuildError("offline builds need debootstrap: apt-get install debootstrap")
    client = docker_client()
    from harness.tmp import scratch_dir

    work = scratch_dir("rootfs")
    rootfs = work / "rootfs"
    try:
        t0 = time.perf_counter()
        _run(["debootstrap", "--variant=minbase", "--include=python3,ca-certificates", suite,
              str(rootfs)], log)
        log(f"  debootstrap: {time.perf_counter() - t0:.0f} s")
        _run(["chroot", str(rootfs), "python3", "-m", "venv", "--without-pip", "/opt/cv3"], log)
        version = subprocess.run(["chroot", str(rootfs), "python3", "-c",
                                  "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        site = f"/opt/cv3/lib/python{version}/site-packages"
        host = f"{sys.version_info[0]}.{sys.version_info[1]}"
        if version != host:
            raise ImageBuildError(f"the image's Python is {version} but the host's is {host}: "
                                  "wheels installed by the host's pip would not match")
        t0 = time.perf_counter()
        _run([sys.executable, "-m", "pip", "install", "-q", "--no-warn-script-location",
              "--target", str(rootfs) + site, *torch_spec.split(), "numpy", *extra_requirements()], log)
        log(f"  wheels: {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            ["docker", "import", "-c", f"LABEL cv3.python={IMAGE_PYTHON}",
             "-c", f"LABEL cv3.site_packages={site}", "-c", "LABEL cv3.build=offline",
             "-", tag], stdin=tar.stdout, capture_output=True, text=True)
        tar.stdout.close()
        tar.wait()
        if imp.returncode != 0 or tar.returncode != 0:
            raise ImageBuildError(f"docker import failed: {imp.stderr[-2000:]}")
        log(f"  docker import: {time.perf_counter() - t0:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return client.images.get(tag).id


def build_from_dockerfile(tag: str, *, base_image: str, torch_spec: str,
                          log: Callable[[str], None] = print) -> str:
    client = docker_client()
    log(f"building {tag} from {DOCKERFILE_DIR / 'Dockerfile'} (BASE_IMAGE={base_image})")
    image, lines = client.images.build(path=str(DOCKERFILE_DIR), tag=tag, rm=True,
                                       buildargs={"BASE_IMAGE": base_image, "TORCH_SPEC": torch_spec,
                                                  "EXTRA_REQUIREMENTS": " ".join(extra_requirements())})
    for line in lines:
        if isinstance(line, dict) and line.get("stream", "").strip():
            log("  " + line["stream"].strip())
    return image.id


def build_image(*, tag: str = DEFAULT_IMAGE, offline: bool = False, base_image: str = "python:3.11-slim",
                torch_spec: str = DEFAULT_TORCH_SPEC, record: Path | None = None,
                log: Callable[[str], None] = print) -> dict:
    t0 = time.perf_counter()
    digest = (build_offline(tag, torch_spec=torch_spec, log=log) if offline else
              build_from_dockerfile(tag, base_image=base_image, torch_spec=torch_spec, log=log))
    info = {"tag": tag, "digest": digest, "offline": offline,
            "base_image": "debootstrap" if offline else base_image, "torch_spec": torch_spec,
            "build_s": round(time.perf_counter() - t0, 1)}
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(info, indent=2))
    return info


def image_exists(tag: str = DEFAULT_IMAGE) -> bool:
    try:
        docker_client().images.get(tag)
        return True
    except Exception:  # noqa: BLE001
        return False
