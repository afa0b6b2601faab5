"""The `venn` command, run as a user would run it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.helpers import server_env


def run_venn(*args: str, env: dict[str, str], input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "venn", *args], env=env, input=input, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def env(tmp_path):
    own = ("VENN_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY")
    env = server_env(own)
    env["VENN_DATA_DIR"] = str(tmp_path / "data")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_migrate_and_create_admin(env, tmp_path):
    assert run_venn("migrate", env=env).returncode == 0
    result = run_venn("create-admin", "boss", "--password-stdin", env=env, input="a-good-password\n")
    assert result.returncode == 0, result.stderr
    assert "admin boss created" in result.stdout
    # running it again promotes/resets instead of failing
    result = run_venn("create-admin", "Boss", "--password-stdin", env=env, input="another-password\n")
    assert result.returncode == 0 and "now an admin" in result.stdout
    result = run_venn("create-admin", "x", "--password-stdin", env=env, input="short\n")
    assert result.returncode == 1 and "username" in result.stderr
    assert (tmp_path / "data" / "venn.db").exists()


def test_asking_for_a_loop_that_is_not_installed_stops_with_a_clear_error(env, tmp_path):
    # a uvloop that cannot be imported, first on the path
    (tmp_path / "uvloop.py").write_text("raise ImportError('no uvloop here')\n")
    env["PYTHONPATH"] = str(tmp_path)
    env["VENN_EVENT_LOOP"] = "uvloop"
    result = run_venn("serve", "--port", str(free_port()), env=env)
    assert result.returncode == 2
    assert "VENN_EVENT_LOOP=uvloop" in result.stderr and "Traceback" not in result.stderr


def test_invalid_setting_stops_with_the_variable_named(env):
    env["VENN_PORT"] = "not-a-port"
    result = run_venn("migrate", env=env)
    assert result.returncode == 2
    assert "VENN_PORT" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("choice", "loop"), [("auto", "uvloop"), ("asyncio", "asyncio")])
def test_serve_answers_and_stops_gracefully_on_sigterm(env, choice, loop):
    pytest.importorskip("uvloop", reason="uvloop is not installed (it is by default on Linux and macOS)")
    env["VENN_EVENT_LOOP"] = choice
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "venn", "serve", "--port", str(port)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    so_far = proc.stdout.read() if proc.poll() is not None else ""
                    raise AssertionError("server did not start: " + so_far) from None
                time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        output = proc.stdout.read()
        assert "SECRET_KEY is not set" in output
        assert f"event loop: {loop}" in output
        assert "Traceback" not in output
        # the log says when the process starts draining and when it is done
        assert "draining" in output and "stopped" in output, output
        assert output.index("draining") < output.index("stopped")
    finally:
        if proc.poll() is None:
            proc.kill()
