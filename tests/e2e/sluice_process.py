"""Starts and stops the real `sluice` binary for end-to-end tests.

The binary comes from the SLUICE_BIN environment variable (ctest sets it to
the built target). Every server listens on 127.0.0.1 with port 0 and reads
back the port it prints, so tests can run in parallel. Nothing here sleeps to
wait for a condition: each wait polls with a deadline and fails loudly when
the deadline passes.
"""

import ctypes
import http.client
import json
import os
import re
import selectors
import signal
import subprocess
import tempfile
import time

# "sluice 0.1.0 listening on http://127.0.0.1:45183 (in memory)"
LISTENING_LINE = re.compile(
    r"^sluice (\S+) listening on http://127\.0\.0\.1:(\d+) \((in memory|data in .+)\)$")

START_DEADLINE_S = 20.0
STOP_DEADLINE_S = 20.0

KINESIS_TARGET = "Kinesis_20131202."
JSON_11 = "application/x-amz-json-1.1"
CBOR_11 = "application/x-amz-cbor-1.1"  # the Java SDKs' default for Kinesis
# The server does not verify signatures yet; any well-formed header works.
AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/"
                 "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
AMZ_DATE = "20240101T000000Z"


_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before any fork


def _die_with_parent():
    """Runs in the child before exec: if the test process dies (a ctest
    timeout kills it), the kernel kills the server too."""
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def sluice_bin():
    path = os.environ.get("SLUICE_BIN")
    if not path:
        raise RuntimeError("SLUICE_BIN must name the sluice binary (ctest sets it)")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"SLUICE_BIN={path} is not an executable file")
    return path


def signed_headers(operation, api=KINESIS_TARGET, *, content_type=JSON_11, **extra):
    """Headers of a well-formed Kinesis request for `operation`, JSON 1.1
    unless `content_type` says otherwise (CBOR_11)."""
    headers = {
        "Content-Type": content_type,
        "X-Amz-Target": api + operation,
        "X-Amz-Date": AMZ_DATE,
        "Authorization": AUTHORIZATION,
    }
    headers.update(extra)
    return headers


class SluiceProcess:
    """One running `sluice serve`. start() returns once it listens; stop()
    signals it and returns the exit code (safe to call more than once);
    cleanup() is for addCleanup and never leaves a process behind."""

    def __init__(self, *args, in_memory=True, defaults=True):
        """`args` follow `sluice serve`. With `defaults`, 127.0.0.1, port 0 and
        log level info come first (and --in-memory when `in_memory`);
        without, the command line is exactly `sluice serve <args>`."""
        self.args = list(args)
        self.in_memory = in_memory
        self.defaults = defaults
        self.proc = None
        self.port = None
        self.version = None
        self.stdout_line = None
        self._stderr_file = None
        self._stdout_rest = b""
        self.returncode = None

    # --- lifecycle -----------------------------------------------------------

    def start(self):
        argv = [sluice_bin(), "serve"]
        if self.defaults:
            argv += ["--host", "127.0.0.1", "--port", "0", "--log-level", "info"]
            if self.in_memory:
                argv.append("--in-memory")
        argv += self.args
        # stderr goes to a file so a chatty server never blocks on a full pipe.
        self._stderr_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=self._stderr_file,
                                     preexec_fn=_die_with_parent)
        line = self._read_stdout_line(START_DEADLINE_S)
        match = LISTENING_LINE.match(line)
        if not match:
            self.kill()
            raise AssertionError(
                f"sluice did not print its listening line; stdout={line!r} "
                f"exit={self.proc.returncode} stderr={self.stderr()!r}")
        self.stdout_line = line
        self.version = match.group(1)
        self.port = int(match.group(2))
        return self

    def _read_stdout_line(self, timeout):
        """The first stdout line, or '' if the process exits or the deadline
        passes first."""
        deadline = time.monotonic() + timeout
        data = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in data:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if not sel.select(remaining):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:  # EOF: the process closed stdout or exited
                    break
                data += chunk
        line, _, self._stdout_rest = data.partition(b"\n")
        return line.decode("utf-8", "replace")

    def send_signal(self, signum):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def wait(self, timeout=STOP_DEADLINE_S):
        """Waits for exit; returns the exit code. Kills and fails after the
        deadline."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"sluice did not exit within {timeout}s; stderr={self.stderr()!r}")
        return self.returncode

    def stop(self, signum=signal.SIGTERM, timeout=STOP_DEADLINE_S):
        """Sends `signum` and returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        return self.wait(timeout)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_DEADLINE_S)

    def cleanup(self):
        """For addCleanup: never leaves a process behind, and closes pipes."""
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.stop()
        finally:
            self.kill()
            if self.proc.stdout:
                self.proc.stdout.close()
            if self._stderr_file:
                self._stderr_file.close()
                self._stderr_file = None

    def rest_of_stdout(self):
        """Everything printed on stdout after the listening line; call it once
        the process has exited."""
        assert self.proc.poll() is not None, "the process is still running"
        rest = self._stdout_rest + self.proc.stdout.read()
        return rest.decode("utf-8", "replace")

    def peak_rss_kib(self):
        """VmHWM of the running process: its peak resident set, in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc/<pid>/status")

    def stderr(self):
        if self._stderr_file is None:
            return ""
        self._stderr_file.seek(0)
        return self._stderr_file.read().decode("utf-8", "replace")

    @property
    def pid(self):
        return self.proc.pid

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    # --- requests --------------------------------------------------------------

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        """One request on a fresh connection; returns (response, body bytes)."""
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()

    def call(self, operation, body=b"{}", api=KINESIS_TARGET, **headers):
        """A signed-looking JSON 1.1 POST; returns (response, parsed JSON)."""
        response, data = self.request("POST", "/", body,
                                      signed_headers(operation, api, **headers))
        return response, json.loads(data) if data else None


def run_sluice(*args, timeout=20):
    """Runs `sluice <args>` to completion; returns CompletedProcess (text)."""
    return subprocess.run([sluice_bin(), *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def stop_cleanly(server):
    """For tearDownClass: stops a class's shared server and fails unless it
    exits 0, so a crash during any of the class's tests is reported."""
    code = server.stop()
    if code != 0:
        raise AssertionError(f"sluice exited with {code}; stderr={server.stderr()!r}")


def poll_until(condition, timeout, what):
    """Polls `condition()` until it is truthy; fails after `timeout` seconds.
    The short pause between polls only paces the loop, it decides nothing."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def start_server(test, *args, in_memory=True, defaults=True):
    """Starts a server that `test` stops in its cleanup: a TestCase instance
    (addCleanup) or, from setUpClass, the class (addClassCleanup)."""
    server = SluiceProcess(*args, in_memory=in_memory, defaults=defaults)
    if isinstance(test, type):
        test.addClassCleanup(server.cleanup)
    else:
        test.addCleanup(server.cleanup)
    return server.start()
