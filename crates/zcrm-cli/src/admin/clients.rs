//! `zcrm admin client list` and `zcrm admin client revoke CLIENT_ID`.

use crate::storage::Storage;
use anyhow::Context;
use clap::{Args, Subcommand};
use zcrm_core::clock::Clock;
use zcrm_store::control::{ClientRow, ANY_SCOPE};

#[derive(Subcommand)]
pub enum ClientCmd {
    /// Every OAuth client: id, kind, name, the scopes its tokens may carry
    /// and its live tokens. Secrets are stored hashed and never shown.
    List(ListArgs),
    /// Revoke a client: it is removed with its grant codes, refresh and access
    /// tokens, which stop working on every node within 2 seconds (the token
    /// cache's bound).
    Revoke(RevokeArgs),
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    storage: Storage,
    /// Only this org's clients.
    #[arg(long)]
    org: Option<i64>,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    storage: Storage,
    /// The client's id, as `client list` shows it.
    client_id: String,
}

pub async fn run(cmd: ClientCmd) -> anyhow::Result<()> {
    match cmd {
        ClientCmd::List(a) => list(a).await,
        ClientCmd::Revoke(a) => revoke(a).await,
    }
}

/// What a client's tokens may carry, as shown.
fn scope_text(c: &ClientRow) -> String {
    match (c.scopes.as_str(), c.kind.as_str()) {
        (ANY_SCOPE, "web") => "what each user consents to".into(),
        (ANY_SCOPE, _) => "any".into(),
        (s, _) => s.to_string(),
    }
}

async fn list(a: ListArgs) -> anyhow::Result<()> {
    let control = a.storage.control().await?;
    let rows = control.clients(a.org, Clock::new().now_ms()).await;
    control.close();
    let rows = rows?;
    if a.json {
        let out: Vec<serde_json::Value> = rows
            .iter()
            .map(|c| {
                serde_json::json!({
                    "client_id": c.client_id, "kind": c.kind, "name": c.name,
                    "org_id": c.org_id.to_string(), "user_id": c.user_id.to_string(),
                    "scopes": c.scopes, "redirect_uris": c.redirect_uris,
                    "created_time": c.created_time,
                    "live_access_tokens": c.live_access_tokens,
                    "refresh_tokens": c.refresh_tokens,
                    "stored_access_tokens": c.stored_access_tokens,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(out));
        return Ok(());
    }
    println!("client_id\tkind\tname\tlive access tokens\trefresh tokens\tscopes");
    for c in &rows {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            c.client_id,
            c.kind,
            c.name,
            c.live_access_tokens,
            c.refresh_tokens,
            scope_text(c)
        );
    }
    Ok(())
}

async fn revoke(a: RevokeArgs) -> anyhow::Result<()> {
    let control = a.storage.control().await?;
    let done = control.revoke_client(a.client_id.clone()).await;
    control.close();
    let done = done?.with_context(|| format!("no client {}", a.client_id))?;
    println!(
        "revoked {}: {} access tokens, {} refresh tokens and {} grant codes removed",
        a.client_id, done.access_tokens, done.refresh_tokens, done.grant_codes
    );
    Ok(())
}
