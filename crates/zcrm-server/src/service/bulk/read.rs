//! A read job: the query run in chunks into one CSV page, zipped.

use super::write::zip_one;
use super::*;

/// A read value as the CSV shows it.
fn csv_cell(col: &Column, v: &SqlValue, tz: chrono_tz::Tz) -> String {
    use zcrm_core::query::Kind;
    match v {
        SqlValue::Null => String::new(),
        SqlValue::Int(i) => match col.kind() {
            Kind::DateTime => format_datetime(*i, tz),
            Kind::Boolean => (*i != 0).to_string(),
            _ => i.to_string(),
        },
        SqlValue::Real(f) => f.to_string(),
        SqlValue::Text(s) => match col.kind() {
            Kind::Json => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(a)) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
                _ => s.clone(),
            },
            _ => s.clone(),
        },
    }
}

pub(super) async fn run_read(app: &Arc<App>, org: &Arc<OrgCtx>, id: i64) -> Result<(), String> {
    let Some(job) = org
        .store
        .claim_bulk_job(id, app.node, app.now())
        .await
        .map_err(store_err)?
    else {
        return Ok(());
    };
    let req: Value = serde_json::from_str(&job.request).map_err(store_err)?;
    let rr: ReadReq = serde_json::from_value(req["spec"].clone()).map_err(store_err)?;
    let (spec, names) = match read_spec(app, org, &rr) {
        Ok(s) => s,
        Err(e) => return fail(app, org, id, &e.message).await,
    };
    let skip = (rr.page - 1) * READ_PAGE;
    let start = org
        .store
        .bulk_read_start(&spec, skip)
        .await
        .map_err(store_err)?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&names).map_err(store_err)?;
    let mut count = 0i64;
    let mut more = false;
    if let Some(mut after) = start {
        let tz = org.tz;
        loop {
            let want = (READ_PAGE - count).min(READ_CHUNK) + 1;
            let rows = org
                .store
                .bulk_read_chunk(&spec, after, want)
                .await
                .map_err(store_err)?;
            let got = rows.len() as i64;
            let take = got.min(READ_PAGE - count).min(READ_CHUNK);
            for r in rows.iter().take(take as usize) {
                let mut line: Vec<String> = Vec::with_capacity(r.len());
                line.push(r[0].as_i64().map(|i| i.to_string()).unwrap_or_default());
                for (c, v) in spec.columns.iter().zip(&r[1..]) {
                    line.push(csv_cell(c, v, tz));
                }
                out.write_record(&line).map_err(store_err)?;
            }
            count += take;
            if let Some(last) = (take as usize).checked_sub(1).and_then(|i| rows.get(i)) {
                after = last[0].as_i64().unwrap_or(after);
            }
            if count >= READ_PAGE {
                more = got > take;
                break;
            }
            if got <= take {
                break;
            }
            if !org
                .store
                .renew_bulk_job(id, app.node, app.now())
                .await
                .map_err(store_err)?
            {
                return Ok(());
            }
        }
    }
    let csv_bytes = out.into_inner().map_err(store_err)?;
    let zip = tokio::task::spawn_blocking(move || zip_one(&format!("{id}.csv"), &csv_bytes))
        .await
        .map_err(store_err)??;
    let key = format!("bulk/{}/read-{id}.zip", org.org.id);
    app.files
        .put(&key, bytes::Bytes::from(zip))
        .await
        .map_err(store_err)?;
    org.store
        .finish_bulk_job(
            id,
            app.node,
            COMPLETED,
            Some(key),
            count,
            more,
            None,
            app.now(),
        )
        .await
        .map_err(store_err)?;
    Ok(())
}
