//! `admin deliveries`: the notification delivery log of every org (or one
//! event), newest first.

use crate::storage::Storage;
use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct DeliveriesArgs {
    #[command(flatten)]
    storage: Storage,
    /// Only the attempts of this event (`<org id>-<n>`, the X-Zcrm-Event-Id header).
    #[arg(long)]
    event_id: Option<String>,
    /// Most attempts shown.
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

pub async fn deliveries(a: DeliveriesArgs) -> anyhow::Result<()> {
    let DeliveriesArgs {
        storage: s,
        event_id,
        limit,
        json,
    } = a;
    let backend = s.connect()?;
    let control = backend.control().await?;
    let catalog =
        std::sync::Arc::new(zcrm_core::meta::Catalog::standard().map_err(anyhow::Error::msg)?);
    let wanted = match &event_id {
        Some(e) => {
            let (o, n) = e
                .split_once('-')
                .context("--event-id looks like <org id>-<n>")?;
            Some((o.parse::<i64>()?, n.parse::<i64>()?))
        }
        None => None,
    };
    let mut rows = Vec::new();
    for org in control.orgs().await? {
        let event = match wanted {
            Some((o, n)) if o == org.id => Some(n),
            Some(_) => continue,
            None => None,
        };
        let store = backend.org_store(org.id, catalog.clone(), false).await?;
        for a in store.attempts(event, limit).await? {
            rows.push(zcrm_server::notify::attempt_json(org.id, &a));
        }
        store.close();
    }
    control.close();
    rows.sort_by(|a, b| b["at"].as_i64().cmp(&a["at"].as_i64()));
    rows.truncate(limit.max(0) as usize);
    for r in &rows {
        if json {
            println!("{r}");
        } else {
            let at = chrono::DateTime::from_timestamp_millis(r["at"].as_i64().unwrap_or(0))
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            println!(
                "{at}  {}  #{}  {:<9} {:<9} {:>4} {:>6}ms  {} {} -> {}  {}",
                r["event_id"].as_str().unwrap_or(""),
                r["attempt"],
                r["outcome"].as_str().unwrap_or(""),
                r["event_status"].as_str().unwrap_or(""),
                r["status_code"]
                    .as_i64()
                    .map(|s| s.to_string())
                    .unwrap_or("-".into()),
                r["latency_ms"],
                r["module"].as_str().unwrap_or(""),
                r["operation"].as_str().unwrap_or(""),
                r["notify_url"].as_str().unwrap_or(""),
                r["error"].as_str().unwrap_or(""),
            );
        }
    }
    if rows.is_empty() && !json {
        println!("no delivery attempts");
    }
    Ok(())
}
