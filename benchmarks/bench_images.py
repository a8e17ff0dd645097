"""Image transfer benchmark: a 200 MB image exported and uploaded.

Export: pylxd's ``Image.export_to(file)`` (streamed, SHA-256 checked) and
``Image.export()`` read to the end, against a raw ``http.client`` read of
``/1.0/images/<fp>/export`` over AF_UNIX, and against pylxd 2.4's way (1 KiB
chunks into a temporary file, then read back). Upload: ``images.create(path)``
(streamed from the file) against a raw streamed POST. Peak RSS growth is
measured per phase (export first, as ``ru_maxrss`` only grows).

``python -m benchmarks --only bench_images`` runs it in the suite;
``python -m benchmarks.bench_images`` runs it alone. ``PYLXD_BENCH_IMAGE_MB``
sets the size (default 200).
"""

from __future__ import annotations

import hashlib
import io
import os
import resource
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._raw import RawLXD  # noqa: E402
from benchmarks.run import interleave, reps  # noqa: E402

SIZE_MB = int(os.environ.get("PYLXD_BENCH_IMAGE_MB", "200"))
CHUNK = 1 << 20


def rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_image(directory: Path, size_mb: int) -> Path:
    """An uncompressed image tarball with ``size_mb`` MiB of random rootfs data."""
    path = directory / "bench-image.tar"
    marker = uuid.uuid4().hex
    meta = (
        "architecture: x86_64\ncreation_date: 1\nproperties:\n"
        f"  description: pylxd benchmark image\n  pylxd_bench: {marker}\n"
    ).encode()
    payload = directory / "payload.bin"
    with open(payload, "wb") as handle:
        for _ in range(size_mb):
            handle.write(os.urandom(CHUNK))
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("metadata.yaml")
        info.size = len(meta)
        archive.addfile(info, io.BytesIO(meta))
        archive.add(payload, "rootfs/payload.bin")
    payload.unlink()
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pylxd_24_export(client: Any, fingerprint: str) -> None:
    """What pylxd 2.4.2 does: 1 KiB chunks into a temp file, hashed, rewound."""
    response = client.api.images[fingerprint].export.get(stream=True)
    handle = tempfile.TemporaryFile()
    digest = hashlib.sha256()
    for chunk in response.iter_content(chunk_size=1024):
        handle.write(chunk)
        digest.update(chunk)
    handle.seek(0)
    with handle, open(os.devnull, "wb") as sink:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            sink.write(chunk)
    if digest.hexdigest() != fingerprint:
        raise RuntimeError("pylxd 2.4-style export: fingerprint mismatch")


def export_candidates(
    client: Any, raw: RawLXD, image: Any
) -> dict[str, Callable[[], Any]]:
    fingerprint = image.fingerprint
    url = f"/1.0/images/{fingerprint}/export"

    def ours(verify: bool) -> None:
        with open(os.devnull, "wb") as sink:
            image.export_to(sink, verify=verify)

    def ours_fileobj() -> None:
        with image.export(stream=True) as stream, open(os.devnull, "wb") as sink:
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                sink.write(chunk)

    def theirs() -> None:
        with open(os.devnull, "wb") as sink:
            raw.stream_get(url, sink)

    def theirs_hashed() -> None:
        digest = hashlib.sha256()
        with open(os.devnull, "wb") as sink:
            raw.stream_get(url, _Tee(sink, digest))
        if digest.hexdigest() != fingerprint:
            raise RuntimeError("raw export: fingerprint mismatch")

    return {
        "pylxd": lambda: ours(False),
        "pylxd (SHA-256 checked)": lambda: ours(True),
        "pylxd export()": ours_fileobj,
        "pylxd 2.4 style": lambda: _pylxd_24_export(client, fingerprint),
        "raw": theirs,
        "raw + inline SHA-256": theirs_hashed,
    }


class _Tee:
    """A sink that also hashes what it is given."""

    def __init__(self, sink: Any, digest: Any) -> None:
        self._sink, self._digest = sink, digest

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self._sink.write(data)


def measure_export(
    client: Any, raw: RawLXD, image: Any
) -> tuple[Any, dict[str, float]]:
    candidates = export_candidates(client, raw, image)
    growth: dict[str, float] = {}
    for name in ("pylxd", "pylxd (SHA-256 checked)", "pylxd export()"):
        before = rss_mib()
        candidates[name]()
        growth[f"RSS growth, {name} export (MiB)"] = round(rss_mib() - before, 1)
    table = interleave(candidates, reps(9, 1))
    return table, growth


def measure_upload(client: Any, raw: RawLXD, path: Path, fingerprint: str) -> Any:
    size = path.stat().st_size

    def delete() -> None:
        op = raw.request("DELETE", f"/1.0/images/{fingerprint}")
        raw.wait(op["operation"])

    def ours() -> None:
        client.images.create(str(path))
        delete()

    def theirs() -> None:
        with open(path, "rb") as handle:
            op = raw.put_stream(
                "/1.0/images",
                handle,
                size,
                {"Content-Type": "application/octet-stream"},
            )
        raw.wait(op["operation"])
        delete()

    before = rss_mib()
    ours()
    growth = round(rss_mib() - before, 1)
    return interleave({"pylxd": ours, "raw": theirs}, reps(3, 1)), growth


def run() -> dict[str, Any]:
    from pylxd import Client

    client, raw = Client(), RawLXD()
    with tempfile.TemporaryDirectory(prefix="pylxd-bench-") as tmp:
        started = time.perf_counter()
        path = build_image(Path(tmp), SIZE_MB)
        fingerprint = sha256_of(path)
        build_s = time.perf_counter() - started
        image = client.images.create(str(path))
        try:
            export_table, growth = measure_export(client, raw, image)
        finally:
            image.delete(wait=True)
        upload_table, upload_growth = measure_upload(client, raw, path, fingerprint)
    notes = [
        f"image: {SIZE_MB} MiB of random data in an uncompressed tarball "
        f"(built in {build_s:.1f} s)",
        "export sinks are /dev/null. 'pylxd' is export_to(sink, verify=False), "
        "like raw; the checked variants hash in a helper thread (pylxd) or "
        "inline (raw): SHA-256 runs at about 1 GB/s here, slower than the socket",
    ]
    growth[f"RSS growth, pylxd upload of {SIZE_MB} MiB (MiB)"] = upload_growth
    for name, stats in export_table.items():
        mb_s = SIZE_MB / (stats["wall_ms"] / 1000)
        notes.append(f"export throughput, {name}: {mb_s:.0f} MiB/s")
    return {
        "tables": {
            f"export of a {SIZE_MB} MiB image": export_table,
            f"upload of a {SIZE_MB} MiB image (with delete)": upload_table,
        },
        "requests": growth,
        "notes": notes,
    }


def main() -> int:
    """Run the benchmark alone and print the report."""
    from benchmarks.run import render

    baseline = rss_mib()
    result = run()
    result["peak_rss_mib"] = round(rss_mib(), 1)
    result["rss_growth_mib"] = round(rss_mib() - baseline, 1)
    print(render({"bench_images": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
