//! Realistic sample data in bulk (`zcrm admin seed`): Accounts, Contacts
//! linked to them, and Leads with skewed pick-list values, revenues and
//! creation times. Written straight into the store in large transactions, for
//! benchmarks and for sandboxes that want a populated CRM.

use crate::records::{insert_many, OrgStore};
use crate::schema::col;
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
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let industries = picks(&accounts, "Industry");
        let statuses = picks(&leads, "Lead_Status");
        let sources = picks(&leads, "Lead_Source");
        let two_years = 2 * 365 * 86_400_000i64;
        let system = |t: i64| -> Vec<SqlValue> {
            vec![
                spec.owner.into(),
                spec.owner.into(),
                spec.owner.into(),
                t.into(),
                t.into(),
            ]
        };
        let sys_cols = [
            "Owner",
            "Created_By",
            "Modified_By",
            "Created_Time",
            "Modified_Time",
        ];

        // Accounts.
        let mut account_ids = Vec::with_capacity(spec.accounts);
        let mut rows = Vec::new();
        for i in 0..spec.accounts {
            let id = ids.next(spec.now);
            account_ids.push(id);
            let t = spec.now - rng.random_range(0..two_years);
            let mut v: Vec<SqlValue> = vec![
                format!(
                    "{} {} Corp {i}",
                    LAST[i % LAST.len()],
                    CITIES[i % CITIES.len()]
                )
                .into(),
                skewed(&mut rng, &industries).into(),
                ((rng.random_range(0..10_000_000i64)) as f64).into(),
                rng.random_range(1..5_000i64).into(),
                CITIES[rng.random_range(0..CITIES.len())].into(),
            ];
            v.extend(system(t));
            rows.push((id, v));
        }
        let names: Vec<String> = [
            "Account_Name",
            "Industry",
            "Annual_Revenue",
            "Employees",
            "Billing_City",
        ]
        .iter()
        .chain(sys_cols.iter())
        .map(|n| col(n))
        .collect();
        self.seed_rows(accounts.clone(), names, rows).await?;

        // Contacts, each at a random account.
        let mut rows = Vec::new();
        for i in 0..spec.contacts {
            let id = ids.next(spec.now);
            let (f, l) = (
                FIRST[rng.random_range(0..FIRST.len())],
                LAST[rng.random_range(0..LAST.len())],
            );
            let t = spec.now - rng.random_range(0..two_years);
            let account = account_ids
                .get(rng.random_range(0..account_ids.len().max(1)))
                .copied();
            let mut v: Vec<SqlValue> = vec![
                f.into(),
                l.into(),
                format!("{f} {l}").into(),
                format!("{}.{}{i}@example.com", f.to_lowercase(), l.to_lowercase()).into(),
                account.into(),
                CITIES[rng.random_range(0..CITIES.len())].into(),
            ];
            v.extend(system(t));
            rows.push((id, v));
        }
        let names: Vec<String> = [
            "First_Name",
            "Last_Name",
            "Full_Name",
            "Email",
            "Account_Name",
            "Mailing_City",
        ]
        .iter()
        .chain(sys_cols.iter())
        .map(|n| col(n))
        .collect();
        self.seed_rows(contacts.clone(), names, rows).await?;

        // Leads.
        let names: Vec<String> = [
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
        ]
        .iter()
        .chain(sys_cols.iter())
        .map(|n| col(n))
        .collect();
        let mut made = 0;
        while made < spec.leads {
            let n = CHUNK.min(spec.leads - made);
            let mut rows = Vec::with_capacity(n);
            for k in 0..n {
                let i = made + k;
                let id = ids.next(spec.now);
                let (f, l) = (
                    FIRST[rng.random_range(0..FIRST.len())],
                    LAST[rng.random_range(0..LAST.len())],
                );
                let t = spec.now - rng.random_range(0..two_years);
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
                    skewed(&mut rng, &statuses).into(),
                    skewed(&mut rng, &sources).into(),
                    skewed(&mut rng, &industries).into(),
                    ((rng.random_range(0..10_000_000i64)) as f64).into(),
                    rng.random_range(1..10_000i64).into(),
                    CITIES[rng.random_range(0..CITIES.len())].into(),
                ];
                v.extend(system(t));
                rows.push((id, v));
            }
            self.seed_rows(leads.clone(), names.clone(), rows).await?;
            made += n;
        }
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
}
