"""Record actions benchmark driver (issue 6). Usage:
    actions.py HOST PORT TOKEN ROUNDS MASS_RECORDS PUT_RECORDS
1. Upsert vs create: ROUNDS times, POST 100 new Leads (timed), then POST /upsert 100 Leads of which
   50 match existing ones by Email and 50 are new (timed). Prints records/s of each and the ratio.
2. Mass update: PUT_RECORDS of the seeded Leads updated through PUT /Leads, 100 per call (the baseline),
   then one mass update job over a view of MASS_RECORDS Leads, timed from the POST until the job reports
   COMPLETED. Prints records/s of each and the ratio.
One client, one keep-alive connection: the figures are per-caller throughput."""
import http.client, json, sys, time

host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rounds, mass_n, put_n = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
conn = http.client.HTTPConnection(host, port, timeout=600)
H = {"Authorization": f"Zoho-oauthtoken {token}", "Content-Type": "application/json"}

def call(method, path, body=None, want=(200, 201, 202)):
    conn.request(method, path, json.dumps(body) if body is not None else None, H)
    r = conn.getresponse()
    raw = r.read()
    out = json.loads(raw) if raw else None
    if r.status not in want:
        sys.exit(f"{method} {path} answered {r.status}: {raw[:500]!r}")
    return out

def lead(tag, i):
    return {"Last_Name": f"B {tag} {i}", "First_Name": "Ann", "Company": f"Co {i}",
            "Email": f"{tag}.{i}@bench.example", "Lead_Status": "Not Contacted", "Annual_Revenue": i}

create_s = upsert_s = 0.0
for r in range(rounds):
    t0 = time.perf_counter()
    call("POST", "/crm/v8/Leads", {"data": [lead(f"c{r}", i) for i in range(100)]})
    create_s += time.perf_counter() - t0
    recs = [dict(lead(f"c{r}", i), Company="Updated") for i in range(50)] + [lead(f"u{r}", i) for i in range(50)]
    t0 = time.perf_counter()
    out = call("POST", "/crm/v8/Leads/upsert", {"data": recs})
    upsert_s += time.perf_counter() - t0
    actions = [d["action"] for d in out["data"]]
    assert actions.count("update") == 50 and actions.count("insert") == 50, actions
n = rounds * 100
print(f"UPSERT create_rps={n / create_s:.0f} upsert_rps={n / upsert_s:.0f} ratio={create_s / upsert_s:.2f}")

# Baseline: plain bulk PUT of seeded records, 100 per call.
ids = []
page_token = None
while len(ids) < put_n:
    q = "/crm/v8/Leads?fields=Last_Name&per_page=200" + (f"&page_token={page_token}" if page_token else "")
    out = call("GET", q)
    ids += [d["id"] for d in out["data"]]
    page_token = out["info"].get("next_page_token")
    if not out["info"]["more_records"]:
        break
ids = ids[:put_n]
t0 = time.perf_counter()
for b in range(0, len(ids), 100):
    out = call("PUT", "/crm/v8/Leads", {"data": [{"id": i, "Lead_Status": "Contacted"} for i in ids[b:b + 100]]})
put_s = time.perf_counter() - t0
views = call("GET", "/crm/v8/settings/custom_views?module=Leads")["custom_views"]
cvid = next(v["id"] for v in views if v["system_name"] == "ALLVIEWS")
total = call("GET", "/crm/v8/Leads/actions/count")["count"]
t0 = time.perf_counter()
job = call("POST", "/crm/v8/Leads/actions/mass_update",
           {"data": [{"Lead_Status": "Attempted to Contact"}], "cvid": cvid})["data"][0]["details"]["job_id"]
while True:
    st = call("GET", f"/crm/v8/Leads/actions/mass_update?job_id={job}")["data"][0]
    if st["Status"] == "COMPLETED":
        break
    time.sleep(0.05)
mass_s = time.perf_counter() - t0
assert st["Updated_Count"] == total, st
print(f"MASS records={total} seconds={mass_s:.2f} mass_rps={total / mass_s:.0f} "
      f"put_records={len(ids)} put_rps={len(ids) / put_s:.0f} ratio={(total / mass_s) / (len(ids) / put_s):.2f}")
