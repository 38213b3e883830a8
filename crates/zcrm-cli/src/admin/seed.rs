//! `admin seed`: realistic sample records written straight into the store.

use crate::storage::Storage;
use clap::Args;
use zcrm_core::clock::Clock;
use zcrm_store::Backend;

#[derive(Args)]
pub struct SeedArgs {
    #[command(flatten)]
    storage: Storage,
    #[arg(long, default_value_t = 100_000)]
    leads: usize,
    #[arg(long, default_value_t = 1_000)]
    accounts: usize,
    #[arg(long, default_value_t = 10_000)]
    contacts: usize,
    /// Seed of the random generator: the same seed makes the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub async fn seed(a: SeedArgs) -> anyhow::Result<()> {
    let SeedArgs {
        storage,
        leads,
        accounts,
        contacts,
        seed,
    } = a;
    let backend = Backend::connect(
        &storage.data_dir,
        storage.database_url.as_deref(),
        &storage.db_options(),
    )?;
    let control = backend.control().await?;
    let org = control
        .orgs()
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no org yet: start the server once"))?;
    let now = Clock::new().now_ms();
    let ids = zcrm_core::ids::IdGen::new(control.register_node(now).await?);
    let catalog =
        std::sync::Arc::new(zcrm_core::meta::Catalog::standard().map_err(anyhow::Error::msg)?);
    let store = backend.org_store(org.id, catalog, false).await?;
    let started = std::time::Instant::now();
    let owner = org.primary_user.unwrap_or_default();
    let made = store
        .seed(
            zcrm_store::seed::SeedSpec {
                accounts,
                contacts,
                leads,
                owner,
                now,
                seed,
            },
            &ids,
        )
        .await?;
    store.close();
    control.close();
    println!(
        "seeded {} accounts, {} contacts, {} leads in {:.1} s",
        made.0,
        made.1,
        made.2,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
