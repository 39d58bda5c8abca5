"""A PEP 517 build backend for the dnnq package, standard library only, so
that `pip install ./python` needs no network: it builds a pure-Python wheel
of dnnq/*.py and dnnq/py.typed, PEP 561's marker of a package with type
hints (the name, version and dependencies from pyproject.toml).
"""
import base64
import hashlib
import os
import re
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _project():
    """name, version, requires-python and dependencies from pyproject.toml
    (tomllib is 3.11+, so the few keys are read by pattern)."""
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    proj = text[text.index("[project]"):]

    def key(k):
        m = re.search(r"^%s\s*=\s*\"([^\"]*)\"" % k, proj, re.M)
        return m.group(1) if m else None
    deps = re.search(r"^dependencies\s*=\s*\[([^\]]*)\]", proj, re.M)
    return {"name": key("name"), "version": key("version"), "summary": key("description"),
            "python": key("requires-python"),
            "deps": re.findall(r"\"([^\"]+)\"", deps.group(1)) if deps else []}


def _metadata(p):
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}", f"Version: {p['version']}",
             f"Summary: {p['summary']}", f"Requires-Python: {p['python']}"]
    lines += [f"Requires-Dist: {d}" for d in p["deps"]]
    return "\n".join(lines) + "\n"


def _package():
    """The package's files, as dnnq/NAME."""
    return [f"dnnq/{n}" for n in sorted(os.listdir(os.path.join(HERE, "dnnq")))
            if n.endswith(".py") or n == "py.typed"]


def _files(p):
    """(archive name, bytes) of everything the wheel holds but RECORD."""
    out = []
    for rel in _package():
        with open(os.path.join(HERE, rel), "rb") as f:
            out.append((rel, f.read()))
    info = f"{p['name']}-{p['version']}.dist-info"
    out.append((f"{info}/METADATA", _metadata(p).encode()))
    out.append((f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: dnnq_build\n"
                b"Root-Is-Purelib: true\nTag: py3-none-any\n"))
    return info, out


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    p = _project()
    info = f"{p['name']}-{p['version']}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "w") as f:
        f.write(_metadata(p))
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    p = _project()
    info, files = _files(p)
    name = f"{p['name']}-{p['version']}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in files:
            z.writestr(arc, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{arc},sha256={digest.decode()},{len(data)}")
        record.append(f"{info}/RECORD,,")
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    import tarfile
    p = _project()
    base = f"{p['name']}-{p['version']}"
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ["pyproject.toml", "build_backend/dnnq_build.py"] + _package():
            t.add(os.path.join(HERE, rel), f"{base}/{rel}")
    return name
