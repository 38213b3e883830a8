"""Bulk write and bulk read against a running zcrm, each against the same rows
through POST /crm/v8/Leads in batches of 100 (one keep-alive connection).

  python3 bench/bulk.py URL TOKEN ZGID

Prints a Markdown table. Run through bench/bulk.sh (starts the server)."""

import http.client
import io
import json
import sys
import time
import urllib.parse
import uuid
import zipfile

URL, TOKEN, ZGID = sys.argv[1], sys.argv[2], sys.argv[3]
WRITE_ROWS = 25_000
READ_ROWS = 200_000
u = urllib.parse.urlparse(URL)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
AUTH = {"Authorization": "Zoho-oauthtoken " + TOKEN}


def call(method, path, body=None, headers=None, raw=False):
    h = dict(AUTH)
    h.update(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    if raw:
        return r.status, data
    return r.status, (json.loads(data) if data else None)


def lead(tag, i):
    return {"Last_Name": "%s%d" % (tag, i), "First_Name": "F%d" % (i % 1000), "Company": "Co%d" % (i % 997),
            "Email": "%s%d@example.com" % (tag, i), "City": "City%d" % (i % 50), "Phone": "555-%07d" % i,
            "Lead_Source": "Advertisement"}


def post_batches(tag, n):
    """POSTs n Leads, 100 per call, bodies encoded beforehand; returns seconds."""
    bodies = [json.dumps({"data": [lead(tag, i) for i in range(s, min(n, s + 100))]}).encode()
              for s in range(0, n, 100)]
    t0 = time.perf_counter()
    for b in bodies:
        st, resp = call("POST", "/crm/v8/Leads", b, {"Content-Type": "application/json"})
        assert st == 201, (st, resp)
    return time.perf_counter() - t0


def csv_zip(tag, n):
    cols = ["Last_Name", "First_Name", "Company", "Email", "City", "Phone", "Lead_Source"]
    out = io.StringIO()
    out.write(",".join(cols) + "\n")
    for i in range(n):
        r = lead(tag, i)
        out.write(",".join(r[c] for c in cols) + "\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("leads.csv", out.getvalue())
    return buf.getvalue()


def multipart(data):
    boundary = uuid.uuid4().hex
    body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leads.zip\"\r\n"
             "Content-Type: application/zip\r\n\r\n") % boundary).encode() + data + ("\r\n--%s--\r\n" % boundary).encode()
    return body, {"Content-Type": "multipart/form-data; boundary=" + boundary, "feature": "bulk-write",
                  "X-CRM-ORG": ZGID}


def bulk_write(tag, n):
    body, headers = multipart(csv_zip(tag, n))
    t0 = time.perf_counter()
    st, up = call("POST", "/crm/v8/upload", body, headers)
    assert st == 200, (st, up)
    t_up = time.perf_counter() - t0
    st, job = call("POST", "/crm/bulk/v8/write", {"operation": "insert", "resource": [
        {"type": "data", "module": {"api_name": "Leads"}, "file_id": up["details"]["file_id"]}]})
    assert st == 201, (st, job)
    jid = job["details"]["id"]
    while True:
        st, j = call("GET", "/crm/bulk/v8/write/" + jid)
        if j["status"] in ("COMPLETED", "FAILED"):
            break
        time.sleep(0.002)
    dt = time.perf_counter() - t0
    print("bulk write: upload %.3f s, job %.3f s" % (t_up, dt - t_up), file=sys.stderr)
    assert j["status"] == "COMPLETED" and j["resource"][0]["file"]["added_count"] == n, j
    return dt


def bulk_read(n):
    t0 = time.perf_counter()
    st, r = call("POST", "/crm/bulk/v8/read", {"query": {"module": {"api_name": "Leads"},
                 "fields": ["Last_Name", "First_Name", "Company", "Email", "City", "Phone", "Lead_Source",
                            "Owner", "Created_Time"]}})
    assert st == 201, (st, r)
    jid = r["data"][0]["details"]["id"]
    while True:
        st, j = call("GET", "/crm/bulk/v8/read/" + jid)
        j = j["data"][0]
        if j["state"] in ("COMPLETED", "FAILURE"):
            break
        time.sleep(0.002)
    st, data = call("GET", "/crm/bulk/v8/read/%s/result" % jid, raw=True)
    dt = time.perf_counter() - t0
    assert st == 200 and j["result"]["count"] == n, j
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        lines = z.read(z.namelist()[0]).count(b"\n")
    assert lines == n + 1, lines
    return dt, len(data)


post_write = post_batches("p", WRITE_ROWS)
bulk_w = bulk_write("b", WRITE_ROWS)
# The rest of the read's 200,000 records, also through POST: its baseline is
# the time all 200,000 POSTed records took.
post_rest = post_batches("q", READ_ROWS - WRITE_ROWS)
post_read = post_write + post_rest
bulk_r, zip_bytes = bulk_read(READ_ROWS)

print("| job | rows | bulk job s | bulk records/s | POST ×100 s | POST records/s | bulk / POST time |")
print("|---|---|---|---|---|---|---|")
print("| bulk write: upload → COMPLETED (insert, 7 columns) | %d | %.3f | %d | %.3f | %d | %.2f |" % (
    WRITE_ROWS, bulk_w, WRITE_ROWS / bulk_w, post_write, WRITE_ROWS / post_write, bulk_w / post_write))
print("| bulk read: create → COMPLETED → ZIP downloaded (9 columns, %.1f MB ZIP) | %d | %.3f | %d | %.3f | %d | %.2f |" % (
    zip_bytes / 1e6, READ_ROWS, bulk_r, READ_ROWS / bulk_r, post_read, READ_ROWS / post_read, bulk_r / post_read))
