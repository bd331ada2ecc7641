"""A Java 17+ runtime for the Kafka broker and its tools (Debian's openjdk-17, installed if missing)."""

import glob
import re
import shutil
import subprocess

from .system import Fatal, ensure_apt_pkg


def _major(java):
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else None


def ensure_java(name):
    """The path of a java of version 17 or newer."""
    java = shutil.which("java") or "java"
    if (_major(java) or 0) >= 17:
        return java
    if not glob.glob("/usr/lib/jvm/java-17-openjdk-*/bin/java"):
        ensure_apt_pkg(name, "openjdk-17-jre-headless")
    found = sorted(glob.glob("/usr/lib/jvm/java-17-openjdk-*/bin/java"))
    java = found[0] if found else java
    v = _major(java)
    if (v or 0) < 17:
        raise Fatal(f"{name}: Java 17+ is required (found '{v or 'none'}')")
    return java
