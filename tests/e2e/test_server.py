"""The `sluice serve` process itself: startup line, health, signals, the
request body cap, keep-alive under 200 concurrent connections, graceful
shutdown, the data-directory lock, --help and the config file."""

import http.client
import json
import os
import re
import signal
import socket
import tempfile
import threading
import unittest

from sluice_process import (JSON_11, LISTENING_LINE, SluiceProcess, poll_until,
                            run_sluice, signed_headers, start_server)

EMPTY_LIST = {"StreamNames": [], "HasMoreStreams": False, "StreamSummaries": []}
MIB = 1024 * 1024
DEADLINE_S = 30


def read_response(sock):
    """Reads one HTTP response from a raw socket; returns (response, body)."""
    response = http.client.HTTPResponse(sock, method="POST")
    response.begin()
    return response, response.read()


def read_head(sock):
    """Reads a response head byte by byte, so nothing after it is consumed."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise AssertionError(f"connection closed after {head!r}")
        head += byte
        if len(head) > 4096:
            raise AssertionError(f"no end of head in {head[:200]!r}")
    return head


def closed_by_peer(sock):
    """True once the server has closed `sock` (EOF or reset); False while it
    stays open. Never consumes response bytes: only call it on idle sockets."""
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def list_streams_head(content_length, extra=""):
    headers = signed_headers("ListStreams")
    lines = [f"POST / HTTP/1.1", "Host: 127.0.0.1",
             f"Content-Length: {content_length}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


class StartupAndSignalsTest(unittest.TestCase):

    def test_prints_exactly_one_line_and_exits_zero_on_sigterm(self):
        server = start_server(self)
        self.assertRegex(server.stdout_line, LISTENING_LINE)
        self.assertTrue(server.stdout_line.endswith("(in memory)"))
        self.assertNotEqual(server.port, 0)
        self.assertEqual(server.stop(signal.SIGTERM), 0, server.stderr())
        self.assertEqual(server.rest_of_stdout(), "")

    def test_exits_zero_on_sigint(self):
        server = start_server(self)
        self.assertEqual(server.stop(signal.SIGINT), 0, server.stderr())
        self.assertEqual(server.rest_of_stdout(), "")

    def test_listening_line_names_the_version_command_prints(self):
        version = run_sluice("version")
        self.assertEqual(version.returncode, 0, version.stderr)
        server = start_server(self)
        self.assertEqual(version.stdout, f"sluice {server.version}\n")

    def test_health(self):
        server = start_server(self)
        response, data = server.request("GET", "/health")
        self.assertEqual(response.status, 200, data)
        self.assertEqual(response.getheader("Content-Type"), "application/json")
        body = json.loads(data)
        self.assertEqual(set(body), {"status", "version", "uptime_seconds"})
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["version"], server.version)
        self.assertIsInstance(body["uptime_seconds"], int)
        self.assertGreaterEqual(body["uptime_seconds"], 0)

    def test_health_needs_no_authentication_but_other_gets_do(self):
        server = start_server(self)
        response, _ = server.request("GET", "/health")
        self.assertEqual(response.status, 200)
        response, _ = server.request("GET", "/healthz")
        self.assertEqual(response.status, 403)

    def test_data_dir_is_locked_against_a_second_server(self):
        with tempfile.TemporaryDirectory(prefix="sluice-e2e-") as data_dir:
            first = start_server(self, "--data-dir", data_dir, in_memory=False)
            self.assertIn(f"(data in {data_dir})", first.stdout_line)

            second = run_sluice("serve", "--host", "127.0.0.1", "--port", "0",
                                "--data-dir", data_dir)
            self.assertEqual(second.returncode, 1, second.stderr)
            self.assertIn("in use", second.stderr)
            self.assertIn(data_dir, second.stderr)
            self.assertEqual(second.stdout, "")

            # The first server is unharmed, and its exit frees the directory.
            response, data = first.call("ListStreams")
            self.assertEqual(response.status, 200)
            self.assertEqual(first.stop(), 0, first.stderr())

            third = start_server(self, "--data-dir", data_dir, in_memory=False)
            response, data = third.call("ListStreams")
            self.assertEqual(data, EMPTY_LIST)
            self.assertEqual(third.stop(), 0, third.stderr())


class CommandLineAndConfigTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="sluice-e2e-")
        self.addCleanup(self.dir.cleanup)

    def write_config(self, text):
        path = os.path.join(self.dir.name, "sluice.json")
        with open(path, "w") as f:
            f.write(text)
        return path

    def assertUsageError(self, result, *mentions):
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stdout, "")
        for text in mentions:
            self.assertIn(text, result.stderr)

    def test_help_lists_every_flag(self):
        result = run_sluice("serve", "--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        for flag in ("--host", "--port", "--data-dir", "--in-memory", "--config",
                     "--region", "--account-id", "--log-level",
                     "--max-request-bytes", "--shutdown-grace"):
            with self.subTest(flag=flag):
                self.assertRegex(result.stdout,
                                 re.compile(rf"^\s+{re.escape(flag)}\b", re.M))

    def test_unknown_flag_is_a_usage_error(self):
        self.assertUsageError(run_sluice("serve", "--prot", "0"), "--prot")

    def test_bad_flag_value_is_a_usage_error(self):
        self.assertUsageError(run_sluice("serve", "--port", "x"), "--port")

    def test_config_value_of_wrong_type_names_file_and_key(self):
        path = self.write_config('{"server": {"port": "x"}}')
        self.assertUsageError(run_sluice("serve", "--config", path),
                              path, "server.port")

    def test_unknown_config_key_names_file_and_key(self):
        path = self.write_config('{"server": {"prot": 1}}')
        self.assertUsageError(run_sluice("serve", "--config", path),
                              path, "server.prot")

    def test_unknown_config_section_names_file_and_key(self):
        path = self.write_config('{"sever": {"port": 0}}')
        self.assertUsageError(run_sluice("serve", "--config", path),
                              path, "sever")

    def test_invalid_json_config_names_the_file(self):
        path = self.write_config('{"server": ')
        self.assertUsageError(run_sluice("serve", "--config", path), path)

    def test_missing_config_file_names_the_file(self):
        path = os.path.join(self.dir.name, "absent.json")
        self.assertUsageError(run_sluice("serve", "--config", path), path)

    def test_config_file_sets_port_region_and_storage(self):
        path = self.write_config(json.dumps({
            "server": {"host": "127.0.0.1", "port": 0},
            "storage": {"in_memory": True},
            "aws": {"region": "eu-west-1"},
        }))
        server = start_server(self, "--config", path, defaults=False)
        self.assertTrue(server.stdout_line.endswith("(in memory)"),
                        server.stdout_line)
        response, data = server.call("ListStreams")
        self.assertEqual(response.status, 200)
        self.assertEqual(data, EMPTY_LIST)
        self.assertEqual(server.stop(), 0, server.stderr())

    def test_flags_override_the_config_file(self):
        # The file names port 1; the flag's 0 must win, so the server picks
        # a free port instead.
        path = self.write_config('{"server": {"port": 1}}')
        server = start_server(self, "--config", path, "--host", "127.0.0.1",
                              "--port", "0", "--in-memory", defaults=False)
        self.assertNotEqual(server.port, 1)
        response, _ = server.call("ListStreams")
        self.assertEqual(response.status, 200)


class BodyLimitTest(unittest.TestCase):

    def test_oversized_body_gets_413_without_being_buffered(self):
        server = start_server(self)
        # Warm up: the first requests touch thread stacks and buffers.
        for _ in range(3):
            response, _ = server.call("ListStreams")
            self.assertEqual(response.status, 200)
        peak_before = server.peak_rss_kib()

        size = 20 * MIB
        sock = socket.create_connection(("127.0.0.1", server.port),
                                        timeout=DEADLINE_S)
        self.addCleanup(sock.close)
        sock.sendall(list_streams_head(size))
        send_error = []

        def send_body():
            chunk = b" " * (256 * 1024)
            try:
                for _ in range(size // len(chunk)):
                    sock.sendall(chunk)
                sock.shutdown(socket.SHUT_WR)
            except OSError as e:  # the server may hang up once it has answered
                send_error.append(e)

        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        response, data = read_response(sock)
        self.assertEqual(response.status, 413, data)
        self.assertEqual(response.getheader("Connection"), "close")
        self.assertNotEqual(response.getheader("Content-Type"), JSON_11)
        sender.join(DEADLINE_S)
        self.assertFalse(sender.is_alive(), "the body upload never finished")
        sock.settimeout(0.05)
        poll_until(lambda: closed_by_peer(sock), DEADLINE_S,
                   "the server to close the refused connection")

        growth_kib = server.peak_rss_kib() - peak_before
        self.assertLess(growth_kib, 8 * 1024,
                        f"peak RSS grew by {growth_kib} KiB for a refused body")
        # Still serving.
        response, data = server.call("ListStreams")
        self.assertEqual(data, EMPTY_LIST)
        self.assertEqual(server.stop(), 0, server.stderr())

    def test_custom_cap_accepts_a_body_at_the_cap_and_refuses_one_over(self):
        cap = 65536
        server = start_server(self, "--max-request-bytes", str(cap))
        at_cap = b"{}" + b" " * (cap - 2)
        response, data = server.call("ListStreams", body=at_cap)
        self.assertEqual(response.status, 200)
        self.assertEqual(data, EMPTY_LIST)

        just_under = at_cap[:-1]
        response, data = server.call("ListStreams", body=just_under)
        self.assertEqual(response.status, 200)
        self.assertEqual(data, EMPTY_LIST)

        conn = server.connection()
        self.addCleanup(conn.close)
        conn.request("POST", "/", at_cap + b" ", signed_headers("ListStreams"))
        response = conn.getresponse()
        body = response.read()
        self.assertEqual(response.status, 413, body)
        self.assertEqual(response.getheader("Connection"), "close")
        self.assertTrue(response.will_close)

    def test_oversized_body_announced_with_expect_gets_413_instead_of_100(self):
        server = start_server(self, "--max-request-bytes", "65536")
        sock = socket.create_connection(("127.0.0.1", server.port),
                                        timeout=DEADLINE_S)
        self.addCleanup(sock.close)
        sock.sendall(list_streams_head(65537, "Expect: 100-continue\r\n"))
        head = read_head(sock)
        self.assertTrue(head.startswith(b"HTTP/1.1 413 "), head)
        self.assertIn(b"\r\nConnection: close\r\n", head)

    def test_chunked_body_over_the_cap_gets_413(self):
        server = start_server(self, "--max-request-bytes", "65536")
        sock = socket.create_connection(("127.0.0.1", server.port),
                                        timeout=DEADLINE_S)
        self.addCleanup(sock.close)
        head = list_streams_head(0).replace(b"Content-Length: 0",
                                            b"Transfer-Encoding: chunked")
        sock.sendall(head)

        def send_chunks():  # 100 chunks of 16 KiB: 1.6 MB in all
            try:
                for _ in range(100):
                    sock.sendall(b"4000\r\n" + b" " * 0x4000 + b"\r\n")
                sock.sendall(b"0\r\n\r\n")
            except OSError:  # the server may hang up once it has answered
                pass

        sender = threading.Thread(target=send_chunks, daemon=True)
        sender.start()
        response, data = read_response(sock)
        self.assertEqual(response.status, 413, data)
        self.assertEqual(response.getheader("Connection"), "close")
        sender.join(DEADLINE_S)
        self.assertFalse(sender.is_alive(), "the chunked upload never finished")


class HttpConnectionTest(unittest.TestCase):

    def test_pipelined_requests_are_answered_in_order(self):
        server = start_server(self)
        sock = socket.create_connection(("127.0.0.1", server.port),
                                        timeout=DEADLINE_S)
        self.addCleanup(sock.close)
        bodies = [b'{"Limit": 1}', b"{", b'{"Limit": 0}']
        sock.sendall(b"".join(list_streams_head(len(b)) + b for b in bodies))
        reader = sock.makefile("rb")
        self.addCleanup(reader.close)
        answers = []
        for _ in bodies:
            response = http.client.HTTPResponse(_Unclosable(reader), method="POST")
            response.begin()
            answers.append((response.status, json.loads(response.read())))
        self.assertEqual(answers, [
            (200, EMPTY_LIST),
            (400, {"__type": "SerializationException"}),
            (400, {"__type": "ValidationException",
                   "message": "1 validation error detected: Value '0' at 'limit' "
                              "failed to satisfy constraint: Member must have "
                              "value greater than or equal to 1"}),
        ])

    def test_http_1_0_request_is_answered_and_the_connection_closed(self):
        server = start_server(self)
        sock = socket.create_connection(("127.0.0.1", server.port),
                                        timeout=DEADLINE_S)
        self.addCleanup(sock.close)
        sock.sendall(list_streams_head(2).replace(b"HTTP/1.1", b"HTTP/1.0") + b"{}")
        reader = sock.makefile("rb")
        self.addCleanup(reader.close)
        response = http.client.HTTPResponse(_Unclosable(reader), method="POST")
        response.begin()
        self.assertEqual(response.status, 200)
        self.assertEqual(json.loads(response.read()), EMPTY_LIST)
        self.assertEqual(reader.read(), b"")  # EOF: the server closed it


class _Unclosable:
    """Lets several HTTPResponse objects read one after another from one
    buffered reader: each would otherwise close it when done."""

    def __init__(self, reader):
        self._reader = reader

    def makefile(self, *args, **kwargs):
        return self

    def close(self):
        pass

    def __getattr__(self, name):
        return getattr(self._reader, name)


class KeepAliveTest(unittest.TestCase):

    def test_200_concurrent_connections_each_reuse_their_connection(self):
        server = start_server(self)
        connections = 200
        requests_per_connection = 3
        # Every connection is open before the first request and stays open
        # until all have made their last one, so all 200 are concurrent.
        barrier = threading.Barrier(connections, timeout=DEADLINE_S)
        failures = []
        successes = []
        lock = threading.Lock()

        def client(index):
            conn = server.connection(timeout=DEADLINE_S)
            try:
                conn.connect()
                first_socket = conn.sock
                barrier.wait()
                for n in range(requests_per_connection):
                    conn.request("POST", "/", b"{}", signed_headers("ListStreams"))
                    response = conn.getresponse()
                    data = response.read()
                    if response.status != 200 or json.loads(data) != EMPTY_LIST:
                        raise AssertionError(f"answer {response.status} {data!r}")
                    if response.will_close or conn.sock is not first_socket:
                        raise AssertionError("the server did not keep the "
                                             "connection open")
                    barrier.wait()
                with lock:
                    successes.append(index)
            except Exception as e:  # reported below with the connection's index
                barrier.abort()
                with lock:
                    failures.append(f"connection {index}: {e!r}")
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(i,), daemon=True)
                   for i in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(DEADLINE_S * (requests_per_connection + 2))
        self.assertFalse(any(t.is_alive() for t in threads), "clients hung")
        self.assertEqual(failures, [], failures[:5])
        self.assertEqual(len(successes), connections)


class GracefulShutdownTest(unittest.TestCase):

    def test_in_flight_request_completes_and_idle_connections_close(self):
        # The grace period is far longer than the test needs, and shorter
        # than DEADLINE_S, so a request dropped at its end fails the test
        # with the server's own log rather than a client timeout.
        server = start_server(self, "--shutdown-grace", "20")

        # An idle keep-alive connection: one request answered, then nothing.
        idle = server.connection(timeout=DEADLINE_S)
        self.addCleanup(idle.close)
        idle.request("GET", "/health")
        response = idle.getresponse()
        response.read()
        self.assertEqual(response.status, 200)
        self.assertFalse(response.will_close)
        idle_sock = idle.sock
        idle_sock.settimeout(0.05)

        # A request in flight: the server has read its header (it answered
        # 100 Continue) and part of its body. The body is large so that the
        # handler has real work left when the connection has none.
        body = b'{"Limit": 5}' + b" " * (8 * MIB)
        busy = socket.create_connection(("127.0.0.1", server.port),
                                        timeout=DEADLINE_S)
        self.addCleanup(busy.close)
        busy.sendall(list_streams_head(len(body), "Expect: 100-continue\r\n"))
        self.assertEqual(read_head(busy), b"HTTP/1.1 100 Continue\r\n\r\n")
        busy.sendall(body[:500])

        server.send_signal(signal.SIGTERM)

        poll_until(lambda: closed_by_peer(idle_sock), DEADLINE_S,
                   "the idle keep-alive connection to be closed")

        def refuses_connections():
            try:
                socket.create_connection(("127.0.0.1", server.port),
                                         timeout=1).close()
                return False
            except ConnectionRefusedError:
                return True
        poll_until(refuses_connections, DEADLINE_S,
                   "the server to stop accepting connections")
        self.assertIsNone(server.proc.poll(), "exited before the request ended")

        busy.sendall(body[500:])
        try:
            response, data = read_response(busy)
        except (http.client.HTTPException, OSError) as e:
            server.wait()
            self.fail(f"no answer to the request in flight at shutdown: {e!r}; "
                      f"server stderr: {server.stderr()!r}")
        self.assertEqual(response.status, 200, data)
        self.assertEqual(json.loads(data), EMPTY_LIST)
        self.assertEqual(response.getheader("Connection"), "close")

        self.assertEqual(server.wait(), 0, server.stderr())

    def test_upload_that_never_finishes_is_cut_off_after_the_grace_period(self):
        server = start_server(self, "--shutdown-grace", "1")
        stuck = socket.create_connection(("127.0.0.1", server.port),
                                         timeout=DEADLINE_S)
        self.addCleanup(stuck.close)
        stuck.sendall(list_streams_head(100, "Expect: 100-continue\r\n"))
        self.assertEqual(read_head(stuck), b"HTTP/1.1 100 Continue\r\n\r\n")
        stuck.sendall(b"{")  # and never the other 99 bytes

        server.send_signal(signal.SIGTERM)
        self.assertEqual(server.wait(), 0, server.stderr())
        self.assertTrue(closed_by_peer(stuck), "the stuck connection is still open")


if __name__ == "__main__":
    unittest.main()
