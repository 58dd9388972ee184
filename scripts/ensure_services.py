"""Make the PostgreSQL test pass possible: PostGIS installed, test database present, Redis up.

Exit 0 when the pass can run; otherwise print why and exit 1. Installs Debian's PostGIS
package for the running server's major version when it is missing and we may use apt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis


def _admin_url(url: str) -> str:
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    return urlunsplit(parts._replace(path="/postgres"))


def _apt_install(package: str) -> bool:
    if os.geteuid() == 0:
        cmd = ["apt-get", "install", "-y", "-q", package]
    elif shutil.which("sudo"):
        cmd = ["sudo", "-n", "apt-get", "install", "-y", "-q", package]
    else:
        return False
    print(f"installing {package} …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(cmd, env=env).returncode == 0:
        return True
    update = cmd[:-4] + ["update", "-q"] if cmd[0] == "sudo" else ["apt-get", "update", "-q"]
    subprocess.run(update, env=env)
    return subprocess.run(cmd, env=env).returncode == 0


def main(pg_url: str, redis_url: str) -> int:
    try:
        admin = psycopg.connect(_admin_url(pg_url), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        print(f"PostgreSQL is not reachable: {str(error).strip()}")
        return 1
    with admin:
        major = admin.info.server_version // 10000
        have = admin.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
        if not have and not _apt_install(f"postgresql-{major}-postgis-3"):
            print(f"PostGIS is not installed for PostgreSQL {major} and could not be installed")
            return 1
        name = urlsplit(pg_url).path.lstrip("/")
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.exceptions.RedisError as error:
        print(f"Redis is not reachable at {redis_url}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
