"""Seeds N Leads through the public API (100 per call) and writes their ids to a file."""
import http.client, json, sys, concurrent.futures

host, port, token, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]

def batch(b):
    c = http.client.HTTPConnection(host, port, timeout=60)
    recs = [{"Last_Name": f"Seed {b}-{i}", "First_Name": "Ann", "Company": f"Co {i}",
             "Email": f"s{b}.{i}@seed.example", "Lead_Status": "Not Contacted", "Annual_Revenue": b * i}
            for i in range(100)]
    c.request("POST", "/crm/v8/Leads", json.dumps({"data": recs}),
              {"Authorization": f"Zoho-oauthtoken {token}", "Content-Type": "application/json"})
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 201, body
    return [d["details"]["id"] for d in body["data"]]

ids = []
with concurrent.futures.ThreadPoolExecutor(4) as ex:
    for chunk in ex.map(batch, range(n // 100)):
        ids.extend(chunk)
open(out, "w").write("\n".join(ids) + "\n")
print(f"seeded {len(ids)} leads")
