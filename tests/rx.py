# tests/rx.py PORT DIR: a webhook receiver for the integration tests
# (tests/lib.sh rx_start). Each POST is kept in DIR as N.json: {"path",
# "headers" (names in lower case), "body"}, written under another name and
# renamed, so a reader never sees half a file.
import http.server, json, os, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        n = len(os.listdir(out))
        with open(os.path.join(out, "%d.tmp" % n), "w") as f:
            json.dump({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}, f)
        os.rename(os.path.join(out, "%d.tmp" % n), os.path.join(out, "%d.json" % n))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
