//! Bulk write (upload, insert/update/upsert jobs, result files) and bulk read
//! (criteria, pages, result files), over HTTP against the real server.

mod common;
use common::bulk::*;
use common::*;
use serde_json::{json, Value};
use std::io::{Cursor, Write};

#[tokio::test]
async fn bulk_insert_with_mappings_defaults_and_row_errors() {
    let srv = TestServer::start().await;
    let t = srv.token(BULK_SCOPES).await;
    let csv = "Last,Company,Email,Employees,Opt\n\
               Ada,ACME,ada@example.com,10,true\n\
               Bob,ACME,not-an-email,5,false\n\
               ,ACME,x@example.com,1,false\n\
               \"Smith, Jr\",\"Q \"\"Co\"\"\",s@example.com,7,TRUE\n";
    let file_id = upload(&srv, &t, zip_of(&[("leads.csv", csv.as_bytes())])).await;
    let job = write_job(
        &srv,
        &t,
        json!({"operation": "insert", "character_encoding": "UTF-8",
               "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id,
                 "field_mappings": [
                    {"api_name": "Last_Name", "index": 0},
                    {"api_name": "Company", "index": 1},
                    {"api_name": "Email", "index": 2},
                    {"api_name": "No_of_Employees", "index": 3},
                    {"api_name": "Email_Opt_Out", "index": 4},
                    {"api_name": "Lead_Source", "default_value": {"value": "Advertisement"}}]}]}),
    )
    .await;
    let j = wait_write(&srv, &t, &job).await;
    assert_eq!(j["status"], "COMPLETED", "{j}");
    assert_eq!(j["operation"], "insert");
    assert_eq!(j["id"], job.as_str());
    let file = &j["resource"][0]["file"];
    assert_eq!(file["total_count"], 4, "{j}");
    assert_eq!(file["added_count"], 2);
    assert_eq!(file["skipped_count"], 2);
    assert_eq!(file["updated_count"], 0);
    assert_eq!(j["resource"][0]["module"]["api_name"], "Leads");
    let url = j["result"]["download_url"].as_str().unwrap();
    assert!(url.starts_with(&srv.url), "absolute, on our host: {url}");
    let (header, rows) = download_csv(&srv, &t, url).await;
    assert_eq!(
        header,
        [
            "Last",
            "Company",
            "Email",
            "Employees",
            "Opt",
            "STATUS",
            "RECORD_ID",
            "ERRORS"
        ]
    );
    let status: Vec<&str> = rows.iter().map(|r| r["STATUS"].as_str()).collect();
    assert_eq!(status, ["ADDED", "SKIPPED", "SKIPPED", "ADDED"]);
    assert_eq!(rows[1]["ERRORS"], "INVALID_DATA-Email");
    assert_eq!(rows[2]["ERRORS"], "MANDATORY_NOT_FOUND-Last_Name");
    assert_eq!(rows[3]["Last"], "Smith, Jr");
    assert!(rows[1]["RECORD_ID"].is_empty());
    let id = &rows[0]["RECORD_ID"];
    let r = srv.get(&format!("/crm/v8/Leads/{id}"), &t).await;
    let rec = &r.body["data"][0];
    assert_eq!(rec["Last_Name"], "Ada");
    assert_eq!(rec["Email"], "ada@example.com");
    assert_eq!(rec["No_of_Employees"], 10);
    assert_eq!(rec["Email_Opt_Out"], true);
    assert_eq!(rec["Lead_Source"], "Advertisement");
    let r = srv
        .get(&format!("/crm/v8/Leads/{}", rows[3]["RECORD_ID"]), &t)
        .await;
    assert_eq!(r.body["data"][0]["Company"], "Q \"Co\"");
    // Nothing else was written.
    let r = srv.get("/crm/v8/Leads?fields=Last_Name", &t).await;
    assert_eq!(r.body["info"]["count"], 2);
}

#[tokio::test]
async fn bulk_update_by_id_and_upsert_by_unique_field() {
    let srv = TestServer::start().await;
    let t = srv.token(BULK_SCOPES).await;
    let ids = srv
        .create(
            "Leads",
            &t,
            vec![
                json!({"Last_Name": "One", "Company": "Old", "City": "Paris"}),
                json!({"Last_Name": "Two", "Company": "Old", "City": "Rome"}),
            ],
        )
        .await;
    // Update by id; an empty City is left alone (ignore_empty), an unknown id is skipped.
    let csv = format!(
        "id,Company,City\n{},New,\n{},New,Oslo\n999,New,X\n",
        ids[0], ids[1]
    );
    let f = upload(&srv, &t, zip_of(&[("u.csv", csv.as_bytes())])).await;
    let job = write_job(
        &srv,
        &t,
        json!({"operation": "update", "ignore_empty": true,
               "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": f, "find_by": "id",
                 "field_mappings": [{"api_name": "id", "index": 0}, {"api_name": "Company", "index": 1},
                                    {"api_name": "City", "index": 2}]}]}),
    )
    .await;
    let j = wait_write(&srv, &t, &job).await;
    let file = &j["resource"][0]["file"];
    assert_eq!(
        (
            file["updated_count"].as_i64(),
            file["skipped_count"].as_i64()
        ),
        (Some(2), Some(1)),
        "{j}"
    );
    assert_eq!(j["resource"][0]["find_by"], "id");
    let (_, rows) = download_csv(&srv, &t, j["result"]["download_url"].as_str().unwrap()).await;
    assert_eq!(rows[0]["STATUS"], "UPDATED");
    assert_eq!(rows[0]["RECORD_ID"], ids[0]);
    assert_eq!(rows[2]["STATUS"], "SKIPPED");
    assert_eq!(rows[2]["ERRORS"], "INVALID_DATA-id");
    let r = srv.get(&format!("/crm/v8/Leads/{}", ids[0]), &t).await;
    assert_eq!(r.body["data"][0]["Company"], "New");
    assert_eq!(r.body["data"][0]["City"], "Paris");
    let r = srv.get(&format!("/crm/v8/Leads/{}", ids[1]), &t).await;
    assert_eq!(r.body["data"][0]["City"], "Oslo");

    // Upsert Accounts by their unique name: one updated, one inserted (columns mapped by name).
    let acc = srv
        .create(
            "Accounts",
            &t,
            vec![json!({"Account_Name": "Globex", "Phone": "111"})],
        )
        .await;
    let csv = "Account_Name,Phone\nglobex,222\nInitech,333\n";
    let f = upload(&srv, &t, zip_of(&[("a.csv", csv.as_bytes())])).await;
    let job = write_job(
        &srv,
        &t,
        json!({"operation": "upsert",
               "resource": [{"type": "data", "module": {"api_name": "Accounts"}, "file_id": f,
                 "find_by": "Account_Name",
                 "field_mappings": [{"api_name": "Account_Name"}, {"api_name": "Phone"}]}]}),
    )
    .await;
    let j = wait_write(&srv, &t, &job).await;
    let file = &j["resource"][0]["file"];
    assert_eq!(
        (file["added_count"].as_i64(), file["updated_count"].as_i64()),
        (Some(1), Some(1)),
        "{j}"
    );
    let (_, rows) = download_csv(&srv, &t, j["result"]["download_url"].as_str().unwrap()).await;
    assert_eq!(rows[0]["STATUS"], "UPDATED");
    assert_eq!(rows[0]["RECORD_ID"], acc[0]);
    assert_eq!(rows[1]["STATUS"], "ADDED");
    let r = srv.get(&format!("/crm/v8/Accounts/{}", acc[0]), &t).await;
    assert_eq!(r.body["data"][0]["Phone"], "222");
    // A second insert of the same name is a duplicate, row by row.
    let f = upload(
        &srv,
        &t,
        zip_of(&[("a.csv", b"Account_Name\nInitech\nHooli\n")]),
    )
    .await;
    let job = write_job(
        &srv,
        &t,
        json!({"operation": "insert", "resource": [{"module": {"api_name": "Accounts"}, "file_id": f}]}),
    )
    .await;
    let j = wait_write(&srv, &t, &job).await;
    let (_, rows) = download_csv(&srv, &t, j["result"]["download_url"].as_str().unwrap()).await;
    assert_eq!(rows[0]["STATUS"], "SKIPPED");
    assert_eq!(rows[0]["ERRORS"], "DUPLICATE_DATA-Account_Name");
    assert_eq!(rows[1]["STATUS"], "ADDED");
}

#[tokio::test]
async fn upload_refuses_bad_files() {
    let srv = TestServer::start().await;
    let t = srv.token(BULK_SCOPES).await;
    let org = zgid(&srv, &t).await;
    let good = zip_of(&[("a.csv", b"Last_Name\nx\n")]);
    // Headers Zoho's content host requires.
    for (feature, o) in [
        (None, Some(org.as_str())),
        (Some("bulk-write"), None),
        (Some("bulk-write"), Some("123")),
    ] {
        let r = upload_with(&srv, &t, good.clone(), feature, o).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(
            r.body["x-error"],
            "check if headers [feature, X-CRM-ORG] are present and valid"
        );
        assert_eq!(r.body["info"], "Forbidden");
        assert_eq!(r.body["x-info"], "Link not valid");
    }
    let up = |zip: Vec<u8>| upload_with(&srv, &t, zip, Some("bulk-write"), Some(&org));
    // Not a ZIP; a ZIP of two files; a ZIP without a CSV; an empty CSV.
    for bad in [
        b"Last_Name\nx\n".to_vec(),
        zip_of(&[("a.csv", b"Last_Name\nx\n"), ("b.csv", b"Last_Name\ny\n")]),
        zip_of(&[("a.txt", b"Last_Name\nx\n")]),
        zip_of(&[("a.csv", b"")]),
        // A quoted field left open to the end of the file.
        zip_of(&[("a.csv", b"Last_Name,Company\n\"open,x\ny,z\n")]),
    ] {
        let r = up(bad).await;
        assert_error(&r, 400, "INVALID_FILE_FORMAT");
    }
    // A ZIP bomb: 300 MB of CSV in a few hundred kB.
    let mut bomb = zip::ZipWriter::new(Cursor::new(Vec::new()));
    bomb.start_file(
        "bomb.csv",
        zip::write::SimpleFileOptions::default().compression_level(Some(9)),
    )
    .unwrap();
    bomb.write_all(b"Last_Name\n").unwrap();
    let line = vec![b'a'; 1 << 20];
    for _ in 0..300 {
        bomb.write_all(&line).unwrap();
    }
    let bomb = bomb.finish().unwrap().into_inner();
    assert!(bomb.len() < 2 << 20, "bomb is small: {}", bomb.len());
    let r = up(bomb).await;
    assert_error(&r, 413, "FILE_TOO_LARGE");
    // Over 25 MB of ZIP.
    let big: Vec<u8> = (0..26u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let r = up(big).await;
    assert_error(&r, 413, "FILE_TOO_LARGE");
    // More than 200 columns.
    let wide = (0..201)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    let r = up(zip_of(&[("w.csv", wide.as_bytes())])).await;
    assert_error(&r, 400, "HEADER_LIMIT_EXCEEDED");
    // More than 25,000 rows.
    let mut many = String::from("Last_Name\n");
    for i in 0..25_001 {
        many.push_str(&format!("n{i}\n"));
    }
    let r = up(zip_of(&[("m.csv", many.as_bytes())])).await;
    assert_error(&r, 400, "LIMIT_EXCEEDED");
    // Upload needs ZohoFiles.files.ALL.
    let t2 = srv
        .token("ZohoCRM.modules.ALL,ZohoCRM.org.ALL,ZohoCRM.bulk.ALL")
        .await;
    let r = upload_with(&srv, &t2, good, Some("bulk-write"), Some(&org)).await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
}

#[tokio::test]
async fn ragged_rows_and_bad_encoding_are_row_errors() {
    let srv = TestServer::start().await;
    let t = srv.token(BULK_SCOPES).await;
    let mut csv = b"Last_Name;City\nok1;Paris\nshort\nbad;".to_vec();
    csv.extend_from_slice(&[0xff, 0xfe, b'\n']);
    csv.extend_from_slice(b"ok2;Rome;extra\nok3;Oslo\n");
    let f = upload(&srv, &t, zip_of(&[("r.csv", &csv)])).await;
    let job = write_job(
        &srv,
        &t,
        json!({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": f,
               "field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "City", "index": 1}]}]}),
    )
    .await;
    let j = wait_write(&srv, &t, &job).await;
    let (_, rows) = download_csv(&srv, &t, j["result"]["download_url"].as_str().unwrap()).await;
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["STATUS"].as_str(), r["ERRORS"].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("ADDED", ""),
            ("SKIPPED", "CANNOT_PROCESS"),
            ("SKIPPED", "INVALID_DATA-City"),
            ("SKIPPED", "CANNOT_PROCESS"),
            ("ADDED", "")
        ]
    );
    // Read as ISO-8859-1 the same bytes are text.
    let job = write_job(
        &srv,
        &t,
        json!({"operation": "insert", "character_encoding": "ISO-8859-1",
               "resource": [{"module": {"api_name": "Leads"}, "file_id": f,
               "field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "City", "index": 1}]}]}),
    )
    .await;
    let j = wait_write(&srv, &t, &job).await;
    assert_eq!(j["resource"][0]["file"]["added_count"], 3, "{j}");
}

#[tokio::test]
async fn write_job_creation_errors() {
    let srv = TestServer::start().await;
    let t = srv.token(BULK_SCOPES).await;
    let f = upload(&srv, &t, zip_of(&[("a.csv", b"Last_Name,Company\nx,y\n")])).await;
    let res = |extra: Value| {
        let mut r = json!({"module": {"api_name": "Leads"}, "file_id": f,
                           "field_mappings": [{"api_name": "Last_Name", "index": 0}]});
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"resource": [res(json!({}))]}),
            400,
            "MISSING_REQUIRED_KEY",
        ),
        (
            json!({"operation": "merge", "resource": [res(json!({}))]}),
            400,
            "INVALID_DATA",
        ),
        (json!({"operation": "insert"}), 400, "MISSING_REQUIRED_KEY"),
        (
            json!({"operation": "insert", "resource": [res(json!({"file_id": "123456"}))]}),
            400,
            "INVALID_FILE_ID",
        ),
        (
            json!({"operation": "insert", "resource": [res(json!({"module": {"api_name": "Nope"}}))]}),
            400,
            "MODULE_NOT_AVAILABLE",
        ),
        (
            json!({"operation": "insert", "resource": [res(json!({"field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "Bogus", "index": 1}]}))]}),
            400,
            "INVALID_FIELD",
        ),
        (
            json!({"operation": "insert", "resource": [res(json!({"field_mappings": [{"api_name": "Last_Name", "index": 5}]}))]}),
            400,
            "COLUMN_INDEX_NOT_FOUND",
        ),
        (
            json!({"operation": "insert", "resource": [res(json!({"field_mappings": [{"api_name": "Company", "index": 1}]}))]}),
            400,
            "MANDATORY_FIELDS_NOT_MAPPED",
        ),
        (
            json!({"operation": "insert", "resource": [res(json!({"field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "City"}]}))]}),
            400,
            "MISSING_REQUIRED_KEY",
        ),
        (
            json!({"operation": "update", "resource": [res(json!({}))]}),
            400,
            "MISSING_REQUIRED_KEY",
        ),
        (
            json!({"operation": "update", "resource": [res(json!({"find_by": "Company"}))]}),
            400,
            "INVALID_DATA",
        ),
        (
            json!({"operation": "insert", "callback": {"url": "not a url", "method": "post"}, "resource": [res(json!({}))]}),
            400,
            "INVALID_CALLBACK_URL",
        ),
        (
            json!({"operation": "insert", "callback": {"url": "https://example.com/cb", "method": "get"}, "resource": [res(json!({}))]}),
            400,
            "INVALID_CALLBACK_METHOD",
        ),
        (
            json!({"operation": "insert", "character_encoding": "EBCDIC", "resource": [res(json!({}))]}),
            400,
            "INVALID_DATA",
        ),
    ];
    for (body, status, code) in cases {
        let r = srv.post("/crm/bulk/v8/write", &t, body.clone()).await;
        assert_error(&r, status, code);
    }
    let r = srv
        .post(
            "/crm/bulk/v8/write",
            &t,
            json!({"operation": "insert", "callback": {"url": "https://example.com/cb", "method": "get"}, "resource": [res(json!({}))]}),
        )
        .await;
    assert_eq!(
        r.body["details"]["supported_callback_methods"],
        json!(["post"])
    );
    let r = srv
        .raw(reqwest::Method::POST, "/crm/bulk/v8/write", &t, "{not json")
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    // Unknown jobs.
    for path in [
        "/crm/bulk/v8/write/123456789",
        "/crm/bulk/v8/write/abc",
        "/crm/bulk/v8/write/123456789/result",
    ] {
        let r = srv.get(path, &t).await;
        assert_error(&r, 404, "RESOURCE_NOT_FOUND");
    }
    // Scopes: bulk write needs ZohoCRM.bulk.CREATE, and the module's write scope.
    let t2 = srv.token("ZohoCRM.modules.ALL,ZohoCRM.bulk.READ").await;
    let r = srv
        .post(
            "/crm/bulk/v8/write",
            &t2,
            json!({"operation": "insert", "resource": [res(json!({}))]}),
        )
        .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
    let t3 = srv
        .token("ZohoCRM.modules.leads.READ,ZohoCRM.bulk.ALL")
        .await;
    let r = srv
        .post(
            "/crm/bulk/v8/write",
            &t3,
            json!({"operation": "insert", "resource": [res(json!({}))]}),
        )
        .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
}

#[tokio::test]
async fn bulk_read_with_group_criteria_and_result_file() {
    let srv = TestServer::start().await;
    let t = srv.token(BULK_SCOPES).await;
    let mut recs = Vec::new();
    for i in 0..12 {
        recs.push(json!({"Last_Name": format!("R{i:02}"), "Company": if i % 2 == 0 { "Even" } else { "Odd" },
                          "Lead_Source": if i < 6 { "Cold Call" } else { "Advertisement" },
                          "No_of_Employees": i, "Email": format!("r{i}@example.com"),
                          "Email_Opt_Out": i == 3}));
    }
    let ids = srv.create("Leads", &t, recs).await;
    let body = json!({"query": {"module": {"api_name": "Leads"},
        "fields": ["Last_Name", "Company", "No_of_Employees", "Email_Opt_Out", "Owner", "Owner.last_name", "Created_Time"],
        "criteria": {"group_operator": "or", "group": [
            {"group_operator": "and", "group": [
                {"field": {"api_name": "Company"}, "comparator": "equal", "value": "Even"},
                {"field": {"api_name": "Lead_Source"}, "comparator": "equal", "value": "Cold Call"}]},
            {"field": {"api_name": "No_of_Employees"}, "comparator": "greater_equal", "value": 10},
            {"field": {"api_name": "Last_Name"}, "comparator": "in", "value": ["R03", "R05"]}]}},
        "file_type": "csv"});
    let r = srv.post("/crm/bulk/v8/read", &t, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let item = &r.body["data"][0];
    assert_eq!(item["code"], "ADDED_SUCCESSFULLY");
    assert_eq!(item["message"], "Added successfully.");
    assert_eq!(item["details"]["operation"], "read");
    assert_eq!(item["details"]["state"], "ADDED");
    let job = item["details"]["id"].as_str().unwrap().to_string();
    let j = wait_read(&srv, &t, &job).await;
    assert_eq!(j["state"], "COMPLETED", "{j}");
    assert_eq!(j["operation"], "read");
    assert_eq!(j["file_type"], "csv");
    assert_eq!(j["query"]["module"]["api_name"], "Leads");
    let res = &j["result"];
    // Even+Web: R00 R02 R04; >=10: R10 R11; in: R03 R05.
    assert_eq!(res["count"], 7, "{j}");
    assert_eq!(res["page"], 1);
    assert_eq!(res["per_page"], 200000);
    assert_eq!(res["more_records"], false);
    assert_eq!(
        res["download_url"],
        format!("/crm/bulk/v8/read/{job}/result")
    );
    let (header, rows) = download_csv(&srv, &t, res["download_url"].as_str().unwrap()).await;
    assert_eq!(
        header,
        [
            "Id",
            "Last_Name",
            "Company",
            "No_of_Employees",
            "Email_Opt_Out",
            "Owner",
            "Owner.last_name",
            "Created_Time"
        ]
    );
    let names: Vec<&str> = rows.iter().map(|r| r["Last_Name"].as_str()).collect();
    assert_eq!(names, ["R00", "R02", "R03", "R04", "R05", "R10", "R11"]);
    assert_eq!(rows[0]["Id"], ids[0]);
    assert_eq!(rows[2]["Email_Opt_Out"], "true");
    assert_eq!(rows[5]["No_of_Employees"], "10");
    let me = srv.get("/crm/v8/users?type=CurrentUser", &t).await;
    let me = &me.body["users"][0];
    assert_eq!(rows[0]["Owner"], me["id"].as_str().unwrap());
    assert_eq!(
        rows[0]["Owner.last_name"],
        me["last_name"].as_str().unwrap()
    );
    assert!(rows[0]["Created_Time"].contains('T'), "{:?}", rows[0]);
    // Page 2 of a small result is empty; no criteria reads everything; ${EMPTY}.
    let r = srv
        .post(
            "/crm/bulk/v8/read",
            &t,
            json!({"query": {"module": {"api_name": "Leads"}, "fields": ["Last_Name"], "page": 2}}),
        )
        .await;
    let j = wait_read(
        &srv,
        &t,
        r.body["data"][0]["details"]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(j["result"]["count"], 0);
    let r = srv
        .post("/crm/bulk/v8/read", &t, json!({"query": {"module": {"api_name": "Leads"},
            "criteria": {"field": {"api_name": "City"}, "comparator": "equal", "value": "${EMPTY}"}}}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let j = wait_read(
        &srv,
        &t,
        r.body["data"][0]["details"]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(j["result"]["count"], 12);
    let (header, _) = download_csv(&srv, &t, j["result"]["download_url"].as_str().unwrap()).await;
    assert!(
        header.contains(&"Email".to_string()) && header[0] == "Id",
        "{header:?}"
    );
}

#[tokio::test]
async fn bulk_read_errors() {
    let srv = TestServer::start().await;
    let t = srv.token(BULK_SCOPES).await;
    let q = |query: Value| json!({"query": query});
    let leads = json!({"api_name": "Leads"});
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({}), 400, "MANDATORY_NOT_FOUND"),
        (
            q(json!({"module": {"api_name": "Nope"}})),
            400,
            "MODULE_NOT_AVAILABLE",
        ),
        (
            q(json!({"module": leads, "fields": ["Nope"]})),
            400,
            "FIELD_NOT_AVAILABLE",
        ),
        (
            q(
                json!({"module": leads, "criteria": {"field": {"api_name": "Nope"}, "comparator": "equal", "value": "x"}}),
            ),
            400,
            "INVALID_CRITERIA",
        ),
        (
            q(
                json!({"module": leads, "criteria": {"field": {"api_name": "No_of_Employees"}, "comparator": "contains", "value": "1"}}),
            ),
            400,
            "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED",
        ),
        (
            q(
                json!({"module": leads, "criteria": {"field": {"api_name": "No_of_Employees"}, "comparator": "equal", "value": "abc"}}),
            ),
            400,
            "COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE",
        ),
        (
            q(
                json!({"module": leads, "criteria": {"group_operator": "xor", "group": [{"field": {"api_name": "City"}, "comparator": "equal", "value": "x"}]}}),
            ),
            400,
            "GROUP_OPERATOR_NOT_SUPPORTED",
        ),
        (q(json!({"module": leads, "page": 0})), 400, "INVALID_DATA"),
        (
            q(json!({"module": leads, "cvid": "42"})),
            400,
            "INVALID_DATA",
        ),
        (
            json!({"query": {"module": leads}, "callback": {"url": "https://example.com/cb", "method": "put"}}),
            400,
            "INVALID_CALLBACK_METHOD",
        ),
    ];
    for (body, status, code) in cases {
        let r = srv.post("/crm/bulk/v8/read", &t, body.clone()).await;
        assert_error(&r, status, code);
    }
    let r = srv
        .post("/crm/bulk/v8/read", &t, json!({"query": {"module": leads, "criteria": {"field": {"api_name": "No_of_Employees"}, "comparator": "contains", "value": "1"}}}))
        .await;
    assert!(r.body["details"]["supported"]
        .as_array()
        .unwrap()
        .contains(&json!("greater_than")));
    // Without a Content-Type.
    let r = srv
        .http
        .post(format!("{}/crm/bulk/v8/read", srv.url))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .body(r#"{"query":{"module":{"api_name":"Leads"}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    for path in [
        "/crm/bulk/v8/read/1234567",
        "/crm/bulk/v8/read/1234567/result",
    ] {
        assert_error(&srv.get(path, &t).await, 404, "RESOURCE_NOT_FOUND");
    }
    // A write job is not a read job.
    let t2 = srv.token("ZohoCRM.modules.ALL,ZohoCRM.bulk.CREATE").await;
    let r = srv
        .post("/crm/bulk/v8/read", &t2, q(json!({"module": leads})))
        .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
    let t3 = srv
        .token("ZohoCRM.modules.contacts.READ,ZohoCRM.bulk.READ")
        .await;
    let r = srv
        .post("/crm/bulk/v8/read", &t3, q(json!({"module": leads})))
        .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
}
