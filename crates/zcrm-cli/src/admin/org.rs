//! The org's edition, licensed users and API limits (`admin org set|show`),
//! and the credits it used (`admin usage`).

use super::pick_org;
use crate::storage::Storage;
use anyhow::Context;
use clap::{Args, Subcommand};
use zcrm_core::clock::Clock;

#[derive(Subcommand)]
pub enum OrgCmd {
    /// Change the org's edition, users and limits; prints the result.
    Set {
        #[command(flatten)]
        storage: Storage,
        /// The org (default: the first).
        #[arg(long)]
        org: Option<i64>,
        /// Free, Standard, Professional, Enterprise or Ultimate.
        #[arg(long)]
        edition: Option<String>,
        /// Licensed users (credits grow with them).
        #[arg(long)]
        users: Option<i64>,
        /// Daily credits instead of the edition's figure; `auto` goes back to it.
        #[arg(long)]
        credits: Option<String>,
        /// Concurrent calls per app instead of the edition's figure; `auto` goes back to it.
        #[arg(long)]
        concurrency: Option<String>,
        /// `off` lets every call through, uncounted (load tests).
        #[arg(long, value_parser = ["on", "off"])]
        limits: Option<String>,
    },
    /// Print the org's edition, users and limits.
    Show {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        org: Option<i64>,
    },
}

#[derive(Args)]
pub struct UsageArgs {
    #[command(flatten)]
    storage: Storage,
    /// The org (default: the first).
    #[arg(long)]
    org: Option<i64>,
    /// Print the JSON `GET /__zcrm/usage` answers.
    #[arg(long)]
    json: bool,
}

/// `N` or `auto` (no override).
fn override_arg(name: &str, v: Option<String>) -> anyhow::Result<Option<Option<i64>>> {
    match v.as_deref() {
        None => Ok(None),
        Some("auto") => Ok(Some(None)),
        Some(n) => match n.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(Some(n))),
            _ => anyhow::bail!("--{name} takes a number or `auto`"),
        },
    }
}

fn limits_json(s: zcrm_store::limits::LimitSettings) -> serde_json::Value {
    let e = zcrm_server::limits::Effective::of(s);
    serde_json::json!({
        "org_id": e.settings.org_id.to_string(),
        "edition": e.settings.edition,
        "users": e.settings.users,
        "limits": if e.settings.enabled { "on" } else { "off" },
        "credits": e.credits,
        "credits_overridden": e.settings.credits_override.is_some(),
        "concurrency": e.concurrency,
        "heavy_concurrency": e.heavy,
        "concurrency_overridden": e.settings.concurrency_override.is_some(),
    })
}

pub async fn org_cmd(cmd: OrgCmd) -> anyhow::Result<()> {
    match cmd {
        OrgCmd::Set {
            storage,
            org,
            edition,
            users,
            credits,
            concurrency,
            limits,
        } => {
            let edition = match edition {
                None => None,
                Some(e) => Some(
                    zcrm_server::limits::EDITIONS
                        .iter()
                        .find(|k| k.eq_ignore_ascii_case(&e))
                        .map(|k| k.to_string())
                        .with_context(|| {
                            format!(
                                "unknown edition {e:?}: one of {}",
                                zcrm_server::limits::EDITIONS.join(", ")
                            )
                        })?,
                ),
            };
            if users.is_some_and(|u| u < 1) {
                anyhow::bail!("--users must be at least 1");
            }
            let change = zcrm_store::limits::LimitChange {
                edition,
                users,
                credits: override_arg("credits", credits)?,
                concurrency: override_arg("concurrency", concurrency)?,
                enabled: limits.map(|l| l == "on"),
            };
            let control = storage.control().await?;
            let id = pick_org(&control, org).await?;
            let set = control
                .set_limits(id, change, Clock::new().now_ms())
                .await?
                .context("org vanished")?;
            control.close();
            println!("{}", limits_json(set));
            Ok(())
        }
        OrgCmd::Show { storage, org } => {
            let control = storage.control().await?;
            let id = pick_org(&control, org).await?;
            let s = control.limit_settings(id).await?.context("org vanished")?;
            control.close();
            println!("{}", limits_json(s));
            Ok(())
        }
    }
}

pub async fn usage(a: UsageArgs) -> anyhow::Result<()> {
    let UsageArgs { storage, org, json } = a;
    let control = storage.control().await?;
    let id = pick_org(&control, org).await?;
    let s = control.limit_settings(id).await?.context("org vanished")?;
    let now = Clock::new().now_ms();
    let u = control
        .usage(id, zcrm_store::limits::window_floor(now))
        .await?;
    control.close();
    let v = zcrm_server::limits::usage_json(&zcrm_server::limits::Effective::of(s), &u);
    if json {
        println!("{v}");
        return Ok(());
    }
    println!(
        "org {}  {} ({} users)  limits {}\ncredits (rolling 24 h): {} used of {}, {} remaining\nconcurrency per app: {} (heavy calls {})",
        v["org_id"].as_str().unwrap_or(""),
        v["edition"].as_str().unwrap_or(""),
        v["users"],
        v["limits"].as_str().unwrap_or(""),
        v["credits"]["used"],
        v["credits"]["limit"],
        v["credits"]["remaining"],
        v["concurrency"]["limit"],
        v["concurrency"]["heavy_limit"],
    );
    for (title, list, key) in [
        ("by API", "by_api", "api"),
        ("by client", "by_client", "client_id"),
    ] {
        println!(
            "\n{title}:\n  {:>8} {:>8} {:>8}  {key}",
            "credits", "calls", "refused"
        );
        for l in v[list].as_array().into_iter().flatten() {
            println!(
                "  {:>8} {:>8} {:>8}  {}",
                l["credits"],
                l["calls"],
                l["refused"],
                l[key].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}
