"""The AWS JSON 1.1 wire protocol of the real binary, checked with raw
http.client requests: status, headers and exact bodies of successes and of
every protocol error, and the order in which the checks apply
(docs: /work/shared/aws-behaviour.md section 1.2)."""

import http.client
import json
import re
import unittest

from sluice_process import (AMZ_DATE, AUTHORIZATION, JSON_11, KINESIS_TARGET,
                            signed_headers, start_server, stop_cleanly)

UUID_V4 = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
EMPTY_LIST = {"StreamNames": [], "HasMoreStreams": False, "StreamSummaries": []}
MISSING_TOKEN_XML = (b"<MissingAuthenticationTokenException>\n"
                     b"  <Message>Missing Authentication Token</Message>\n"
                     b"</MissingAuthenticationTokenException>\n")


class ProtocolTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        # One server for the class: every request here is independent, and
        # ListStreams is read-only.
        cls.server = start_server(cls)

    @classmethod
    def tearDownClass(cls):
        stop_cleanly(cls.server)

    # --- helpers ---------------------------------------------------------------

    def post(self, body, target=KINESIS_TARGET + "ListStreams",
             content_type=JSON_11, authorization=AUTHORIZATION,
             amz_date=AMZ_DATE, path="/"):
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if target is not None:
            headers["X-Amz-Target"] = target
        if authorization is not None:
            headers["Authorization"] = authorization
        if amz_date is not None:
            headers["X-Amz-Date"] = amz_date
        if isinstance(body, str):
            body = body.encode()
        return self.server.request("POST", path, body, headers)

    def assertJsonError(self, response, data, error_type, message=None):
        """A 400 JSON 1.1 error with exactly this __type and message (None: the
        body has no message key at all)."""
        self.assertEqual(response.status, 400, data)
        self.assertEqual(response.getheader("Content-Type"), JSON_11)
        self.assertEqual(response.getheader("x-amzn-ErrorType"), error_type)
        self.assertRegex(response.getheader("x-amzn-RequestId") or "", UUID_V4)
        expected = {"__type": error_type}
        if message is not None:
            expected["message"] = message
        self.assertEqual(json.loads(data), expected)

    # --- success -----------------------------------------------------------------

    def test_list_streams_returns_empty_lists(self):
        response, data = self.post("{}")
        self.assertEqual(response.status, 200, data)
        self.assertEqual(response.getheader("Content-Type"), JSON_11)
        self.assertEqual(json.loads(data), EMPTY_LIST)
        self.assertRegex(response.getheader("x-amzn-RequestId") or "", UUID_V4)
        self.assertIsNone(response.getheader("x-amzn-ErrorType"))

    def test_each_response_has_its_own_request_id(self):
        ids = set()
        for body in ("{}", "{", "{}"):
            response, _ = self.post(body)
            ids.add(response.getheader("x-amzn-RequestId"))
        self.assertEqual(len(ids), 3, ids)

    def test_limit_bounds_are_inclusive(self):
        for limit in (1, 10000):
            with self.subTest(limit=limit):
                response, data = self.post(json.dumps({"Limit": limit}))
                self.assertEqual(response.status, 200, data)
                self.assertEqual(json.loads(data), EMPTY_LIST)

    def test_valid_exclusive_start_stream_name_is_accepted(self):
        response, data = self.post(
            json.dumps({"ExclusiveStartStreamName": "a-Valid_name.1"}))
        self.assertEqual(response.status, 200, data)
        self.assertEqual(json.loads(data), EMPTY_LIST)

    def test_region_and_twelve_digit_access_key_are_accepted(self):
        authorization = ("AWS4-HMAC-SHA256 Credential=123456789012/20240101/"
                         "eu-west-1/kinesis/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=abc")
        response, data = self.post("{}", authorization=authorization)
        self.assertEqual(response.status, 200, data)
        self.assertEqual(json.loads(data), EMPTY_LIST)

    def test_date_header_satisfies_the_date_requirement(self):
        response, data = self.server.request("POST", "/", b"{}", {
            "Content-Type": JSON_11,
            "X-Amz-Target": KINESIS_TARGET + "ListStreams",
            "Authorization": AUTHORIZATION,
            "Date": "Mon, 01 Jan 2024 00:00:00 GMT",
        })
        self.assertEqual(response.status, 200, data)

    def test_path_is_ignored(self):
        response, data = self.post("{}", path="/some/other/path")
        self.assertEqual(response.status, 200, data)
        self.assertEqual(json.loads(data), EMPTY_LIST)

    # --- body errors -------------------------------------------------------------

    def test_malformed_json_is_serialization_exception_without_message(self):
        response, data = self.post("{")
        self.assertJsonError(response, data, "SerializationException")

    def test_empty_body_with_known_target_is_serialization_exception(self):
        response, data = self.post(b"")
        self.assertJsonError(response, data, "SerializationException")

    def test_empty_body_with_unknown_target_is_unknown_operation(self):
        response, data = self.post(b"", target=KINESIS_TARGET + "ListStream")
        self.assertJsonError(response, data, "UnknownOperationException")

    def test_json_that_is_not_an_object_is_serialization_exception(self):
        for body in ("[]", "5", '"text"', "null", "true"):
            with self.subTest(body=body):
                response, data = self.post(body)
                self.assertJsonError(response, data, "SerializationException")

    # --- target errors -----------------------------------------------------------

    def test_unknown_target_is_unknown_operation(self):
        for target in (KINESIS_TARGET + "ListStream", "Kinesis_20131202",
                       "Nonsense.ListStreams", ""):
            with self.subTest(target=target):
                response, data = self.post("{}", target=target)
                self.assertJsonError(response, data, "UnknownOperationException")

    def test_missing_target_is_unknown_operation(self):
        response, data = self.post("{}", target=None)
        self.assertJsonError(response, data, "UnknownOperationException")

    def test_operations_not_built_yet_are_unknown(self):
        # A name the API does not have is unknown, in either API.
        for target in (KINESIS_TARGET + "ListDeliveryStreams",
                       "Firehose_20150804.ListStreams"):
            with self.subTest(target=target):
                response, data = self.post("{}", target=target)
                self.assertJsonError(response, data, "UnknownOperationException")

    # --- authentication errors ---------------------------------------------------

    def test_no_authorization_is_missing_authentication_token(self):
        response, data = self.post("{}", authorization=None)
        self.assertJsonError(response, data, "MissingAuthenticationTokenException",
                             "Missing Authentication Token")

    def test_incomplete_authorization_lists_every_missing_part(self):
        response, data = self.post("{}", authorization="X", amz_date=None)
        self.assertJsonError(
            response, data, "IncompleteSignatureException",
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. "
            "Authorization header requires existence of either a 'X-Amz-Date' "
            "or a 'Date' header. Authorization=X")

    def test_authorization_without_signature_names_only_the_signature(self):
        authorization = ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/"
                         "kinesis/aws4_request, SignedHeaders=host;x-amz-date")
        response, data = self.post("{}", authorization=authorization)
        self.assertJsonError(
            response, data, "IncompleteSignatureException",
            "Authorization header requires 'Signature' parameter. "
            "Authorization=" + authorization)

    def test_header_and_query_authentication_together_is_invalid_signature(self):
        response, data = self.post(
            "{}", path="/?X-Amz-Algorithm=AWS4-HMAC-SHA256")
        self.assertJsonError(
            response, data, "InvalidSignatureException",
            "Found both 'X-Amz-Algorithm' as a query-string param and "
            "'Authorization' as HTTP header.")

    # --- validation ----------------------------------------------------------------

    def test_limit_zero_is_validation_exception(self):
        response, data = self.post('{"Limit": 0}')
        self.assertJsonError(
            response, data, "ValidationException",
            "1 validation error detected: Value '0' at 'limit' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1")

    def test_limit_over_ten_thousand_is_validation_exception(self):
        response, data = self.post('{"Limit": 10001}')
        self.assertJsonError(
            response, data, "ValidationException",
            "1 validation error detected: Value '10001' at 'limit' failed to "
            "satisfy constraint: Member must have value less than or equal to "
            "10000")

    def test_limit_of_wrong_type_is_serialization_exception(self):
        response, data = self.post('{"Limit": "abc"}')
        self.assertJsonError(
            response, data, "SerializationException",
            "class java.lang.String can not be converted to an Integer")

    def test_bad_exclusive_start_stream_name_is_validation_exception(self):
        response, data = self.post('{"ExclusiveStartStreamName": "bad name!"}')
        self.assertJsonError(
            response, data, "ValidationException",
            "1 validation error detected: Value 'bad name!' at "
            "'exclusiveStartStreamName' failed to satisfy constraint: Member "
            "must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")

    def test_two_violations_are_reported_together(self):
        response, data = self.post(
            '{"Limit": 0, "ExclusiveStartStreamName": "bad name!"}')
        self.assertEqual(response.status, 400, data)
        body = json.loads(data)
        self.assertEqual(body["__type"], "ValidationException")
        prefix = "2 validation errors detected: "
        self.assertTrue(body["message"].startswith(prefix), body)
        self.assertCountEqual(
            body["message"][len(prefix):].split("; "),
            ["Value '0' at 'limit' failed to satisfy constraint: Member must "
             "have value greater than or equal to 1",
             "Value 'bad name!' at 'exclusiveStartStreamName' failed to satisfy "
             "constraint: Member must satisfy regular expression pattern: "
             "[a-zA-Z0-9_.-]+"])

    # --- order of checks -----------------------------------------------------------

    def test_body_is_checked_before_authentication(self):
        response, data = self.post("{", authorization=None)
        self.assertJsonError(response, data, "SerializationException")

    def test_target_is_checked_before_authentication(self):
        response, data = self.post("{}", target=KINESIS_TARGET + "ListStream",
                                   authorization=None)
        self.assertJsonError(response, data, "UnknownOperationException")

    def test_authentication_is_checked_before_validation(self):
        response, data = self.post('{"Limit": 0}', authorization=None)
        self.assertJsonError(response, data, "MissingAuthenticationTokenException",
                             "Missing Authentication Token")

    # --- not JSON 1.1 at all ---------------------------------------------------------

    def test_wrong_content_type_is_404_without_json(self):
        for content_type in ("text/plain", "application/json", None):
            with self.subTest(content_type=content_type):
                response, data = self.post("{}", content_type=content_type)
                self.assertEqual(response.status, 404)
                self.assertEqual(data, b"<UnknownOperationException/>\n")
                self.assertNotEqual(response.getheader("Content-Type"), JSON_11)

    def test_wrong_content_type_wins_over_missing_authentication(self):
        response, data = self.post("{", content_type="application/json",
                                   authorization=None, target=None)
        self.assertEqual(response.status, 404)
        self.assertEqual(data, b"<UnknownOperationException/>\n")

    def test_get_without_authorization_is_403_xml(self):
        for path in ("/", "/streams"):
            with self.subTest(path=path):
                response, data = self.server.request("GET", path)
                self.assertEqual(response.status, 403)
                self.assertEqual(data, MISSING_TOKEN_XML)
                self.assertNotEqual(response.getheader("Content-Type"), JSON_11)

    def test_other_methods_without_authorization_are_403_xml(self):
        for method in ("PUT", "DELETE"):
            with self.subTest(method=method):
                response, data = self.server.request(method, "/", b"{}",
                                                     {"Content-Type": JSON_11})
                self.assertEqual(response.status, 403)
                self.assertEqual(data, MISSING_TOKEN_XML)


class HostileBodyTest(unittest.TestCase):
    """Bodies no SDK sends, each against its own server: one must never take
    the process down."""

    def test_deeply_nested_json_gets_an_answer_and_the_server_lives(self):
        server = start_server(self)
        depth = 1_000_000  # 2 MB, far under the 16 MiB cap
        body = b'{"a":' + b"[" * depth + b"]" * depth + b"}"
        try:
            response, data = server.request("POST", "/", body,
                                            signed_headers("ListStreams"))
        except (ConnectionError, http.client.HTTPException) as e:
            exit_code = server.wait()
            self.fail(f"no answer to a deeply nested body: {e!r}; the server "
                      f"exited with {exit_code}; stderr: {server.stderr()!r}")
        # A nesting limit (Jackson, behind AWS, stops at depth 1000) makes it
        # a SerializationException; a parser without one may serve the
        # request, since "a" is no ListStreams member. Both are fine.
        if response.status == 200:
            self.assertEqual(json.loads(data), EMPTY_LIST)
        else:
            self.assertEqual(response.status, 400, data[:200])
            self.assertEqual(response.getheader("x-amzn-ErrorType"),
                             "SerializationException")
            self.assertEqual(json.loads(data)["__type"], "SerializationException")
        response, _ = server.request("GET", "/health")
        self.assertEqual(response.status, 200)
        self.assertEqual(server.stop(), 0, server.stderr())

if __name__ == "__main__":
    unittest.main()
