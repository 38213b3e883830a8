//! Realistic sample data in bulk (`zcrm admin seed`): Accounts, Contacts
//! linked to them, and Leads with skewed pick-list values, revenues and
//! creation times. Written straight into the store in large transactions, for
//! benchmarks and for sandboxes that want a populated CRM.

use crate::db::{text, Conn, Dialect};
use crate::org::OrgStore;
use crate::records::insert_many;
use crate::schema::{col, module_indexes};
use crate::StoreError;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use zcrm_core::ids::IdGen;
use zcrm_core::meta::Module;
use zcrm_core::value::SqlValue;

const FIRST: &[&str] = &[
    "Ann", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya",
    "Liam", "Mei", "Noah", "Olga", "Pat", "Quinn", "Rosa", "Sam", "Tara",
];
const LAST: &[&str] = &[
    "Smith", "Garcia", "Chen", "Patel", "Müller", "Rossi", "Kim", "Nguyen", "Okafor", "Silva",
    "Novak", "Cohen", "Haddad", "Kowalski", "Sato", "Dubois", "Larsen", "Moreau", "Singh", "Boyle",
    "Smythe", "Brown", "Evans", "Wilson",
];
const CITIES: &[&str] = &[
    "Austin",
    "Berlin",
    "Chennai",
    "Dublin",
    "Lagos",
    "Madrid",
    "Osaka",
    "Paris",
    "São Paulo",
    "Toronto",
];
/// Rows per transaction.
const CHUNK: usize = 10_000;

/// How much to make.
pub struct SeedSpec {
    pub accounts: usize,
    pub contacts: usize,
    pub leads: usize,
    pub owner: i64,
    pub now: i64,
    pub seed: u64,
}

fn picks(m: &Module, field: &str) -> Vec<String> {
    m.field(field)
        .map(|f| {
            f.pick_list_values
                .iter()
                .map(|p| p.actual_value.clone())
                .filter(|v| v != "-None-")
                .collect()
        })
        .unwrap_or_default()
}

/// A skewed choice: earlier values are more common, as in real pipelines.
fn skewed<'a>(rng: &mut StdRng, values: &'a [String]) -> &'a str {
    let n = values.len().max(1);
    let i = ((rng.random::<f64>().powi(2)) * n as f64) as usize;
    values.get(i.min(n - 1)).map(String::as_str).unwrap_or("")
}

const TWO_YEARS_MS: i64 = 2 * 365 * 86_400_000;

/// Columns every sample record sets after its own.
const SYSTEM: [&str; 5] = [
    "Owner",
    "Created_By",
    "Modified_By",
    "Created_Time",
    "Modified_Time",
];

const ACCOUNT: [&str; 5] = [
    "Account_Name",
    "Industry",
    "Annual_Revenue",
    "Employees",
    "Billing_City",
];

const CONTACT: [&str; 6] = [
    "First_Name",
    "Last_Name",
    "Full_Name",
    "Email",
    "Account_Name",
    "Mailing_City",
];

const LEAD: [&str; 11] = [
    "First_Name",
    "Last_Name",
    "Full_Name",
    "Email",
    "Company",
    "Lead_Status",
    "Lead_Source",
    "Industry",
    "Annual_Revenue",
    "No_of_Employees",
    "City",
];

/// A module's columns for sample rows: its own, then [`SYSTEM`]'s.
fn names(own: &[&str]) -> Vec<String> {
    own.iter().chain(SYSTEM.iter()).map(|n| col(n)).collect()
}

/// Makes sample rows, one random source for all (the same seed gives the
/// same org).
struct Sampler<'a> {
    rng: StdRng,
    spec: &'a SeedSpec,
    ids: &'a IdGen,
    industries: Vec<String>,
    statuses: Vec<String>,
    sources: Vec<String>,
}

impl Sampler<'_> {
    /// A new id and a creation time in the last two years.
    fn start(&mut self) -> (i64, i64) {
        let id = self.ids.next(self.spec.now);
        (id, self.spec.now - self.rng.random_range(0..TWO_YEARS_MS))
    }

    fn system(&self, t: i64) -> [SqlValue; 5] {
        let owner = self.spec.owner;
        [owner.into(), owner.into(), owner.into(), t.into(), t.into()]
    }

    fn person(&mut self) -> (&'static str, &'static str) {
        (
            FIRST[self.rng.random_range(0..FIRST.len())],
            LAST[self.rng.random_range(0..LAST.len())],
        )
    }

    fn account(&mut self, i: usize) -> (i64, Vec<SqlValue>) {
        let (id, t) = self.start();
        let rng = &mut self.rng;
        let mut v: Vec<SqlValue> = vec![
            format!(
                "{} {} Corp {i}",
                LAST[i % LAST.len()],
                CITIES[i % CITIES.len()]
            )
            .into(),
            skewed(rng, &self.industries).into(),
            ((rng.random_range(0..10_000_000i64)) as f64).into(),
            rng.random_range(1..5_000i64).into(),
            CITIES[rng.random_range(0..CITIES.len())].into(),
        ];
        v.extend(self.system(t));
        (id, v)
    }

    /// A contact at a random one of `accounts`.
    fn contact(&mut self, i: usize, accounts: &[i64]) -> (i64, Vec<SqlValue>) {
        let id = self.ids.next(self.spec.now);
        let (f, l) = self.person();
        let t = self.spec.now - self.rng.random_range(0..TWO_YEARS_MS);
        let rng = &mut self.rng;
        let account = accounts
            .get(rng.random_range(0..accounts.len().max(1)))
            .copied();
        let mut v: Vec<SqlValue> = vec![
            f.into(),
            l.into(),
            format!("{f} {l}").into(),
            format!("{}.{}{i}@example.com", f.to_lowercase(), l.to_lowercase()).into(),
            account.into(),
            CITIES[rng.random_range(0..CITIES.len())].into(),
        ];
        v.extend(self.system(t));
        (id, v)
    }

    fn lead(&mut self, i: usize) -> (i64, Vec<SqlValue>) {
        let id = self.ids.next(self.spec.now);
        let (f, l) = self.person();
        let t = self.spec.now - self.rng.random_range(0..TWO_YEARS_MS);
        let rng = &mut self.rng;
        let mut v: Vec<SqlValue> = vec![
            f.into(),
            l.into(),
            format!("{f} {l}").into(),
            format!("{}.{}{i}@example.org", f.to_lowercase(), l.to_lowercase()).into(),
            format!(
                "{} {}",
                LAST[rng.random_range(0..LAST.len())],
                ["Ltd", "Inc", "GmbH", "LLC"][i % 4]
            )
            .into(),
            skewed(rng, &self.statuses).into(),
            skewed(rng, &self.sources).into(),
            skewed(rng, &self.industries).into(),
            ((rng.random_range(0..10_000_000i64)) as f64).into(),
            rng.random_range(1..10_000i64).into(),
            CITIES[rng.random_range(0..CITIES.len())].into(),
        ];
        v.extend(self.system(t));
        (id, v)
    }
}

impl OrgStore {
    /// Inserts the sample records; returns (accounts, contacts, leads) made.
    pub async fn seed(
        &self,
        spec: SeedSpec,
        ids: &IdGen,
    ) -> Result<(usize, usize, usize), StoreError> {
        let cat = self.catalog.clone();
        let module = |n: &str| {
            cat.module(n)
                .cloned()
                .ok_or_else(|| StoreError::Other(format!("no module {n}")))
        };
        let (accounts, contacts, leads) =
            (module("Accounts")?, module("Contacts")?, module("Leads")?);
        let mut s = Sampler {
            rng: StdRng::seed_from_u64(spec.seed),
            spec: &spec,
            ids,
            industries: picks(&accounts, "Industry"),
            statuses: picks(&leads, "Lead_Status"),
            sources: picks(&leads, "Lead_Source"),
        };
        let rows: Vec<_> = (0..spec.accounts).map(|i| s.account(i)).collect();
        let account_ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
        let fill = self.seed_rows(accounts.clone(), names(&ACCOUNT), rows);
        self.without_indexes(&accounts, fill).await?;
        let rows: Vec<_> = (0..spec.contacts)
            .map(|i| s.contact(i, &account_ids))
            .collect();
        let fill = self.seed_rows(contacts.clone(), names(&CONTACT), rows);
        self.without_indexes(&contacts, fill).await?;
        let fill = async {
            let mut made = 0;
            while made < spec.leads {
                let n = CHUNK.min(spec.leads - made);
                let rows: Vec<_> = (made..made + n).map(|i| s.lead(i)).collect();
                self.seed_rows(leads.clone(), names(&LEAD), rows).await?;
                made += n;
            }
            Ok(())
        };
        self.without_indexes(&leads, fill).await?;
        Ok((spec.accounts, spec.contacts, spec.leads))
    }

    async fn seed_rows(
        &self,
        m: std::sync::Arc<Module>,
        names: Vec<String>,
        rows: Vec<(i64, Vec<SqlValue>)>,
    ) -> Result<(), StoreError> {
        let prefix = self.prefix.clone();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(CHUNK).collect();
            let (m, names, prefix) = (m.clone(), names.clone(), prefix.clone());
            self.db
                .write(move |c| insert_many(c, &prefix, &m, &names, chunk))
                .await?;
        }
        Ok(())
    }

    /// Runs `fill` on `m` with the table's plain indexes dropped if it was
    /// empty, then builds them once over the whole table: a sort, not a
    /// million inserts into each B-tree. Should the seed stop before that,
    /// the next start makes them again (the catalog sync creates what is missing).
    async fn without_indexes<F: std::future::Future<Output = Result<(), StoreError>>>(
        &self,
        m: &std::sync::Arc<Module>,
        fill: F,
    ) -> Result<(), StoreError> {
        let (prefix, module) = (self.prefix.clone(), m.clone());
        let dropped = self
            .db
            .write(move |c| drop_indexes_if_empty(c, &prefix, &module))
            .await?;
        fill.await?;
        if dropped {
            let (prefix, module) = (self.prefix.clone(), m.clone());
            self.db
                .write(move |c| module_indexes(c, &prefix, &module))
                .await?;
        }
        Ok(())
    }
}

/// An empty table loses its plain indexes (not the unique ones, which check
/// the rows) for the seed; `true` if it did.
fn drop_indexes_if_empty(c: &mut dyn Conn, prefix: &str, m: &Module) -> Result<bool, StoreError> {
    let table = m.table();
    if c.row(&format!("SELECT 1 FROM {prefix}{table} LIMIT 1"), &[])?
        .is_some()
    {
        return Ok(false);
    }
    let names = match c.dialect() {
        Dialect::Sqlite => c.rows(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql LIKE 'CREATE INDEX%'",
            &[table.as_str().into()],
        )?,
        Dialect::Postgres => c.rows(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = ?1 AND tablename = ?2 AND indexdef LIKE 'CREATE INDEX%'",
            &[prefix.trim_end_matches('.').into(), table.as_str().into()],
        )?,
    };
    for n in names {
        // Index names are ours (made from the catalog's API names), read back from the database.
        let name = text(&n[0])?;
        c.batch(&format!("DROP INDEX {prefix}\"{name}\""))?;
    }
    Ok(true)
}
