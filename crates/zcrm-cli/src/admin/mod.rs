//! `zcrm admin`: administering a data dir or database, also while servers
//! run on it. `credentials`: Self Clients, web clients, passwords; `clients`:
//! listing and revoking clients; `org`: the
//! org's edition and limits, and its usage; `deliveries`: the notification
//! log; `seed`: sample records.

mod clients;
mod credentials;
mod deliveries;
mod org;
mod seed;

use anyhow::Context;
use clap::Subcommand;
use zcrm_store::control::Control;

#[derive(Subcommand)]
pub enum Admin {
    /// Create a Self Client and a grant code for the given scopes; no token of
    /// the client (client credentials too) may carry more.
    SelfClient(credentials::SelfClientArgs),
    /// Create a web-app client for the consent page (`/oauth/v2/auth`);
    /// `client list` shows every client, `client revoke CLIENT_ID` revokes one
    /// with all its tokens.
    Client(credentials::ClientArgs),
    /// Show notification delivery attempts, newest first: status, latency, error.
    Deliveries(deliveries::DeliveriesArgs),
    /// The org's edition, licensed users and API limits (applied by a running
    /// server within a second).
    #[command(subcommand)]
    Org(org::OrgCmd),
    /// Credits used over the rolling 24-hour window, by API and by client.
    Usage(org::UsageArgs),
    /// Give a user (default: the admin) a new random password and print it.
    Password(credentials::PasswordArgs),
    /// Fill the (first) org with realistic sample records, fast: Accounts,
    /// Contacts linked to them, Leads. Runs against the data dir or database
    /// directly (the server may be running).
    Seed(seed::SeedArgs),
}

pub async fn run(cmd: Admin) -> anyhow::Result<()> {
    match cmd {
        Admin::SelfClient(a) => credentials::self_client(a).await,
        Admin::Client(a) => credentials::web_client(a).await,
        Admin::Org(cmd) => org::org_cmd(cmd).await,
        Admin::Usage(a) => org::usage(a).await,
        Admin::Deliveries(a) => deliveries::deliveries(a).await,
        Admin::Seed(a) => seed::seed(a).await,
        Admin::Password(a) => credentials::password(a).await,
    }
}

/// The org named by `--org`, else the first.
async fn pick_org(control: &Control, org: Option<i64>) -> anyhow::Result<i64> {
    let orgs = control.orgs().await?;
    match org {
        Some(id) => orgs
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.id)
            .with_context(|| format!("no org {id}")),
        None => orgs
            .first()
            .map(|o| o.id)
            .context("no org yet: start the server once"),
    }
}
