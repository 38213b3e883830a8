//! Credentials: a Self Client with a grant code, a web-app client for the
//! consent page (`client list` and `client revoke` are in `clients`), a
//! user's new password.

use crate::storage::Storage;
use clap::Args;
use zcrm_core::clock::Clock;
use zcrm_core::scope::Scopes;

#[derive(Args)]
pub struct SelfClientArgs {
    #[command(flatten)]
    storage: Storage,
    /// Comma-separated scopes, e.g. ZohoCRM.modules.ALL,ZohoCRM.settings.ALL:
    /// the client's for good, the most any of its tokens may carry.
    #[arg(long)]
    scope: String,
    /// Lifetime of the grant code in seconds.
    #[arg(long, default_value_t = 600)]
    expiry: u64,
    /// Print `{"client_id","client_secret","code"}`.
    #[arg(long)]
    json: bool,
}

// `zcrm admin client --redirect-uri …` registers a web client; `client list`
// and `client revoke` are its subcommands (in `clients`).
#[derive(Args)]
#[command(subcommand_negates_reqs = true, args_conflicts_with_subcommands = true)]
pub struct ClientArgs {
    #[command(subcommand)]
    pub(super) cmd: Option<super::clients::ClientCmd>,
    #[command(flatten)]
    storage: Storage,
    /// Comma-separated redirect URIs the client may use, matched exactly.
    #[arg(long, required = true)]
    redirect_uri: Option<String>,
    /// Shown to the user on the consent page.
    #[arg(long, default_value = "Web Client")]
    name: String,
    /// Print `{"client_id","client_secret"}`.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct PasswordArgs {
    #[command(flatten)]
    storage: Storage,
    /// The user's email; default the org's primary user.
    #[arg(long)]
    email: Option<String>,
}

pub async fn self_client(a: SelfClientArgs) -> anyhow::Result<()> {
    let SelfClientArgs {
        storage,
        scope,
        expiry,
        json,
    } = a;
    let scopes =
        Scopes::parse_list(&scope).map_err(|bad| anyhow::anyhow!("invalid scope: {bad}"))?;
    if scopes.0.is_empty() {
        anyhow::bail!("--scope needs at least one scope");
    }
    let control = storage.control().await?;
    let now = Clock::new().now_ms();
    let (client, code) = control
        .self_client(scopes.to_list(), expiry as i64 * 1000, now)
        .await?;
    control.close();
    if json {
        println!(
            "{}",
            serde_json::json!({"client_id": client.client_id, "client_secret": client.client_secret, "code": code})
        );
    } else {
        println!(
            "client_id:     {}\nclient_secret: {}\ngrant code:    {code}",
            client.client_id, client.client_secret
        );
    }
    Ok(())
}

pub async fn web_client(a: ClientArgs) -> anyhow::Result<()> {
    let ClientArgs {
        cmd,
        storage,
        redirect_uri,
        name,
        json,
    } = a;
    if let Some(cmd) = cmd {
        return super::clients::run(cmd).await;
    }
    let uris = redirect_uris(redirect_uri.as_deref().unwrap_or(""))?;
    let control = storage.control().await?;
    let now = Clock::new().now_ms();
    let client = control.web_client(name, uris, now).await?;
    control.close();
    if json {
        println!(
            "{}",
            serde_json::json!({"client_id": client.client_id, "client_secret": client.client_secret})
        );
    } else {
        println!(
            "client_id:     {}\nclient_secret: {}",
            client.client_id, client.client_secret
        );
    }
    Ok(())
}

pub async fn password(a: PasswordArgs) -> anyhow::Result<()> {
    let PasswordArgs { storage, email } = a;
    let control = storage.control().await?;
    let (email, password) = control.reset_password(email).await?;
    control.close();
    println!("admin email:    {email}\nadmin password: {password}");
    Ok(())
}

/// Redirect URIs as Zoho's API console takes them: absolute http(s) URLs. No
/// fragment, since the code is appended as a query parameter.
fn redirect_uris(list: &str) -> anyhow::Result<Vec<String>> {
    let uris: Vec<String> = list
        .split(',')
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect();
    if uris.is_empty() {
        anyhow::bail!("--redirect-uri needs at least one URI");
    }
    for u in &uris {
        let rest = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"));
        let ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
            && !u.contains('#')
            && !u.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            anyhow::bail!("invalid redirect URI {u:?}: it must be an absolute http:// or https:// URL without a fragment");
        }
    }
    Ok(uris)
}
