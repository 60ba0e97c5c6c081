#!/usr/bin/env python3
"""A minimal HTTP front for a TSA that is not git box's, and for faulty ones.

Listens on 127.0.0.1 on a free port (written to --port-file once it
listens) and answers every POST in one way:

  --exec CMD...     run CMD with the request body on stdin; its stdout is the
                    answer (application/timestamp-reply), or HTTP 500 if it fails
  --status N        answer HTTP N with a short text body
  --redirect URL    answer 302 to URL
  --body-file F     answer 200 with the bytes of F
  --big N           answer 200 with N bytes
  --hang            read the request and never answer

With --exec, --wrap-token takes the command's output as a bare
TimeStampToken and answers it inside a granted TimeStampResp, and
--flip-last-byte spoils the answer's last byte (a signature's).
--save DIR keeps each request body as DIR/request-N.tsq. Used by the
t5xxx tests only; it stops when killed.
"""
import argparse
import http.server
import os
import subprocess
import sys
import time


def der_sequence(content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return b"\x30" + length + content


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--save")
    ap.add_argument("--wrap-token", action="store_true")
    ap.add_argument("--flip-last-byte", action="store_true")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--exec", nargs=argparse.REMAINDER, dest="command")
    mode.add_argument("--status", type=int)
    mode.add_argument("--redirect")
    mode.add_argument("--body-file")
    mode.add_argument("--big", type=int)
    mode.add_argument("--hang", action="store_true")
    args = ap.parse_args()
    count = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            sys.stderr.write("shim: " + (fmt % a) + "\n")

        def send(self, status, body, ctype="application/timestamp-reply", extra=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            count[0] += 1
            if args.save:
                with open(os.path.join(args.save, "request-%d.tsq" % count[0]), "wb") as f:
                    f.write(body)
            sys.stderr.write("shim: content-type %s, %d bytes\n"
                             % (self.headers.get("Content-Type"), len(body)))
            if args.hang:
                time.sleep(3600)
            elif args.status:
                self.send(args.status, b"refused by the test\n", "text/plain")
            elif args.redirect:
                self.send(302, b"", "text/plain", [("Location", args.redirect)])
            elif args.body_file:
                with open(args.body_file, "rb") as f:
                    self.send(200, f.read())
            elif args.big:
                self.send(200, b"\0" * args.big)
            else:
                run = subprocess.run(args.command, input=body, stdout=subprocess.PIPE)
                if run.returncode:
                    self.send(500, b"the responder failed\n", "text/plain")
                else:
                    answer = run.stdout
                    if args.wrap_token:
                        answer = der_sequence(b"\x30\x03\x02\x01\x00" + answer)
                    if args.flip_last_byte:
                        answer = answer[:-1] + bytes([answer[-1] ^ 0x01])
                    self.send(200, answer)

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
